"""Which confidence threshold meets a support lead's goal? Recommend one from labelled questions.

Below the threshold the desk says "no confident answer" and the question goes to a human. Two
things follow from one number: how many unanswerable ("none of these") questions are *caught*
(sent to a human, as they should be) and how many answerable ones are *escalated* (sent to a
human although the FAQ had the answer). :func:`recommend_threshold` sweeps the thresholds with
:func:`reranker.evaluation.metrics.sweep_thresholds` and picks the one that meets the goal, or the closest.

>>> rec = recommend_threshold([0.9, 0.8, 0.7, 0.2], [0.1, 0.3, 0.75], min_caught=0.6, max_escalated=0.3)
>>> rec.threshold, rec.met
(0.5, True)
>>> rec.sentence.split(". ")[0]
'A threshold of 0.50 sends 2 of 3 unanswerable questions to a human and escalates 1 of 4 answerable ones'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reranker.errors import InvalidInput
from reranker.evaluation.metrics import ThresholdPoint, sweep_thresholds
from reranker.i18n import Lang, t

if TYPE_CHECKING:
    from reranker.evaluation.evaluate import EvaluationReport

#: Candidate thresholds for reranker scores (P("yes")): 0.00, 0.01, ..., 1.00.
THRESHOLD_GRID: tuple[float, ...] = tuple(round(0.01 * step, 2) for step in range(101))
# Shares are compared after rounding, so 9 of 10 meets "at least 90 %" despite float error.
_DIGITS = 9


@dataclass(frozen=True)
class Recommendation:
    """A threshold, what it does on the labelled questions, and whether it meets the goal."""

    threshold: float
    caught: int
    unanswerable: int
    escalated: int
    answerable: int
    met: bool
    sentence: str


def recommend_threshold(
    answerable_scores: Sequence[float | None],
    none_scores: Sequence[float | None],
    min_caught: float = 0.9,
    max_escalated: float = 0.1,
    thresholds: Sequence[float] = THRESHOLD_GRID,
) -> Recommendation:
    """The threshold that catches at least ``min_caught`` of the unanswerable questions while
    escalating at most ``max_escalated`` of the answerable ones.

    Scores are each question's top score (None: no candidate, always sent to a human). When
    several thresholds meet the goal, the one escalating fewest answerable questions wins, then
    the one catching most; among thresholds with the same counts, the middle one (the most
    room on both sides). When none meets it, the one that misses it by the least (the shortfall
    in caught share plus the excess in escalated share) is returned with ``met=False``.

    >>> rec = recommend_threshold([0.9, 0.2], [0.5], min_caught=1.0, max_escalated=0.0)
    >>> rec.met, rec.threshold
    (False, 0.7)
    >>> rec.sentence.split(". ")[1]
    'The closest is 0.70: it sends 1 of 1 unanswerable questions to a human and escalates 1 of 2 answerable ones.'
    """
    for name, share in (("min_caught", min_caught), ("max_escalated", max_escalated)):
        if not 0.0 <= share <= 1.0:
            raise InvalidInput(f"{name} is a share between 0 and 1, got {share}.")
    if not none_scores or not answerable_scores:
        raise InvalidInput.of("err_calib_both", answerable=len(answerable_scores), none=len(none_scores))
    if not thresholds:
        raise InvalidInput("Give at least one candidate threshold.")

    def shortfall(point: ThresholdPoint) -> float:
        missing = min_caught - point.out_of_scope_flagged / len(none_scores)
        excess = point.in_scope_flagged / len(answerable_scores) - max_escalated
        return round(max(0.0, missing) + max(0.0, excess), _DIGITS)

    def key(point: ThresholdPoint) -> tuple[float, int, int]:
        return shortfall(point), point.in_scope_flagged, -point.out_of_scope_flagged

    points = sweep_thresholds(answerable_scores, none_scores, sorted(thresholds))
    best = min(map(key, points))
    tied = [point for point in points if key(point) == best]
    chosen = tied[(len(tied) - 1) // 2]
    counts = (chosen.out_of_scope_flagged, len(none_scores), chosen.in_scope_flagged, len(answerable_scores))
    met = best[0] == 0.0
    sentence = goal_sentence(chosen.threshold, counts, met, min_caught, max_escalated)
    return Recommendation(chosen.threshold, *counts, met=met, sentence=sentence)


def recommend_for_report(
    report: EvaluationReport, min_caught: float = 0.9, max_escalated: float = 0.1
) -> Recommendation:
    """:func:`recommend_threshold` on an evaluation's in-scope and out-of-scope top scores."""
    if report.method != "rerank":
        raise InvalidInput(
            "The confidence threshold applies to reranker scores: evaluate with reranking "
            "(keyword scores have no fixed scale), then ask for a threshold."
        )
    answerable = [result.top_score for result in report.in_scope]
    unanswerable = [result.top_score for result in report.out_of_scope]
    return recommend_threshold(answerable, unanswerable, min_caught, max_escalated)


def goal_sentence(threshold: float, counts: tuple[int, int, int, int], met: bool, min_caught: float,
                  max_escalated: float, lang: Lang = "en") -> str:  # fmt: skip
    """What ``threshold`` does on the labelled questions (``counts``) and whether it meets the goal."""
    caught, unanswerable, escalated, answerable = counts
    effect = t("calib_effect", lang, caught=caught, unanswerable=unanswerable, escalated=escalated,
               answerable=answerable)  # fmt: skip
    goal = t("calib_goal", lang, min_caught=min_caught, max_escalated=max_escalated)
    return t("calib_met" if met else "calib_not_met", lang, threshold=threshold, effect=effect, goal=goal)
