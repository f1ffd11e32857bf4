"""Which engine runs, and why: the KV cache is sized for the machine, and a fallback is loud."""

from __future__ import annotations

import logging

import pytest

from reranker import ModelUnavailable, load_scorer
from reranker.engine.backends.vllm import CPU_STEP_TOKENS, GIB, kv_bytes_per_token, plan_kv_cache

# Qwen3-0.6B's config.json (the fields the KV cache depends on).
QWEN3_06B = {"num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 8,
             "head_dim": 128, "hidden_size": 1024}  # fmt: skip


def test_a_token_of_qwen3_06b_takes_112_kib_in_bf16_and_224_kib_in_fp32():
    assert kv_bytes_per_token(QWEN3_06B, 2) == 112 * 1024
    assert kv_bytes_per_token(QWEN3_06B, 4) == 224 * 1024


def test_head_dim_defaults_to_hidden_size_over_heads():
    config = {k: v for k, v in QWEN3_06B.items() if k != "head_dim"}
    assert kv_bytes_per_token(config, 2) == 2 * 28 * 8 * 64 * 2


def test_the_cache_holds_one_engine_step_or_the_concurrent_windows_in_either_dtype():
    for dtype_bytes in (2, 4):
        per_token = kv_bytes_per_token(QWEN3_06B, dtype_bytes)
        step = plan_kv_cache(bytes_per_token=per_token, max_length=1024, sequences=2, free_bytes=20 * GIB)
        assert (
            CPU_STEP_TOKENS <= step.tokens <= 1.25 * CPU_STEP_TOKENS and step.bytes == step.tokens * per_token
        )
        windows = plan_kv_cache(bytes_per_token=per_token, max_length=8192, sequences=2, free_bytes=20 * GIB)
        assert windows.tokens >= 2 * 8192
    # The old default (2 x 8,192 tokens) took 1.76 GiB in bf16; a step of FAQ answers takes under 0.5 GiB.
    assert (
        plan_kv_cache(bytes_per_token=112 * 1024, max_length=1024, sequences=2, free_bytes=20 * GIB).bytes
        < 0.5 * GIB
    )


def test_a_small_machine_gets_a_smaller_cache_not_a_failure():
    plan = plan_kv_cache(bytes_per_token=224 * 1024, max_length=8192, sequences=2, free_bytes=5 * GIB)
    assert 8192 < plan.tokens < 2 * 8192 and plan.bytes <= 0.4 * 5 * GIB


def test_too_little_memory_for_one_pair_names_the_fix():
    with pytest.raises(ModelUnavailable, match=r"shorter --max-length \(e\.g\. 2048\).*--kv-cache-gib"):
        plan_kv_cache(bytes_per_token=224 * 1024, max_length=8192, sequences=2, free_bytes=2 * GIB)


@pytest.mark.slow
def test_auto_runs_vllm_when_it_starts_and_reads_the_tokenizer_once(tiny_model_dir, monkeypatch):
    from transformers import AutoTokenizer

    loads: list[str] = []
    own = AutoTokenizer.from_pretrained.__func__

    def counted(cls, path, *args, **kwargs):
        loads.append(str(path))
        return own(cls, path, *args, **kwargs)

    monkeypatch.setattr(AutoTokenizer, "from_pretrained", classmethod(counted))
    scorer = load_scorer(tiny_model_dir, backend="auto", dtype="float32")
    try:
        assert scorer.backend_name == "vllm" and scorer.fallback_cause is None
        assert scorer.backend_reason == "auto: vLLM started"
        # vLLM's own three loads of the tokenizer got copies of the app's: the file was read once
        # (or not at all, where an earlier start kept the built tokenizer: test_tokenizer_cache.py).
        assert loads in ([str(tiny_model_dir)], [])
        assert AutoTokenizer.__dict__["from_pretrained"].__func__ is counted  # AutoTokenizer as it was
        assert scorer.score("where is my parcel", ["It ships in 2 days."])[0] > 0
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


class _BrokenVllmBackend:
    """Stands in for ``VllmBackend`` to see what ``auto`` does with each kind of failure."""

    error: Exception = RuntimeError("the CPU worker died")

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise self.error


def test_auto_falls_back_when_vllm_cannot_start(tiny_model_dir, monkeypatch):
    import reranker.engine.backends.vllm as vllm_backend

    monkeypatch.setattr(vllm_backend, "VllmBackend", _BrokenVllmBackend)
    scorer = load_scorer(tiny_model_dir, backend="auto", dtype="float32")
    assert scorer.backend_name == "transformers" and "the CPU worker died" in scorer.fallback_cause


def test_a_bug_in_our_vllm_backend_is_raised_not_hidden_by_a_fallback(tiny_model_dir, monkeypatch):
    import reranker.engine.backends.vllm as vllm_backend

    class Buggy(_BrokenVllmBackend):
        error = TypeError("__init__() got an unexpected keyword argument 'sequences'")

    monkeypatch.setattr(vllm_backend, "VllmBackend", Buggy)
    with pytest.raises(TypeError, match="unexpected keyword"):
        load_scorer(tiny_model_dir, backend="auto", dtype="float32")


@pytest.mark.slow
def test_vllm_on_cpu_runs_vllm_cpus_fused_c_norms_and_they_match_vllms_own(vllm_scorer):
    """The C kernels are ~40x faster per norm than vLLM 0.32's eager CPU ops; a vLLM upgrade that
    drops or renames them must show up here, not as a quietly slower desk."""
    import torch
    from vllm import ir

    from reranker.engine.backends.vllm import CPU_NORM_PROVIDER

    torch.manual_seed(0)
    qkv = torch.randn(5, 3 * 256)
    per_head = qkv[:, :256].view(5, 4, 64)  # a strided view, as Qwen3's q/k norms get
    weight, hidden, residual = torch.randn(64), torch.randn(5, 256), torch.randn(5, 256)
    assert ir.ops.rms_norm.dispatch(per_head, weight, 1e-6, None).provider == CPU_NORM_PROVIDER
    assert torch.allclose(ir.ops.rms_norm(per_head, weight, 1e-6, None),
                          ir.ops.rms_norm.impls["native"].impl_fn(per_head, weight, 1e-6), atol=1e-5)  # fmt: skip
    norm_weight = torch.randn(256)
    assert (
        ir.ops.fused_add_rms_norm.dispatch(hidden, residual, norm_weight, 1e-6, None).provider
        == CPU_NORM_PROVIDER
    )
    fused = ir.ops.fused_add_rms_norm(hidden, residual, norm_weight, 1e-6, None)
    eager = ir.ops.fused_add_rms_norm.impls["native"].impl_fn(hidden, residual, norm_weight, 1e-6)
    assert all(torch.allclose(f, e, atol=1e-5) for f, e in zip(fused, eager))


def test_the_weight_reader_reads_every_tensor_as_safetensors_does_without_mapping_the_file(tiny_model_dir):
    import torch
    from safetensors.torch import load_file

    from reranker.engine.backends.vllm import checkpoint_files, read_safetensors

    (path,) = checkpoint_files(tiny_model_dir)
    expected = load_file(path)
    read = dict(read_safetensors(path))
    assert read.keys() == expected.keys()
    assert all(read[name].dtype == t.dtype and torch.equal(read[name], t) for name, t in expected.items())


def test_only_the_models_own_directory_gets_copies_of_the_apps_tokenizer(tiny_model_dir, tmp_path):
    from transformers import AutoTokenizer

    from reranker.engine.backends.vllm import tokenizer_loaded_once

    own = AutoTokenizer.__dict__["from_pretrained"]
    apps = AutoTokenizer.from_pretrained(tiny_model_dir)
    elsewhere = tmp_path / "other-model"
    apps.save_pretrained(elsewhere)
    with tokenizer_loaded_once(tiny_model_dir, apps):
        copied = AutoTokenizer.from_pretrained(str(tiny_model_dir), truncation_side="left")
        loaded = AutoTokenizer.from_pretrained(elsewhere)
    assert copied is not apps and copied.backend_tokenizer is apps.backend_tokenizer  # no second parse
    assert (copied.truncation_side, apps.truncation_side) == ("left", "right")  # the app's own is untouched
    assert loaded.backend_tokenizer is not apps.backend_tokenizer  # another directory is really loaded
    assert loaded("where is my parcel").input_ids == apps("where is my parcel").input_ids
    assert AutoTokenizer.__dict__["from_pretrained"] is own  # AutoTokenizer as it was


def test_vllms_deep_copies_of_the_shared_tokenizer_reuse_its_parse_and_still_pickle(tiny_model_dir):
    """vLLM's renderer deep-copies its tokenizer twice for a thread pool: ~0.6 s each on 0.6B."""
    import copy
    import pickle

    from transformers import AutoTokenizer
    from vllm.tokenizers.hf import get_cached_tokenizer, maybe_make_thread_pool

    from reranker.engine.backends.vllm import tokenizer_loaded_once

    apps = AutoTokenizer.from_pretrained(tiny_model_dir)
    with tokenizer_loaded_once(tiny_model_dir, apps):
        vllms = get_cached_tokenizer(AutoTokenizer.from_pretrained(tiny_model_dir))
    pooled = maybe_make_thread_pool(copy.copy(vllms), 2)  # as vLLM's renderer does
    twin = copy.deepcopy(pooled)
    assert twin is not pooled and twin.backend_tokenizer is apps.backend_tokenizer
    assert twin.decode(apps("where is my parcel").input_ids) == "where is my parcel"
    unpickled = pickle.loads(pickle.dumps(vllms))
    assert unpickled("where is my parcel").input_ids == apps("where is my parcel").input_ids
    assert isinstance(unpickled, type(apps))
