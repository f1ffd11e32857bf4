"""Many agents at once: N clients x M requests against ONE launched app; every answer checked.

    .venv/bin/python benchmarks/load_test.py                  # 20 x 10, writes benchmarks/load_results.md
    .venv/bin/python benchmarks/load_test.py --clients 4 --requests 4 --no-write

The app is launched in this process as ``python app.py`` launches it (UI and REST API on one
port, Gradio's queue with the configured concurrency limit and queue size), on the offline
random-weight ``tiny`` model with the transformers backend in fp32. What is measured is the
serving path (HTTP, Gradio's queue, threads, the scorer's lock and cache), not the model's
speed: ``bench_rerank.py`` measures that.

Half the clients use the UI's Gradio API through ``gradio_client`` (``/rank_pasted`` and
``/rank_faq``), half ``POST /v1/rerank`` through httpx. Each client asks its own questions, so
the score cache cannot answer everything, and asks each of them twice, so some answers do come
from the cache. Every answer is compared with ``Scorer.rank`` on the same input, computed
beforehand by a cache-less twin of the app's scorer. tests/test_load.py runs the same
:func:`run_load_test` and asserts on its report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import html
import logging
import os
import platform
import random
import re
import socket
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import gradio
import httpx
import psutil
from gradio_client import Client

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reranker import load_scorer  # noqa: E402
from reranker.config import AppConfig  # noqa: E402
from reranker.desk.desk import Desk  # noqa: E402
from reranker.engine.cache import ScoreCache  # noqa: E402
from reranker.engine.scorer import Scorer  # noqa: E402
from reranker.knowledge.bases import KnowledgeBase, bundled_bases, load_faq  # noqa: E402
from reranker.knowledge.labelled import bundled_query_sets, load_queries  # noqa: E402
from reranker.knowledge.presets import get_preset  # noqa: E402
from reranker.retrieval.keyword import search_base  # noqa: E402
from reranker.server import serve  # noqa: E402
from reranker.testing.make_model import make_model  # noqa: E402
from reranker.ui import build_demo, export_dir  # noqa: E402

logger = logging.getLogger("load_test")

Route = Literal["rank_pasted", "rank_faq", "rest"]
ROUTES: tuple[Route, ...] = ("rank_pasted", "rank_faq", "rest")
PRESET = "orders"
DOCUMENTS_PER_REQUEST = 8
FAQ_TOP_K = 10
RESULTS = ROOT / "benchmarks" / "load_results.md"
_ANSWER_CELL = re.compile(r'<div class="answer(?: folded)?">(.*?)</div>', re.S)
_FAQ_ID_CELL = re.compile(r'<td class="faq-id">([^<]*)')  # the id; the first-stage ranks follow in a <div>


@dataclass(frozen=True)
class Call:
    """One request, and what its answer must list, best first: answers, FAQ ids or indices."""

    route: Route
    query: str
    documents: tuple[str, ...]
    expected: tuple[str, ...]


@dataclass(frozen=True)
class Sample:
    """One request as the client saw it: the route, its latency and the error (None: correct)."""

    route: Route
    seconds: float
    error: str | None


@dataclass(frozen=True)
class LoadReport:
    clients: int
    requests_per_client: int
    samples: tuple[Sample, ...]
    wall_s: float
    rss_warm_bytes: int
    rss_after_bytes: int
    cache_hits: int
    cache_misses: int
    config: AppConfig

    @property
    def errors(self) -> list[str]:
        return [f"{s.route}: {s.error}" for s in self.samples if s.error is not None]

    @property
    def rss_growth(self) -> float:
        """RSS after the run relative to RSS after warm-up (0.05 = 5 % more)."""
        return self.rss_after_bytes / self.rss_warm_bytes - 1

    def percentiles_ms(self, route: Route | None = None) -> dict[str, float]:
        """p50/p95/p99 latency in milliseconds, over one route or all of them."""
        seconds = [s.seconds for s in self.samples if route is None or s.route == route]
        if len(seconds) < 2:
            return {"p50": seconds[0] * 1000, "p95": seconds[0] * 1000, "p99": seconds[0] * 1000}
        cuts = statistics.quantiles(seconds, n=100, method="inclusive")
        return {"p50": cuts[49] * 1000, "p95": cuts[94] * 1000, "p99": cuts[98] * 1000}

    def to_markdown(self) -> str:
        labels = {
            "rank_pasted": "UI `/rank_pasted`",
            "rank_faq": "UI `/rank_faq`",
            "rest": "REST `/v1/rerank`",
        }
        rows = []
        for route in (*ROUTES, None):
            count = sum(1 for s in self.samples if route is None or s.route == route)
            if not count:
                continue
            failed = sum(1 for s in self.samples if (route is None or s.route == route) and s.error)
            p = self.percentiles_ms(route)
            name = labels[route] if route else "**all**"
            rows.append(f"| {name} | {count} | {failed} | {p['p50']:.0f} | {p['p95']:.0f} | {p['p99']:.0f} |")
        mib = 1024 * 1024
        return "\n".join(
            [
                f"{self.clients} concurrent clients x {self.requests_per_client} requests against one app "
                f"(concurrency limit {self.config.concurrency_limit} per UI event, queue size "
                f"{self.config.queue_size}); wall time {self.wall_s:.1f} s, "
                f"{len(self.samples) / self.wall_s:.1f} requests/s.",
                "",
                "| Route | Requests | Errors or wrong answers | p50 ms | p95 ms | p99 ms |",
                "|---|---|---|---|---|---|",
                *rows,
                "",
                f"Score cache during the run: {self.cache_hits} hits, {self.cache_misses} misses.",
                f"Process RSS: {self.rss_warm_bytes / mib:.0f} MiB after warm-up, "
                f"{self.rss_after_bytes / mib:.0f} MiB after the run ({self.rss_growth:+.1%}).",
            ]
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def faq_pool() -> tuple[list[str], list[str], list[str], KnowledgeBase]:
    """Single-line FAQ answers, all labelled questions, the English ones, and the English base."""
    bases = list(bundled_bases().values())
    answers = sorted(
        {e.answer for path in bases for e in load_faq(path).entries if e.answer and "\n" not in e.answer}
    )
    zh_queries, en_queries = ([q.query for q in load_queries(path)] for path in bundled_query_sets().values())
    return answers, zh_queries + en_queries, en_queries, load_faq(bases[1])


def build_plan(
    scorer: Scorer, clients: int, requests_per_client: int, tag: str, seed: int = 7
) -> list[list[Call]]:
    """Each client's calls: odd clients use REST, even ones the UI (pasted answers and FAQ search).

    Client ``c`` asks ``ceil(requests_per_client / 2)`` questions of its own (marked with ``tag``
    and ``c``), each twice; expected orders come from a twin of ``scorer`` without a cache.
    """
    twin = Scorer(backend=scorer.backend, encoder=scorer.encoder, model=scorer.model, cache=ScoreCache(0))
    instruction = get_preset(PRESET).instruction
    answers, queries, en_queries, kb = faq_pool()
    rng = random.Random(seed)
    plan = []
    for client in range(clients):
        distinct = []
        for number in range((requests_per_client + 1) // 2):
            route: Route = "rest" if client % 2 else ("rank_faq" if number % 2 else "rank_pasted")
            pool = en_queries if route == "rank_faq" else queries  # the FAQ base searched is English
            query = f"{pool[(client * 7 + number) % len(pool)]} ({tag} {client}.{number})"
            documents = tuple(rng.sample(answers, DOCUMENTS_PER_REQUEST))
            if route == "rest":
                expected = tuple(str(d.index) for d in twin.rank(query, documents))
            elif route == "rank_pasted":
                expected = tuple(d.text for d in twin.rank(query, documents, instruction))
            else:
                hits = search_base(kb, query, top_k=FAQ_TOP_K)
                ranked = twin.rank(query, [h.entry.text for h in hits], instruction) if hits else []
                documents, expected = (), tuple(hits[d.index].entry.id for d in ranked)
            distinct.append(Call(route, query, documents, expected))
        plan.append((distinct * 2)[:requests_per_client])
    return plan


class Agent:
    """One client: a ``gradio_client.Client`` or an ``httpx.Client``, sending its calls in turn."""

    def __init__(self, url: str, uses_ui: bool, timeout_s: float) -> None:
        self.url, self.timeout_s = url, timeout_s
        self.ui = Client(url, verbose=False, download_files=False, analytics_enabled=False,
                         httpx_kwargs={"timeout": timeout_s}) if uses_ui else None  # fmt: skip
        # One connection per request: a kept-alive connection that the server closes after its
        # 5 s idle timeout, just as the next request goes out, fails with "Server disconnected"
        # (a client-side race every HTTP client must retry; this one avoids it instead).
        self.http = httpx.Client(timeout=timeout_s, limits=httpx.Limits(max_keepalive_connections=0))

    def answer(self, call: Call) -> tuple[str, ...]:
        """What the app lists for ``call``, best first, in the form of ``call.expected``."""
        if call.route == "rest":
            response = self.http.post(
                f"{self.url}v1/rerank", json={"query": call.query, "documents": call.documents}
            )
            response.raise_for_status()
            return tuple(str(r["index"]) for r in response.json()["results"])
        if call.route == "rank_pasted":
            args: Sequence[Any] = (call.query, PRESET, "", "\n".join(call.documents), "lines", 0.5)
        else:
            args = (call.query, PRESET, "", "bundled", list(bundled_bases())[1], None, FAQ_TOP_K, 0.5)
        assert self.ui is not None
        table_html = self.ui.submit(*args, api_name=f"/{call.route}").result(timeout=self.timeout_s)[2]
        cells = _ANSWER_CELL if call.route == "rank_pasted" else _FAQ_ID_CELL
        return tuple(html.unescape(cell) for cell in cells.findall(table_html))

    def run(self, calls: Sequence[Call], start: threading.Barrier) -> list[Sample]:
        start.wait()
        samples = []
        for call in calls:
            started = time.perf_counter()
            try:
                got = self.answer(call)
                error = (
                    None
                    if got == call.expected
                    else f"wrong order for {call.query!r}: {got} != {call.expected}"
                )
            except Exception as exc:  # a load test records every failure instead of stopping at the first
                error = f"{type(exc).__name__}: {exc}"[:300]
            samples.append(Sample(call.route, time.perf_counter() - started, error))
        return samples

    def close(self) -> None:
        self.http.close()


def run_round(agents: Sequence[Agent], plan: Sequence[Sequence[Call]], timeout_s: float) -> list[Sample]:
    """All agents at once, each through its own calls; bounded by ``timeout_s`` per call."""
    start = threading.Barrier(len(agents), timeout=timeout_s)
    deadline = timeout_s * (max(len(calls) for calls in plan) + 1)
    with ThreadPoolExecutor(len(agents)) as pool:
        futures = [pool.submit(agent.run, calls, start) for agent, calls in zip(agents, plan)]
        return [sample for future in futures for sample in future.result(timeout=deadline)]


def rss_bytes() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss


def run_load_test(
    scorer: Scorer,
    clients: int = 20,
    requests_per_client: int = 10,
    timeout_s: float = 60.0,
    config: AppConfig | None = None,
) -> LoadReport:
    """Launch the app on ``scorer``, warm it up (3 requests per client), then run the load."""
    config = config or AppConfig(host="127.0.0.1", port=free_port())
    warm_up = build_plan(scorer, clients, 3, tag="warm-up")  # every route, and a cache hit
    plan = build_plan(scorer, clients, requests_per_client, tag="load")
    demo, url = launch_app(scorer, config)
    agents = []
    try:
        agents = [Agent(url, uses_ui=calls[0].route != "rest", timeout_s=timeout_s) for calls in plan]
        for sample in run_round(agents, warm_up, timeout_s):
            if sample.error:
                logger.warning("warm-up request failed: %s", sample.error)
        rss_warm, stats = rss_bytes(), scorer.cache.stats
        hits, misses = stats.hits, stats.misses
        started = time.perf_counter()
        samples = run_round(agents, plan, timeout_s)
        wall_s = time.perf_counter() - started
        rss_after = rss_bytes()
    finally:
        for agent in agents:
            agent.close()
        demo.close()
    return LoadReport(
        clients=clients,
        requests_per_client=requests_per_client,
        samples=tuple(samples),
        wall_s=wall_s,
        rss_warm_bytes=rss_warm,
        rss_after_bytes=rss_after,
        cache_hits=scorer.cache.stats.hits - hits,
        cache_misses=scorer.cache.stats.misses - misses,
        config=config,
    )


def launch_app(scorer: Scorer, config: AppConfig) -> tuple[Any, str]:
    """The app as ``python app.py`` serves it, on ``scorer``; returns (demo, local URL)."""
    desk = Desk(scorer, export_dir=export_dir(), bases=bundled_bases(), max_candidates=config.max_candidates,
                max_upload_bytes=config.max_upload_bytes)  # fmt: skip
    demo = build_demo(desk, config)
    return demo, serve.launch(demo, config, api=serve.create_rest_api(desk, config), block=False)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=10, help="requests per client")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request at most")
    parser.add_argument("--no-write", action="store_true", help=f"print only; do not write {RESULTS.name}")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    scorer = load_scorer(make_model("tiny"), backend="transformers", dtype="float32")
    report = run_load_test(scorer, args.clients, args.requests, args.timeout)
    text = "\n".join(
        [
            "# Load test: concurrent clients against one app",
            "",
            f"`{' '.join(['benchmarks/load_test.py', *(argv if argv is not None else sys.argv[1:])])}` on "
            f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC · {platform.machine()}, "
            f"{os.cpu_count()} CPUs · Python {platform.python_version()}, Gradio {gradio.__version__} · "
            f"model: tiny random-weight Qwen3 ({scorer.backend_name}: {scorer.backend.description}).",
            "",
            report.to_markdown(),
            "",
            "Clients run in the same process as the app, so the RSS includes them. Latency is the "
            "client's: from sending the request to holding the parsed answer.",
            *(["", "Errors:", *(f"- {e}" for e in report.errors)] if report.errors else []),
        ]
    )
    sys.stdout.write(text + "\n")
    if not args.no_write:
        RESULTS.write_text(text + "\n", encoding="utf-8")
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
