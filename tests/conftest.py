"""Shared fixtures: the tiny random-weight Qwen3 model (built once, cached) and scorers on it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests never reach the Hugging Face Hub, and vLLM runs in-process with all cores.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    """A seeded random-weight Qwen3 model with the real Qwen tokenizer (cached on disk)."""
    from reranker.testing.make_model import make_model

    return make_model("tiny")


@pytest.fixture(scope="session")
def tiny_embedding_model_dir() -> Path:
    """A seeded random-weight Qwen3 embedding model laid out like Qwen3-Embedding (cached on disk)."""
    from reranker.testing.make_model import make_model

    return make_model("tiny", kind="embedding")


@pytest.fixture(scope="session")
def hf_scorer(tiny_model_dir):
    """The transformers backend in fp32 on the tiny model."""
    from reranker import load_scorer

    return load_scorer(tiny_model_dir, backend="transformers", dtype="float32")


@pytest.fixture(scope="session")
def vllm_scorer(tiny_model_dir):
    """The in-process vLLM backend in fp32 on the tiny model (starts once per test session)."""
    from reranker import load_scorer

    scorer = load_scorer(tiny_model_dir, backend="vllm", dtype="float32")
    yield scorer
    scorer.close()
