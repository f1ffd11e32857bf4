"""The one FAQ ranking pipeline: first stage over a base, then the reranker, as a :class:`FaqRanking`.

The evaluation, the batch job and every REST route that searches a base call
:func:`search_and_rank`; the desk streams the same two steps (:func:`first_stage`, then the
scorer batch by batch) and orders its final table with the same :func:`~reranker.scorer.score_order`.

>>> from reranker.knowledge_base import BUNDLED_DIR, load_faq
>>> kb = load_faq(BUNDLED_DIR / "en_store_faq.csv")
>>> ranking = search_and_rank(kb, "  how do I reset my password ", scorer=None, top_k=3)
>>> ranking.reranked, len(ranking.hits), ranking.hits[0].keyword_rank
(False, 3, 1)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from reranker.errors import InvalidInput
from reranker.knowledge_base import DEFAULT_TOP_K, FaqEntry, KnowledgeBase, SearchHit
from reranker.scorer import Scorer, normalise, score_order


@dataclass(frozen=True)
class FaqHit:
    """One FAQ entry in a ranking: its keyword rank and score, and its reranker score if any."""

    entry: FaqEntry
    keyword_rank: int
    keyword_score: float
    score: float | None = None
    truncated: bool = False


@dataclass(frozen=True)
class FaqRanking:
    """The hits best first (by reranker score, or keyword order when not reranked), and the cost."""

    hits: tuple[FaqHit, ...]
    reranked: bool
    recall_s: float
    rerank_s: float = 0.0
    cache_hits: int = 0

    @property
    def best(self) -> FaqHit | None:
        return self.hits[0] if self.hits else None


def check_top_k(top_k: int, limit: int | None = None) -> int:
    """A top K between 1 and ``limit`` (when given), or :class:`InvalidInput` naming the range."""
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1 or (limit and top_k > limit):
        upper = f" and {limit}" if limit else ""
        raise InvalidInput(f"Top K must be a whole number between 1{upper}, got {top_k!r}.")
    return top_k


def first_stage(kb: KnowledgeBase, query: str, top_k: int) -> tuple[list[SearchHit], float]:
    """The ``top_k`` keyword matches of the whole base for ``query``, and the seconds it took."""
    started = time.perf_counter()
    hits = kb.search(normalise(query), top_k=top_k)
    return hits, time.perf_counter() - started


def search_and_rank(kb: KnowledgeBase, query: str, scorer: Scorer | None, top_k: int = DEFAULT_TOP_K,
                    instruction: str | None = None) -> FaqRanking:  # fmt: skip
    """Keyword-search the whole base, then rerank the ``top_k`` matches (keyword order without a scorer)."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidInput("The question is empty: type the customer's question first.")
    hits, recall_s = first_stage(kb, query, check_top_k(top_k))
    keyword = [FaqHit(hit.entry, rank, hit.score) for rank, hit in enumerate(hits, start=1)]
    if scorer is None or not hits:
        return FaqRanking(tuple(keyword), reranked=False, recall_s=recall_s)
    result = scorer.score_detailed(query, [hit.entry.text for hit in hits], instruction)
    scored = [FaqHit(h.entry, h.keyword_rank, h.keyword_score, d.score, d.truncated)
              for h, d in zip(keyword, result.documents)]  # fmt: skip
    order = score_order([hit.score for hit in scored])
    return FaqRanking(tuple(scored[i] for i in order), reranked=True, recall_s=recall_s,
                      rerank_s=result.elapsed_s, cache_hits=result.cache_hits)  # fmt: skip
