"""Agents' picks over the desk's named FAQ bases: record them, export them, read each base's threshold.

The REST routes (:mod:`reranker.faq_api`) and the desk's "Answers it" / "None of these" buttons
(:mod:`reranker.ui.picks`) both record through :func:`record_pick`, so a pick is checked the
same way wherever it comes from: the base must be one the desk serves, the chosen id one of its
FAQ ids. The store itself is :class:`reranker.feedback.FeedbackStore`, opened once by
:mod:`reranker.serve` and held by the desk (``desk.feedback``; None with ``--no-feedback``).

>>> desk = Desk(scorer, export_dir=tmp, bases=bundled_bases(), feedback=FeedbackStore(db))  # doctest: +SKIP
>>> record_pick(desk, base="English store FAQ (en_store_faq.csv)", question="refund?", chosen_id="en-010")  # doctest: +SKIP
1
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reranker.desk import DEFAULT_THRESHOLD, Desk
from reranker.errors import InvalidInput, NotFound
from reranker.feedback import FeedbackStore, ShownAnswer, base_version
from reranker.knowledge_base import KnowledgeBase
from reranker.pipeline import FaqHit

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


def require_store(desk: Desk) -> FeedbackStore:
    """The desk's store; :class:`InvalidInput` saying so when recording is off."""
    if desk.feedback is None:
        raise InvalidInput(FEEDBACK_OFF)
    return desk.feedback


def named_base(desk: Desk, name: str) -> KnowledgeBase:
    """One of the desk's own bases by name; :class:`NotFound` listing them for any other name."""
    if name not in desk.base_paths:
        known = ", ".join(map(repr, desk.base_paths)) or "none"
        raise NotFound(f"There is no FAQ base {name!r} on this server; it has {known} (GET /v1/faq/bases).")
    return desk.select_base(name).kb


@functools.lru_cache(maxsize=64)
def version_of(kb: KnowledgeBase) -> str:
    """:func:`~reranker.feedback.base_version`, computed once per loaded base."""
    return base_version(kb)


def threshold_for(desk: Desk, name: str) -> tuple[float, bool]:
    """The base's confidence threshold and whether it is one stored for it (else the default)."""
    stored = None if desk.feedback is None else desk.feedback.threshold(name)
    return (DEFAULT_THRESHOLD, False) if stored is None else (stored, True)


def shown_answers(hits: Sequence[FaqHit]) -> tuple[ShownAnswer, ...]:
    """What a ranking showed: each hit's id, reranker score (None: not reranked) and rank."""
    return tuple(ShownAnswer(hit.entry.id, hit.score, rank) for rank, hit in enumerate(hits, start=1))


@dataclass(frozen=True)
class Shown:
    """One ranking as the agent (or API caller) saw it: enough to record a pick against it."""

    base: str
    question: str
    instruction: str | None
    answers: tuple[ShownAnswer, ...]
    first_stage: str = FIRST_STAGE


def record_pick(desk: Desk, *, base: str, question: str, chosen_id: str | None,
                shown: Shown | None = None, request_id: str | None = None,
                user: str | None = None) -> int:  # fmt: skip
    """Check a pick against the desk's base and store it; returns the record's id.

    ``shown`` (when it is a ranking of this base) adds the ids, scores and ranks that were shown.
    """
    store = require_store(desk)
    kb = named_base(desk, base)
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


def export_picks(desk: Desk, base: str) -> str:
    """The base's picks as ``query,relevant_ids`` CSV, only ids the base still has."""
    store = require_store(desk)
    kb = named_base(desk, base)
    return store.export_labels(base, known_ids={entry.id for entry in kb.entries})


class RecentRequests:
    """What each recent search showed, by request id: bounded, the oldest forgotten first; thread-safe."""

    def __init__(self, capacity: int = REMEMBERED_REQUESTS) -> None:
        self.capacity = capacity
        self._shown: OrderedDict[str, Shown] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, request_id: str, shown: Shown) -> None:
        with self._lock:
            self._shown[request_id] = shown
            while len(self._shown) > self.capacity:
                self._shown.popitem(last=False)

    def get(self, request_id: str | None) -> Shown | None:
        with self._lock:
            return None if request_id is None else self._shown.get(request_id)

    def __len__(self) -> int:
        return len(self._shown)
