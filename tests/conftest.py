"""Shared test plumbing: the tiny random-weight Qwen3 model (built once, cached), scorers on it, free_port."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

# Tests never reach the Hugging Face Hub, and vLLM runs in-process with all cores.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def free_port() -> int:
    """A loopback port nobody listens on now (``from conftest import free_port``)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    """A seeded random-weight Qwen3 model with the real Qwen tokenizer (cached on disk)."""
    from reranker.testing.make_model import make_model

    return make_model("tiny")


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
