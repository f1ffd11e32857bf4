"""The app's first stage: the embedding model loaded in the background, each base embedded behind it.

The app starts serving at once, on keyword search. :class:`DenseSlot` loads the embedder in a
thread (like :class:`~reranker.engine.slot.EngineSlot` the reranker), then embeds every base it is
given, one at a time, in chunks (vectors cached on disk, so a restart reads them back). Until a
base's index is ready, or when the embedder cannot load, that base is searched by keyword and
:meth:`DenseSlot.for_base` says why; the UI banner and ``/health`` word the same state.

>>> slot = DenseSlot.off("keyword", "--embedding-model none: no dense retrieval.")
>>> slot.health()
('keyword', '--embedding-model none: no dense retrieval.')
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from reranker.engine.loader import load_in_background
from reranker.knowledge.bases import KnowledgeBase
from reranker.retrieval.dense import DEFAULT_CACHE_DIR, DenseIndex, Embedder
from reranker.retrieval.first_stage import LABELS, FirstStage, Retrieval, dense_unsuitable, index_base

logger = logging.getLogger(__name__)

DenseState = Literal["off", "loading", "ready", "unavailable"]


@dataclass
class _BaseIndex:
    """One base's embedding: progress while it runs, then the index, or why there is none."""

    done: int = 0
    total: int = 0
    index: DenseIndex | None = None
    error: str | None = None
    #: The error's message id in the catalogue (for the agent's words; ``error`` is the operator's).
    error_key: str = ""


class DenseSlot:
    """Holds the embedder and the bases' dense indexes; :meth:`for_base` picks each base's first stage."""

    def __init__(self, configured: Retrieval, state: DenseState, reason: str = "", *,
                 cache_dir: str | Path | None = DEFAULT_CACHE_DIR) -> None:  # fmt: skip
        self.configured = configured
        self.cache_dir = cache_dir
        self._state: DenseState = state
        self._reason = reason
        self._embedder: Embedder | None = None
        self._since = time.monotonic()
        self._bases: weakref.WeakKeyDictionary[KnowledgeBase, _BaseIndex] = weakref.WeakKeyDictionary()
        self._pending: list[KnowledgeBase] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed-base")

    @classmethod
    def off(cls, configured: Retrieval, reason: str) -> DenseSlot:
        """Keyword search only, for ``reason`` (``--retrieval keyword`` or ``--embedding-model none``)."""
        return cls(configured, "off", reason)

    @classmethod
    def ready(cls, configured: Retrieval, embedder: Embedder, *,
              cache_dir: str | Path | None = DEFAULT_CACHE_DIR) -> DenseSlot:  # fmt: skip
        slot = cls(configured, "loading", cache_dir=cache_dir)
        slot._finish(embedder, None)
        return slot

    @classmethod
    def load_in_background(cls, configured: Retrieval, load: Callable[[], Embedder | None], *,
                           cache_dir: str | Path | None = DEFAULT_CACHE_DIR) -> DenseSlot:  # fmt: skip
        """Start ``load`` in a daemon thread; :class:`ModelUnavailable` leaves keyword search, with the reason."""
        slot = cls(configured, "loading", cache_dir=cache_dir)
        load_in_background(load, "embedding model", slot._loaded)
        return slot

    def _loaded(self, embedder: Embedder | None, error: str | None) -> None:
        self._finish(embedder, error if embedder is not None or error else "No embedding model is configured.")

    def _finish(self, embedder: Embedder | None, error: str | None) -> None:
        with self._lock:
            self._embedder = embedder
            self._state = "ready" if embedder is not None else "unavailable"
            self._reason = error or ""
            pending, self._pending = self._pending, []
        self._ready.set()
        for kb in pending:
            self._submit(kb)

    @property
    def state(self) -> DenseState:
        """The embedder: off, loading, ready or unavailable."""
        return self._state

    def wait(self, timeout: float | None = None) -> DenseState:
        """The state once the embedder has loaded or failed (or after ``timeout`` seconds)."""
        self._ready.wait(timeout)
        return self._state

    def add_base(self, kb: KnowledgeBase) -> None:
        """Embed ``kb`` in the background (once the embedder is ready); a base already added is kept."""
        with self._lock:
            if self._state == "off" or kb in self._bases:
                return
            self._bases[kb] = _BaseIndex(total=len(kb))
            if self._state == "loading":
                self._pending.append(kb)
                return
        self._submit(kb)

    def _submit(self, kb: KnowledgeBase) -> None:
        embedder = self._embedder
        if embedder is not None:
            self._worker.submit(self._embed, embedder, kb)

    def _embed(self, embedder: Embedder, kb: KnowledgeBase) -> None:
        entry = self._bases.get(kb)
        if entry is None:
            return
        unsuitable = dense_unsuitable(embedder, kb)
        if unsuitable is not None:
            entry.error, entry.error_key = unsuitable, "stage_unsuitable"
            return

        def progress(done: int, total: int) -> None:
            entry.done, entry.total = done, total

        try:
            entry.index = index_base(embedder, kb, cache_dir=self.cache_dir, progress=progress)
        except Exception as exc:  # a bug or a full disk: log it, keep keyword search for this base
            logger.exception("Embedding an FAQ base failed")
            entry.error = f"embedding this base failed ({type(exc).__name__}; see the log)"
            entry.error_key = "stage_failed"

    def index_now(self, kb: KnowledgeBase) -> DenseIndex | None:
        """``kb``'s dense index, embedding it now if needed (for the evaluation); None without an embedder."""
        embedder = self._embedder
        if embedder is None:
            return None
        entry = self._bases.get(kb)
        if entry is not None and entry.index is not None:
            return entry.index
        return index_base(embedder, kb, cache_dir=self.cache_dir)

    def question_embedder(self, kb: KnowledgeBase) -> Callable[[Sequence[str]], np.ndarray] | None:
        """Embeds questions asked of ``kb`` as unit rows (to group knowledge gaps); None while the
        embedder is not ready, or when it does not suit the base (an English-only model, a Chinese base)."""
        embedder = self._embedder
        if self._state != "ready" or embedder is None or dense_unsuitable(embedder, kb) is not None:
            return None
        return embedder.embed_queries

    def for_base(self, kb: KnowledgeBase) -> FirstStage:
        """The first stage that searches ``kb`` now, starting its embedding when it is new."""
        self.add_base(kb)
        if self._state != "ready":
            key, params = self._keyword_because()
            return FirstStage("keyword", None, self.reason(), key, params)
        entry = self._bases[kb]
        embedder = self._embedder
        assert embedder is not None
        if entry.index is not None:
            return FirstStage.of(self.configured, entry.index, "stage_ready", model=embedder.name,
                                 backend=embedder.backend.name)  # fmt: skip
        if entry.error is not None:
            return FirstStage("keyword", None, f"Keyword search: {entry.error}.", entry.error_key,
                              {"model": embedder.name})  # fmt: skip
        return FirstStage("keyword", None, f"Keyword search while this base is embedded "
                          f"({entry.done} of {entry.total} rows so far).", "stage_embedding",
                          {"done": entry.done, "total": entry.total})  # fmt: skip

    def _keyword_because(self) -> tuple[str, dict[str, object]]:
        """The message id (and its parameters) of why every base is searched by keyword, before the
        embedder is ready: off, loading or unavailable."""
        if self._state == "loading":
            return "stage_loading", {"seconds": f"{time.monotonic() - self._since:.0f}"}
        return ("stage_off" if self._state == "off" else "stage_unavailable"), {}

    def _ready_reason(self) -> str:
        embedder = self._embedder
        assert embedder is not None
        return f"{_upper_first(LABELS[self.configured])} with the embedding model {embedder.name} ({embedder.backend.name})."

    def reason(self) -> str:
        """One sentence on the embedder: off, loading, ready, or why it is unavailable."""
        if self._state == "off":
            return self._reason
        if self._state == "loading":
            return (f"Keyword search while the embedding model loads "
                    f"({time.monotonic() - self._since:.0f} s so far).")  # fmt: skip
        if self._state == "unavailable":
            return f"Keyword search only: the embedding model is not loaded. {self._reason}"
        return self._ready_reason()

    def embedding(self) -> list[tuple[int, int]]:
        """(done, total) rows of each base still being embedded."""
        with self._lock:
            entries = list(self._bases.values())
        return [(e.done, e.total) for e in entries if e.index is None and e.error is None]

    def health(self) -> tuple[Retrieval, str]:
        """(first stage, reason) for ``/health``: the configured one once the embedder is ready."""
        if self._state != "ready":
            return "keyword", self.reason()
        busy = self.embedding()
        if busy:
            done, total = sum(d for d, _ in busy), sum(t for _, t in busy)
            return self.configured, (f"{self._ready_reason()} Embedding {len(busy)} base(s) ({done} of "
                                     f"{total} rows); they use keyword search until done.")  # fmt: skip
        return self.configured, self._ready_reason()

    def notice(self) -> tuple[Literal["info", "warn", "error"], str] | None:
        """The banner about the first stage, or None when it runs as configured."""
        if self._state == "unavailable":
            return "warn", self.reason() + " Fix --embedding-model, or pass --embedding-model none."
        if self._state == "loading":
            return "info", self.reason()
        busy = self.embedding()
        if self._state == "ready" and busy:
            return "info", self.health()[1]
        return None

    @property
    def busy(self) -> bool:
        """The embedder loads or a base is being embedded (the banner should be polled)."""
        return self._state == "loading" or bool(self.embedding())

    def close(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)
        if self._embedder is not None:
            self._embedder.close()


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]
