"""``load_scorer()`` and ``Scorer``: load Qwen3-Reranker once, score (query, document) pairs.

>>> scorer = load_scorer()                                   # doctest: +SKIP
>>> scorer.score("Where is my order?", ["It ships in 24 hours.", "Reset your password."])  # doctest: +SKIP
[0.93..., 0.01...]
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, get_args

import torch

from reranker.backends.base import Backend
from reranker.errors import BackendFailure, InvalidInput, ModelUnavailable
from reranker.model_source import DEFAULT_MODEL, resolve_model_dir
from reranker.prompt import (
    DEFAULT_MAX_LENGTH,
    NO_TOKEN,
    YES_TOKEN,
    PromptEncoder,
    resolve_instruction,
    validate_max_length,
)

logger = logging.getLogger(__name__)

BackendName = Literal["auto", "vllm", "transformers", "remote"]
BACKENDS: tuple[str, ...] = get_args(BackendName)
DTYPES = ("auto", "float32", "bfloat16", "float16")
DEFAULT_CACHE_SIZE = 10_000
#: The warm-up request (:meth:`Scorer.warm_up`): a desk's top 20, answers of FAQ length.
WARM_UP_ANSWERS = 20
WARM_UP_QUERY = "My parcel has not arrived yet, what should I do?"
WARM_UP_SENTENCE = "Orders ship within 24 hours and arrive in 3-5 business days; track them in your account."
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


def normalise(text: str) -> str:
    """The one normalisation every entry point's text goes through: Unicode NFC, trimmed.

    So ``"  Where is my order?  "`` and ``"Where is my order?"`` (or a decomposed and a
    composed "é") are the same question, with the same score and the same cache entry.

    >>> normalise("  Cafe\\u0301 hours?\\n")
    'Café hours?'
    """
    return unicodedata.normalize("NFC", text).strip()


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


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0


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


#: What the engine gives for one document: score, truncated, tokens, windows scored, best window.
Scored = tuple[float, bool, int, int, tuple[int, int]]


class ScoreCache:
    """A bounded LRU of (instruction, query, document) -> :data:`Scored`; thread-safe.

    Keys are 16-byte hashes (:func:`cache_keys`), so the cache holds no texts: its memory is
    bounded by ``max_entries`` whatever the size of the documents.
    """

    def __init__(self, max_entries: int = DEFAULT_CACHE_SIZE) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[bytes, Scored] = OrderedDict()
        self._lock = threading.Lock()
        self.stats = CacheStats()

    def peek(self, key: bytes) -> bool:
        """Whether ``key`` is cached, without counting a hit or a miss."""
        with self._lock:
            return key in self._entries

    def get(self, key: bytes) -> Scored | None:
        with self._lock:
            value = self._entries.get(key)
            if value is None:
                self.stats.misses += 1
                return None
            self._entries.move_to_end(key)
            self.stats.hits += 1
            return value

    def put(self, key: bytes, value: Scored) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass
class Scorer:
    """Scores documents against a query with a loaded Qwen3-Reranker.

    Thread-safe: engine calls are serialised (neither vLLM's ``LLM`` nor a torch model may be
    driven from two threads at once); repeats are answered from an LRU cache.
    """

    backend: Backend
    encoder: PromptEncoder
    model: str
    #: Why this engine runs (e.g. "auto: vLLM started"), for /health and the log.
    backend_reason: str = ""
    #: Set when ``auto`` wanted vLLM but had to run transformers: the cause, as a sentence.
    fallback_cause: str | None = None
    cache: ScoreCache = field(default_factory=ScoreCache)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

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
        query, texts = normalise(query), [normalise(d) for d in documents]
        instruction = resolve_instruction(None if instruction is None else normalise(instruction))
        keys = cache_keys(instruction, query, texts)
        found = [self.cache.get(key) for key in keys]
        hits = sum(hit is not None for hit in found)
        missing: dict[bytes, str] = {}  # key -> document, each once, in input order
        for key, doc, hit in zip(keys, texts, found):
            if hit is None:
                missing.setdefault(key, doc)
        if missing:
            computed = self._compute(query, list(missing.values()), instruction)
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
                evidence=_as_sent(doc, text, best),
            )
            for i, (doc, text, (score, truncated, tokens, chunks, best)) in enumerate(
                zip(documents, texts, found)
            )
        ]
        return ScoreResult(results, cache_hits=hits, elapsed_s=time.perf_counter() - start)

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
        keys = cache_keys(resolve_instruction(None if instruction is None else normalise(instruction)),
                          normalise(query), [normalise(d) for d in documents])  # fmt: skip
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
        (``first_batch``, then the rest). Scores and cached prefixes are thrown away.
        """
        started = time.perf_counter()
        answers = [" ".join([WARM_UP_SENTENCE] * (2 + 3 * (i % 7))) for i in range(WARM_UP_ANSWERS)]
        prompts = [
            w.token_ids
            for doc in self.encoder.encode_windows(WARM_UP_QUERY, answers, None)
            for w in doc.windows
        ]
        with contextlib.nullcontext() if self.backend.thread_safe else self._lock:
            start = 0
            for size in batch_sizes(len(prompts), 2, len(prompts)):
                self.backend.score_token_ids(prompts[start : start + size])
                start += size
            self.backend.reset_prefix_cache()
        elapsed = time.perf_counter() - started
        logger.info("Warmed up the %s engine in %.1f s", self.backend.name, elapsed)
        return elapsed

    def reset_caches(self) -> None:
        """Forget every cached score and the engine's cached prompt prefixes (for benchmarks)."""
        self.cache.clear()
        self.backend.reset_prefix_cache()

    def _compute(self, query: str, documents: list[str], instruction: str) -> list[Scored]:
        """Score every window of every document in one engine call; a document gets its best window's score."""
        encoded = self.encoder.encode_windows(query, documents, instruction)
        prompts = [window.token_ids for doc in encoded for window in doc.windows]
        with contextlib.nullcontext() if self.backend.thread_safe else self._lock:
            try:
                scores = self.backend.score_token_ids(prompts)
            except OUT_OF_MEMORY as exc:  # expected under load; any other error is a bug, raised as is
                logger.exception("The %s engine ran out of memory", self.backend.name)
                raise BackendFailure(
                    f"The reranker ran out of memory scoring {len(documents)} candidates. Try fewer or "
                    "shorter candidates; if it keeps happening, start the app with a shorter --max-length."
                ) from exc
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
        return computed

    def close(self) -> None:
        self.backend.close()


def _as_sent(document: str, normalised: str, span: tuple[int, int]) -> tuple[int, int]:
    """A span of the normalised text as offsets into the document as sent (which may carry
    surrounding whitespace). Where NFC changed the text itself, the offsets stay the NFC text's."""
    lead = len(document) - len(document.lstrip())
    if document[lead : lead + len(normalised)] != normalised:
        return span
    return span[0] + lead, span[1] + lead


def batch_sizes(total: int, first_batch: int, max_batch: int) -> list[int]:
    """Sizes that cover ``total`` items: ``first_batch``, then ``max_batch`` at a time."""
    sizes, size = [], first_batch
    while total > 0:
        sizes.append(min(size, total))
        total -= sizes[-1]
        size = max_batch
    return sizes


def _check_texts(query: object, documents: object) -> None:
    if not isinstance(query, str) or not query.strip():
        raise InvalidInput("The question is empty: type the customer's question first.")
    if isinstance(documents, str) or any(not isinstance(d, str) for d in documents):  # type: ignore[attr-defined]
        raise InvalidInput("Candidates must be a list of texts.")


def cache_keys(instruction: str, query: str, documents: Sequence[str]) -> list[bytes]:
    """One 16-byte BLAKE2b key per document for the score cache.

    Raises ``InvalidInput`` for text that is not valid Unicode (an unpaired UTF-16 surrogate,
    which JSON can carry as ``"\\ud83d"``): no tokenizer can encode it.
    """
    head = hashlib.blake2b(digest_size=16)
    for part in (_utf8(instruction, "The instruction"), _utf8(query, "The question")):
        head.update(len(part).to_bytes(8, "little") + part)
    keys = []
    for number, doc in enumerate(documents, start=1):
        key = head.copy()
        key.update(_utf8(doc, f"Candidate {number}"))
        keys.append(key.digest())
    return keys


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            f"{what} contains U+{ord(text[exc.start]):04X}, half of a UTF-16 surrogate pair, which "
            "is not valid text. Send it as valid UTF-8 (an emoji was probably cut in half)."
        ) from None


def load_scorer(model: str | os.PathLike[str] | None = None, backend: BackendName = "auto",
                dtype: str | None = None, max_length: int = DEFAULT_MAX_LENGTH,
                cache_size: int = DEFAULT_CACHE_SIZE, remote_url: str | None = None,
                concurrency: int = 2, kv_cache_gib: float | None = None) -> Scorer:  # fmt: skip
    """Load the reranker once; reuse the returned :class:`Scorer` for every request.

    ``model``: a Hugging Face id or a local directory (default ``$RERANKER_MODEL`` or
    ``Qwen/Qwen3-Reranker-0.6B``). ``backend``: "vllm" (in-process engine), "transformers",
    "auto" (vLLM when it starts, else transformers: the cause is logged as a warning and kept
    in ``scorer.fallback_cause``), or "remote" (a ``vllm serve`` at ``remote_url``; the prompts
    are still built here, with the model's tokenizer). ``dtype``: None/"auto" (bf16 where the
    hardware has it, else fp32), "float32", "bfloat16" or "float16". ``concurrency``: requests
    scored at once, which vLLM's CPU KV cache is sized for (``kv_cache_gib`` overrides it).

    >>> scorer = load_scorer("/models/Qwen3-Reranker-0.6B", backend="transformers")  # doctest: +SKIP
    >>> scorer.backend_name                                                           # doctest: +SKIP
    'transformers'
    """
    if backend not in BACKENDS:
        raise InvalidInput(f"Unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}.")
    if dtype is not None and dtype not in DTYPES:
        raise InvalidInput(f"Unknown dtype {dtype!r}; choose one of: {', '.join(DTYPES)}.")
    validate_max_length(max_length)
    model_id = str(model or DEFAULT_MODEL)
    directory = resolve_model_dir(model_id)
    encoder = PromptEncoder(_load_tokenizer(directory), max_length)
    yes_id, no_id = _answer_token_ids(encoder.tokenizer, model_id)

    def start_vllm() -> Backend:
        return _start_vllm(directory, dtype, max_length, concurrency, kv_cache_gib)

    reason, fallback_cause = f"backend {backend!r} requested", None
    engine: Backend
    if backend == "auto":
        try:
            engine, reason = start_vllm(), "auto: vLLM started"
        except ModelUnavailable as exc:
            fallback_cause = str(exc)
            reason = f"auto: vLLM could not start, so the slower transformers engine runs ({exc})"
            logger.warning("%s", reason)
            engine = _start_transformers(directory, yes_id, no_id, dtype)
    elif backend == "remote":
        engine = _start_remote(remote_url or "", model_id, max_length)
    elif backend == "vllm":
        engine = start_vllm()
    else:
        engine = _start_transformers(directory, yes_id, no_id, dtype)
    logger.info("Loaded %s with the %s backend (%s; %s)", model_id, engine.name, engine.description, reason)
    return Scorer(backend=engine, encoder=encoder, model=model_id, backend_reason=reason,
                  fallback_cause=fallback_cause, cache=ScoreCache(cache_size))  # fmt: skip


def _load_tokenizer(directory: Path):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(directory)
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"The tokenizer in {directory} cannot be loaded ({exc}).") from exc


def _answer_token_ids(tokenizer, model_id: str) -> tuple[int, int]:
    ids = tokenizer.convert_tokens_to_ids([YES_TOKEN, NO_TOKEN])
    if any(i is None or i == tokenizer.unk_token_id for i in ids):
        raise ModelUnavailable(
            f"{model_id!r} has no single tokens for 'yes' and 'no': it is not a Qwen3 reranker."
        )
    return ids[0], ids[1]


def _start_vllm(directory: Path, dtype: str | None, max_length: int, concurrency: int,
                kv_cache_gib: float | None) -> Backend:  # fmt: skip
    """Start vLLM in-process; a failure to start becomes :class:`ModelUnavailable` with its cause.

    vLLM raises whatever its start-up hits (ValueError for a KV cache that is too small,
    RuntimeError from a kernel, ImportError for a broken install), so anything raised here is
    a start-up failure, logged with its traceback at WARNING.
    """
    from reranker.backends.vllm import VllmBackend

    try:
        return VllmBackend(directory, dtype, max_length, sequences=concurrency, kv_cache_gib=kv_cache_gib)
    except ModelUnavailable:
        raise
    except Exception as exc:
        logger.warning("vLLM failed to start", exc_info=True)
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ModelUnavailable(
            f"vLLM could not start the model ({type(exc).__name__}: {first_line})"
        ) from exc


def _start_transformers(directory: Path, yes_id: int, no_id: int, dtype: str | None) -> Backend:
    from reranker.backends.hf import TransformersBackend

    return TransformersBackend(directory, yes_id=yes_id, no_id=no_id, dtype=dtype)


def _start_remote(url: str, model_id: str, max_length: int) -> Backend:
    if not url:
        raise InvalidInput(
            "The remote backend needs the vLLM server's address: pass --remote-url http://HOST:PORT."
        )
    from reranker.backends.remote import RemoteBackend

    return RemoteBackend(url, model_id, max_length=max_length)
