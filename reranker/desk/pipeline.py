"""The one FAQ ranking pipeline: first stage over a base, then the reranker, as a :class:`FaqRanking`.

The first stage is keyword search (BM25), dense search (an embedding index of the base) or
their fusion (hybrid); every hit keeps its keyword and dense rank.

The evaluation, the batch job, every REST route that searches a base and the desk call
:func:`search_and_rank`; the desk streams it (``stream=True``): the first stage's hits at once,
then the hits again after each scored batch, the final ranking last, in the same
:func:`~reranker.engine.scorer.score_order`. The question is scored as given: the desk cleans what
an agent typed before it gets here.

>>> from reranker.knowledge.bases import BUNDLED_DIR, load_faq
>>> kb = load_faq(BUNDLED_DIR / "en_store_faq.csv")
>>> ranking = search_and_rank(kb, "  how do I reset my password ", scorer=None, top_k=3)
>>> ranking.reranked, len(ranking.hits), ranking.hits[0].keyword_rank
(False, 3, 1)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

from reranker.engine.scorer import Scorer, score_order
from reranker.errors import InvalidInput
from reranker.knowledge.bases import DEFAULT_TOP_K, FaqEntry, KnowledgeBase
from reranker.retrieval.dense import DenseHit, DenseIndex
from reranker.retrieval.first_stage import FUSION_DEPTH, Retrieval, check_retrieval
from reranker.retrieval.fusion import hybrid_search
from reranker.retrieval.keyword import SearchHit, search_base
from reranker.store import ShownAnswer
from reranker.text import clean, require_question


@dataclass(frozen=True)
class FaqHit:
    """One FAQ entry in a ranking: where each first stage put it, and its reranker score if any.

    ``keyword_rank`` / ``dense_rank`` count from 1 (None: that stage did not return the entry);
    ``recall_score`` is what the first stage ordered by: BM25 (keyword), cosine similarity
    (dense) or the fused reciprocal-rank score (hybrid).
    """

    entry: FaqEntry
    keyword_rank: int | None
    keyword_score: float | None
    score: float | None = None
    truncated: bool = False
    dense_rank: int | None = None
    dense_score: float | None = None
    recall_score: float = 0.0
    #: Windows the reranker scored the answer in (0: not reranked), and the best one's offsets.
    chunks_scored: int = 0
    evidence: tuple[int, int] | None = None


@dataclass(frozen=True)
class FaqRanking:
    """The hits best first (by reranker score, or keyword order when not reranked), and the cost.

    While a streamed ranking is being scored (``final`` False), the hits scored so far come
    first, in score order, the others after them in first-stage order.
    """

    hits: tuple[FaqHit, ...]
    reranked: bool
    recall_s: float
    rerank_s: float = 0.0
    cache_hits: int = 0
    retrieval: Retrieval = "keyword"
    final: bool = True

    @property
    def best(self) -> FaqHit | None:
        return self.hits[0] if self.hits else None


def check_top_k(top_k: int, limit: int | None = None) -> int:
    """A top K between 1 and ``limit`` (when given), or :class:`InvalidInput` naming the range."""
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1 or (limit and top_k > limit):
        upper = f" and {limit}" if limit else ""
        raise InvalidInput(f"Top K must be a whole number between 1{upper}, got {top_k!r}.")
    return top_k


def first_stage(kb: KnowledgeBase, query: str, top_k: int, retrieval: Retrieval = "keyword",
                index: DenseIndex | None = None) -> tuple[list[FaqHit], float]:  # fmt: skip
    """The ``top_k`` best entries of the whole base for ``query`` by ``retrieval``, and the seconds it took.

    ``index`` is the base's dense index (row ``i`` is ``kb.entries[i]``), needed by dense and
    hybrid. Hybrid ranks each stage :data:`FUSION_DEPTH` deep, then fuses the two rankings.
    """
    check_retrieval(retrieval)
    if retrieval != "keyword" and index is None:
        raise ValueError(f"The {retrieval} first stage needs the base's DenseIndex.")
    started = time.perf_counter()
    query = clean(query)
    depth = top_k if retrieval == "keyword" else max(top_k, FUSION_DEPTH)
    keyword = search_base(kb, query, top_k=depth) if retrieval != "dense" else []
    dense = index.search(query, depth) if index is not None and retrieval != "keyword" else []
    hits = _merge(kb, keyword, dense, top_k, retrieval)
    return hits, time.perf_counter() - started


def _merge(kb: KnowledgeBase, keyword: list[SearchHit], dense: list[DenseHit], top_k: int,
           retrieval: Retrieval) -> list[FaqHit]:  # fmt: skip
    """Each stage's hits as :class:`FaqHit` with both ranks, in the order ``retrieval`` says."""
    by_keyword = {hit.entry.id: (rank, hit) for rank, hit in enumerate(keyword, start=1)}
    by_dense = {kb.entries[hit.index].id: (rank, hit) for rank, hit in enumerate(dense, start=1)}
    if retrieval == "keyword":
        order = [(hit.entry.id, hit.score) for hit in keyword[:top_k]]
    elif retrieval == "dense":
        order = [(kb.entries[hit.index].id, hit.score) for hit in dense[:top_k]]
    else:
        fused = hybrid_search([hit.entry.id for hit in keyword], list(by_dense), top_k)
        order = [(hit.id, hit.score) for hit in fused]
    hits = []
    for entry_id, recall_score in order:
        kw_rank, kw_hit = by_keyword.get(entry_id, (None, None))
        dn_rank, dn_hit = by_dense.get(entry_id, (None, None))
        hits.append(FaqHit(kb.by_id(entry_id), kw_rank, None if kw_hit is None else kw_hit.score,
                           dense_rank=dn_rank, dense_score=None if dn_hit is None else dn_hit.score,
                           recall_score=recall_score))  # fmt: skip
    return hits


def search_and_rank(kb: KnowledgeBase, query: str, scorer: Scorer | None, top_k: int = DEFAULT_TOP_K,
                    instruction: str | None = None, *, retrieval: Retrieval = "keyword",
                    index: DenseIndex | None = None) -> FaqRanking:  # fmt: skip
    """Search the whole base (``retrieval``: keyword, dense or hybrid), then rerank the ``top_k`` best.

    Without a scorer the hits keep the first stage's order.
    """
    return last(stream_search_and_rank(kb, query, lambda: scorer, top_k, instruction, retrieval=retrieval,
                                       index=index, first_batch=None))  # fmt: skip


def stream_search_and_rank(kb: KnowledgeBase, query: str, scorer: Callable[[], Scorer | None],
                           top_k: int = DEFAULT_TOP_K, instruction: str | None = None, *,
                           retrieval: Retrieval = "keyword", index: DenseIndex | None = None,
                           first_batch: int | None = 2, max_batch: int = 16) -> Iterator[FaqRanking]:  # fmt: skip
    """:func:`search_and_rank` step by step: the first stage's hits (not final), then one ranking per
    scored batch, the last one final.

    ``scorer`` is asked for the scorer only after the first stage's hits are out, so a caller can
    show them while the engine still loads (the desk waits there). ``first_batch`` None scores
    every hit in one call; else batches of ``first_batch``, doubling up to ``max_batch``.
    """
    require_question(query)
    hits, recall_s = first_stage(kb, query, check_top_k(top_k), retrieval, index)
    unscored = FaqRanking(tuple(hits), reranked=False, recall_s=recall_s, retrieval=retrieval, final=False)
    if hits:
        yield unscored
    engine = scorer()
    if engine is None or not hits:
        yield replace(unscored, final=True)
        return
    texts = [hit.entry.text for hit in hits]
    batches = ([engine.score_detailed(query, texts, instruction)] if first_batch is None
               else engine.score_in_batches(query, texts, instruction, first_batch, max_batch))  # fmt: skip
    scored = list(hits)
    rerank_s, cache_hits, done = 0.0, 0, 0
    for batch in batches:
        for doc in batch.documents:
            scored[doc.index] = replace(scored[doc.index], score=doc.score, truncated=doc.truncated,
                                         chunks_scored=doc.chunks_scored, evidence=doc.evidence)
        rerank_s, cache_hits, done = rerank_s + batch.elapsed_s, cache_hits + batch.cache_hits, done + len(batch.documents)
        order = score_order([hit.score for hit in scored])
        yield FaqRanking(tuple(scored[i] for i in order), reranked=done == len(scored), recall_s=recall_s,
                         rerank_s=rerank_s, cache_hits=cache_hits, retrieval=retrieval,
                         final=done == len(scored))  # fmt: skip


def shown_answers(hits: Sequence[FaqHit]) -> tuple[ShownAnswer, ...]:
    """What a ranking showed: each hit's id, reranker score (None: not reranked) and rank."""
    return tuple(ShownAnswer(hit.entry.id, hit.score, rank) for rank, hit in enumerate(hits, start=1))


def last(rankings: Iterable[FaqRanking]) -> FaqRanking:
    """The final ranking of a stream."""
    ranking = None
    for ranking in rankings:  # noqa: B007 - the last one is the final ranking
        pass
    assert ranking is not None and ranking.final
    return ranking
