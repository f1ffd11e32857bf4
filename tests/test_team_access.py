"""Logins and roles: agents rank and pick, leads also apply thresholds and export; every request has a name."""

from __future__ import annotations

import base64
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import gradio as gr
import httpx
import pytest
from conftest import free_port, serving
from fastapi.testclient import TestClient

from reranker.config import AppConfig
from reranker.engine.scorer import Scorer
from reranker.errors import Forbidden
from reranker.feedback.picks import Picks
from reranker.feedback.team import OPEN, Member, Team
from reranker.knowledge.bases import bundled_bases
from reranker.knowledge.presets import DEFAULT_PRESET
from reranker.server.api import create_api
from reranker.server.serve import api_access, create_rest_api, serving_options
from reranker.store import ShownAnswer
from reranker.testing.gated import GatedBackend
from reranker.ui import handlers
from reranker.ui import picks as pick_panel
from reranker.ui.app import signed_in_line
from reranker.ui.evaluate_tab import picks_file
from reranker.ui.threshold_panel import apply_threshold

EN_BASE = next(name for name in bundled_bases() if "en_store_faq" in name)
QUESTION = "where is my parcel"


@pytest.fixture
def team_store(store):
    store.add_user("alice", "lead pw", "lead")
    store.add_user("bo", "agent pw", "agent")
    return store


@pytest.fixture
def team_picks(desk, team_store) -> Picks:
    return Picks(team_store, desk.bases, team=Team(team_store, bootstrap=("admin", "boot pw")))


def browser(name: str | None) -> gr.Request:
    return gr.Request(username=name)


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_the_ui_login_checks_the_users_table_and_the_bootstrap_account(team_picks, team_store):
    team = team_picks.team
    login = serving_options(AppConfig(auth=("admin", "boot pw")), team)["auth"]
    assert login("alice", "lead pw") and login("bo", "agent pw") and login("admin", "boot pw")
    assert not login("bo", "lead pw") and not login("nobody", "x")
    team_store.disable_user("bo")
    assert not login("bo", "agent pw")
    assert team.sign_in("admin", "boot pw") == Member("admin", "lead")


def test_a_desk_without_users_or_auth_stays_open_as_before(picks):
    assert not picks.team.logins and picks.team.member(None) == OPEN
    assert serving_options(AppConfig())["auth"] is None
    assert api_access(AppConfig(), picks.team).open


def test_only_a_lead_applies_a_threshold_and_it_records_who(team_picks, team_store):
    refused = apply_threshold(team_picks, EN_BASE, None, 0.42, user="bo")
    assert "Only a lead" in refused and team_store.threshold(EN_BASE) is None
    assert "Stored" in apply_threshold(team_picks, EN_BASE, None, 0.42, user="alice")
    setting = team_store.threshold_setting(EN_BASE)
    assert (setting.value, setting.set_by) == (0.42, "alice")
    assert "Sign in first" in apply_threshold(team_picks, EN_BASE, None, 0.5, user=None)


def test_only_a_lead_exports_the_picks_even_through_the_evaluate_tab(team_picks, tmp_path):
    team_picks.record(base=EN_BASE, question=QUESTION, chosen_id="en-004", user="bo")
    with pytest.raises(Forbidden, match="Only a lead can export"):
        picks_file(team_picks, tmp_path, EN_BASE, "bo")
    assert QUESTION in picks_file(team_picks, tmp_path, EN_BASE, "alice").read_text()


def test_a_pick_records_the_signed_in_agent_and_a_disabled_agent_is_refused(team_picks, team_store):
    shown = pick_panel.Shown(EN_BASE, QUESTION, None, (ShownAnswer("en-004", 0.9, 1),))
    message, _, record_id = pick_panel.record(team_picks, shown, browser("bo"), SimpleNamespace(pick="en-004"))
    assert "Saved" in message and team_store.records()[-1].user == "bo" and record_id is not None
    team_store.disable_user("bo")
    message, _, record_id = pick_panel.record(team_picks, shown, browser("bo"), SimpleNamespace(pick="en-004"))
    assert "disabled" in message and record_id is None and len(team_store.records()) == 1


def test_the_page_says_who_is_signed_in_and_links_sign_out(team_picks):
    line = signed_in_line(team_picks.team, browser("bo"))
    assert "Signed in as bo (agent)" in line and 'href="logout"' in line
    assert signed_in_line(team_picks.team, browser(None)) == ""


def test_rest_accepts_the_teams_keys_and_logins_and_enforces_roles(desk, team_picks, team_store, caplog):
    _, agent_key = team_store.create_key("bo", "zendesk")
    _, lead_key = team_store.create_key("alice", "reports")
    api = TestClient(create_rest_api(desk, AppConfig(api_key="static key"), team_picks))
    body = {"query": QUESTION, "base": EN_BASE, "chosen_id": "en-004"}
    search = {"query": QUESTION, "base": EN_BASE, "top_k": 5}
    with caplog.at_level(logging.INFO, logger="reranker.server.access"):
        assert api.post("/v1/faq/search", json=search, headers=bearer(agent_key)).status_code == 200
        assert api.post("/v1/feedback", json=body, headers=bearer(agent_key)).status_code == 201
        assert api.post("/v1/feedback", json=body, headers=basic("bo", "agent pw")).status_code == 201
    assert [r.user for r in team_store.records()] == ["bo/zendesk", "bo"]
    assert "POST /v1/feedback 201 by bo/zendesk" in caplog.text
    export = {"base": EN_BASE}
    refused = api.get("/v1/feedback/export", params=export, headers=bearer(agent_key))
    assert refused.status_code == 403 and "Only a lead" in refused.json()["error"]
    assert api.get("/v1/feedback/export", params=export, headers=bearer(lead_key)).status_code == 200
    assert api.get("/v1/feedback/export", params=export, headers=basic("admin", "boot pw")).status_code == 200
    assert api.get("/v1/feedback/export", params=export, headers=bearer("static key")).status_code == 200
    assert api.get("/v1/faq/bases").status_code == 401
    assert api.get("/v1/faq/bases", headers=bearer("frd_not-a-key")).status_code == 401
    assert api.get("/v1/faq/bases", headers=basic("bo", "wrong")).status_code == 401
    team_store.revoke_key(team_store.api_keys("bo")[0].id)
    assert api.get("/v1/faq/bases", headers=bearer(agent_key)).status_code == 401
    metrics = api.get("/metrics", headers=bearer("static key")).text
    assert 'reranker_caller_requests_total{caller="bo/zendesk",route="/v1/feedback",status="201"} 1.0' in metrics
    assert 'reranker_caller_requests_total{caller="bo/zendesk",route="/v1/feedback/export",status="403"} 1.0' in metrics
    assert 'reranker_caller_requests_total{caller="alice/reports",route="/v1/feedback/export",status="200"} 1.0' in metrics


def test_beyond_the_queue_a_rerank_is_a_503_at_once_and_counted(hf_scorer):
    gate = GatedBackend()
    scorer = Scorer(backend=gate, encoder=hf_scorer.encoder, model="gated")
    with serving(create_api(lambda: scorer, capacity=2)) as url, ThreadPoolExecutor(2) as pool:
        held = [pool.submit(httpx.post, f"{url}/v1/rerank", json={"query": "q", "documents": [f"d{n}"]}, timeout=60)
                for n in range(2)]  # fmt: skip
        deadline = time.monotonic() + 30
        while 'reranker_queue_depth{queue="rest"} 2.0' not in httpx.get(f"{url}/metrics").text:
            assert time.monotonic() < deadline, "the two held requests did not reach the engine"
            time.sleep(0.05)
        start = time.monotonic()
        busy = httpx.post(f"{url}/v1/rerank", json={"query": "q", "documents": ["d9"]}, timeout=30)
        waited = time.monotonic() - start
        gate.release.set()
        assert [r.result().status_code for r in held] == [200, 200]
        metrics = httpx.get(f"{url}/metrics").text
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "1" and "busy" in busy.json()["error"]
    assert waited < 5
    assert 'reranker_rejected_requests_total{route="/v1/rerank"} 1.0' in metrics


def test_a_database_outage_is_a_retrying_message_in_the_ui_and_a_503_in_the_api(desk):
    from reranker.store import Store

    down = Store(f"postgresql+psycopg://desk:pw@127.0.0.1:{free_port()}/desk", retry_s=0.3)
    picks = Picks(down, desk.bases, team=Team(None))  # a desk without logins, its database gone
    shown = pick_panel.Shown(EN_BASE, QUESTION, None, (ShownAnswer("en-004", 0.9, 1),))
    message, _, record_id = pick_panel.record(picks, shown, browser(None), SimpleNamespace(pick="en-004"))
    assert "Database unavailable, retrying" in message and record_id is None
    assert "Database unavailable, retrying" in apply_threshold(picks, EN_BASE, None, 0.4)
    api = TestClient(create_rest_api(desk, AppConfig(), picks))
    answer = api.post("/v1/faq/search", json={"query": QUESTION, "base": EN_BASE, "top_k": 5})
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.json()["error"].startswith("Database unavailable, retried for 0.3 s")


def test_rest_threshold_routes_are_a_leads_and_every_search_uses_the_threshold(desk, team_picks, team_store):
    api = TestClient(create_rest_api(desk, AppConfig(), team_picks))
    route = f"/v1/faq/bases/{EN_BASE}/threshold"
    refused = api.put(route, json={"threshold": 0.7}, headers=basic("bo", "agent pw"))
    assert refused.status_code == 403 and team_store.threshold(EN_BASE) is None
    applied = api.put(route, json={"threshold": 0.7}, headers=basic("alice", "lead pw"))
    assert applied.status_code == 200 and applied.json()["threshold"] == 0.7
    assert team_store.threshold_setting(EN_BASE).set_by == "alice"
    search = api.post("/v1/faq/search", json={"query": QUESTION, "base": EN_BASE}, headers=basic("bo", "agent pw"))
    assert (search.json()["threshold"], search.json()["threshold_stored"]) == (0.7, True)
    assert api.put(route, json={"threshold": 1.5}, headers=basic("alice", "lead pw")).status_code == 400
    assert api.delete(route, headers=basic("alice", "lead pw")).json()["threshold_stored"] is False


def test_the_launched_desk_signs_in_users_of_the_table_and_the_bootstrap_login(launch_desk, desk, team_picks):
    url = launch_desk(desk, team_picks, auth=("admin", "boot pw"))
    for user, password, status in [("bo", "agent pw", 200), ("admin", "boot pw", 200), ("bo", "wrong", 400)]:
        with httpx.Client(base_url=url, timeout=30) as client:
            assert client.get("config").status_code == 401
            assert client.post("login", data={"username": user, "password": password}).status_code == status
            assert client.get("config").status_code == (200 if status == 200 else 401)
    with httpx.Client(base_url=url, timeout=30) as client:
        client.post("login", data={"username": "bo", "password": "agent pw"})
        client.get("logout")
        assert client.get("config").status_code == 401
    api = httpx.get(f"{url}v1/faq/bases", headers=basic("bo", "agent pw"), timeout=30)
    assert api.status_code == 200 and httpx.get(f"{url}v1/faq/bases", timeout=30).status_code == 401


def test_ranking_an_uploaded_file_is_a_leads_and_a_disabled_agent_cannot_rank(team_picks, team_store, desk, tmp_path):
    upload = tmp_path / "mine.csv"
    upload.write_text("id,question,answer\nm-1,How do I return a kettle?,Print the label.\n", encoding="utf-8")

    def rank(user: str, source: str) -> list:
        return list(handlers.rank_faq(desk, team_picks, handlers.StopSignals(), "return a kettle", DEFAULT_PRESET, "",
                                      source, EN_BASE,
                                      str(upload), 5, 0.5, browser(user)))  # fmt: skip

    with pytest.raises(gr.Error, match="Only a lead can upload"):
        rank("bo", "upload")
    assert rank("alice", "upload") and rank("bo", "bundled")
    team_store.disable_user("bo")
    with pytest.raises(gr.Error, match="disabled"):
        rank("bo", "bundled")
