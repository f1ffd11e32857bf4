"""FAQ bases saved by a lead live in the team database: every desk serves them, and after a restart."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from reranker.config import AppConfig
from reranker.desk.desk import Desk
from reranker.errors import Forbidden, InvalidInput
from reranker.feedback.picks import Picks
from reranker.feedback.shared_bases import SharedBases
from reranker.feedback.team import Member, Team
from reranker.knowledge.bases import bundled_bases
from reranker.server.serve import create_rest_api
from reranker.store import open_store
from reranker.ui.shared_base_panel import save_for_team

RETURNS = "id,question,answer\nret-1,How do I return a kettle?,Print the label in your account.\n"
RETURNS_V2 = "id,question,answer\nret-1,How do I return a kettle?,Drop it at any post office.\n"
LEAD, AGENT = Member("alice", "lead"), Member("bo", "agent")


@pytest.fixture
def team_db(database_url, tmp_path):
    store = open_store(tmp_path, database_url, bcrypt_rounds=4)
    store.add_user("alice", "lead pw", "lead")
    store.add_user("bo", "agent pw", "agent")
    return store


def make_desk(hf_scorer, tmp_path, name: str) -> Desk:
    return Desk(hf_scorer, export_dir=tmp_path / name / "exports", bases=bundled_bases())


def test_a_base_saved_on_one_desk_is_served_by_another_and_replaced_by_its_hash(hf_scorer, team_db, tmp_path):
    desk_a, desk_b = make_desk(hf_scorer, tmp_path, "a"), make_desk(hf_scorer, tmp_path, "b")
    on_a = SharedBases(team_db, desk_a.bases, tmp_path / "a" / "shared")
    on_b = SharedBases(team_db, desk_b.bases, tmp_path / "b" / "shared")
    on_a.save("Returns", RETURNS.encode(), filename="returns.csv", by=LEAD)
    assert desk_a.bases.named("Returns").entries[0].answer == "Print the label in your account."
    assert on_b.sync() == ["Returns"] and on_b.sync() == []  # unchanged: nothing reloaded
    assert desk_b.bases.named("Returns").entries[0].answer == "Print the label in your account."
    on_a.save("Returns", RETURNS_V2.encode(), filename="returns.csv", by=LEAD)
    assert on_b.sync() == ["Returns"]
    assert desk_b.bases.named("Returns").entries[0].answer == "Drop it at any post office."
    assert team_db.bases()[0].uploaded_by == "alice"
    team_db.remove_base("Returns")
    on_b.sync()
    assert "Returns" not in desk_b.bases.names and len(desk_b.bases.names) == len(bundled_bases())


def test_saved_bases_survive_a_restart(hf_scorer, team_db, tmp_path):
    SharedBases(team_db, make_desk(hf_scorer, tmp_path, "a").bases, tmp_path / "a").save(
        "Returns", RETURNS.encode(), filename="returns.csv", by=LEAD
    )
    restarted = make_desk(hf_scorer, tmp_path, "later")
    shared = SharedBases(team_db, restarted.bases, tmp_path / "later" / "shared").start()
    shared.stop()
    assert "Returns" in restarted.bases.names and len(restarted.bases.named("Returns")) == 1


def test_an_agent_cannot_save_a_base_and_a_broken_csv_is_refused(hf_scorer, team_db, tmp_path):
    shared = SharedBases(team_db, make_desk(hf_scorer, tmp_path, "a").bases, tmp_path / "a")
    with pytest.raises(Forbidden, match="Only a lead can upload"):
        shared.save("Returns", RETURNS.encode(), filename="returns.csv", by=AGENT)
    with pytest.raises(InvalidInput):
        shared.save("Broken", b"answer\nno question column\n", filename="broken.csv", by=LEAD)
    assert team_db.bases() == []


def test_the_ui_save_button_is_a_leads_and_lists_the_base(hf_scorer, team_db, tmp_path):
    desk = make_desk(hf_scorer, tmp_path, "a")
    shared, team = SharedBases(team_db, desk.bases, tmp_path / "a"), Team(team_db)
    upload = tmp_path / "returns.csv"
    upload.write_text(RETURNS, encoding="utf-8")
    refused, unchanged = save_for_team(shared, team, str(upload), "Returns", "bo")
    assert "Only a lead" in refused and unchanged == {"__type__": "update"}
    saved, dropdown = save_for_team(shared, team, str(upload), "", "alice")
    assert "Saved returns for the team" in saved
    assert dropdown["value"] == "returns" and "returns" in dropdown["choices"]


def test_rest_put_saves_a_base_that_another_desk_searches(hf_scorer, team_db, tmp_path):
    desk_a, desk_b = make_desk(hf_scorer, tmp_path, "a"), make_desk(hf_scorer, tmp_path, "b")
    on_b = SharedBases(team_db, desk_b.bases, tmp_path / "b")

    def api(desk: Desk, shared: SharedBases) -> TestClient:
        picks = Picks(team_db, desk.bases, team=Team(team_db))
        return TestClient(create_rest_api(desk, AppConfig(data_dir=tmp_path), picks, shared))

    def basic(user: str, password: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}

    a = api(desk_a, SharedBases(team_db, desk_a.bases, tmp_path / "a"))
    refused = a.put("/v1/faq/bases/Returns", content=RETURNS, headers=basic("bo", "agent pw"))
    assert refused.status_code == 403
    saved = a.put("/v1/faq/bases/Returns", content=RETURNS, headers=basic("alice", "lead pw"))
    assert saved.status_code == 200 and saved.json()["rows"] == 1
    on_b.sync()
    b = api(desk_b, on_b)
    found = b.post("/v1/faq/search", json={"query": "return a kettle", "base": "Returns", "top_k": 5},
                   headers=basic("bo", "agent pw"))  # fmt: skip
    assert found.status_code == 200 and found.json()["results"][0]["id"] == "ret-1"
