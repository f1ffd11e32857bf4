"""Agents' picks over the desk's named FAQ bases: record them, export them, read each base's threshold.

The REST routes (:mod:`reranker.server.faq`) and the desk's "Answers it" / "None of these" buttons
(:mod:`reranker.ui.picks`) both record through :meth:`Picks.record`, so a pick is checked the
same way wherever it comes from: the base must be one the desk serves, the chosen id one of its
FAQ ids. The store itself is :class:`reranker.feedback.store.FeedbackStore`, opened once by
:mod:`reranker.server.serve` (None with ``--no-feedback``).

>>> picks = Picks(FeedbackStore(db), BaseRegistry(bundled_bases()))        # doctest: +SKIP
>>> picks.record(base="English store FAQ (en_store_faq.csv)", question="refund?", chosen_id="en-010")  # doctest: +SKIP
1
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path

from cachetools import LRUCache

from reranker.errors import InvalidInput
from reranker.feedback.store import FeedbackStore, ShownAnswer, base_version
from reranker.knowledge.bases import KnowledgeBase
from reranker.knowledge.registry import BaseRegistry
from reranker.verdict import DEFAULT_THRESHOLD

FEEDBACK_FILE = "feedback.sqlite3"
#: The first stage recorded with a pick when the ranking does not say (keyword search).
FIRST_STAGE = "keyword"
#: Requests whose shown answers are remembered for a later pick (the oldest are forgotten first).
REMEMBERED_REQUESTS = 10_000
FEEDBACK_OFF = (
    "Recording picks is turned off on this server (--no-feedback). Restart it without "
    "--no-feedback to record them."
)


def open_store(data_dir: Path) -> FeedbackStore:
    """The store of picks in ``data_dir`` (created, or migrated, on open)."""
    return FeedbackStore(data_dir / FEEDBACK_FILE)


@functools.lru_cache(maxsize=64)
def version_of(kb: KnowledgeBase) -> str:
    """:func:`~reranker.feedback.store.base_version`, computed once per loaded base."""
    return base_version(kb)


@dataclass(frozen=True)
class Shown:
    """One ranking as the agent (or API caller) saw it: enough to record a pick against it."""

    base: str
    question: str
    instruction: str | None
    answers: tuple[ShownAnswer, ...]
    first_stage: str = FIRST_STAGE


class Picks:
    """The team's picks and stored thresholds over the desk's named bases (``store`` None: off)."""

    def __init__(self, store: FeedbackStore | None, bases: BaseRegistry) -> None:
        self.store = store
        self.bases = bases

    @property
    def enabled(self) -> bool:
        return self.store is not None

    def require_store(self) -> FeedbackStore:
        """The store; :class:`InvalidInput` saying so when recording is off."""
        if self.store is None:
            raise InvalidInput(FEEDBACK_OFF)
        return self.store

    def threshold_for(self, name: str) -> tuple[float, bool]:
        """The base's confidence threshold and whether it is one stored for it (else the default)."""
        stored = None if self.store is None else self.store.threshold(name)
        return (DEFAULT_THRESHOLD, False) if stored is None else (stored, True)

    def set_threshold(self, name: str, value: float | None) -> None:
        """Store (or, with None, remove) the threshold of one of the desk's bases."""
        store = self.require_store()
        self.bases.named(name)
        store.set_threshold(name, value)

    def record(self, *, base: str, question: str, chosen_id: str | None, shown: Shown | None = None,
               request_id: str | None = None, user: str | None = None) -> int:  # fmt: skip
        """Check a pick against the desk's base and store it; returns the record's id.

        ``shown`` (when it is a ranking of this base) adds the ids, scores and ranks that were shown.
        """
        store = self.require_store()
        kb = self.bases.named(base)
        if chosen_id is not None and chosen_id not in {entry.id for entry in kb.entries}:
            raise InvalidInput(
                f"{chosen_id!r} is not an FAQ id of {base!r}: send one of the ids a search returned, "
                'or null for "none of these".'
            )
        seen = shown if shown is not None and shown.base == base else None
        return store.record(
            base=base,
            base_version=version_of(kb),
            question=question,
            chosen_id=chosen_id,
            shown=seen.answers if seen else (),
            instruction=seen.instruction if seen else None,
            first_stage=seen.first_stage if seen else None,
            request_id=request_id,
            user=user,
        )

    def undo(self, record_id: int) -> bool:
        """Delete a pick the agent made by mistake; False when recording is off or there is none."""
        return self.store is not None and self.store.undo(record_id)

    def export(self, base: str) -> str:
        """The base's picks as ``query,relevant_ids`` CSV, only ids the base still has."""
        store = self.require_store()
        kb = self.bases.named(base)
        return store.export_labels(base, known_ids={entry.id for entry in kb.entries})


class RecentRequests:
    """What each recent search showed, by request id: bounded, the oldest forgotten first; thread-safe."""

    def __init__(self, capacity: int = REMEMBERED_REQUESTS) -> None:
        self._shown: LRUCache[str, Shown] = LRUCache(maxsize=capacity)
        self._lock = threading.Lock()

    def remember(self, request_id: str, shown: Shown) -> None:
        with self._lock:
            self._shown[request_id] = shown

    def get(self, request_id: str | None) -> Shown | None:
        with self._lock:
            return None if request_id is None else self._shown.get(request_id)

    def __len__(self) -> int:
        return len(self._shown)
