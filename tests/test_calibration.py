"""Threshold recommendations: meet the support lead's goal, or say plainly how close we get."""

from __future__ import annotations

import pytest

from reranker.errors import InvalidInput
from reranker.evaluation.calibration import recommend_for_report, recommend_threshold
from reranker.evaluation.evaluate import EvaluationReport, QueryResult, evaluate, load_evaluation_set
from reranker.knowledge.bases import BUNDLED_DIR
from reranker.verdict import check_threshold

# Twelve answerable questions (one scored low) and ten unanswerable ones (one scored high).
ANSWERABLE = [0.95, 0.91, 0.88, 0.86, 0.8, 0.77, 0.74, 0.7, 0.66, 0.61, 0.55, 0.3]
NONE_OF_THESE = [0.05, 0.08, 0.1, 0.12, 0.15, 0.2, 0.22, 0.25, 0.35, 0.9]


def test_a_goal_that_can_be_met_is_met_with_the_fewest_escalations():
    rec = recommend_threshold(ANSWERABLE, NONE_OF_THESE, min_caught=0.9, max_escalated=0.1)
    assert rec.met and rec.caught == 9 and rec.escalated == 1
    assert 0.35 < rec.threshold <= 0.55  # between the 9th unanswerable and the 11th answerable score
    assert rec.sentence.startswith(
        f"A threshold of {rec.threshold:.2f} sends 9 of 10 unanswerable questions to a human "
        "and escalates 1 of 12 answerable ones."
    )


def test_among_equally_good_thresholds_the_middle_one_is_chosen():
    rec = recommend_threshold([0.9], [0.1], min_caught=1.0, max_escalated=0.0)
    assert rec.threshold == 0.5  # 0.11 to 0.90 all separate the two; 0.5 leaves most room


def test_an_impossible_goal_gives_the_closest_threshold_and_says_so():
    rec = recommend_threshold(ANSWERABLE, NONE_OF_THESE, min_caught=1.0, max_escalated=0.0)
    assert not rec.met
    assert rec.sentence.startswith("No threshold meets the goal (at least 100% of unanswerable")
    assert f"The closest is {rec.threshold:.2f}: it sends {rec.caught} of 10" in rec.sentence
    # Catching the 0.9 outlier costs 11 escalations; missing it costs 10 % of the catch goal.
    assert (rec.caught, rec.escalated) == (9, 1)


def test_questions_without_any_candidate_always_go_to_a_human():
    rec = recommend_threshold([0.9, 0.8], [None, None], min_caught=1.0, max_escalated=0.0)
    assert rec.met and rec.caught == 2 and rec.threshold < 0.8


@pytest.mark.parametrize(
    ("answerable", "none", "goal"),
    [
        ([], [0.1], {}),
        ([0.9], [], {}),
        ([0.9], [0.1], {"min_caught": 1.5}),
        ([0.9], [0.1], {"max_escalated": -0.1}),
    ],
    ids=["no answerable", "no none-of-these", "caught over 1", "escalated below 0"],
)
def test_unusable_inputs_are_refused_with_a_sentence(answerable, none, goal):
    with pytest.raises(InvalidInput):
        recommend_threshold(answerable, none, **goal)


def test_a_threshold_outside_0_to_1_is_refused():
    assert check_threshold(1) == 1.0
    with pytest.raises(InvalidInput, match="between 0 and 1"):
        check_threshold(-0.01)


def test_an_evaluation_report_gives_a_recommendation(hf_scorer):
    kb, queries = load_evaluation_set(BUNDLED_DIR / "en_store_faq.csv", BUNDLED_DIR / "en_store_queries.csv")
    report = evaluate(kb, [q for q in queries if not q.relevant_ids] + queries[:6], hf_scorer, top_k=5)
    rec = recommend_for_report(report, min_caught=0.5, max_escalated=0.5)
    assert (rec.unanswerable, rec.answerable) == (len(report.out_of_scope), 6)
    below = [r.top_score is None or r.top_score < rec.threshold for r in report.results]
    assert rec.caught == sum(b for b, r in zip(below, report.results) if not r.in_scope)
    assert rec.escalated == sum(b for b, r in zip(below, report.results) if r.in_scope)


def test_keyword_scores_get_no_recommendation():
    report = EvaluationReport("keyword", 20, (QueryResult("q", ("a",), ("a",), 3.2),), total=1)
    with pytest.raises(InvalidInput, match="reranker scores"):
        recommend_for_report(report)
