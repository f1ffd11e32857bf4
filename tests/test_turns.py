"""Requests take turns on the engine; small ones that wait share its next call, each with its own scores."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from reranker.engine.turns import EngineTurns


class SlowEngine:
    """Scores a prompt as the sum of its ids; the first call waits until ``release`` is set."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.calls: list[list[list[int]]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.fail_on = fail_on
        self.running = 0

    def __call__(self, prompts):
        self.running += 1
        assert self.running == 1, "two engine calls at once"
        try:
            self.calls.append([list(p) for p in prompts])
            if len(self.calls) == 1:
                self.started.set()
                assert self.release.wait(10)
            if self.fail_on is not None and any(self.fail_on in p for p in prompts):
                raise MemoryError("out of memory")
            return [float(sum(p)) for p in prompts]
        finally:
            self.running -= 1


def requests_while_busy(turns: EngineTurns, engine: SlowEngine, waiting: list[list[list[int]]]):
    """One request occupies the engine; ``waiting`` arrive meanwhile; then the engine frees up."""
    pool = ThreadPoolExecutor(len(waiting) + 1)
    first = pool.submit(turns.score, [[100]])
    assert engine.started.wait(10)
    futures = []
    for prompts in waiting:
        futures.append(pool.submit(turns.score, prompts))
        time.sleep(0.02)  # in this order
    time.sleep(0.1)
    engine.release.set()
    return first, futures


def test_small_requests_waiting_for_the_engine_share_its_next_call_and_get_their_own_scores():
    engine = SlowEngine()
    turns = EngineTurns(engine, merge_tokens=4096)
    waiting = [[[1, 2], [3]], [[10]], [[20, 1], [4, 4], [5]]]
    first, futures = requests_while_busy(turns, engine, waiting)
    assert first.result(10) == [100.0]
    assert [f.result(10) for f in futures] == [[3.0, 3.0], [10.0], [21.0, 8.0, 5.0]]
    assert engine.calls[1] == [p for prompts in waiting for p in prompts]  # one call, in arrival order
    assert (turns.calls, turns.merged_calls) == (2, 1)


def test_requests_larger_than_one_engine_step_take_turns():
    engine = SlowEngine()
    turns = EngineTurns(engine, merge_tokens=5)
    waiting = [[[1, 1, 1, 1]], [[2, 2, 2]], [[3]]]
    first, futures = requests_while_busy(turns, engine, waiting)
    assert first.result(10) == [100.0]
    assert [f.result(10) for f in futures] == [[4.0], [6.0], [3.0]]
    # 4 tokens, then 3 + 1 fit the 5-token step together
    assert engine.calls[1:] == [[[1, 1, 1, 1]], [[2, 2, 2], [3]]]


def test_without_merging_every_request_is_its_own_call():
    engine = SlowEngine()
    turns = EngineTurns(engine, merge_tokens=0)
    first, futures = requests_while_busy(turns, engine, [[[1]], [[2]], [[3]]])
    assert first.result(10) == [100.0]
    assert [f.result(10) for f in futures] == [[1.0], [2.0], [3.0]]
    assert turns.calls == 4 and turns.merged_calls == 0


def test_a_failed_call_fails_the_requests_in_it_and_the_next_call_works():
    engine = SlowEngine(fail_on=7)
    turns = EngineTurns(engine, merge_tokens=4096)
    first, futures = requests_while_busy(turns, engine, [[[7]], [[2]]])
    assert first.result(10) == [100.0]
    for future in futures:  # they shared the failed call
        with pytest.raises(MemoryError):
            future.result(10)
    assert turns.score([[5]]) == [5.0]


def test_alone_keeps_every_call_out_until_it_is_done():
    engine = SlowEngine()
    engine.release.set()
    turns = EngineTurns(engine, merge_tokens=4096)
    with turns.alone():
        pending = ThreadPoolExecutor(1).submit(turns.score, [[1]])
        time.sleep(0.1)
        assert not pending.done() and engine.calls == []
    assert pending.result(10) == [1.0]


def test_many_threads_at_once_each_get_exactly_their_scores():
    engine = SlowEngine()
    engine.release.set()
    turns = EngineTurns(engine, merge_tokens=64)
    work = [[[i, j] for j in range(1 + i % 4)] for i in range(60)]
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(turns.score, work))
    assert results == [[float(sum(p)) for p in prompts] for prompts in work]
    assert sum(len(call) for call in engine.calls) == sum(len(p) for p in work)


def test_concurrent_rankings_score_as_one_at_a_time(hf_scorer):
    """The real engine: requests sharing a call get the scores they get alone."""
    questions = ["where is my parcel", "how do refunds work", "change my address", "cancel my order"]
    answers = ["It ships in 2 days.", "Refunds take 5 days.", "Edit the address in your account."]
    alone = [hf_scorer.score(q, answers) for q in questions]
    hf_scorer.reset_caches()
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda q: hf_scorer.score(q, answers), questions))
    assert together == [pytest.approx(a, abs=1e-5) for a in alone]


def test_the_scorer_scores_rankings_that_wait_in_one_engine_call(hf_scorer):
    """Three agents' small rankings arrive while the engine is busy: one call scores them all."""
    from reranker.engine.scorer import Scorer
    from reranker.testing.gated import GatedBackend

    gate = GatedBackend()
    scorer = Scorer(backend=gate, encoder=hf_scorer.encoder, model="gated")
    with ThreadPoolExecutor(4) as pool:
        busy = pool.submit(scorer.score, "where is my parcel", ["It ships in 2 days."])
        assert gate.entered.wait(10)
        waiting = [
            pool.submit(scorer.score, q, ["Refunds take 5 days.", "Call us."]) for q in ("a?", "b?", "c?")
        ]
        time.sleep(0.2)
        gate.release.set()
        assert busy.result(10) == [0.5] and [w.result(10) for w in waiting] == [[0.5, 0.5]] * 3
    assert (scorer._turns.calls, scorer._turns.merged_calls) == (2, 1)
    scorer.merge_tokens = 0  # taking turns only
    assert scorer._turns.merge_tokens == 0
