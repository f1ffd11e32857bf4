"""Ranking metrics for labelled FAQ queries, and the out-of-scope threshold sweep: pure functions.

Every metric looks at one query's ranked FAQ ids (best first) and the set of ids that answer
it; averaging over queries is the caller's job. A "hit" is any relevant id, so a query with two
good answers counts as answered when either comes first.

>>> reciprocal_rank(["en-007", "en-004", "en-005"], {"en-004", "en-005"})
0.5
>>> hit_at_k(["en-007", "en-004"], {"en-004"}, k=1)
0.0
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

# Reranker scores are P("yes"): thresholds 0.05, 0.10, ..., 0.95.
PROBABILITY_THRESHOLDS: tuple[float, ...] = tuple(round(0.05 * step, 2) for step in range(1, 20))
# Keyword (BM25) scores are unbounded and their scale depends on the FAQ base, so a fixed
# threshold means nothing: keyword runs sweep the 5 %, 10 %, ..., 95 % quantiles of their own
# top scores instead.
QUANTILES: tuple[float, ...] = PROBABILITY_THRESHOLDS


@dataclass(frozen=True)
class ThresholdPoint:
    """Queries that "no confident answer" (top score below ``threshold``) would hand to a human.

    ``out_of_scope_flagged`` are the right calls; ``in_scope_flagged`` are answerable questions
    wrongly handed over.
    """

    threshold: float
    out_of_scope_flagged: int
    in_scope_flagged: int


def reciprocal_rank(ranked_ids: Sequence[str], relevant: Collection[str], k: int = 10) -> float:
    """1 / rank of the first relevant id among the top ``k``; 0.0 when none is there.

    >>> reciprocal_rank(["a", "b", "c"], {"c"}), reciprocal_rank(["a", "b", "c"], {"c"}, k=2)
    (0.3333333333333333, 0.0)
    """
    _check_k(k)
    return next((1.0 / rank for rank, i in enumerate(ranked_ids[:k], start=1) if i in relevant), 0.0)


def hit_at_k(ranked_ids: Sequence[str], relevant: Collection[str], k: int) -> float:
    """1.0 when at least one relevant id is among the top ``k``, else 0.0.

    Averaged over in-scope queries this is what the evaluation reports as ``recall@k``.

    >>> hit_at_k(["a", "b", "c"], {"c", "z"}, k=3)
    1.0
    """
    _check_k(k)
    return 1.0 if any(i in relevant for i in ranked_ids[:k]) else 0.0


def ndcg_at_k(ranked_ids: Sequence[str], relevant: Collection[str], k: int = 10) -> float:
    """Normalised discounted cumulative gain with binary gains and a log2 discount.

    The ideal ranking puts ``min(len(relevant), k)`` relevant ids first.

    >>> round(ndcg_at_k(["b", "a"], {"a"}), 4)
    0.6309
    """
    _check_k(k)
    if not relevant:
        raise ValueError("nDCG needs at least one relevant id; out-of-scope queries have none.")
    dcg = sum(1.0 / math.log2(rank + 1) for rank, i in enumerate(ranked_ids[:k], start=1) if i in relevant)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
    return dcg / ideal


def quantile_thresholds(scores: Sequence[float], quantiles: Sequence[float] = QUANTILES) -> list[float]:
    """Thresholds at the given quantiles of ``scores`` (distinct, ascending); [] without scores.

    >>> quantile_thresholds([1.0, 2.0, 3.0, 4.0, 5.0], [0.25, 0.5, 0.75])
    [2.0, 3.0, 4.0]
    """
    if len(scores) == 0:
        return []
    return sorted({float(value) for value in np.quantile(np.asarray(scores, dtype=float), quantiles)})


def sweep_thresholds(
    in_scope_top_scores: Sequence[float | None],
    out_of_scope_top_scores: Sequence[float | None],
    thresholds: Sequence[float],
) -> list[ThresholdPoint]:
    """For each threshold, how many queries of each kind get "no confident answer".

    A query is flagged when its top score is below the threshold, or when it has no candidate
    at all (top score ``None``).

    >>> points = sweep_thresholds([0.9, 0.3], [0.2, None], [0.25, 0.5])
    >>> [(p.threshold, p.out_of_scope_flagged, p.in_scope_flagged) for p in points]
    [(0.25, 2, 0), (0.5, 2, 1)]
    """
    return [
        ThresholdPoint(
            threshold=threshold,
            out_of_scope_flagged=_flagged(out_of_scope_top_scores, threshold),
            in_scope_flagged=_flagged(in_scope_top_scores, threshold),
        )
        for threshold in thresholds
    ]


def _flagged(top_scores: Sequence[float | None], threshold: float) -> int:
    return sum(score is None or score < threshold for score in top_scores)


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}.")
