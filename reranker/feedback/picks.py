"""Agents' picks over the desk's named FAQ bases: record them, export them, read each base's threshold.

The REST routes (:mod:`reranker.server.faq`) and the desk's "Answers it" / "None of these" buttons
(:mod:`reranker.ui.picks`) both record through :meth:`Picks.record`, so a pick is checked the
same way wherever it comes from: the base must be one the desk serves, the chosen id one of its
FAQ ids. The store is the team's database (:class:`reranker.store.Store`), opened once by
:mod:`reranker.server.serve`; with ``--no-feedback`` picks are not recorded (``record=False``),
while stored thresholds still apply.

>>> picks = Picks(open_store(data_dir), BaseRegistry(bundled_bases()))      # doctest: +SKIP
>>> picks.record(base="English store FAQ (en_store_faq.csv)", question="refund?", chosen_id="en-010")  # doctest: +SKIP
1
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import threading
from dataclasses import asdict, dataclass
from typing import Protocol

from cachetools import LRUCache

from reranker.errors import InvalidInput, RerankError
from reranker.feedback.team import Member, Team, require_lead
from reranker.knowledge.bases import KnowledgeBase
from reranker.knowledge.registry import BaseRegistry
from reranker.store import PickRecord, ShownAnswer, Store
from reranker.verdict import DEFAULT_THRESHOLD

log = logging.getLogger(__name__)

#: The first stage recorded with a pick when the ranking does not say (keyword search).
FIRST_STAGE = "keyword"
#: Requests whose shown answers are remembered for a later pick (the oldest are forgotten first).
REMEMBERED_REQUESTS = 10_000
FEEDBACK_OFF = (
    "Recording picks is turned off on this server (--no-feedback). Restart it without "
    "--no-feedback to record them."
)


def base_version(kb: KnowledgeBase) -> str:
    """A short content hash of the base's rows: it changes whenever any FAQ row does.

    >>> from reranker.knowledge.bases import FaqEntry
    >>> a = KnowledgeBase([FaqEntry("1", "Shipping?", "3-5 days.")])
    >>> b = KnowledgeBase([FaqEntry("1", "Shipping?", "2-4 days.")])
    >>> base_version(a) == base_version(a), base_version(a) == base_version(b), len(base_version(a))
    (True, False, 16)
    """
    digest = hashlib.sha256()
    for entry in kb.entries:
        digest.update(json.dumps(asdict(entry), ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=64)
def version_of(kb: KnowledgeBase) -> str:
    """:func:`base_version`, computed once per loaded base."""
    return base_version(kb)


@dataclass(frozen=True)
class Shown:
    """One ranking as the agent (or API caller) saw it: enough to record a pick against it."""

    base: str
    question: str
    instruction: str | None
    answers: tuple[ShownAnswer, ...]
    first_stage: str = FIRST_STAGE


class PickListener(Protocol):
    """Hears of every pick recorded and every pick undone (the phrasing learner)."""

    def picked(self, pick: PickRecord) -> object: ...
    def withdrawn(self, pick: PickRecord) -> None: ...


class Picks:
    """The team's picks and stored thresholds over the desk's named bases.

    ``store`` None: no database at all (a desk embedded without one); ``record=False``
    (``--no-feedback``): thresholds are read and set, but no pick is recorded or exported.
    ``team``: who may do what (default: the store's users, no bootstrap login). Setting a
    threshold and exporting take the :class:`~reranker.feedback.team.Member` asking (``by``)
    and refuse an agent with :class:`~reranker.errors.Forbidden`.
    """

    def __init__(self, store: Store | None, bases: BaseRegistry, *, record: bool = True,
                 team: Team | None = None) -> None:  # fmt: skip
        self.store = store
        self.bases = bases
        self.recording = record and store is not None
        self.team = team or Team(store)
        self._listeners: list[PickListener] = []

    def add_listener(self, listener: PickListener) -> None:
        """Tell ``listener`` of every pick recorded and undone from now on (what it fails to do is
        logged: the pick itself stands)."""
        self._listeners.append(listener)

    @property
    def enabled(self) -> bool:
        """Whether picks are recorded (and exported)."""
        return self.recording

    def require_store(self) -> Store:
        """The store; :class:`InvalidInput` saying so when recording is off."""
        if self.store is None or not self.recording:
            raise InvalidInput(FEEDBACK_OFF)
        return self.store

    def threshold_for(self, name: str) -> tuple[float, bool]:
        """The base's confidence threshold and whether it is one stored for it (else the default)."""
        stored = None if self.store is None else self.store.threshold(name)
        return (DEFAULT_THRESHOLD, False) if stored is None else (stored, True)

    def set_threshold(self, name: str, value: float | None, *, by: Member) -> None:
        """Store (or, with None, remove) the threshold of one of the desk's bases, noting who set it (a lead)."""
        require_lead(by, "threshold")
        if self.store is None:
            raise InvalidInput(FEEDBACK_OFF)
        self.bases.named(name)
        self.store.set_threshold(name, value, set_by=by.name)

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
        record_id = store.record(
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
        self._tell("picked", store, record_id)
        return record_id

    def undo(self, record_id: int) -> bool:
        """Delete a pick the agent made by mistake; False when recording is off or there is none."""
        if not self.recording or self.store is None:
            return False
        record = self.store.pick(record_id) if self._listeners else None
        undone = self.store.undo(record_id)
        if undone and record is not None:
            self._tell("withdrawn", self.store, record)
        return undone

    def _tell(self, event: str, store: Store, pick: int | PickRecord) -> None:
        if not self._listeners:
            return
        record = store.pick(pick) if isinstance(pick, int) else pick
        for listener in self._listeners:
            try:
                if record is not None:
                    getattr(listener, event)(record)
            except RerankError as exc:  # learning is extra: the pick is stored either way
                log.warning("pick %s of %r: %s not learned: %s", record.id if record else pick, getattr(record, "base", "?"), event, exc)

    def export(self, base: str, *, by: Member) -> str:
        """The base's picks as ``query,relevant_ids`` CSV, only ids the base still has (for a lead)."""
        require_lead(by, "export")
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
