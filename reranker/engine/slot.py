"""The reranker the app serves: loaded once, in the background, and what to tell users about it.

The app starts serving at once; :class:`EngineSlot` loads the scorer in a thread behind it.
Until it is ready, the UI shows a "loading" banner, the FAQ tab ranks by keyword, and
``/health`` answers 503 ``"loading"``. Every part of the app asks the slot for an
:class:`EngineStatus` and words it from there, so the UI and ``/health`` always agree.

>>> slot = EngineSlot.unavailable("Model not found: '/models/x' is not a model directory.")
>>> status = slot.status()
>>> status.state, status.health, status.http_status
('unavailable', 'degraded', 503)
>>> EngineSlot.loading().status().health
'loading'
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from reranker.engine.loader import load_in_background
from reranker.engine.scorer import Scorer

logger = logging.getLogger(__name__)

EngineState = Literal["loading", "ready", "unavailable"]


@dataclass(frozen=True)
class EngineStatus:
    """A snapshot of the reranker: loading, ready (maybe on a fallback engine) or unavailable."""

    state: EngineState
    scorer: Scorer | None = None
    error: str | None = None
    loading_since: float | None = None

    @property
    def fallback(self) -> bool:
        """Ready, but on transformers because vLLM could not start."""
        return self.scorer is not None and self.scorer.fallback_cause is not None

    @property
    def health(self) -> Literal["loading", "ok", "degraded"]:
        if self.state == "loading":
            return "loading"
        return "ok" if self.state == "ready" and not self.fallback else "degraded"

    @property
    def http_status(self) -> int:
        """200 while answers can be reranked (even on the slower engine), else 503."""
        return 200 if self.state == "ready" else 503

    @property
    def engine(self) -> str | None:
        return self.scorer.backend_name if self.scorer is not None else None

    @property
    def reason(self) -> str:
        """Why this engine, or why none: one sentence for ``/health`` and the log."""
        if self.state == "loading":
            return f"The reranker is loading (for {self.loading_seconds():.0f} s so far)."
        if self.scorer is None:
            return self.error or "The reranker is not loaded."
        return self.scorer.backend_reason

    def loading_seconds(self) -> float:
        return 0.0 if self.loading_since is None else time.monotonic() - self.loading_since

    def notice(self) -> tuple[Literal["info", "warn", "error"], str] | None:
        """The banner an agent sees about the engine, or None when all is well."""
        if self.state == "loading":
            return (
                "info",
                f"The reranker is loading ({self.loading_seconds():.0f} s so far; usually under a "
                "minute). Until it is ready, FAQ search shows keyword matches, and pasted answers "
                "wait for it.",
            )
        if self.scorer is None:
            return (
                "error",
                f"The reranker model is not loaded: {self.error} Until it is, the FAQ base tab "
                "ranks by keyword (BM25) scores only, and pasted answers cannot be ranked.",
            )
        if self.fallback:
            return (
                "warn",
                "Running on the slower transformers engine, because vLLM could not start: "
                f"{self.scorer.fallback_cause} Rankings are correct but take longer (1.5-2x on "
                "a CPU). To fix it, check the log for the cause; on a small machine start with a "
                "shorter --max-length or an explicit --kv-cache-gib, or use a GPU or "
                "--backend remote.",
            )
        return None


class EngineSlot:
    """Holds the app's one scorer; :meth:`load_in_background` fills it from a thread."""

    def __init__(self, status: EngineStatus) -> None:
        self._status = status
        self._ready = threading.Event()
        if status.state != "loading":
            self._ready.set()
        self._lock = threading.Lock()

    @classmethod
    def ready(cls, scorer: Scorer) -> EngineSlot:
        return cls(EngineStatus("ready", scorer=scorer))

    @classmethod
    def unavailable(cls, error: str) -> EngineSlot:
        return cls(EngineStatus("unavailable", error=error))

    @classmethod
    def loading(cls) -> EngineSlot:
        return cls(EngineStatus("loading", loading_since=time.monotonic()))

    @classmethod
    def load_in_background(cls, load: Callable[[], Scorer]) -> EngineSlot:
        """Start ``load`` in a daemon thread; :class:`ModelUnavailable` makes it unavailable."""
        slot = cls.loading()
        load_in_background(load, "reranker", slot._loaded)
        return slot

    def _loaded(self, scorer: Scorer | None, error: str | None) -> None:
        self._finish(EngineStatus("ready", scorer=scorer) if scorer is not None
                     else EngineStatus("unavailable", error=error))  # fmt: skip

    def _finish(self, status: EngineStatus) -> None:
        with self._lock:
            self._status = status
        self._ready.set()

    def status(self) -> EngineStatus:
        with self._lock:
            return self._status

    @property
    def scorer(self) -> Scorer | None:
        return self.status().scorer

    def wait(self, timeout: float | None = None) -> EngineStatus:
        """The status once loading has finished (or after ``timeout`` seconds)."""
        self._ready.wait(timeout)
        return self.status()
