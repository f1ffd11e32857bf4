"""Replaying agents' picks as phrasings: what is learned, and what it does to the held-out questions."""

from __future__ import annotations

import json

import pytest

from reranker.cli.main import main
from reranker.errors import InvalidInput
from reranker.evaluation.evaluate import load_evaluation_set
from reranker.evaluation.replay import learn_phrasings, replay, replay_picks, split_picks
from reranker.knowledge.bases import BUNDLED_DIR, FaqEntry, KnowledgeBase
from reranker.knowledge.labelled import LabelledQuery, load_queries

EN_FAQ = BUNDLED_DIR / "en_store_faq.csv"
PLAIN, CHATTY = BUNDLED_DIR / "en_store_queries.csv", BUNDLED_DIR / "en_store_queries_chatty.csv"


def test_a_pick_becomes_a_phrasing_of_the_chosen_entry_once():
    kb = KnowledgeBase([FaqEntry("a", "Where is my order?", "Track it."), FaqEntry("b", "Refund?", "30 days.")])
    picks = [LabelledQuery("  where is my parcel ", ("a",)), LabelledQuery("Where is my  PARCEL", ("a", "b")),
             LabelledQuery("where is my order?", ("a",)), LabelledQuery("do you sell cars", ())]  # fmt: skip
    learned, added = learn_phrasings(kb, picks)
    assert added == 1 and learned.by_id("a").similar_questions == ("where is my parcel",)
    assert learned.by_id("b") == kb.by_id("b") and kb.by_id("a").similar_questions == ()


def test_the_split_keeps_file_order_and_refuses_an_empty_side():
    queries = [LabelledQuery(f"q{n}", ("a",)) for n in range(4)]
    assert [q.query for q in split_picks(queries, 0.5)[1]] == ["q2", "q3"]
    for share in (0.0, 1.0, 0.1):
        with pytest.raises(InvalidInput):
            split_picks(queries, share)


def test_last_months_picks_lift_this_months_keyword_search():
    kb, picks = load_evaluation_set(EN_FAQ, PLAIN)
    [result] = replay(kb, picks, load_queries(CHATTY))
    before, after = result.before.metrics(), result.after.metrics()
    assert result.covered > 0 and after["mrr@10"] > before["mrr@10"] and after["recall@5"] >= before["recall@5"]


def test_a_held_out_question_is_never_answered_by_its_own_pick():
    kb, queries = load_evaluation_set(EN_FAQ, CHATTY)
    [result] = replay_picks(kb, queries, 0.5)
    learned_questions = {q.query for q in queries[: len(queries) // 2]}
    assert result.evaluated == len(queries) - len(queries) // 2
    assert not learned_questions & {r.query for r in result.after.results}


def test_the_cli_reports_before_and_after_as_json(capsys):
    argv = ["evaluate", "--faq", str(EN_FAQ), "--queries", str(CHATTY), "--learn-from", str(PLAIN),
            "--embedding-model", "none", "--json"]  # fmt: skip
    assert main(argv) == 0
    [row] = json.loads(capsys.readouterr().out)["replay"]
    assert row["retrieval"] == "keyword" and row["learned"] == 52 and row["evaluated"] == 46
    assert row["after"]["mrr@10"] > row["before"]["mrr@10"]
