"""Scores: parity between backends and the model card, order, batching, truncation, errors."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest
import torch

from reranker import InvalidInput, ModelUnavailable, load_scorer
from reranker.engine.backends import hf as hf_backend
from reranker.engine.cache import ScoreCache
from reranker.engine.scorer import Scorer
from reranker.errors import BackendFailure
from tests.reference import model_card_scores

SHIPPING_ZH = "订单一直显示待发货怎么办？"
DOCS_ZH = [
    "您购买的商品正在打包中，通常24小时内发出。",
    "退货流程：进入‘我的订单’→点击‘申请退货’→等待审核。",
    "促销活动期间订单量激增，发货时间可能延长至48小时。",
    "会员积分可以在结算时抵扣现金，100积分抵1元。",
]
DOCS_EN = [
    "Orders placed before 2 pm ship the same business day.",
    "To reset your password, click 'Forgot password' on the sign-in page.",
    "Refunds are issued to the original payment method within 5-7 business days.",
    "You can download invoices from Billing > Invoices in your account settings.",
]
DOCS_MIXED = [
    "订单 shipped via SF Express，tracking number 在 App 里查看。",
    "Use code SAVE10 获得九折优惠 🎉",
]
LONG_DOC = ("Our return policy covers unused items in their original packaging. " * 60).strip()


def parity_cases() -> list[tuple[str, str, str | None]]:
    """At least 32 (query, document, instruction) triples across languages and lengths."""
    cases = []
    for query in (SHIPPING_ZH, "我的退款什么时候到账？"):
        cases += [(query, d, None) for d in DOCS_ZH + DOCS_MIXED]
    for query in ("Where is my order?", "How do I get my money back?"):
        cases += [(query, d, None) for d in DOCS_EN + DOCS_MIXED + [LONG_DOC]]
    custom = "Judge whether the document explains why the order has not shipped"
    cases += [(SHIPPING_ZH, d, custom) for d in DOCS_ZH + DOCS_EN]
    return cases


def test_vllm_transformers_and_model_card_agree_within_1e_4(tiny_model_dir, hf_scorer, vllm_scorer):
    cases = parity_cases()
    assert len(cases) >= 32
    reference, ours_hf, ours_vllm = [], [], []
    for instruction in {c[2] for c in cases}:
        group = [c for c in cases if c[2] == instruction]
        reference += model_card_scores(
            tiny_model_dir, [q for q, _, _ in group], [d for _, d, _ in group], instruction
        )
        for query in dict.fromkeys(q for q, _, _ in group):
            docs = [d for q, d, _ in group if q == query]
            ours_hf += hf_scorer.score(query, docs, instruction)
            ours_vllm += vllm_scorer.score(query, docs, instruction)
    assert max(abs(a - b) for a, b in zip(reference, ours_hf)) <= 1e-4
    assert max(abs(a - b) for a, b in zip(reference, ours_vllm)) <= 1e-4
    # The tiny model's scores are spread out, so agreement is not trivially "all 0.5".
    assert max(reference) - min(reference) > 0.1


def uncached(scorer: Scorer) -> Scorer:
    """The same loaded engine without a score cache: every call really runs the engine."""
    return dataclasses.replace(scorer, cache=ScoreCache(max_entries=0))


def engine_scores(scorer: Scorer, query: str, docs: list[str]) -> list[float]:
    result = scorer.score_detailed(query, docs)
    assert result.cache_hits == 0
    return result.scores


def test_scores_are_probabilities_in_input_order(hf_scorer):
    scorer = uncached(hf_scorer)
    scores = engine_scores(scorer, SHIPPING_ZH, DOCS_ZH)
    one_at_a_time = [engine_scores(scorer, SHIPPING_ZH, [d])[0] for d in DOCS_ZH]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert max(abs(a - b) for a, b in zip(scores, one_at_a_time)) <= 1e-5


@pytest.mark.parametrize("fixture", ["hf_scorer", "vllm_scorer"])
def test_permuting_documents_permutes_scores(fixture, request):
    scorer = uncached(request.getfixturevalue(fixture))
    docs = DOCS_EN + DOCS_ZH
    scores = engine_scores(scorer, "Where is my order?", docs)
    order = list(range(len(docs)))
    random.Random(7).shuffle(order)
    shuffled = engine_scores(scorer, "Where is my order?", [docs[i] for i in order])
    assert max(abs(shuffled[j] - scores[i]) for j, i in enumerate(order)) <= 1e-5


def test_batch_size_does_not_change_scores(tiny_model_dir, monkeypatch):
    docs = DOCS_EN + DOCS_ZH + DOCS_MIXED + [LONG_DOC]
    batched = load_scorer(tiny_model_dir, backend="transformers", dtype="float32", cache_size=0)
    together = batched.score("Where is my order?", docs)
    monkeypatch.setattr(hf_backend, "MAX_BATCH_SIZE", 1)
    one_by_one = batched.score("Where is my order?", docs)
    assert max(abs(a - b) for a, b in zip(together, one_by_one)) <= 1e-5


def test_rank_sorts_by_score_and_keeps_input_indices(hf_scorer):
    ranked = hf_scorer.rank(SHIPPING_ZH, DOCS_ZH)
    scores = hf_scorer.score(SHIPPING_ZH, DOCS_ZH)
    assert [r.score for r in ranked] == sorted(scores, reverse=True)
    assert all(DOCS_ZH[r.index] == r.text and scores[r.index] == r.score for r in ranked)
    assert len(hf_scorer.rank(SHIPPING_ZH, DOCS_ZH, top_k=2)) == 2


def test_truncation_is_reported_and_matches_model_card_truncation(tiny_model_dir):
    scorer = load_scorer(tiny_model_dir, backend="transformers", dtype="float32", max_length=256)
    result = scorer.score_detailed("What is the return policy?", ["Unused items only.", LONG_DOC])
    assert result.truncated == [1]
    reference = model_card_scores(
        tiny_model_dir, ["What is the return policy?"] * 2, ["Unused items only.", LONG_DOC], max_length=256
    )
    assert max(abs(a - b) for a, b in zip(result.scores, reference)) <= 1e-4


def test_repeated_request_is_answered_from_the_cache(tiny_model_dir):
    scorer = load_scorer(tiny_model_dir, backend="transformers", dtype="float32")
    first = scorer.score_detailed("Where is my order?", DOCS_EN)
    again = scorer.score_detailed("Where is my order?", DOCS_EN)
    assert (first.cache_hits, again.cache_hits) == (0, len(DOCS_EN))
    assert again.scores == first.scores
    other_instruction = scorer.score_detailed("Where is my order?", DOCS_EN, "Judge shipping answers")
    assert other_instruction.cache_hits == 0


def test_cache_is_bounded(tiny_model_dir):
    scorer = load_scorer(tiny_model_dir, backend="transformers", dtype="float32", cache_size=3)
    scorer.score("Where is my order?", DOCS_EN + DOCS_ZH)
    assert len(scorer.cache) == 3


def test_empty_query_is_refused(hf_scorer):
    with pytest.raises(InvalidInput, match="question is empty"):
        hf_scorer.score("   ", DOCS_EN)


def test_out_of_memory_becomes_a_clear_error_and_the_next_request_works(tiny_model_dir, monkeypatch):
    scorer = load_scorer(tiny_model_dir, backend="transformers", dtype="float32", cache_size=0)

    def out_of_memory(prompts):
        raise torch.OutOfMemoryError("simulated")

    with monkeypatch.context() as patch:
        patch.setattr(scorer.backend, "score_token_ids", out_of_memory)
        with pytest.raises(BackendFailure, match=r"ran out of memory.*fewer or shorter"):
            scorer.score("Where is my order?", DOCS_EN)
    assert len(scorer.score("Where is my order?", DOCS_EN)) == len(DOCS_EN)


def test_auto_backend_picks_vllm_and_says_why(vllm_scorer):
    assert vllm_scorer.backend_name == "vllm"
    assert "float32" in vllm_scorer.backend.description


def test_missing_directory_gives_a_clear_error(tmp_path):
    with pytest.raises(ModelUnavailable, match="not a model directory"):
        load_scorer(tmp_path / "nope", backend="transformers")


def test_offline_hub_id_says_how_to_fix_it(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", "/nonexistent-hf-home")
    with pytest.raises(ModelUnavailable, match="--model DIR"):
        load_scorer("Qwen/Qwen3-Reranker-0.6B", backend="transformers")


def test_directory_of_another_model_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "architectures": ["BertModel"]}))
    with pytest.raises(ModelUnavailable, match="not a Qwen3 reranker"):
        load_scorer(tmp_path, backend="transformers")


def test_unknown_backend_lists_the_allowed_ones(tiny_model_dir):
    with pytest.raises(InvalidInput, match="auto, vllm, transformers"):
        load_scorer(tiny_model_dir, backend="onnx")  # type: ignore[arg-type]


def test_transformers_shared_prefix_path_equals_scoring_each_prompt_whole(tiny_model_dir):
    scorer = load_scorer(tiny_model_dir, backend="transformers", dtype="float32", cache_size=0)
    encoded = scorer.encoder.encode("Where is my order?", DOCS_EN + DOCS_ZH + [LONG_DOC])
    prompts = [e.token_ids for e in encoded]
    assert hf_backend.longest_common_prefix(prompts) > 50  # system prompt + instruction + query
    shared = scorer.backend.score_token_ids(prompts)
    whole = [scorer.backend.score_token_ids([p])[0] for p in prompts]  # one prompt: no prefix reuse
    assert max(abs(a - b) for a, b in zip(shared, whole)) <= 1e-4


def test_vllm_prefix_cache_hits_leave_scores_unchanged(tiny_model_dir, vllm_scorer):
    query = "My parcel is late, what happened?"
    first = vllm_scorer.score(query, DOCS_EN)  # fills vLLM's prefix cache for this query
    cached_before = vllm_scorer.backend.cached_tokens
    again = vllm_scorer.score(query, DOCS_ZH + DOCS_MIXED)  # new documents, cached prefix
    assert vllm_scorer.backend.cached_tokens - cached_before >= 32 * len(DOCS_ZH + DOCS_MIXED)
    reference = model_card_scores(tiny_model_dir, [query] * 10, DOCS_EN + DOCS_ZH + DOCS_MIXED)
    assert max(abs(a - b) for a, b in zip(first + again, reference)) <= 1e-4
