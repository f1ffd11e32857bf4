"""The FAQ routes on a launched app: bases, search, feedback, export, concurrent writers, SIGKILL."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from conftest import free_port

from reranker.desk.desk import Desk
from reranker.evaluation.evaluate import evaluate, load_evaluation_set
from reranker.feedback.picks import Picks
from reranker.knowledge.bases import bundled_bases, load_faq
from reranker.store import ShownAnswer, Store, open_store
from reranker.ui import export_dir
from reranker.verdict import DEFAULT_THRESHOLD

ROOT = Path(__file__).resolve().parent.parent
KEY = "s3cret"
AUTH = {"Authorization": f"Bearer {KEY}"}
ZH_BASE, EN_BASE = list(bundled_bases())
EN_QUERY = "how many days till my order gets here"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    return open_store(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def api(hf_scorer, store, launch_desk) -> httpx.Client:
    desk = Desk(hf_scorer, export_dir=export_dir(), bases=bundled_bases())
    with httpx.Client(base_url=launch_desk(desk, Picks(store, desk.bases), api_key=KEY), headers=AUTH, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def api_without_feedback(app_url) -> httpx.Client:
    with httpx.Client(base_url=app_url, timeout=60) as client:
        yield client


def search(api: httpx.Client, query: str = EN_QUERY, base: str = EN_BASE, **fields) -> httpx.Response:
    return api.post("/v1/faq/search", json={"query": query, "base": base, **fields})


def pick(
    api: httpx.Client, query: str, chosen_id: str | None, base: str = EN_BASE, **fields
) -> httpx.Response:
    return api.post("/v1/feedback", json={"query": query, "base": base, "chosen_id": chosen_id, **fields})


def test_bases_lists_the_bundled_bases_with_rows_and_version(api):
    bases = api.get("/v1/faq/bases").json()["bases"]
    assert [b["name"] for b in bases] == [ZH_BASE, EN_BASE]
    assert bases[1]["rows"] == len(load_faq(bundled_bases()[EN_BASE]))
    assert len(bases[1]["version"]) == 16 and bases[1]["file"] == "en_store_faq.csv"


def test_search_returns_the_pipelines_ranking_best_first(api, hf_scorer):
    body = search(api, top_k=5).json()
    scores = [r["relevance_score"] for r in body["results"]]
    assert len(scores) == 5 and scores == sorted(scores, reverse=True)
    kb = load_faq(bundled_bases()[EN_BASE])
    expected = hf_scorer.score(EN_QUERY, [kb.by_id(r["id"]).text for r in body["results"]])
    assert scores == pytest.approx(expected, abs=1e-5)
    assert {"question", "answer", "category", "keyword_score", "keyword_rank"} <= set(body["results"][0])
    assert body["threshold"] == DEFAULT_THRESHOLD and body["threshold_stored"] is False
    assert body["confident"] == (scores[0] >= DEFAULT_THRESHOLD) and body["reranked"] is True


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"query": "refund", "base": "Nope"}, 404, ZH_BASE),
        ({"query": "  ", "base": EN_BASE}, 400, "question is empty"),
        ({"query": "refund", "base": EN_BASE, "top_k": 0}, 400, "Top K"),
        ({"query": "refund", "base": EN_BASE, "top_k": "5"}, 422, "top_k"),
        ({"query": "refund"}, 422, "base: is required"),
    ],
    ids=["unknown base", "empty query", "top_k 0", "top_k string", "no base"],
)
def test_search_refuses_bad_input_with_a_sentence(api, body, status, says):
    response = api.post("/v1/faq/search", json=body)
    assert response.status_code == status
    assert says in response.json()["error"]


def test_every_faq_route_needs_the_api_key(api):
    for method, path in [("GET", "/v1/faq/bases"), ("POST", "/v1/faq/search"), ("POST", "/v1/feedback"),
                         ("GET", "/v1/feedback/export?base=x")]:  # fmt: skip
        response = httpx.request(method, str(api.base_url.join(path)), json={})
        assert response.status_code == 401, path


def test_feedback_with_a_request_id_records_what_the_search_showed(api, store):
    shown = search(api, "where is my parcel", top_k=3).json()
    response = pick(api, "where is my parcel", shown["results"][1]["id"], request_id=shown["request_id"])
    assert response.status_code == 201
    [saved] = [r for r in store.records() if r.id == response.json()["id"]]
    assert saved.chosen_id == shown["results"][1]["id"] and saved.request_id == shown["request_id"]
    assert saved.shown == tuple(
        ShownAnswer(r["id"], r["relevance_score"], r["rank"]) for r in shown["results"]
    )
    assert saved.first_stage == "keyword" and len(saved.base_version) == 16


def test_feedback_none_of_these_and_unknown_ids(api, store):
    created = pick(api, "do you sell gift cards for pets", None)
    assert created.status_code == 201
    assert [r.chosen_id for r in store.records() if r.id == created.json()["id"]] == [None]
    wrong = pick(api, "refund please", "zh-001")
    assert wrong.status_code == 400 and "not an FAQ id" in wrong.json()["error"]
    assert pick(api, "refund please", "en-001", base="Nope").status_code == 404
    assert pick(api, "  ", "en-001").status_code == 400
    assert api.post("/v1/feedback", json={"query": "refund", "base": EN_BASE}).status_code == 422


def test_a_stored_threshold_is_the_one_search_uses(api, store):
    store.set_threshold(ZH_BASE, 0.37)
    try:
        body = search(api, "怎么退货", base=ZH_BASE).json()
        assert (body["threshold"], body["threshold_stored"]) == (0.37, True)
        [zh] = [b for b in api.get("/v1/faq/bases").json()["bases"] if b["name"] == ZH_BASE]
        assert (zh["threshold"], zh["threshold_stored"]) == (0.37, True)
    finally:
        store.set_threshold(ZH_BASE, None)


def test_export_round_trips_into_evaluate(api, tmp_path):
    labels = {"how do i reset my password": "en-061", "my parcel never arrived": None}
    for query, chosen in labels.items():
        assert pick(api, query, chosen).status_code == 201
    response = api.get("/v1/feedback/export", params={"base": EN_BASE})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = {row["query"]: row["relevant_ids"] for row in csv.DictReader(io.StringIO(response.text))}
    assert {q: rows[q] for q in labels} == {q: c or "" for q, c in labels.items()}
    exported = tmp_path / "picks.csv"
    exported.write_text(response.text, encoding="utf-8")
    kb, queries = load_evaluation_set(bundled_bases()[EN_BASE], exported)
    report = evaluate(kb, queries, scorer=None)
    assert len(report.in_scope) + len(report.out_of_scope) == len(rows)
    command = [sys.executable, "-m", "reranker.evaluate", "--faq", str(bundled_bases()[EN_BASE]),
               "--queries", str(exported), "--no-rerank", "--json"]  # fmt: skip
    assert subprocess.run(command, cwd=ROOT, capture_output=True, timeout=120).returncode == 0


def test_export_of_an_unknown_base_is_a_404_and_needs_a_base(api):
    assert api.get("/v1/feedback/export", params={"base": "Nope"}).status_code == 404
    assert "base" in api.get("/v1/feedback/export").json()["error"]


def test_concurrent_feedback_from_threads_all_land(api, store):
    before = len(store.records(EN_BASE))
    threads, each = 8, 25

    def post(n: int) -> list[int]:
        return [pick(api, f"thread {n} question {i}", "en-004").json()["id"] for i in range(each)]

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        ids = [record_id for batch in pool.map(post, range(threads)) for record_id in batch]
    elapsed = time.perf_counter() - started
    print(f"{len(ids)} concurrent feedback writes from {threads} threads in {elapsed:.2f} s")
    assert len(set(ids)) == threads * each
    assert len(store.records(EN_BASE)) == before + threads * each


def test_without_feedback_picks_and_export_say_recording_is_off(api_without_feedback):
    refused = pick(api_without_feedback, "refund please", "en-001")
    assert refused.status_code == 400 and "--no-feedback" in refused.json()["error"]
    assert api_without_feedback.get("/v1/feedback/export", params={"base": EN_BASE}).status_code == 400
    assert search(api_without_feedback).json()["threshold_stored"] is False


def start_app(data_dir: Path, port: int, model: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "app.py", "--port", str(port), "--data-dir", str(data_dir),
               "--model", str(model), "--backend", "transformers", "--dtype", "float32"]  # fmt: skip
    app = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/faq/bases", timeout=2).status_code == 200:
                return app
        except httpx.TransportError:
            time.sleep(0.5)
    app.kill()
    raise AssertionError("the app did not start within 120 s")


@pytest.mark.slow
def test_acknowledged_feedback_survives_sigkill_and_restart(tmp_path, tiny_model_dir):
    count = 50
    port = free_port()
    app = start_app(tmp_path, port, tiny_model_dir)
    url = f"http://127.0.0.1:{port}"
    try:
        ids = [
            httpx.post(f"{url}/v1/feedback", json={"query": f"question {n}", "base": EN_BASE,
                                                   "chosen_id": "en-004"}, timeout=30).json()["id"]
            for n in range(count)
        ]  # fmt: skip
    finally:
        os.kill(app.pid, signal.SIGKILL)
        app.wait()
    restarted = start_app(tmp_path, port, tiny_model_dir)
    try:
        exported = httpx.get(f"{url}/v1/feedback/export", params={"base": EN_BASE}, timeout=30).text
    finally:
        restarted.terminate()
        restarted.wait(30)
    assert len(set(ids)) == count
    assert exported.splitlines()[1:] == [f"question {n},en-004" for n in range(count)]
    assert sorted(r.id for r in open_store(tmp_path).records()) == sorted(ids)
