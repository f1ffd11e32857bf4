"""The Knowledge REST routes: leads edit entries with history, import CSV, review what picks teach,
answer knowledge gaps; agents read. Picks sent to ``POST /v1/feedback`` teach as they are."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from reranker.config import AppConfig
from reranker.desk.desk import Desk
from reranker.feedback.knowledge import Knowledge
from reranker.feedback.picks import Picks
from reranker.feedback.shared_bases import SharedBases
from reranker.feedback.team import Team
from reranker.knowledge.bases import bundled_bases
from reranker.retrieval.keyword import search_base
from reranker.retrieval.slot import DenseSlot
from reranker.server.serve import create_rest_api

EN = "English store FAQ (en_store_faq.csv)"
ENTRIES = f"/v1/faq/bases/{EN}/entries"


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


LEAD, AGENT, AGENT_2 = basic("lea", "lead pw"), basic("bo", "agent pw"), basic("cy", "agent pw")


def make_api(hf_scorer, store, tmp_path, learn: str = "review", embedder_for=None):
    for name, role in (("lea", "lead"), ("bo", "agent"), ("cy", "agent")):
        if store.user(name) is None:
            store.add_user(name, "lead pw" if role == "lead" else "agent pw", role)
    desk = Desk(hf_scorer, export_dir=tmp_path / "exports", bases=bundled_bases())
    picks = Picks(store, desk.bases, team=Team(store))
    shared = SharedBases(store, desk.bases, tmp_path / "shared")
    knowledge = Knowledge.wire(picks, shared, learn=learn, embedder_for=embedder_for)  # type: ignore[arg-type]
    client = TestClient(create_rest_api(desk, AppConfig(data_dir=tmp_path), picks, shared, knowledge))
    return client, desk, knowledge


@pytest.fixture
def api(hf_scorer, store, tmp_path):
    return make_api(hf_scorer, store, tmp_path)


def pick(client: TestClient, question: str, chosen_id: str | None, who=AGENT) -> int:
    answer = client.post("/v1/feedback", json={"query": question, "base": EN, "chosen_id": chosen_id}, headers=who)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def test_a_lead_adds_changes_and_rolls_back_an_entry_and_an_agent_only_reads(api):
    client, _desk, _ = api
    new = {"id": "en-900", "question": "Do you sell gift cards?", "answer": "Yes, from $10.", "phrasings": ["Gift vouchers?"]}

    assert client.post(ENTRIES, json=new, headers=AGENT).status_code == 403
    created = client.post(ENTRIES, json=new, headers=LEAD)
    assert created.status_code == 201 and created.json()["version"] == 1 and created.json()["author"] == "lea"
    assert client.post(ENTRIES, json=new, headers=LEAD).status_code == 409  # the id is taken

    changed = client.patch(f"{ENTRIES}/en-900", json={"answer": "Yes, from $5.", "expected_version": 1}, headers=LEAD)
    assert changed.status_code == 200 and changed.json()["version"] == 2
    stale = client.patch(f"{ENTRIES}/en-900", json={"answer": "Stale.", "expected_version": 1}, headers=LEAD)
    assert stale.status_code == 409 and "saved by lea" in stale.json()["error"]
    assert client.patch(f"{ENTRIES}/en-900", json={"answer": "No."}, headers=AGENT).status_code == 403

    history = client.get(f"{ENTRIES}/en-900/history", headers=AGENT).json()["versions"]
    assert [(v["version"], v["answer"]) for v in history] == [(2, "Yes, from $5."), (1, "Yes, from $10.")]
    rolled = client.post(f"{ENTRIES}/en-900/rollback", json={"version": 1, "expected_version": 2}, headers=LEAD)
    assert rolled.json()["version"] == 3 and rolled.json()["note"] == "rollback to 1"

    found = client.post("/v1/faq/search", json={"query": "gift vouchers", "base": EN}, headers=AGENT).json()
    hit = next(r for r in found["results"] if r["id"] == "en-900")
    assert hit["keyword_rank"] == 1 and hit["answer"] == "Yes, from $10."


def test_retiring_hides_an_entry_from_searches_and_the_listing(api):
    client, desk, _ = api

    assert client.delete(f"{ENTRIES}/en-004", headers=LEAD).json()["retired"] is True

    listed = client.get(ENTRIES, headers=AGENT).json()
    assert listed["edited"] is True and "en-004" not in {e["id"] for e in listed["entries"]}
    assert "en-004" in {e["id"] for e in client.get(ENTRIES, params={"retired": True}, headers=AGENT).json()["entries"]}
    assert "en-004" not in {e.id for e in desk.bases.named(EN).entries}
    assert client.patch(f"{ENTRIES}/en-004", json={"retired": False}, headers=LEAD).json()["note"] == "restore"


def test_export_then_import_previews_and_applies(api):
    client, _, _ = api
    exported = client.get(f"/v1/faq/bases/{EN}/export", headers=AGENT)
    assert exported.headers["content-type"].startswith("text/csv")
    changed = exported.content.replace(b"contiguous US takes 3", b"contiguous US takes 4", 1)
    assert changed != exported.content

    preview = client.post(f"/v1/faq/bases/{EN}/import", content=changed, headers=LEAD).json()
    assert preview["applied"] is False and preview["counts"]["changed"] == 1 and preview["counts"]["invalid"] == 0
    assert client.post(f"/v1/faq/bases/{EN}/import", params={"changed": "overwrite"}, content=changed,
                       headers=AGENT).status_code == 403  # fmt: skip
    applied = client.post(f"/v1/faq/bases/{EN}/import", params={"changed": "overwrite", "filename": "x.csv"},
                          content=changed, headers=LEAD).json()  # fmt: skip
    assert applied["applied"] is True
    again = client.post(f"/v1/faq/bases/{EN}/import", content=changed, headers=LEAD).json()
    assert again["counts"] == {"new": 0, "changed": 0, "unchanged": applied["counts"]["unchanged"] + 1, "invalid": 0}


def test_a_pick_suggests_the_question_as_a_phrasing_most_agents_first(api):
    client, desk, _ = api
    pick(client, "my parcel never came", "en-004")
    pick(client, "kettle not delivered yet", "en-004", who=AGENT)
    pick(client, "kettle not delivered yet", "en-004", who=AGENT_2)
    pick(client, "how long does  SHIPPING take?", "en-001")  # the entry's own question: nothing to learn

    pending = client.get(f"/v1/faq/bases/{EN}/suggestions", headers=LEAD).json()["suggestions"]

    assert [(s["question"], s["picks"], sorted(s["agents"])) for s in pending] == [
        ("kettle not delivered yet", 2, ["bo", "cy"]), ("my parcel never came", 1, ["bo"])]  # fmt: skip
    assert client.post(f"/v1/faq/suggestions/{pending[0]['id']}", json={"decision": "approve"},
                       headers=AGENT).status_code == 403  # fmt: skip
    approved = client.post(f"/v1/faq/suggestions/{pending[0]['id']}", json={"decision": "approve"}, headers=LEAD)
    assert approved.json()["status"] == "approved"
    assert "kettle not delivered yet" in desk.bases.named(EN).by_id("en-004").similar_questions
    assert search_base(desk.bases.named(EN), "kettle not delivered yet", top_k=1)[0].entry.id == "en-004"


def test_a_rejected_suggestion_is_not_suggested_again(api):
    client, _, _ = api
    pick(client, "where is my stuff", "en-004")
    suggestion = client.get(f"/v1/faq/bases/{EN}/suggestions", headers=LEAD).json()["suggestions"][0]
    client.post(f"/v1/faq/suggestions/{suggestion['id']}", json={"decision": "reject"}, headers=LEAD)

    pick(client, "where is my stuff", "en-004", who=AGENT_2)

    assert client.get(f"/v1/faq/bases/{EN}/suggestions", headers=LEAD).json()["suggestions"] == []


def test_an_undone_pick_withdraws_its_suggestion(api):
    client, _, knowledge = api
    record = pick(client, "wrong click question", "en-004")

    knowledge.gaps.picks.undo(record)

    assert client.get(f"/v1/faq/bases/{EN}/suggestions", headers=LEAD).json()["suggestions"] == []


def test_auto_learning_adds_the_phrasing_at_once(hf_scorer, store, tmp_path):
    client, _desk, knowledge = make_api(hf_scorer, store, tmp_path, learn="auto")

    pick(client, "parcel stuck somewhere", "en-004")

    entry = knowledge.editor.entry(EN, "en-004")
    assert "parcel stuck somewhere" in entry.phrasings
    assert (entry.author, entry.note) == ("learned from picks", "learned from a pick by bo")
    assert client.get(f"/v1/faq/bases/{EN}/suggestions", headers=LEAD).json()["suggestions"] == []


def test_gaps_group_unanswered_questions_and_a_new_entry_answers_them(api, monkeypatch):
    client, desk, knowledge = api
    for question in ("Do you ship to Mars?", "Shipping to Mars possible?", "Can you deliver to Mars?"):
        pick(client, question, None)
    pick(client, "Can I pay with seashells?", None)

    gaps = client.get("/v1/faq/gaps", params={"base": EN}, headers=AGENT).json()["gaps"]

    assert [g["count"] for g in gaps] == [3, 1]
    mars = gaps[0]
    assert "Mars" in mars["question"] and len(mars["samples"]) == 2
    assert client.post(f"/v1/faq/gaps/{mars['id']}/entry", params={"base": EN}, json={"answer": "No."},
                       headers=AGENT).status_code == 403  # fmt: skip
    groupings, find = [], knowledge.gaps.find
    monkeypatch.setattr(knowledge.gaps, "find", lambda base: groupings.append(base) or find(base))
    created = client.post(f"/v1/faq/gaps/{mars['id']}/entry", params={"base": EN},
                          json={"answer": "We deliver on Earth only."}, headers=LEAD)  # fmt: skip
    assert created.status_code == 201 and created.json()["id"] == "en-118"
    assert groupings == [EN]  # the questions were grouped once, for the draft and the save
    monkeypatch.setattr(knowledge.gaps, "find", find)
    assert len(created.json()["phrasings"]) == 2
    assert [g["count"] for g in client.get("/v1/faq/gaps", params={"base": EN}, headers=LEAD).json()["gaps"]] == [1]
    for question in ("Do you ship to Mars?", "Shipping to Mars possible?", "Can you deliver to Mars?"):
        assert search_base(desk.bases.named(EN), question, top_k=1)[0].entry.id == "en-118"

    seashells = client.get("/v1/faq/gaps", params={"base": EN}, headers=LEAD).json()["gaps"][0]
    assert client.post(f"/v1/faq/gaps/{seashells['id']}/dismiss", params={"base": EN}, headers=LEAD).json() == {
        "dismissed": 1}  # fmt: skip
    assert client.get("/v1/faq/gaps", params={"base": EN}, headers=LEAD).json()["gaps"] == []


def test_health_counts_shown_and_picked_and_finds_confused_pairs(api):
    client, _, knowledge = api
    store = knowledge.editor.entries.store
    shown = [{"id": "en-004", "score": 0.9, "rank": 1}, {"id": "en-005", "score": 0.8, "rank": 2}]
    for chosen in ("en-004", "en-005", "en-004"):
        store.record(base=EN, base_version="v", question="where is it", chosen_id=chosen, user="bo",
                     shown=[type("A", (), a)() for a in shown])  # fmt: skip

    health = client.get(f"/v1/faq/bases/{EN}/health", params={"unpicked_days": 30}, headers=LEAD).json()

    rows = {row["id"]: row for row in health["entries"]}
    assert (rows["en-004"]["shown_top3"], rows["en-004"]["picked"]) == (3, 2)
    assert rows["en-001"]["picked"] == 0 and rows["en-001"]["last_picked"] is None
    assert "en-001" in health["unpicked"] and "en-004" not in health["unpicked"]
    assert health["confused_pairs"] == [{"a": "en-004", "b": "en-005", "together": 3, "a_over_b": 2, "b_over_a": 1}]
    assert datetime.fromisoformat(rows["en-004"]["last_picked"]) > datetime.now(UTC) - timedelta(minutes=5)


def test_gaps_are_grouped_by_the_embedding_model_when_it_suits_the_base(hf_scorer, store, tmp_path, minilm):
    slot = DenseSlot.ready("hybrid", minilm, cache_dir=tmp_path / "vectors")
    client, _, _ = make_api(hf_scorer, store, tmp_path, embedder_for=slot.question_embedder)
    for question in ("Do you ship to Mars?", "Can you deliver my order to Mars?", "Can I pay with seashells?"):
        pick(client, question, None)

    gaps = client.get("/v1/faq/gaps", params={"base": EN}, headers=AGENT).json()

    assert gaps["grouped_by"] == "embeddings"
    assert [(g["count"], "Mars" in g["question"]) for g in gaps["gaps"]] == [(2, True), (1, False)]
    zh = client.get("/v1/faq/gaps", params={"base": "中文电商 FAQ (zh_ecommerce_faq.csv)"}, headers=AGENT).json()
    assert zh["grouped_by"] == "keywords"  # all-MiniLM-L6-v2 is English-only
