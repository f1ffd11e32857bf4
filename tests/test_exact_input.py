"""Score exactly what was sent: whitespace around a document changes its score as it does in the
model card's code (and in ``vllm serve``), in both in-process engines and over REST; the desk
cleans what an agent typed at its own edge, so the desk and the API agree on the same clean input."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from reference import model_card_scores

from reranker.desk.desk import Desk
from reranker.desk.results import ANSWER, score_column
from reranker.server.api import create_api

QUERY = "Where is my order?"
PADDED_QUERY = "  Where is my order?\n"
DOCS = ["It ships within 24 hours. ", "  Reset your password in Settings.", "\tRefunds take 5 days.\n", "您的订单已发货。 "]
CLEAN_DOCS = [doc.strip() for doc in DOCS]
INSTRUCTION = " Judge whether the document says where the order is "


@pytest.fixture(scope="module")
def reference(tiny_model_dir) -> dict[tuple[str, str], list[float]]:
    """The model card's scores for the padded and the clean texts, as sent."""
    return {
        (query, kind): model_card_scores(tiny_model_dir, [query] * len(docs), docs, INSTRUCTION)
        for query in (QUERY, PADDED_QUERY)
        for kind, docs in (("padded", DOCS), ("clean", CLEAN_DOCS))
    }


def test_padding_really_changes_the_model_cards_scores(reference):
    """Otherwise the tests below could not tell stripping from not stripping."""
    padded, clean = reference[(QUERY, "padded")], reference[(QUERY, "clean")]
    assert max(abs(a - b) for a, b in zip(padded, clean)) > 1e-3


@pytest.mark.parametrize("query", [QUERY, PADDED_QUERY])
@pytest.mark.parametrize("kind", ["padded", "clean"])
def test_transformers_scores_the_text_as_given(hf_scorer, reference, query, kind):
    docs = DOCS if kind == "padded" else CLEAN_DOCS
    ours = hf_scorer.score(query, docs, INSTRUCTION)
    assert max(abs(a - b) for a, b in zip(ours, reference[(query, kind)])) <= 1e-4


@pytest.mark.slow
def test_vllm_scores_the_text_as_given(vllm_scorer, reference):
    for query in (QUERY, PADDED_QUERY):
        ours = vllm_scorer.score(query, DOCS, INSTRUCTION)
        assert max(abs(a - b) for a, b in zip(ours, reference[(query, "padded")])) <= 1e-4


def test_the_rest_api_scores_the_text_as_given(hf_scorer, reference):
    client = TestClient(create_api(lambda: hf_scorer))
    body = {"query": PADDED_QUERY, "documents": DOCS, "instruction": INSTRUCTION, "return_documents": True}
    results = client.post("/v1/rerank", json=body).json()["results"]
    by_index = {r["index"]: r for r in results}
    assert [by_index[i]["document"]["text"] for i in range(len(DOCS))] == DOCS
    ours = [by_index[i]["relevance_score"] for i in range(len(DOCS))]
    assert max(abs(a - b) for a, b in zip(ours, reference[(PADDED_QUERY, "padded")])) <= 1e-4


def test_the_desk_cleans_what_the_agent_typed_and_then_agrees_with_the_api(hf_scorer, tmp_path):
    desk = Desk(hf_scorer, export_dir=tmp_path)
    pasted = desk.rerank_pasted(PADDED_QUERY, INSTRUCTION, "\n".join(DOCS), "lines")
    api = TestClient(create_api(lambda: hf_scorer)).post(
        "/v1/rerank", json={"query": QUERY, "documents": CLEAN_DOCS, "instruction": INSTRUCTION.strip()}
    )
    expected = {CLEAN_DOCS[r["index"]]: r["relevance_score"] for r in api.json()["results"]}
    assert dict(zip(pasted.table[ANSWER], pasted.table[score_column("reranker")])) == pytest.approx(expected, abs=5e-4)  # the table rounds to 3 decimals
