"""REST API: the /v1/rerank and /health contract, every error as {"error": ...}, and one server.

Most tests drive ``create_api(lambda: hf_scorer)`` through FastAPI's TestClient; the last ones
start real HTTP servers (uvicorn with the Gradio UI mounted, and ``demo.launch()``) on loopback.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import gradio as gr
import httpx
import pytest
import torch
from conftest import free_port, serving
from fastapi.testclient import TestClient

from reranker.engine.backends.base import Backend
from reranker.engine.cache import ScoreCache
from reranker.engine.prompt import MAX_WINDOWS
from reranker.engine.scorer import Scorer
from reranker.server.api import create_api
from reranker.server.schemas import INTERNAL_ERROR
from reranker.server.serve import add_api_routes, create_server
from reranker.testing.gated import GatedBackend

QUERY = "订单一直显示待发货怎么办？"
DOCS = [
    "您购买的商品正在打包中，通常24小时内发出。",
    "Orders placed before 2 pm ship the same business day.",
    "退货流程：进入‘我的订单’→点击‘申请退货’→等待审核。",
    "To reset your password, click 'Forgot password' on the sign-in page.",
    "促销活动期间订单量激增，发货时间可能延长至48小时。",
]


@pytest.fixture(scope="module")
def client(hf_scorer) -> TestClient:
    return TestClient(create_api(lambda: hf_scorer))


def rerank(client: TestClient, **body: object) -> httpx.Response:
    return client.post("/v1/rerank", json={"query": QUERY, "documents": DOCS, **body})


# --- the contract -------------------------------------------------------------------------------


def test_results_are_sorted_by_score_and_index_the_request(client, hf_scorer):
    body = rerank(client).json()
    scores = [r["relevance_score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)
    assert sorted(r["index"] for r in body["results"]) == list(range(len(DOCS)))
    assert all(r["document"]["text"] == DOCS[r["index"]] for r in body["results"])
    assert body["model"] == hf_scorer.model
    assert body["meta"]["backend"] == "transformers"
    assert body["meta"]["truncated"] == []
    assert body["meta"]["elapsed_ms"] >= 0


def test_scores_are_identical_to_scorer_score(client, hf_scorer):
    results = rerank(client, instruction="Judge whether the answer explains a shipping delay").json()[
        "results"
    ]
    expected = hf_scorer.score(QUERY, DOCS, "Judge whether the answer explains a shipping delay")
    assert {r["index"]: r["relevance_score"] for r in results} == dict(enumerate(expected))


def test_top_n_returns_the_best_n(client):
    everything = rerank(client).json()["results"]
    best_two = rerank(client, top_n=2).json()["results"]
    assert best_two == everything[:2]


def test_top_n_larger_than_the_documents_returns_them_all(client):
    assert len(rerank(client, top_n=50).json()["results"]) == len(DOCS)


def test_documents_may_be_objects_with_a_text_field(client):
    as_objects = rerank(client, documents=[{"text": d} for d in DOCS]).json()["results"]
    assert as_objects == rerank(client).json()["results"]


def test_return_documents_false_leaves_out_the_texts(client):
    results = rerank(client, return_documents=False).json()["results"]
    assert all(set(r) == {"index", "relevance_score", "chunks_scored"} for r in results)


def test_documents_beyond_the_whole_document_limit_are_listed_in_meta(client):
    long_doc = "Our return policy covers unused items in their original packaging. " * 300
    huge_doc = long_doc * 10
    body = rerank(client, documents=["Unused items only.", long_doc, huge_doc]).json()
    assert body["meta"]["truncated"] == [2]
    chunks = {r["index"]: r["chunks_scored"] for r in body["results"]}
    assert chunks[0] == 1 and 1 < chunks[1] < MAX_WINDOWS and chunks[2] == MAX_WINDOWS


@pytest.mark.parametrize("name", ["full id", "basename"])
def test_the_loaded_model_is_accepted_by_id_or_basename(client, hf_scorer, name):
    model = hf_scorer.model if name == "full id" else hf_scorer.model.rstrip("/").rsplit("/", 1)[-1]
    assert rerank(client, model=model).status_code == 200


def test_health_reports_the_loaded_model(client, hf_scorer):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok", "model_loaded": True, "backend": "transformers",
        "engine_reason": "backend 'transformers' requested", "model": hf_scorer.model, "error": None,
        "first_stage": "keyword",
        "first_stage_reason": "Keyword search (BM25) only: no embedding model is configured.",
    }  # fmt: skip


def test_health_reports_the_first_stage_and_why():
    api = create_api(lambda: None, first_stage=lambda: ("hybrid", "Hybrid with the embedding model m."))
    body = TestClient(api).get("/health").json()
    assert (body["first_stage"], body["first_stage_reason"]) == (
        "hybrid",
        "Hybrid with the embedding model m.",
    )


def test_openapi_docs_show_the_request_schema(client):
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()["components"]["schemas"]["RerankRequest"]
    assert schema["required"] == ["query", "documents"]
    assert {"type": "string"} in schema["properties"]["documents"]["items"]["anyOf"]


# --- errors -------------------------------------------------------------------------------------

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("request_kwargs", "status", "message"),
    [
        ({"content": b'{"query": "x", "documents": [', "headers": JSON}, 422, "not valid JSON"),
        ({"json": ["x", "y"]}, 422, "must be a JSON object"),
        ({"content": b"query=x", "headers": {"content-type": "application/x-www-form-urlencoded"}},
         422, "Content-Type: application/json"),
        ({"json": {"documents": DOCS}}, 422, "query: is required."),
        ({"json": {"query": QUERY}}, 422, "documents: is required."),
        ({"json": {"query": 42, "documents": DOCS}}, 422, "query: must be a string."),
        ({"json": {"query": QUERY, "documents": "one text"}}, 422, "documents: must be a list."),
        ({"json": {"query": QUERY, "documents": ["a", "b", 7]}}, 422,
         'documents[2]: must be a string or an object with a "text" string.'),
        ({"json": {"query": QUERY, "documents": [{"title": "no text"}]}}, 422,
         'documents[0]: must be a string or an object with a "text" string.'),
        ({"json": {"query": QUERY, "documents": DOCS, "top_n": 0}}, 422, "top_n: must be at least 1."),
        ({"json": {"query": QUERY, "documents": DOCS, "top_n": "3"}}, 422, "top_n: must be an integer."),
        ({"json": {"query": QUERY, "documents": DOCS, "return_documents": "yes"}}, 422,
         "return_documents: must be true or false."),
        ({"json": {"query": "   ", "documents": DOCS}}, 400, "query is empty"),
        ({"json": {"query": QUERY, "documents": []}}, 400, "documents is empty"),
        ({"json": {"query": QUERY, "documents": DOCS, "model": "BAAI/bge-reranker-v2-m3"}}, 404,
         "does not exist on this server"),
    ],
    ids=["invalid-json", "not-an-object", "form-encoded", "no-query", "no-documents", "query-not-text",
         "documents-not-list", "document-number", "document-without-text", "top-n-zero", "top-n-string",
         "return-documents-string", "blank-query", "empty-documents", "other-model"],
)  # fmt: skip
def test_bad_requests_get_a_json_error_saying_what_to_fix(client, request_kwargs, status, message):
    response = client.post("/v1/rerank", **request_kwargs)
    assert response.status_code == status
    assert set(response.json()) == {"error"}
    assert message in response.json()["error"]


def test_several_problems_are_reported_together(client):
    response = client.post("/v1/rerank", json={"documents": [1], "top_n": 0})
    error = response.json()["error"]
    assert all(part in error for part in ("query: is required", "documents[0]", "top_n: must be at least 1"))


def test_other_model_error_names_the_loaded_model(client, hf_scorer):
    error = rerank(client, model="BAAI/bge-reranker-v2-m3").json()["error"]
    assert repr(hf_scorer.model) in error


def test_too_many_documents_are_refused_with_the_limit(hf_scorer):
    small = TestClient(create_api(lambda: hf_scorer, max_documents=3))
    response = small.post("/v1/rerank", json={"query": QUERY, "documents": DOCS})
    assert response.status_code == 400
    assert response.json()["error"].startswith("Too many documents: 5 given, at most 3 per request.")


def test_a_megabyte_document_is_cut_and_flagged_not_refused(client):
    response = rerank(client, documents=["Ships in 24 hours.", "Our returns policy. " * 50_000])
    assert response.status_code == 200
    assert response.json()["meta"]["truncated"] == [1]


def test_a_query_over_the_character_limit_is_refused(hf_scorer):
    small = TestClient(create_api(lambda: hf_scorer, max_document_chars=20))
    response = small.post("/v1/rerank", json={"query": "W" * 21, "documents": ["short"]})
    assert response.status_code == 400
    assert response.json()["error"].startswith("query has 21 characters; the limit is 20.")


def test_a_body_over_the_cap_is_a_413_before_it_is_read(hf_scorer):
    small = TestClient(create_api(lambda: hf_scorer, max_body_bytes=1024 * 1024))
    response = small.post("/v1/rerank", json={"query": "Where?", "documents": ["x" * (2 * 1024 * 1024)]})
    assert response.status_code == 413
    assert "over 1 MB" in response.json()["error"]


def test_a_query_too_long_for_the_model_is_a_400_from_the_scorer(client):
    response = rerank(client, query="where is my order " * 2500)
    assert response.status_code == 400
    assert "Shorten the query" in response.json()["error"]


class BrokenBackend(Backend):
    name = "broken"

    def score_token_ids(self, prompts: Sequence[Sequence[int]]) -> list[float]:
        raise RuntimeError("simulated engine crash")


def test_an_engine_crash_is_a_logged_500_not_a_try_again(hf_scorer, caplog):
    broken = Scorer(backend=BrokenBackend(), encoder=hf_scorer.encoder, model="broken")
    response = TestClient(create_api(lambda: broken)).post(
        "/v1/rerank", json={"query": "q", "documents": ["d"]}
    )
    assert response.status_code == 500
    assert response.json() == {"error": INTERNAL_ERROR}
    assert "simulated engine crash" in caplog.text


def test_an_engine_out_of_memory_is_a_503_with_advice(hf_scorer, monkeypatch):
    def out_of_memory(prompts):
        raise torch.OutOfMemoryError("CPU out of memory")

    scorer = Scorer(backend=hf_scorer.backend, encoder=hf_scorer.encoder, model="oom", cache=ScoreCache(0))
    monkeypatch.setattr(hf_scorer.backend, "score_token_ids", out_of_memory)
    response = TestClient(create_api(lambda: scorer)).post(
        "/v1/rerank", json={"query": "q", "documents": ["d"]}
    )
    assert response.status_code == 503
    assert "ran out of memory" in response.json()["error"] and "fewer or shorter" in response.json()["error"]


# --- API key ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def locked(hf_scorer) -> TestClient:
    return TestClient(create_api(lambda: hf_scorer, api_key="s3cret-key"))


def test_api_key_missing_is_a_401(locked):
    response = locked.post("/v1/rerank", json={"query": QUERY, "documents": DOCS})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in response.json()["error"]


def test_api_key_wrong_is_a_401(locked):
    response = locked.post(
        "/v1/rerank", json={"query": QUERY, "documents": DOCS}, headers={"Authorization": "Bearer guess"}
    )
    assert response.status_code == 401
    assert "wrong" in response.json()["error"]


def test_api_key_right_is_accepted(locked):
    response = locked.post(
        "/v1/rerank", json={"query": QUERY, "documents": DOCS}, headers={"Authorization": "Bearer s3cret-key"}
    )
    assert response.status_code == 200


def test_health_needs_no_api_key(locked):
    assert locked.get("/health").status_code == 200


# --- no model -----------------------------------------------------------------------------------


def test_without_a_model_rerank_is_a_503_with_the_load_error():
    api = create_api(lambda: None, load_error="Model not found: '/models/x' is not a model directory.")
    response = TestClient(api).post("/v1/rerank", json={"query": QUERY, "documents": DOCS})
    assert response.status_code == 503
    assert response.json() == {"error": "Model not found: '/models/x' is not a model directory."}


def test_without_a_model_health_says_degraded():
    response = TestClient(create_api(lambda: None)).get("/health")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["model_loaded"], body["backend"]) == ("degraded", False, None)
    assert "not loaded" in body["error"]


# --- real servers -------------------------------------------------------------------------------


def trivial_demo() -> gr.Blocks:
    with gr.Blocks(title="Rerank test desk") as demo:
        gr.Markdown("Rerank test desk")
    return demo


@pytest.fixture(scope="module")
def served(hf_scorer) -> Iterator[str]:
    """``create_server(demo, api)``: the REST API and a Gradio page on one port."""
    with serving(create_server(trivial_demo(), create_api(lambda: hf_scorer))) as url:
        yield url


def test_server_answers_rerank_over_http(served, hf_scorer):
    response = httpx.post(f"{served}/v1/rerank", json={"query": QUERY, "documents": DOCS, "top_n": 1})
    assert response.status_code == 200
    assert response.json()["results"][0]["relevance_score"] == max(hf_scorer.score(QUERY, DOCS))


def test_server_answers_health_over_http(served):
    assert httpx.get(f"{served}/health").json()["status"] == "ok"


def test_server_serves_the_gradio_page_at_the_root(served):
    response = httpx.get(f"{served}/")
    assert response.status_code == 200
    assert "Rerank test desk" in response.text


def test_server_errors_stay_json_next_to_gradio(served):
    response = httpx.post(f"{served}/v1/rerank", json={"query": QUERY, "documents": [None]})
    assert response.status_code == 422
    assert response.json() == {"error": 'documents[0]: must be a string or an object with a "text" string.'}


def test_gradio_login_guards_the_ui_but_not_the_api(hf_scorer):
    app = create_server(trivial_demo(), create_api(lambda: hf_scorer), auth=("agent", "s3cret"))
    with TestClient(app) as browser:
        assert browser.get("/config").status_code == 401
        assert browser.post("/v1/rerank", json={"query": QUERY, "documents": DOCS}).status_code == 200


def test_the_ui_and_health_answer_while_a_rerank_is_scoring(hf_scorer):
    gate = GatedBackend()
    scorer = Scorer(backend=gate, encoder=hf_scorer.encoder, model="gated")
    with (
        serving(create_server(trivial_demo(), create_api(lambda: scorer))) as url,
        ThreadPoolExecutor(1) as pool,
    ):
        pending = pool.submit(
            httpx.post, f"{url}/v1/rerank", json={"query": "q", "documents": ["d"]}, timeout=30
        )
        assert gate.entered.wait(10)
        assert httpx.get(f"{url}/health", timeout=5).status_code == 200
        assert httpx.get(f"{url}/", timeout=5).status_code == 200
        assert not pending.done()
        gate.release.set()
        assert pending.result().status_code == 200


def test_api_routes_added_to_a_launched_demo_answer_on_gradios_own_server(hf_scorer):
    """The --share path: demo.launch() owns the server (no share link in tests: no tunnel)."""
    demo = trivial_demo()
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        add_api_routes(demo.app, create_api(lambda: hf_scorer))
        url = demo.local_url.rstrip("/")
        assert httpx.post(f"{url}/v1/rerank", json={"query": QUERY, "documents": DOCS}).status_code == 200
        assert httpx.get(f"{url}/health").json()["status"] == "ok"
        assert httpx.get(f"{url}/openapi.json").json()["info"]["title"] == "FAQ Rerank Desk API"
        assert "Rerank test desk" in httpx.get(f"{url}/").text
    finally:
        demo.close()
