"""The clients people already use, against a launched app: the cohere SDK (v1 and v2) and Jina's shape.

The app scores with its own cache-less scorer on the tiny model, so every answer below is computed
by the server, and compared with the in-process scorer's.
"""

from __future__ import annotations

import cohere
import httpx
import pytest
from cohere.errors import NotFoundError, UnauthorizedError

from reranker.config import AppConfig, parse_args
from reranker.desk.desk import Desk
from reranker.engine.cache import ScoreCache
from reranker.engine.scorer import Scorer
from reranker.knowledge.bases import bundled_bases
from reranker.ui import export_dir

KEY = "s3cret"
NAMES = ("qwen3-reranker", "rerank-v3.5")
QUERY = "Where is my order?"
DOCS = [
    "Orders placed before 2 pm ship the same business day.",
    "To reset your password, click 'Forgot password' on the sign-in page.",
    "您购买的商品正在打包中，通常24小时内发出。",
    "Refunds reach your card within 5 business days.",
]


@pytest.fixture(scope="module")
def url(hf_scorer, launch_desk) -> str:
    uncached = Scorer(backend=hf_scorer.backend, encoder=hf_scorer.encoder, model=hf_scorer.model,
                      cache=ScoreCache(0))  # fmt: skip
    desk = Desk(uncached, export_dir=export_dir(), bases=bundled_bases())
    return launch_desk(desk, api_key=KEY, served_model_name=NAMES).rstrip("/")


@pytest.fixture(scope="module")
def v2(url) -> cohere.ClientV2:
    return cohere.ClientV2(api_key=KEY, base_url=url)


@pytest.fixture(scope="module")
def v1(url) -> cohere.Client:
    return cohere.Client(api_key=KEY, base_url=url)


def expected(hf_scorer, documents: list[str] = DOCS) -> list[tuple[int, float]]:
    return [(d.index, pytest.approx(d.score, abs=1e-6)) for d in hf_scorer.rank(QUERY, documents)]


# --- cohere v2 ----------------------------------------------------------------------------------


def test_cohere_v2_client_ranks_like_the_in_process_scorer(v2, hf_scorer):
    response = v2.rerank(model="rerank-v3.5", query=QUERY, documents=DOCS)
    assert [(r.index, r.relevance_score) for r in response.results] == expected(hf_scorer)
    assert response.meta.api_version.version == "2" and response.meta.billed_units.search_units == 1


def test_cohere_v2_top_n_keeps_the_best(v2, hf_scorer):
    response = v2.rerank(model="qwen3-reranker", query=QUERY, documents=DOCS, top_n=2)
    assert [(r.index, r.relevance_score) for r in response.results] == expected(hf_scorer)[:2]


def test_cohere_v2_max_tokens_per_doc_scores_the_documents_cut_to_that_many_tokens(v2, hf_scorer):
    response = v2.rerank(model="rerank-v3.5", query=QUERY, documents=DOCS, max_tokens_per_doc=4)
    cut, indices = hf_scorer.encoder.cut_documents(DOCS, 4)
    assert [(r.index, r.relevance_score) for r in response.results] == expected(hf_scorer, cut)
    assert indices and str(indices) in response.meta.warnings[0]


def test_max_tokens_per_doc_keeps_the_first_tokens_of_longer_documents_only(hf_scorer):
    cut, indices = hf_scorer.encoder.cut_documents(["Ships today.", DOCS[1]], 4)
    assert indices == [1] and cut[0] == "Ships today." and DOCS[1].startswith(cut[1])
    assert len(hf_scorer.encoder.tokenizer.encode(cut[1], add_special_tokens=False)) == 4


# --- cohere v1 ----------------------------------------------------------------------------------


def test_cohere_v1_client_ranks_like_the_in_process_scorer_and_echoes_documents(v1, hf_scorer):
    response = v1.rerank(model="rerank-v3.5", query=QUERY, documents=DOCS, return_documents=True)
    assert [(r.index, r.relevance_score) for r in response.results] == expected(hf_scorer)
    assert [r.document.text for r in response.results] == [DOCS[r.index] for r in response.results]


def test_cohere_v1_client_without_return_documents_gets_no_document_field(v1, url):
    response = v1.rerank(model="qwen3-reranker", query=QUERY, documents=DOCS, return_documents=False)
    assert all(r.document is None for r in response.results)
    raw = httpx.post(f"{url}/v1/rerank", headers={"Authorization": f"Bearer {KEY}"},
                     json={"query": QUERY, "documents": DOCS, "return_documents": False})  # fmt: skip
    assert '"document"' not in raw.text and "null" not in raw.text


# --- model names and keys -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["first served name", "second served name", "path", "basename"])
def test_a_served_name_the_path_or_its_basename_are_accepted(v2, hf_scorer, name):
    model = {"first served name": NAMES[0], "second served name": NAMES[1], "path": hf_scorer.model,
             "basename": hf_scorer.model.rstrip("/").rsplit("/", 1)[-1]}[name]  # fmt: skip
    assert len(v2.rerank(model=model, query=QUERY, documents=DOCS).results) == len(DOCS)


def test_an_unknown_model_is_a_404_listing_the_served_names(v2):
    with pytest.raises(NotFoundError) as caught:
        v2.rerank(model="rerank-english-v3.0", query=QUERY, documents=DOCS)
    assert "'rerank-english-v3.0' does not exist" in caught.value.body["error"]
    assert all(repr(name) in caught.value.body["error"] for name in NAMES)


def test_a_wrong_key_is_a_401_for_the_cohere_client(url):
    with pytest.raises(UnauthorizedError):
        cohere.ClientV2(api_key="wrong", base_url=url).rerank(model=NAMES[0], query=QUERY, documents=DOCS)


def test_v1_models_lists_the_served_names(url, hf_scorer):
    body = httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {KEY}"}).json()
    assert [m["id"] for m in body["data"]] == list(NAMES)
    assert {m["root"] for m in body["data"]} == {hf_scorer.model}


def test_served_model_name_comes_from_the_flag_or_the_environment(monkeypatch):
    assert parse_args(["--served-model-name", "a", "b"]).served_model_name == ("a", "b")
    monkeypatch.setenv("RERANKER_SERVED_MODEL_NAME", "rerank-v3.5, qwen3-reranker")
    assert AppConfig().served_model_name == ("rerank-v3.5", "qwen3-reranker")
    assert parse_args(["--served-model-name", "x"]).served_model_name == ("x",)


# --- Jina's shape, raw --------------------------------------------------------------------------


def test_a_jina_shaped_request_gets_jinas_fields(url, hf_scorer):
    body = {"model": NAMES[0], "query": QUERY, "documents": DOCS, "top_n": 3, "return_documents": True}
    answer = httpx.post(f"{url}/v1/rerank", json=body, headers={"Authorization": f"Bearer {KEY}"}).json()
    assert answer["model"] == NAMES[0]
    assert [(r["index"], r["relevance_score"]) for r in answer["results"]] == expected(hf_scorer)[:3]
    assert all(r["document"] == {"text": DOCS[r["index"]]} for r in answer["results"])
    prompts = hf_scorer.encoder.encode(QUERY, DOCS)
    assert answer["usage"] == {"total_tokens": sum(len(p.token_ids) for p in prompts)}


# --- metrics of the launched app ----------------------------------------------------------------


def test_the_launched_app_serves_metrics_behind_the_key(url, v2):
    v2.rerank(model=NAMES[0], query=QUERY, documents=DOCS)
    assert httpx.get(f"{url}/metrics").status_code == 401
    text = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {KEY}"}).text
    assert 'reranker_requests_total{method="POST",route="/v2/rerank",status="200"}' in text
    assert 'reranker_queue_depth{queue="ui"} 0.0' in text and 'reranker_queue_depth{queue="rest"} 0.0' in text
