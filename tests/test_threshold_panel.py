"""Agents' picks as a query set (Evaluate tab and CLI), and the threshold goal applied to a base."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reranker.errors import InvalidInput
from reranker.feedback.picks import Picks
from reranker.i18n import t
from reranker.knowledge.bases import bundled_bases
from reranker.knowledge.labelled import bundled_query_sets, load_queries
from reranker.ui.evaluate_tab import AGENTS_PICKS, picks_file, run_evaluation
from reranker.ui.threshold_panel import apply_threshold, recommend

ROOT = Path(__file__).resolve().parent.parent
ZH_BASE, EN_BASE = list(bundled_bases())
EN_QUERIES = next(path for path in bundled_query_sets().values() if path.name == "en_store_queries.csv")


def record_bundled_labels(picks: Picks, answerable: int) -> int:
    """Agents pick the first id of ``answerable`` bundled labels and "none of these" for every
    out-of-scope one; returns how many of those there are."""
    labelled = load_queries(EN_QUERIES)
    unanswerable = [q for q in labelled if not q.relevant_ids]
    for query in [q for q in labelled if q.relevant_ids][:answerable]:
        picks.record(base=EN_BASE, question=query.query, chosen_id=query.relevant_ids[0])
    for query in unanswerable:
        picks.record(base=EN_BASE, question=query.query, chosen_id=None)
    return len(unanswerable)


def test_agents_picks_evaluate_as_a_query_set_and_give_threshold_scores(desk, picks):
    none = record_bundled_labels(picks, answerable=15)
    note, metrics, *_, scores = run_evaluation(
        lambda: desk.scorer, desk, picks, (EN_BASE, AGENTS_PICKS, None, None), 5
    )
    answerable, unanswerable = scores
    assert (len(answerable), len(unanswerable)) == (15, none)
    assert list(metrics["Method"]) == ["Keyword only (BM25)", "Keyword + rerank"]
    assert f"15 in-scope and {none} out-of-scope queries" in note and note.startswith("**Reranking")


def test_picks_of_a_base_without_any_say_how_to_record_them(picks, tmp_path):
    with pytest.raises(InvalidInput, match="Answers it"):
        picks_file(picks, tmp_path, EN_BASE)


def test_the_goal_gives_a_plain_sentence_and_a_threshold():
    assert recommend(None, 90, 10) == (t("goal_not_yet"), None)
    sentence, threshold = recommend(([0.9, 0.8, 0.7, 0.2], [0.1, 0.3, 0.75]), 60, 30)
    assert threshold == 0.5 and "meets the goal" in sentence
    sentence, threshold = recommend(([0.9], []), 90, 10)
    assert threshold is None and "Record more picks" in sentence


def test_apply_stores_the_threshold_for_the_base_only(picks):
    assert "Stored" in apply_threshold(picks, EN_BASE, None, 0.42)
    assert picks.store.threshold(EN_BASE) == 0.42 and picks.store.threshold(ZH_BASE) is None
    assert "uploaded" in apply_threshold(picks, EN_BASE, "/tmp/faq.csv", 0.3)
    assert "no FAQ base" in apply_threshold(picks, "Nope", None, 0.3)
    assert "Run an evaluation" in apply_threshold(picks, EN_BASE, None, None)
    assert picks.store.threshold(EN_BASE) == 0.42


def test_cli_evaluates_the_picks_and_recommends_a_threshold(picks, tiny_model_dir):
    none = record_bundled_labels(picks, answerable=5)
    command = [sys.executable, "-m", "reranker.evaluate", "--faq", str(bundled_bases()[EN_BASE]),
               "--picks", EN_BASE, "--database-url", str(picks.store.engine.url), "--json", "--top-k", "5",
               "--model", str(tiny_model_dir), "--backend", "transformers", "--dtype", "float32"]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["total"] == 5 + none
    assert 0 <= report["recommended_threshold"] <= 1 and "threshold" in report["recommendation"]


def test_cli_says_where_no_picks_are_stored(tmp_path):
    command = [sys.executable, "-m", "reranker.evaluate", "--faq", str(bundled_bases()[EN_BASE]),
               "--picks", EN_BASE, "--data-dir", str(tmp_path), "--no-rerank"]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "No picks are stored" in done.stderr
