"""Keyword vs dense vs hybrid first stage on labelled queries, without a reranker: pure functions.

Rankings are lists of FAQ ids, best first, one per query. Each stage is ranked once, deep
(``depth``), so fusion settings can be swept without searching again.

>>> from reranker.knowledge.labelled import LabelledQuery
>>> queries = [LabelledQuery("q1", ("a",)), LabelledQuery("q2", ("c",)), LabelledQuery("off topic", ())]
>>> ranking_metrics([["b", "a"], ["c"], ["a"]], queries)
{'mrr@10': 0.75, 'recall@1': 0.5, 'recall@5': 1.0, 'recall@20': 1.0, 'queries': 2}
"""

from __future__ import annotations

from collections.abc import Sequence

from reranker.evaluation.metrics import hit_at_k, reciprocal_rank
from reranker.knowledge.bases import KnowledgeBase
from reranker.knowledge.labelled import LabelledQuery
from reranker.retrieval.dense import DenseIndex
from reranker.retrieval.fusion import (
    DEFAULT_DENSE_WEIGHT,
    DEFAULT_KEYWORD_WEIGHT,
    DEFAULT_RRF_K,
    hybrid_search,
)
from reranker.retrieval.keyword import search_base

Ranking = list[str]
#: How deep each stage ranks before fusion (Qwen3-Reranker's published runs rerank a top 100).
DEFAULT_DEPTH = 100


def keyword_rankings(
    kb: KnowledgeBase, queries: Sequence[LabelledQuery], depth: int = DEFAULT_DEPTH
) -> list[Ranking]:
    """BM25's ``depth`` best ids for each query (shorter when fewer entries share a word)."""
    return [[hit.entry.id for hit in search_base(kb, q.query, top_k=depth)] for q in queries]


def dense_rankings(
    ids: Sequence[str], index: DenseIndex, queries: Sequence[LabelledQuery], depth: int = DEFAULT_DEPTH
) -> list[Ranking]:
    """The ``depth`` ids (row ``i`` of ``index`` is ``ids[i]``) closest to each query's embedding."""
    if index.embedder is None:
        raise ValueError("dense_rankings needs an index built with an embedder.")
    vectors = index.embedder.embed_queries([q.query for q in queries])
    return [[ids[hit.index] for hit in index.search_vector(vector, depth)] for vector in vectors]


def fused_rankings(
    keyword: Sequence[Ranking],
    dense: Sequence[Ranking],
    top_k: int,
    *,
    k: float = DEFAULT_RRF_K,
    keyword_weight: float = DEFAULT_KEYWORD_WEIGHT,
    dense_weight: float = DEFAULT_DENSE_WEIGHT,
) -> list[Ranking]:
    """Reciprocal-rank fusion of each query's two rankings, cut to ``top_k``."""
    return [
        [
            hit.id
            for hit in hybrid_search(
                kw, dn, top_k, k=k, keyword_weight=keyword_weight, dense_weight=dense_weight
            )
        ]
        for kw, dn in zip(keyword, dense, strict=True)
    ]


def ranking_metrics(rankings: Sequence[Sequence[str]], queries: Sequence[LabelledQuery]) -> dict[str, float]:
    """MRR@10 and recall@1/5/20 averaged over the in-scope queries (out-of-scope ones are skipped)."""
    scored = [(r, q.relevant_ids) for r, q in zip(rankings, queries, strict=True) if q.relevant_ids]
    if not scored:
        raise ValueError("No in-scope query: every labelled query has empty relevant_ids.")
    metrics = {"mrr@10": sum(reciprocal_rank(r, rel, k=10) for r, rel in scored) / len(scored)}
    for k in (1, 5, 20):
        metrics[f"recall@{k}"] = sum(hit_at_k(r, rel, k=k) for r, rel in scored) / len(scored)
    metrics["queries"] = len(scored)
    return metrics
