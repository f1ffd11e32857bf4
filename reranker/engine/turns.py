"""``EngineTurns``: requests take turns on one engine, and the small ones that wait ride together.

Neither vLLM's ``LLM`` nor a torch model may be driven from two threads at once, so engine calls
are serialised. Every call also has a fixed cost (a scheduler step, on the Intel Xeon 0.15-0.25 s),
which requests of a few answers pay mostly alone: 16 agents each asking about 3 answers would pay
it 16 times. So when the engine frees up, the requests waiting for it are scored in one call, in
the order they came, as long as their prompts fit ``merge_tokens`` (one engine step; a request
larger than that goes alone). Large requests keep taking turns: on 2 cores one 20-answer request
already keeps the matrix units busy, and a shared call would only make each wait for the last.

Each request gets exactly its own scores (the engine scores every prompt independently) and its
own error: a failed call fails the requests in it, not the next call.

>>> turns = EngineTurns(lambda prompts: [float(len(p)) for p in prompts], merge_tokens=4096)
>>> turns.score([[1, 2, 3], [4]])
[3.0, 1.0]
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

Prompts = Sequence[Sequence[int]]


@dataclass(eq=False)
class _Request:
    prompts: Prompts
    tokens: int
    scores: list[float] | None = None
    error: BaseException | None = None
    done: bool = False
    #: The engine call that scored it: seconds, and how many prompts it held.
    call_s: float = 0.0
    call_prompts: int = 0
    ready: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class TurnResult:
    """A request's scores, and the engine call they came from (for the time per answer)."""

    scores: list[float]
    call_s: float
    call_prompts: int


class EngineTurns:
    """Serialises calls to ``score_token_ids``; waiting requests of at most ``merge_tokens`` tokens
    together are scored in one call (0: every request alone)."""

    def __init__(self, score_token_ids: Callable[[list[Sequence[int]]], Sequence[float]], merge_tokens: int,
                 *, serialise: bool = True) -> None:  # fmt: skip
        """``serialise`` False: the engine takes concurrent calls itself (a remote server); each
        request calls it at once, and :meth:`alone` waits for nothing."""
        self._score = score_token_ids
        self.merge_tokens = merge_tokens
        self.serialise = serialise
        self._guard = threading.Lock()  # the queue and the flags
        self._engine = threading.Lock()  # held while the engine runs a call (or is used alone)
        self._waiting: list[_Request] = []
        self._busy = False
        #: Engine calls made, and how many of them scored more than one request (for tests and logs).
        self.calls = 0
        self.merged_calls = 0

    def score(self, prompts: Prompts) -> list[float]:
        return self.score_with_timing(prompts).scores

    def score_with_timing(self, prompts: Prompts) -> TurnResult:
        """This request's scores, in order, once the engine has scored it (with others, maybe)."""
        own = _Request(prompts, sum(len(p) for p in prompts))
        if not self.serialise:
            began = time.perf_counter()
            scores = list(self._score(list(prompts)))
            return TurnResult(scores, time.perf_counter() - began, len(prompts))
        with self._guard:
            self._waiting.append(own)
        while True:
            with self._guard:
                if own.done:
                    break
                if self._busy:
                    lead = None
                else:
                    lead = self._take()
                    self._busy = True
            if lead is None:
                own.ready.wait()
                own.ready.clear()
                continue
            self._run(lead)
        if own.error is not None:
            raise own.error
        assert own.scores is not None
        return TurnResult(own.scores, own.call_s, own.call_prompts)

    @contextmanager
    def alone(self) -> Iterator[None]:
        """The engine to oneself (a warm-up, a cache reset): no call runs meanwhile."""
        if not self.serialise:
            yield
            return
        with self._engine:
            yield

    def _take(self) -> list[_Request]:
        """The waiting requests of the next call: the first, and those after it that still fit."""
        taken = [self._waiting.pop(0)]
        tokens = taken[0].tokens
        while self._waiting and tokens + self._waiting[0].tokens <= self.merge_tokens:
            tokens += self._waiting[0].tokens
            taken.append(self._waiting.pop(0))
        return taken

    def _run(self, requests: list[_Request]) -> None:
        with self._engine:
            began = time.perf_counter()
            try:
                scores = list(self._score([p for r in requests for p in r.prompts]))
                error = None
            except BaseException as exc:  # each request raises it in its own thread
                scores, error = [], exc
            elapsed = time.perf_counter() - began
        prompts = sum(len(r.prompts) for r in requests)
        with self._guard:
            self.calls += 1
            self.merged_calls += len(requests) > 1
            position = 0
            for r in requests:
                if error is None and len(scores) == prompts:
                    r.scores = scores[position : position + len(r.prompts)]
                    position += len(r.prompts)
                elif error is None:  # the engine broke its contract: let the caller's check say so
                    r.scores = scores if len(requests) == 1 else []
                r.error, r.call_s, r.call_prompts, r.done = error, elapsed, prompts, True
            self._busy = False
            for r in requests:
                r.ready.set()
            if self._waiting:
                self._waiting[0].ready.set()  # the next in line leads the next call
