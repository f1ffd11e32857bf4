"""Results as they come: candidates at once, then batches of scores, then the scorer's order.

Also the reranker loading behind the desk: a ranking started while it loads waits for it
(FAQ search shows keyword matches meanwhile), and one that cannot load says why.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from reranker.desk.desk import Desk
from reranker.desk.results import ANSWER, FAQ_ID, SCORE
from reranker.engine.cache import ScoreCache
from reranker.engine.slot import EngineSlot
from reranker.errors import ModelUnavailable
from reranker.knowledge.bases import bundled_bases
from reranker.retrieval.keyword import search_base
from reranker.server.api import create_api

QUERY = "My parcel has not arrived, where is it?"
ANSWERS = [f"Answer {n}: " + text for n, text in enumerate([
    "Parcels arrive in 3-5 business days; track yours under Orders.",
    "Reset your password from the sign-in page.",
    "We ship to 40 countries; customs are paid on delivery.",
    "Gift cards cannot be refunded.",
    "A parcel marked delivered but missing: check with neighbours, then contact us.",
    "Change your delivery address before the order ships.",
    "Returns are free within 30 days.",
    "Express delivery takes 1-2 business days.",
    "Our stores open at 9 am.",
    "Lost parcels are refunded or re-sent after a 7-day trace.",
])]  # fmt: skip
EN_BASE = list(bundled_bases())[1]


@pytest.fixture
def fresh_scorer(hf_scorer):
    """The shared test scorer with an empty cache of its own: every score is computed here."""
    return replace(hf_scorer, cache=ScoreCache())


def test_pasted_answers_appear_unscored_in_paste_order_then_in_batches(fresh_scorer, tmp_path):
    desk = Desk(fresh_scorer, export_dir=tmp_path)
    steps = list(desk.rank_pasted_stream(QUERY, None, "\n".join(ANSWERS), "lines"))

    first = steps[0]
    assert first.state == "partial" and first.scored == 0 and first.total == 10
    assert first.table[ANSWER].tolist() == ANSWERS
    assert first.best_answer == "" and first.csv_path is None
    assert [s.scored for s in steps] == [0, 2, 10]  # 2 at once, then the other 8 in one engine call
    assert [s.state for s in steps[:-1]] == ["partial"] * 2 and steps[-1].state == "final"


def test_a_ranking_the_engine_finishes_quickly_is_scored_in_one_call(fresh_scorer, tmp_path, monkeypatch):
    monkeypatch.setattr("reranker.desk.desk.QUICK_S", 2.0)  # the desk's rule (the suite turns it off)
    desk = Desk(fresh_scorer, export_dir=tmp_path)
    assert fresh_scorer.expected_s(10) == float("inf")  # nothing scored yet: the first ranking comes in batches
    assert [s.scored for s in desk.rank_pasted_stream(QUERY, None, "\n".join(ANSWERS), "lines")] == [0, 2, 10]

    assert fresh_scorer.expected_s(10) < 2.0  # the tiny model: milliseconds an answer
    again = list(desk.rank_pasted_stream("Where is my refund?", None, "\n".join(ANSWERS), "lines"))

    assert [(s.state, s.scored) for s in again] == [("partial", 0), ("final", 10)]  # candidates at once, then all


def test_after_the_warm_up_the_first_ranking_already_follows_the_one_call_rule(fresh_scorer, tmp_path,
                                                                            monkeypatch):  # fmt: skip
    monkeypatch.setattr("reranker.desk.desk.QUICK_S", 2.0)
    assert fresh_scorer.expected_s(10) == float("inf")

    fresh_scorer.warm_up()  # as the app's loader does before it reports ready

    assert fresh_scorer.expected_s(10) < 2.0
    steps = list(Desk(fresh_scorer, export_dir=tmp_path).rank_pasted_stream(QUERY, None, "\n".join(ANSWERS), "lines"))
    assert [(s.state, s.scored) for s in steps] == [("partial", 0), ("final", 10)]


def test_scored_rows_lead_in_score_order_while_the_rest_keep_paste_order(fresh_scorer, tmp_path):
    desk = Desk(fresh_scorer, export_dir=tmp_path)
    middle = list(desk.rank_pasted_stream(QUERY, None, "\n".join(ANSWERS), "lines"))[1]  # 2 scored

    scores = middle.table[SCORE].tolist()
    assert scores[:2] == sorted(scores[:2], reverse=True)
    assert all(pd.isna(s) for s in scores[2:])
    assert middle.table[ANSWER].tolist()[2:] == ANSWERS[2:]
    html = middle.table_html
    assert 'data-state="partial"' in html and "Not reranked yet (2/10 scored)" in html
    assert "best-badge" not in html


def test_the_final_order_is_exactly_the_scorers(fresh_scorer, hf_scorer, tmp_path):
    final = Desk(fresh_scorer, export_dir=tmp_path).rerank_pasted(QUERY, None, "\n".join(ANSWERS), "lines")

    expected = [d.text for d in replace(hf_scorer, cache=ScoreCache()).rank(QUERY, ANSWERS)]
    assert final.table[ANSWER].tolist() == expected
    assert 'data-state="final"' in final.table_html and final.csv_path is not None


def test_faq_candidates_appear_in_keyword_order_first(fresh_scorer, tmp_path):
    desk = Desk(fresh_scorer, export_dir=tmp_path, bases=bundled_bases())
    base = desk.select_base(EN_BASE)
    first = next(desk.rank_faq_stream("where is my parcel", None, base, top_k=8))

    keyword_ids = [hit.entry.id for hit in search_base(base.kb, "where is my parcel", top_k=8)]
    assert first.state == "partial" and first.table[FAQ_ID].tolist() == keyword_ids


def test_cached_scores_arrive_in_the_first_batch(fresh_scorer, tmp_path):
    desk = Desk(fresh_scorer, export_dir=tmp_path)
    desk.rerank_pasted(QUERY, None, "\n".join(ANSWERS[:3]), "lines")
    steps = list(desk.rank_pasted_stream(QUERY, None, "\n".join(ANSWERS), "lines"))
    assert steps[1].scored == 3


def loads_after(delay_s: float, scorer=None, error: str | None = None):
    def load():
        time.sleep(delay_s)
        if error:
            raise ModelUnavailable(error)
        return scorer

    return load


def test_a_ranking_started_while_the_model_loads_waits_for_it(fresh_scorer, tmp_path):
    desk = Desk(EngineSlot.load_in_background(loads_after(1.5, fresh_scorer)), export_dir=tmp_path)
    assert desk.engine_notice()[0] == "info" and "loading" in desk.engine_notice()[1]

    steps = list(desk.rank_pasted_stream(QUERY, None, "\n".join(ANSWERS[:4]), "lines"))
    assert "waiting for the reranker to finish loading" in steps[0].status
    assert steps[-1].state == "final" and steps[-1].scored == 4
    assert desk.engine_notice() is None


def test_faq_search_falls_back_to_keywords_when_the_model_fails_to_load(tmp_path):
    slot = EngineSlot.load_in_background(loads_after(0.2, error="Model not found: /nowhere."))
    desk = Desk(slot, export_dir=tmp_path, bases=bundled_bases())
    final = desk.rerank_faq("where is my parcel", None, desk.select_base(EN_BASE), top_k=5)
    assert final.kind == "keyword" and final.state == "final"
    with pytest.raises(ModelUnavailable, match="Model not found"):
        desk.rerank_pasted(QUERY, None, "a\nb", "lines")
    assert desk.engine_notice()[0] == "error"


def test_health_says_loading_then_ok(fresh_scorer):
    release = threading.Event()

    def load():
        release.wait(10)
        return fresh_scorer

    slot = EngineSlot.load_in_background(load)
    client = TestClient(create_api(slot))
    loading = client.get("/health")
    assert loading.status_code == 503 and loading.json()["status"] == "loading"
    assert client.post("/v1/rerank", json={"query": "q", "documents": ["d"]}).status_code == 503
    release.set()
    slot.wait(10)
    ready = client.get("/health")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"
    assert ready.json()["backend"] == "transformers"


def test_a_fallback_engine_is_reported_as_degraded_with_its_cause(fresh_scorer, tmp_path):
    fallback = replace(fresh_scorer, fallback_cause="vLLM could not start the model (ValueError: no KV cache).",
                       backend_reason="auto: vLLM could not start, so the slower transformers engine runs")  # fmt: skip
    health = TestClient(create_api(EngineSlot.ready(fallback))).get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "degraded" and health.json()["backend"] == "transformers"
    assert "no KV cache" in health.json()["error"] and "slower" in health.json()["engine_reason"]
    kind, text = Desk(fallback, export_dir=tmp_path).engine_notice()
    assert kind == "warn" and "slower transformers engine" in text and "no KV cache" in text
