"""The lead's view of what the FAQ base lacks and how its entries do: gaps and entry health.

**Gaps** are the questions of a base's picks that no entry answered: marked "None of these", or
picked below the base's threshold (the desk was not confident). They are grouped by topic
(:func:`reranker.feedback.gaps.find_gaps`); a lead drafts an entry from a topic (its questions
become the entry's phrasings, so they find it from then on) or dismisses it. Either way the
topic's questions leave the view.

**Health** counts, per entry, how often it was shown in the top 3, how often it was picked and when
last; it finds entries never picked in N days, and pairs of entries agents confuse: often shown
together in the top 3, each picked where the other was shown too.

>>> gaps = KnowledgeGaps(picks, editor)                                           # doctest: +SKIP
>>> [gap.count for gap in gaps.find("English store FAQ (en_store_faq.csv)")]     # doctest: +SKIP
[4, 2, 1]
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence, Set
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import combinations
from typing import Literal

import numpy as np

from reranker.errors import NotFound
from reranker.feedback.editor import FaqEditor
from reranker.feedback.gaps import Gap, GapQuestion, find_gaps
from reranker.feedback.picks import Picks
from reranker.feedback.team import Member, require_lead
from reranker.knowledge.bases import KnowledgeBase
from reranker.store import PickRecord, question_key
from reranker.store.entries import EntryDraft, SavedEntry

#: Ranks that count as "shown" for health (what an agent sees without scrolling).
TOP = 3
#: A pair is "confused" when shown together at least this often and each picked over the other.
CONFUSED_TOGETHER = 3
_NUMBERED_ID = re.compile(r"^(.*?)(\d+)$")
#: The desk's dense slot's ``question_embedder``: embeds a base's questions, or None (keyword vectors).
EmbedderFor = Callable[[KnowledgeBase], Callable[[Sequence[str]], np.ndarray] | None]
GapVectors = Literal["embeddings", "keywords"]


def gap_questions(records: Iterable[PickRecord], threshold: float, dismissed: Set[str] = frozenset()) -> list[GapQuestion]:
    """The picks nobody's entry answered: "none of these", or picked while the best score shown was
    below ``threshold``; questions in ``dismissed`` (their :func:`question_key`) left out."""
    found: list[GapQuestion] = []
    for record in records:
        scores = [answer.score for answer in record.shown if answer.score is not None]
        unsure = record.chosen_id is not None and bool(scores) and max(scores) < threshold
        if (record.chosen_id is None or unsure) and question_key(record.question) not in dismissed:
            found.append(GapQuestion(record.question, record.time))
    return found


def next_id(ids: Iterable[str]) -> str:
    """An id for a new entry in the style of the base's ids: after ``en-020``, ``en-021``.

    >>> next_id(["en-001", "en-020", "misc"]), next_id(["a", "b"])
    ('en-021', 'new-1')
    """
    numbered = [(m.group(1), m.group(2)) for m in map(_NUMBERED_ID.match, ids) if m]
    if not numbered:
        taken = set(ids)
        return next(f"new-{n}" for n in range(1, len(taken) + 2) if f"new-{n}" not in taken)
    prefix = Counter(p for p, _ in numbered).most_common(1)[0][0]
    digits = [d for p, d in numbered if p == prefix]
    width = max(len(d) for d in digits)
    return f"{prefix}{max(int(d) for d in digits) + 1:0{width}d}"


class KnowledgeGaps:
    """A base's gaps from the team's picks, and what a lead does with them."""

    def __init__(self, picks: Picks, editor: FaqEditor, embedder_for: EmbedderFor | None = None) -> None:
        self.picks, self.editor, self.embedder_for = picks, editor, embedder_for

    def grouped_by(self, base: str) -> GapVectors:
        """What groups the base's gap questions now: the embedding model when it is loaded and suits
        the base (``embedder_for``, the desk's dense slot), else keyword vectors."""
        return "embeddings" if self._embed(base) is not None else "keywords"

    def find(self, base: str) -> list[Gap]:
        """The base's gaps, largest topic first (empty when picks are not recorded)."""
        embed = self._embed(base)  # NotFound for a base this desk does not serve
        if self.picks.store is None:
            return []
        threshold, _ = self.picks.threshold_for(base)
        questions = gap_questions(self.picks.store.records(base), threshold, self.editor.entries.dismissed(base))
        return find_gaps(questions, embed)

    def _embed(self, base: str) -> Callable[[Sequence[str]], np.ndarray] | None:
        kb = self.editor.registry.named(base)
        return None if self.embedder_for is None else self.embedder_for(kb)

    def gap(self, base: str, gap_id: str) -> Gap:
        found = next((gap for gap in self.find(base) if gap.id == gap_id), None)
        if found is None:
            raise NotFound.of("err_gap_not_found", id=gap_id)
        return found

    def draft(self, base: str, gap: str | Gap) -> EntryDraft:
        """A new entry for the gap (its id, or the gap already found), pre-filled: its question, the
        other questions as phrasings, a free id."""
        found = gap if isinstance(gap, Gap) else self.gap(base, gap)
        ids = [entry.id for entry in self.editor.listing(base)]
        return EntryDraft(next_id(ids), found.question, "", "", found.questions[1:])

    def create_entry(self, base: str, gap: str | Gap, draft: EntryDraft, *, by: Member) -> SavedEntry:
        """Save the lead's entry for the gap (its id, or the gap already found); the gap's questions
        become its phrasings and leave the view."""
        require_lead(by, "knowledge")
        gap = gap if isinstance(gap, Gap) else self.gap(base, gap)
        known = {question_key(draft.question), *map(question_key, draft.phrasings)}
        extra = tuple(q for q in gap.questions if question_key(q) not in known)
        saved = self.editor.create(base, replace(draft, phrasings=(*draft.phrasings, *extra)), by=by, note="from a gap")
        self.editor.entries.dismiss(base, gap.questions, by=by.name)
        return saved

    def dismiss(self, base: str, gap_id: str, *, by: Member) -> int:
        """Leave the gap's questions out of the view from now on; returns how many questions."""
        require_lead(by, "knowledge")
        return self.editor.entries.dismiss(base, self.gap(base, gap_id).questions, by=by.name)


@dataclass(frozen=True)
class EntryHealth:
    """How one entry does: shown in the top 3, picked, and when last picked (None: never)."""

    id: str
    question: str
    shown_top: int
    picked: int
    last_picked: datetime | None


@dataclass(frozen=True)
class ConfusedPair:
    """Two entries agents mix up: shown together ``together`` times; ``a_over_b``: ``a`` picked
    while ``b`` was shown too, and the other way round."""

    a: str
    b: str
    together: int
    a_over_b: int
    b_over_a: int


def entry_health(entries: Iterable[SavedEntry], records: Iterable[PickRecord]) -> list[EntryHealth]:
    """Every active entry's counts from the picks, in the base's order."""
    shown, picked = Counter[str](), Counter[str]()
    last: dict[str, datetime] = {}
    for record in records:
        shown.update(answer.id for answer in record.shown if answer.rank <= TOP)
        if record.chosen_id is not None:
            picked[record.chosen_id] += 1
            when = datetime.fromisoformat(record.time)
            last[record.chosen_id] = max(when, last.get(record.chosen_id, when))
    return [EntryHealth(e.id, e.question, shown[e.id], picked[e.id], last.get(e.id)) for e in entries if not e.retired]


def unpicked(health: Iterable[EntryHealth], days: int, now: datetime | None = None) -> list[EntryHealth]:
    """The entries not picked in the last ``days`` days (never picked ones included)."""
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    return [h for h in health if h.last_picked is None or h.last_picked < since]


def confused_pairs(records: Iterable[PickRecord], *, together: int = CONFUSED_TOGETHER) -> list[ConfusedPair]:
    """Pairs shown together in the top 3 at least ``together`` times where agents picked each over
    the other at least once; the most mixed-up first."""
    shown_together = Counter[tuple[str, str]]()
    over: defaultdict[tuple[str, str], int] = defaultdict(int)
    for record in records:
        top = sorted({answer.id for answer in record.shown if answer.rank <= TOP})
        shown_together.update(combinations(top, 2))
        if record.chosen_id in top:
            for other in top:
                if other != record.chosen_id:
                    over[(record.chosen_id, other)] += 1
    pairs = [ConfusedPair(a, b, n, over[(a, b)], over[(b, a)]) for (a, b), n in shown_together.items()
             if n >= together and over[(a, b)] and over[(b, a)]]  # fmt: skip
    return sorted(pairs, key=lambda p: (-min(p.a_over_b, p.b_over_a), -p.together, p.a, p.b))
