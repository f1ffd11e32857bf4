"""``Scorer``: score (query, document) pairs with a loaded Qwen3-Reranker (see :mod:`reranker.engine.load`).

The text is scored exactly as given, as the model card's code and ``vllm serve`` score it;
repeats are answered from a :class:`~reranker.engine.cache.ScoreCache`.

>>> scorer = load_scorer()                                   # doctest: +SKIP
>>> scorer.score("Where is my order?", ["It ships in 24 hours.", "Reset your password."])  # doctest: +SKIP
[0.93..., 0.01...]
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import torch

from reranker.engine.backends.base import Backend
from reranker.engine.cache import ScoreCache, Scored, cache_keys
from reranker.engine.prompt import PromptEncoder, resolve_instruction, window_prompts
from reranker.engine.turns import EngineTurns
from reranker.errors import BackendFailure, InvalidInput
from reranker.text import require_question

logger = logging.getLogger(__name__)
#: The warm-up request (:meth:`Scorer.warm_up`): a desk's top 20, answers of FAQ length.
WARM_UP_ANSWERS = 20
WARM_UP_QUERY = "My parcel has not arrived yet, what should I do?"
WARM_UP_SENTENCE = "Orders ship within 24 hours and arrive in 3-5 business days; track them in your account."
#: Requests waiting for the engine share its next call while their prompts hold at most this many
#: tokens in all: one CPU engine step (``step_tokens``), so a shared call costs no extra step.
MERGE_TOKENS = 4096
#: The engine failures a user can act on (fewer or shorter candidates); torch's is a RuntimeError.
OUT_OF_MEMORY: tuple[type[BaseException], ...] = (MemoryError, torch.OutOfMemoryError)


@dataclass(frozen=True)
class RankedDocument:
    """One scored candidate. ``index`` is its position in the input; ``tokens``, its prompts' length.

    A candidate longer than one window is scored window by window (``chunks_scored``); its score
    is the best window's, and ``evidence`` is where that window sits in ``text``: ``(start, end)``
    character offsets (for a candidate of one window, the whole text).
    """

    index: int
    score: float
    text: str
    truncated: bool = False
    tokens: int = 0
    chunks_scored: int = 1
    evidence: tuple[int, int] | None = None

    @property
    def evidence_text(self) -> str:
        """The passage that earned the score (the whole text for a one-window candidate)."""
        return self.text if self.evidence is None else self.text[self.evidence[0] : self.evidence[1]]


def score_order(scores: Sequence[float | None]) -> list[int]:
    """Indices best first: higher score first, ties in input order; None (not scored yet) and
    NaN (no usable score) after every scored one, in input order. The only sort by score.

    >>> score_order([0.2, None, 0.9, float("nan"), 0.2])
    [2, 0, 4, 1, 3]
    """

    def key(i: int) -> tuple[bool, float, int]:
        score = scores[i]
        missing = score is None or math.isnan(score)
        return missing, 0.0 if missing else -score, i  # type: ignore[operator]

    return sorted(range(len(scores)), key=key)


@dataclass(frozen=True)
class Ranking(Sequence[RankedDocument]):
    """Documents best first, with what the request cost. Indexes and iterates as its documents.

    >>> ranking = Ranking.of([RankedDocument(0, 0.1, "a"), RankedDocument(1, 0.8, "b")], 0, 0.01)
    >>> [d.text for d in ranking], ranking[0].score
    (['b', 'a'], 0.8)
    """

    items: tuple[RankedDocument, ...]
    cache_hits: int
    elapsed_s: float
    #: Input indices of every document cut to fit the model's max length (also beyond top_k).
    truncated: tuple[int, ...] = ()

    @classmethod
    def of(cls, documents: Sequence[RankedDocument], cache_hits: int, elapsed_s: float,
           top_k: int | None = None) -> Ranking:  # fmt: skip
        order = score_order([d.score for d in documents])
        cut = tuple(sorted(d.index for d in documents if d.truncated))
        return cls(tuple(documents[i] for i in order[:top_k]), cache_hits, elapsed_s, cut)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, position):  # type: ignore[override]
        return self.items[position]


@dataclass(frozen=True)
class ScoreResult:
    """Scores of one request, in input order, with what it cost."""

    documents: list[RankedDocument]
    cache_hits: int
    elapsed_s: float

    @property
    def scores(self) -> list[float]:
        return [d.score for d in self.documents]

    @property
    def truncated(self) -> list[int]:
        return [d.index for d in self.documents if d.truncated]

    @property
    def total_tokens(self) -> int:
        """Prompt tokens of every pair, cached ones included (what the request would cost uncached)."""
        return sum(d.tokens for d in self.documents)


@dataclass
class Scorer:
    """Scores documents against a query with a loaded Qwen3-Reranker.

    Thread-safe: engine calls are serialised (neither vLLM's ``LLM`` nor a torch model may be
    driven from two threads at once), and small requests that wait share the next call
    (:class:`~reranker.engine.turns.EngineTurns`, :attr:`merge_tokens`); repeats are answered from an
    LRU cache.
    """

    backend: Backend
    encoder: PromptEncoder
    model: str
    #: Why this engine runs (e.g. "auto: vLLM started"), for /health and the log.
    backend_reason: str = ""
    #: Set when ``auto`` wanted vLLM but had to run transformers: the cause, as a sentence.
    fallback_cause: str | None = None
    cache: ScoreCache = field(default_factory=ScoreCache)
    _turns: EngineTurns = field(init=False, repr=False)
    #: Seconds one uncached answer took in the last engine call (None: nothing scored yet).
    seconds_per_answer: float | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        # A thread-safe engine (a remote server) batches concurrent requests itself.
        self._turns = EngineTurns(self._engine_call, MERGE_TOKENS, serialise=not self.backend.thread_safe)

    def _engine_call(self, prompts: Sequence[Sequence[int]]) -> list[float]:
        return self.backend.score_token_ids(prompts)  # looked up at each call: the backend may be swapped

    @property
    def merge_tokens(self) -> int:
        """Waiting requests of at most this many prompt tokens in all share an engine call (0: never)."""
        return self._turns.merge_tokens

    @merge_tokens.setter
    def merge_tokens(self, tokens: int) -> None:
        self._turns.merge_tokens = tokens

    @property
    def backend_name(self) -> str:
        return self.backend.name

    @property
    def max_length(self) -> int:
        return self.encoder.max_length

    def score(self, query: str, documents: Sequence[str], instruction: str | None = None) -> list[float]:
        """P("yes") for each document, in input order.

        >>> scorer.score("订单一直显示待发货怎么办？", ["通常24小时内发出。", "退货流程…"])  # doctest: +SKIP
        [0.87..., 0.02...]
        """
        return self.score_detailed(query, documents, instruction).scores

    def rank(self, query: str, documents: Sequence[str], instruction: str | None = None,
             top_k: int | None = None) -> Ranking:  # fmt: skip
        """Documents by score, highest first (ties keep input order); at most ``top_k``.

        >>> scorer.rank("Where is my order?", ["Reset password", "Ships in 24h"])[0].index  # doctest: +SKIP
        1
        """
        result = self.score_detailed(query, documents, instruction)
        return Ranking.of(result.documents, result.cache_hits, result.elapsed_s, top_k)

    def score_detailed(
        self, query: str, documents: Sequence[str], instruction: str | None = None
    ) -> ScoreResult:
        """Scores in input order with truncation flags, cache hits and elapsed time."""
        start = time.perf_counter()
        _check_texts(query, documents)
        texts = list(documents)
        instruction = resolve_instruction(instruction)
        keys = cache_keys(instruction, query, texts)
        found = [self.cache.get(key) for key in keys]
        hits = sum(hit is not None for hit in found)
        missing: dict[bytes, str] = {}  # key -> document, each once, in input order
        for key, doc, hit in zip(keys, texts, found):
            if hit is None:
                missing.setdefault(key, doc)
        if missing:
            computed, engine_s = self._compute(query, list(missing.values()), instruction)
            self.seconds_per_answer = engine_s / len(missing)
            fresh = dict(zip(missing, computed))
            for key, value in fresh.items():
                self.cache.put(key, value)
            found = [hit if hit is not None else fresh[key] for key, hit in zip(keys, found)]
        results = [
            RankedDocument(
                index=i,
                score=score,
                text=doc,
                truncated=truncated,
                tokens=tokens,
                chunks_scored=chunks,
                evidence=best,
            )
            for i, (doc, (score, truncated, tokens, chunks, best)) in enumerate(zip(texts, found))
        ]
        return ScoreResult(results, cache_hits=hits, elapsed_s=time.perf_counter() - start)

    def expected_s(self, answers: int) -> float:
        """About how long scoring ``answers`` uncached answers takes, from the last engine call
        (infinite before the first; the warm-up makes one)."""
        per_answer = self.seconds_per_answer
        return math.inf if per_answer is None else per_answer * answers

    def score_in_batches(self, query: str, documents: Sequence[str], instruction: str | None = None,
                         first_batch: int = 2, max_batch: int = 64) -> Iterator[ScoreResult]:  # fmt: skip
        """Score ``documents`` a batch at a time, yielding each batch as soon as it is scored.

        Cached documents come first, in one batch; then ``first_batch`` documents, then the rest
        ``max_batch`` at a time: the first scores arrive quickly, and the rest cost what one
        request of them would (each engine call has a fixed cost). Each yielded :class:`ScoreResult` holds that
        batch's documents with their indices in ``documents``; scores are exactly
        :meth:`score_detailed`'s. A caller that stops iterating stops after the current batch.

        >>> batch_sizes(7, first_batch=1, max_batch=4)
        [1, 4, 2]
        """
        if not 1 <= first_batch <= max_batch:
            raise ValueError("batch sizes must satisfy 1 <= first_batch <= max_batch")
        _check_texts(query, documents)
        documents = list(documents)
        keys = cache_keys(resolve_instruction(instruction), query, documents)
        cached = [i for i, key in enumerate(keys) if self.cache.peek(key)]
        in_cache = set(cached)
        pending = [i for i in range(len(documents)) if i not in in_cache]
        groups = [cached] if cached else []
        start = 0
        for size in batch_sizes(len(pending), first_batch, max_batch):
            groups.append(pending[start : start + size])
            start += size
        for group in groups:
            result = self.score_detailed(query, [documents[i] for i in group], instruction)
            yield ScoreResult(
                [replace(d, index=group[d.index]) for d in result.documents],
                cache_hits=result.cache_hits,
                elapsed_s=result.elapsed_s,
            )

    def warm_up(self) -> float:
        """Run the engine once on a request shaped like an agent's; the seconds it took.

        The first request after start pays one-off costs (kernels picked and memory laid out for
        its shapes). The app's loader runs this before it reports ready, so no agent pays them:
        :data:`WARM_UP_ANSWERS` answers of FAQ length (50-300 tokens), in the desk's batches
        (``first_batch``, then the rest). Scores and cached prefixes are thrown away; the time per
        answer of the last call is kept for :meth:`expected_s`.
        """
        started = time.perf_counter()
        answers = [" ".join([WARM_UP_SENTENCE] * (2 + 3 * (i % 7))) for i in range(WARM_UP_ANSWERS)]
        prompts = window_prompts(self.encoder.encode_windows(WARM_UP_QUERY, answers, None))
        with self._turns.alone():
            start = 0
            for size in batch_sizes(len(prompts), 2, len(prompts)):
                computing = time.perf_counter()
                self.backend.score_token_ids(prompts[start : start + size])
                start += size
            # The last call (the bulk of the request) tells the desk how fast this engine is, so the
            # first agent's ranking already follows its one-call rule (:meth:`expected_s`).
            self.seconds_per_answer = (time.perf_counter() - computing) / size
            self.backend.reset_prefix_cache()
            self.backend.release_spare_memory()
        elapsed = time.perf_counter() - started
        logger.info("Warmed up the %s engine in %.1f s", self.backend.name, elapsed)
        return elapsed

    def reset_caches(self) -> None:
        """Forget every cached score and the engine's cached prompt prefixes (for benchmarks)."""
        self.cache.clear()
        with self._turns.alone():
            self.backend.reset_prefix_cache()

    def _compute(self, query: str, documents: list[str], instruction: str) -> tuple[list[Scored], float]:
        """Score every window of every document in one engine call (shared with other waiting
        requests, maybe); a document gets its best window's score. Also: this request's share of
        the engine call's seconds."""
        encoded = self.encoder.encode_windows(query, documents, instruction)
        prompts = window_prompts(encoded)
        try:
            turn = self._turns.score_with_timing(prompts)
        except OUT_OF_MEMORY as exc:  # expected under load; any other error is a bug, raised as is
            logger.exception("The %s engine ran out of memory", self.backend.name)
            raise BackendFailure(
                f"The reranker ran out of memory scoring {len(documents)} candidates. Try fewer or "
                "shorter candidates; if it keeps happening, start the app with a shorter --max-length."
            ) from exc
        scores = turn.scores
        if len(scores) != len(prompts):
            raise BackendFailure(
                f"The {self.backend.name} engine returned {len(scores)} scores for {len(prompts)} prompts."
            )
        computed, position = [], 0
        for doc in encoded:
            own = [float(s) for s in scores[position : position + len(doc.windows)]]
            position += len(doc.windows)
            best = max(range(len(own)), key=lambda i: (not math.isnan(own[i]), own[i]))  # first of equals
            window = doc.windows[best]
            tokens = sum(len(w.token_ids) for w in doc.windows)
            computed.append((own[best], doc.truncated, tokens, len(doc.windows), (window.start, window.end)))
        return computed, turn.call_s * len(prompts) / max(turn.call_prompts, 1)

    def close(self) -> None:
        self.backend.close()




def batch_sizes(total: int, first_batch: int, max_batch: int) -> list[int]:
    """Sizes that cover ``total`` items: ``first_batch``, then ``max_batch`` at a time."""
    sizes, size = [], first_batch
    while total > 0:
        sizes.append(min(size, total))
        total -= sizes[-1]
        size = max_batch
    return sizes


def _check_texts(query: object, documents: object) -> None:
    require_question(query)
    if isinstance(documents, str) or any(not isinstance(d, str) for d in documents):  # type: ignore[attr-defined]
        raise InvalidInput("Candidates must be a list of texts.")


