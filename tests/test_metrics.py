"""Ranking metrics and the threshold sweep against hand-computed values."""

from __future__ import annotations

import math

import pytest

from reranker.evaluation.metrics import (
    PROBABILITY_THRESHOLDS,
    ThresholdPoint,
    hit_at_k,
    ndcg_at_k,
    quantile_thresholds,
    reciprocal_rank,
    sweep_thresholds,
)

ELEVEN = [f"id-{i}" for i in range(1, 12)]


def test_reciprocal_rank_is_one_over_the_rank_of_the_first_relevant_id():
    assert reciprocal_rank(["a", "b", "c"], {"a"}) == 1.0
    assert reciprocal_rank(["a", "b", "c"], {"c", "b"}) == 0.5


def test_reciprocal_rank_is_zero_without_a_hit_or_below_the_cut_off():
    assert reciprocal_rank(["a", "b"], {"z"}) == 0.0
    assert reciprocal_rank([], {"z"}) == 0.0
    assert reciprocal_rank(ELEVEN, {"id-11"}) == 0.0
    assert reciprocal_rank(ELEVEN, {"id-11"}, k=11) == pytest.approx(1 / 11)


def test_hit_at_k_counts_any_relevant_id_within_the_top_k():
    assert hit_at_k(["x", "b", "a"], {"a", "b"}, k=2) == 1.0
    assert hit_at_k(["x", "y", "a"], {"a", "b"}, k=2) == 0.0
    assert hit_at_k(["x", "y", "a"], {"a", "b"}, k=3) == 1.0
    assert hit_at_k(["x"], {"a"}, k=20) == 0.0


def test_ndcg_with_two_relevant_ids_one_of_them_late():
    # DCG = 1/log2(2) + 1/log2(4) = 1.5; ideal DCG = 1/log2(2) + 1/log2(3).
    expected = 1.5 / (1 + 1 / math.log2(3))
    assert ndcg_at_k(["a", "x", "b"], {"a", "b"}) == pytest.approx(expected)
    assert expected == pytest.approx(0.9197, abs=1e-4)


def test_ndcg_is_one_for_an_ideal_ranking_and_zero_without_a_hit():
    assert ndcg_at_k(["b", "a", "x"], {"a", "b"}) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "y"], {"a", "b"}) == 0.0


def test_ndcg_ideal_gain_stops_at_k():
    # Three relevant ids but k=1: the ideal ranking has only one slot to fill.
    assert ndcg_at_k(["a", "b", "c"], {"a", "b", "c"}, k=1) == 1.0
    assert ndcg_at_k(["x", "a"], {"a"}, k=1) == 0.0


def test_single_relevant_id_at_rank_two_gives_the_textbook_ndcg():
    assert ndcg_at_k(["x", "a"], {"a"}) == pytest.approx(1 / math.log2(3))


def test_ndcg_refuses_queries_without_relevant_ids():
    with pytest.raises(ValueError, match="out-of-scope"):
        ndcg_at_k(["a"], set())


@pytest.mark.parametrize("metric", [reciprocal_rank, hit_at_k, ndcg_at_k])
def test_k_below_one_is_refused(metric):
    with pytest.raises(ValueError, match="at least 1"):
        metric(["a"], {"a"}, k=0)


def test_probability_thresholds_run_from_five_to_ninety_five_percent():
    assert PROBABILITY_THRESHOLDS[0] == 0.05 and PROBABILITY_THRESHOLDS[-1] == 0.95
    assert len(PROBABILITY_THRESHOLDS) == 19


def test_quantile_thresholds_are_distinct_and_ascending():
    assert quantile_thresholds([1.0, 2.0, 3.0, 4.0, 5.0], [0.5, 0.25, 0.75]) == [2.0, 3.0, 4.0]
    assert quantile_thresholds([7.0, 7.0, 7.0]) == [7.0]
    assert quantile_thresholds([]) == []


def test_sweep_flags_top_scores_strictly_below_the_threshold_and_queries_without_candidates():
    points = sweep_thresholds(
        in_scope_top_scores=[0.9, 0.5, 0.2],
        out_of_scope_top_scores=[0.1, None],
        thresholds=[0.05, 0.5, 0.95],
    )
    assert points == [
        ThresholdPoint(0.05, out_of_scope_flagged=1, in_scope_flagged=0),
        ThresholdPoint(0.5, out_of_scope_flagged=2, in_scope_flagged=1),
        ThresholdPoint(0.95, out_of_scope_flagged=2, in_scope_flagged=3),
    ]
