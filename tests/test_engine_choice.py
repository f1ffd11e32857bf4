"""Which engine runs, and why: the KV cache is sized for the machine, and a fallback is loud."""

from __future__ import annotations

import logging

import pytest

from reranker import ModelUnavailable, load_scorer
from reranker.engine.backends.vllm import GIB, kv_bytes_per_token, plan_kv_cache

# Qwen3-0.6B's config.json (the fields the KV cache depends on).
QWEN3_06B = {"num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 8,
             "head_dim": 128, "hidden_size": 1024}  # fmt: skip


def test_a_token_of_qwen3_06b_takes_112_kib_in_bf16_and_224_kib_in_fp32():
    assert kv_bytes_per_token(QWEN3_06B, 2) == 112 * 1024
    assert kv_bytes_per_token(QWEN3_06B, 4) == 224 * 1024


def test_head_dim_defaults_to_hidden_size_over_heads():
    config = {k: v for k, v in QWEN3_06B.items() if k != "head_dim"}
    assert kv_bytes_per_token(config, 2) == 2 * 28 * 8 * 64 * 2


def test_the_cache_holds_a_full_length_pair_per_concurrent_request_in_either_dtype():
    for dtype_bytes in (2, 4):
        plan = plan_kv_cache(bytes_per_token=kv_bytes_per_token(QWEN3_06B, dtype_bytes), max_length=8192,
                             sequences=2, free_bytes=20 * GIB)  # fmt: skip
        assert plan.sequences == 2
        assert plan.bytes >= 2 * 8192 * kv_bytes_per_token(QWEN3_06B, dtype_bytes)
    # fp32 needs 1.75 GiB per 8,192-token pair: the old fixed 1 GiB could not start vLLM at all.
    assert plan.bytes / 2 > 1.75 * GIB


def test_a_small_machine_gets_fewer_concurrent_pairs_not_a_failure():
    plan = plan_kv_cache(bytes_per_token=224 * 1024, max_length=8192, sequences=2, free_bytes=5 * GIB)
    assert plan.sequences == 1


def test_too_little_memory_for_one_pair_names_the_fix():
    with pytest.raises(ModelUnavailable, match=r"shorter --max-length \(e\.g\. 2048\).*--kv-cache-gib"):
        plan_kv_cache(bytes_per_token=224 * 1024, max_length=8192, sequences=2, free_bytes=2 * GIB)


@pytest.mark.slow
def test_auto_runs_vllm_when_it_starts(tiny_model_dir):
    scorer = load_scorer(tiny_model_dir, backend="auto", dtype="float32")
    try:
        assert scorer.backend_name == "vllm" and scorer.fallback_cause is None
        assert scorer.backend_reason == "auto: vLLM started"
    finally:
        scorer.close()


@pytest.mark.slow
def test_auto_falls_back_to_transformers_loudly_when_vllm_cannot_start(tiny_model_dir, caplog):
    caplog.set_level(logging.WARNING)
    scorer = load_scorer(tiny_model_dir, backend="auto", dtype="float32", kv_cache_gib=0.0001)
    assert scorer.backend_name == "transformers"
    assert scorer.fallback_cause and "vLLM could not start" in scorer.fallback_cause
    assert any(r.levelno == logging.WARNING and "vLLM failed to start" in r.message for r in caplog.records)
    assert 0.0 <= scorer.score("Where is my order?", ["It ships in 24 hours."])[0] <= 1.0


@pytest.mark.slow
def test_an_explicit_vllm_backend_that_cannot_start_fails_with_the_cause(tiny_model_dir):
    with pytest.raises(ModelUnavailable, match="vLLM could not start the model"):
        load_scorer(tiny_model_dir, backend="vllm", dtype="float32", kv_cache_gib=0.0001)
