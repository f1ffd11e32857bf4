"""``GET /metrics``: what an operator's Prometheus scrapes, counted per route, status and engine."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from reranker.engine.scorer import Scorer
from reranker.server.api import create_api
from reranker.testing.gated import GatedBackend

QUERY = "Where is my order?"
DOCS = ["Orders ship the same business day.", "Reset your password on the sign-in page."]
LONG = "Our return policy covers unused items in their original packaging. " * 3000  # > 16 windows: cut
WORK = {"route": "/v1/rerank", "engine": "transformers", "first_stage": "none"}


@pytest.fixture
def fresh_scorer(hf_scorer) -> Scorer:
    """The tiny model with an empty cache of its own, so cache hits are this test's alone."""
    return Scorer(backend=hf_scorer.backend, encoder=hf_scorer.encoder, model=hf_scorer.model)


@pytest.fixture
def client(fresh_scorer) -> TestClient:
    return TestClient(create_api(lambda: fresh_scorer))


def scrape(client: TestClient, **headers: str) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def sample(samples: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def test_requests_are_counted_per_route_method_and_status(client):
    client.post("/v1/rerank", json={"query": QUERY, "documents": DOCS})
    client.post("/v2/rerank", json={"query": QUERY, "documents": DOCS, "model": "nope"})
    client.post("/v2/rerank", json={"query": QUERY})
    samples = scrape(client)
    assert sample(samples, "reranker_requests_total", route="/v1/rerank", method="POST", status="200") == 1
    assert sample(samples, "reranker_requests_total", route="/v2/rerank", method="POST", status="404") == 1
    assert sample(samples, "reranker_requests_total", route="/v2/rerank", method="POST", status="422") == 1


def test_latency_is_a_histogram_per_route_and_status(client):
    client.post("/v1/rerank", json={"query": QUERY, "documents": DOCS})
    samples = scrape(client)
    labels = {"route": "/v1/rerank", "method": "POST", "status": "200"}
    assert sample(samples, "reranker_request_duration_seconds_count", **labels) == 1
    assert sample(samples, "reranker_request_duration_seconds_bucket", le="+Inf", **labels) == 1
    assert sample(samples, "reranker_request_duration_seconds_sum", **labels) > 0


def test_pairs_cache_hits_and_truncations_carry_the_engine_and_first_stage(client):
    client.post("/v1/rerank", json={"query": QUERY, "documents": DOCS})
    client.post("/v1/rerank", json={"query": QUERY, "documents": [*DOCS, LONG]})
    samples = scrape(client)
    assert sample(samples, "reranker_pairs_scored_total", **WORK) == 5
    assert sample(samples, "reranker_cache_hits_total", **WORK) == 2
    assert sample(samples, "reranker_truncated_documents_total", **WORK) == 1


def test_documents_cut_by_max_tokens_per_doc_count_as_truncated(client):
    client.post("/v2/rerank", json={"query": QUERY, "documents": DOCS, "max_tokens_per_doc": 2})
    samples = scrape(client)
    assert sample(samples, "reranker_truncated_documents_total", **{**WORK, "route": "/v2/rerank"}) == 2


def test_engine_info_names_the_engine_the_desks_first_stage_and_the_model(client, hf_scorer):
    samples = scrape(client)
    info = {"engine": "transformers", "first_stage": "keyword", "model": hf_scorer.model}
    assert sample(samples, "reranker_engine_info", **info) == 1


def test_engine_info_follows_the_first_stage_as_it_changes(hf_scorer):
    stage = {"now": ("keyword", "the embedding model is loading")}
    client = TestClient(create_api(lambda: hf_scorer, first_stage=lambda: stage["now"]))
    assert sample(scrape(client), "reranker_engine_info", engine="transformers", first_stage="keyword",
                  model=hf_scorer.model) == 1  # fmt: skip
    stage["now"] = ("hybrid", "keyword + dense")
    assert sample(scrape(client), "reranker_engine_info", engine="transformers", first_stage="hybrid",
                  model=hf_scorer.model) == 1  # fmt: skip


def test_without_a_model_metrics_still_answer_without_engine_info():
    samples = scrape(TestClient(create_api(lambda: None)))
    assert not [key for key in samples if key[0] == "reranker_engine_info"]


def test_metrics_need_the_api_key_when_one_is_set(fresh_scorer):
    keyed = TestClient(create_api(lambda: fresh_scorer, api_key="s3cret"))
    assert keyed.get("/metrics").status_code == 401
    assert "reranker_requests_total" in keyed.get("/metrics", headers={"Authorization": "Bearer s3cret"}).text


def test_queue_depth_counts_a_rest_request_while_it_scores(hf_scorer):
    gate = GatedBackend()
    scorer = Scorer(backend=gate, encoder=hf_scorer.encoder, model="gated")
    client = TestClient(create_api(lambda: scorer))
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(client.post, "/v1/rerank", json={"query": "q", "documents": ["d"]})
        assert gate.entered.wait(10)
        assert sample(scrape(client), "reranker_queue_depth", queue="rest") == 1
        gate.release.set()
        assert pending.result().status_code == 200
    assert sample(scrape(client), "reranker_queue_depth", queue="rest") == 0
