"""Safe sharing: behind --auth or --share the REST API is not open unless --open-api says so."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from reranker.config import AppConfig, parse_args
from reranker.server.api import create_api
from reranker.server.auth import ApiAccess
from reranker.server.serve import api_access

BODY = {"query": "Where is my order?", "documents": ["Ships in 24h", "Reset your password"]}


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture(scope="module")
def api_for(hf_scorer):
    def make(**settings: object) -> TestClient:
        return TestClient(create_api(lambda: hf_scorer, access=api_access(AppConfig(**settings))))

    return make


def test_a_local_app_without_a_login_keeps_its_api_open(api_for):
    assert api_access(AppConfig()).open
    assert api_for().post("/v1/rerank", json=BODY).status_code == 200


def test_behind_auth_the_api_takes_the_same_login_as_http_basic(api_for):
    api = api_for(auth=("agent", "s3cret"))
    refused = api.post("/v1/rerank", json=BODY)
    assert refused.status_code == 401 and "HTTP Basic" in refused.json()["error"]
    assert api.post("/v1/rerank", json=BODY, headers=basic("agent", "wrong")).status_code == 401
    assert api.post("/v1/rerank", json=BODY, headers=basic("agent", "s3cret")).status_code == 200


def test_behind_auth_an_api_key_works_as_well_as_the_login(api_for):
    api = api_for(auth=("agent", "s3cret"), api_key="k3y")
    assert api.post("/v1/rerank", json=BODY, headers={"Authorization": "Bearer k3y"}).status_code == 200
    assert api.post("/v1/rerank", json=BODY, headers=basic("agent", "s3cret")).status_code == 200
    assert api.post("/v1/rerank", json=BODY, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_a_share_link_without_credentials_turns_the_api_off_and_says_how_to_open_it(api_for):
    api = api_for(share=True)
    response = api.post("/v1/rerank", json=BODY)
    assert response.status_code == 403
    assert "--api-key" in response.json()["error"] and "--open-api" in response.json()["error"]
    assert api.get("/health").status_code == 200  # health stays public for load balancers


def test_open_api_flag_opens_it_explicitly(api_for):
    config = parse_args(["--share", "--auth", "agent:s3cret", "--open-api"])
    assert config.open_api and api_access(config) == ApiAccess()
    assert (
        api_for(share=True, auth=("agent", "s3cret"), open_api=True).post("/v1/rerank", json=BODY).status_code
        == 200
    )
