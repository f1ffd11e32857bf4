"""Reciprocal-rank fusion of the keyword and the dense ranking: the hybrid first stage.

Each list contributes ``weight / (k + rank)`` for every id it ranks (rank counted from 1); the
fused list is sorted by the sum. Ranks, not scores, are fused, so BM25's unbounded scores and
cosine similarities never need a common scale. Every hit keeps where each list put it (``None``:
that list did not return it), which is what the desk and the API show.

The defaults (``k=5``, dense weight 2, keyword weight 1) are the measured choice on the
bundled English sets; see docs/retrieval.md.

>>> hits = hybrid_search(["en-004", "en-005", "en-001"], ["en-005", "en-006"], top_k=3)
>>> [(h.id, h.keyword_rank, h.dense_rank) for h in hits]
[('en-005', 2, 1), ('en-006', None, 2), ('en-004', 1, None)]
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from reranker.errors import InvalidInput

#: The RRF constant: a small k lets the top of either list decide; the literature's 60
#: (Cormack et al., 2009) flattens the curve so much that BM25's long tail of one-word matches
#: outvoted the dense stage on chatty queries (MRR@10 0.637 vs 0.834 dense; docs/retrieval.md).
DEFAULT_RRF_K = 5
DEFAULT_KEYWORD_WEIGHT = 1.0
#: The dense ranking counts twice: best recall@5 of the sweep on the bundled English sets.
DEFAULT_DENSE_WEIGHT = 2.0

Id = TypeVar("Id", bound=Hashable)


@dataclass(frozen=True)
class FusedHit(Generic[Id]):
    """One fused result: the id, its fused score, and its rank (from 1) in each input list."""

    id: Id
    score: float
    keyword_rank: int | None
    dense_rank: int | None


def reciprocal_rank_fusion(
    keyword_ranking: Sequence[Id],
    dense_ranking: Sequence[Id],
    *,
    k: float = DEFAULT_RRF_K,
    keyword_weight: float = DEFAULT_KEYWORD_WEIGHT,
    dense_weight: float = DEFAULT_DENSE_WEIGHT,
) -> list[FusedHit[Id]]:
    """Every id of either ranking, best fused score first (ties: better best rank, then keyword order).

    Repeats within one ranking count at their first position.

    >>> [h.id for h in reciprocal_rank_fusion(["a", "b"], ["b", "c"], dense_weight=0.0)]
    ['a', 'b', 'c']
    """
    if k < 0 or keyword_weight < 0 or dense_weight < 0:
        raise InvalidInput("Fusion needs k >= 0 and weights >= 0.")
    keyword = _first_ranks(keyword_ranking)
    dense = _first_ranks(dense_ranking)
    ids = list(dict.fromkeys([*keyword, *dense]))
    hits = [
        FusedHit(
            id=i,
            score=_share(keyword.get(i), k, keyword_weight) + _share(dense.get(i), k, dense_weight),
            keyword_rank=keyword.get(i),
            dense_rank=dense.get(i),
        )
        for i in ids
    ]
    order = {i: position for position, i in enumerate(ids)}
    return sorted(hits, key=lambda h: (-h.score, min(_ranks(h)), order[h.id]))


def hybrid_search(
    keyword_ranking: Sequence[Id],
    dense_ranking: Sequence[Id],
    top_k: int,
    *,
    k: float = DEFAULT_RRF_K,
    keyword_weight: float = DEFAULT_KEYWORD_WEIGHT,
    dense_weight: float = DEFAULT_DENSE_WEIGHT,
) -> list[FusedHit[Id]]:
    """The ``top_k`` best fused hits of the two rankings (ids, best first): the integrator's call.

    Pass each stage's ranking at least ``top_k`` deep, so an id ranked just below the cut in one
    list but high in the other can still make it.

    >>> [h.id for h in hybrid_search([3, 1, 2], [1, 4], top_k=2)]  # 4: dense rank 2 counts double
    [1, 4]
    """
    if top_k < 1:
        raise InvalidInput.of("err_top_k", top_k=top_k)
    fused = reciprocal_rank_fusion(
        keyword_ranking, dense_ranking, k=k, keyword_weight=keyword_weight, dense_weight=dense_weight
    )
    return fused[:top_k]


def _first_ranks(ranking: Sequence[Id]) -> dict[Id, int]:
    ranks: dict[Id, int] = {}
    for rank, i in enumerate(ranking, start=1):
        ranks.setdefault(i, rank)
    return ranks


def _share(rank: int | None, k: float, weight: float) -> float:
    return 0.0 if rank is None else weight / (k + rank)


def _ranks(hit: FusedHit[Id]) -> list[int]:
    return [r for r in (hit.keyword_rank, hit.dense_rank) if r is not None]
