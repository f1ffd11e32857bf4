"""Requests at once share the engine: those that wait are scored together, each in its own order."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from reranker.engine.backends.base import Backend
from reranker.engine.cache import ScoreCache
from reranker.engine.scorer import Scorer
from reranker.testing.gated import GatedBackend

QUERIES = ["Where is my order?", "How do I get a refund?", "Can I change my address?", "订单什么时候发货？"]
ANSWERS = [f"Answer {n}: orders ship within {n} days and refunds take {n + 2} days." for n in range(6)]


class RecordingBackend(Backend):
    """Wraps the test engine: counts the prompts of each engine call; the first call waits for a gate."""

    name = "transformers"

    def __init__(self, inner: Backend) -> None:
        self.inner, self.calls = inner, []
        self.first = GatedBackend()

    def score_token_ids(self, prompts):
        if not self.calls:
            self.first.score_token_ids(prompts)  # holds the engine until the test lets it go
        self.calls.append(len(prompts))
        return self.inner.score_token_ids(prompts)


def test_requests_that_wait_for_the_engine_are_scored_in_one_call_each_in_its_own_order(hf_scorer):
    backend = RecordingBackend(hf_scorer.backend)
    scorer = replace(hf_scorer, backend=backend, cache=ScoreCache(max_entries=0))
    expected = {q: replace(hf_scorer, cache=ScoreCache(max_entries=0)).score(q, ANSWERS) for q in QUERIES}
    with ThreadPoolExecutor(len(QUERIES) + 1) as pool:
        busy = pool.submit(scorer.score, "Busy engine", ["first request"])
        assert backend.first.entered.wait(10)
        waiting = {q: pool.submit(scorer.score, q, ANSWERS) for q in QUERIES}
        deadline = time.monotonic() + 10
        while len(scorer._queue._jobs) < len(QUERIES) and time.monotonic() < deadline:
            time.sleep(0.01)
        backend.first.release.set()
        busy.result(10)
        got = {q: future.result(10) for q, future in waiting.items()}
    assert backend.calls == [1, len(QUERIES) * len(ANSWERS)]  # the four waiting requests: one call
    for query in QUERIES:
        assert max(abs(a - b) for a, b in zip(got[query], expected[query])) <= 1e-5


class FailingBackend(Backend):
    name = "transformers"

    def __init__(self) -> None:
        self.gate = GatedBackend()

    def score_token_ids(self, prompts):
        self.gate.score_token_ids(prompts)
        raise RuntimeError("kernel failed")


def test_an_engine_error_reaches_every_request_of_the_call(hf_scorer):
    scorer: Scorer = replace(hf_scorer, backend=FailingBackend(), cache=ScoreCache(max_entries=0))
    errors: list[BaseException] = []

    def score(query: str) -> None:
        try:
            scorer.score(query, ANSWERS)
        except RuntimeError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=score, args=(q,)) for q in QUERIES]
    for thread in threads:
        thread.start()
    assert scorer.backend.gate.entered.wait(10)
    scorer.backend.gate.release.set()
    for thread in threads:
        thread.join(10)
    assert len(errors) == len(QUERIES) and all("kernel failed" in str(e) for e in errors)
