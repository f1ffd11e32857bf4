"""FAQ bases edited in the desk: every save of an entry is a version, with its author and time.

A base becomes "edited in the desk" when a lead first saves one of its entries (or imports a CSV
into it): :meth:`EntryStore.save_many` copies the base's entries in as version 1, and from then on
every desk serves the base from these rows. Rows are never changed: an edit, a retirement or a
rollback adds a version, so an entry's history is complete. Beside the versions live the
phrasing suggestions learned from agents' picks, and the gap questions a lead dismissed.

>>> entries = EntryStore(store)                                                              # doctest: +SKIP
>>> entries.save("Returns", EntryDraft("r-1", "Can I return shoes?", "Yes, within 30 days."), author="lea")  # doctest: +SKIP
SavedEntry(base='Returns', id='r-1', version=1, ...)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal, TypeVar, get_args

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reranker.errors import Conflict, InvalidInput, NotFound
from reranker.knowledge.bases import FaqEntry
from reranker.store import models
from reranker.store.retrying import retry
from reranker.store.store import Store, question_key
from reranker.text import clean

SuggestionStatus = Literal["pending", "approved", "rejected"]
SUGGESTION_STATUSES: tuple[str, ...] = get_args(SuggestionStatus)
MAX_ID_CHARS = 300
R = TypeVar("R")
MAX_CATEGORY_CHARS = 300


@dataclass(frozen=True)
class EntryDraft:
    """An entry as a lead writes it: the id, question, answer, category and other phrasings."""

    id: str
    question: str
    answer: str = ""
    category: str = ""
    phrasings: tuple[str, ...] = ()
    retired: bool = False

    def cleaned(self) -> EntryDraft:
        """The draft as stored: cells cleaned (NFC, trimmed), blank and repeated phrasings dropped.

        >>> EntryDraft(" a-1 ", " Where is my order? ", phrasings=("Where's my parcel?", "", "where's my  PARCEL?")).cleaned()
        EntryDraft(id='a-1', question='Where is my order?', answer='', category='', phrasings=("Where's my parcel?",), retired=False)
        """
        seen = {question_key(self.question)}
        phrasings: list[str] = []
        for phrasing in map(clean, self.phrasings):
            if phrasing and question_key(phrasing) not in seen:
                seen.add(question_key(phrasing))
                phrasings.append(phrasing)
        return EntryDraft(clean(self.id), clean(self.question), clean(self.answer), clean(self.category),
                          tuple(phrasings), self.retired)  # fmt: skip

    def check(self) -> EntryDraft:
        """The cleaned draft; :class:`InvalidInput` saying what to fix when it cannot be saved."""
        draft = self.cleaned()
        if not draft.id:
            raise InvalidInput.of("err_entry_no_id")
        if len(draft.id) > MAX_ID_CHARS or "\n" in draft.id:
            raise InvalidInput.of("err_entry_bad_id", limit=MAX_ID_CHARS)
        if not draft.question and not draft.answer:
            raise InvalidInput.of("err_entry_empty", id=draft.id)
        if any("|" in phrasing or "\n" in phrasing for phrasing in draft.phrasings):
            raise InvalidInput.of("err_entry_phrasing_pipe")
        if len(draft.category) > MAX_CATEGORY_CHARS:
            raise InvalidInput.of("err_entry_bad_category", limit=MAX_CATEGORY_CHARS)
        return draft


@dataclass(frozen=True)
class SavedEntry:
    """One stored version of an entry."""

    base: str
    id: str
    version: int
    question: str
    answer: str
    category: str
    phrasings: tuple[str, ...]
    retired: bool
    author: str | None
    time: datetime
    note: str
    #: Orders every save of the base (a desk reloads a base when its highest revision grows).
    revision: int = field(compare=False)

    def draft(self) -> EntryDraft:
        return EntryDraft(self.id, self.question, self.answer, self.category, self.phrasings, self.retired)

    def faq_entry(self) -> FaqEntry:
        """The entry as searches see it."""
        return FaqEntry(self.id, self.question, self.answer, self.category, self.phrasings)


@dataclass(frozen=True)
class Suggestion:
    """A customer's question agents answered with ``entry_id``: a candidate phrasing of it."""

    id: int
    base: str
    entry_id: str
    question: str
    status: SuggestionStatus
    picks: int
    users: tuple[str, ...]
    first_seen: datetime
    last_seen: datetime
    decided_by: str | None


class EntryStore:
    """The versioned FAQ entries, phrasing suggestions and dismissed gaps in the team's database."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _retry(self, call: Callable[[], R], what: str) -> R:
        return retry(call, self.store.retry_s, what)

    # Entries -----------------------------------------------------------------------------------

    def revisions(self) -> dict[str, int]:
        """Every base edited in the desk, with its highest revision (it grows with every save)."""

        def read() -> dict[str, int]:
            query = select(models.EntryVersion.base, func.max(models.EntryVersion.revision)).group_by(
                models.EntryVersion.base
            )
            with self.store._read() as session:
                return {base: revision for base, revision in session.execute(query)}

        return self._retry(read, "revisions")

    def edited(self, base: str) -> bool:
        """Whether ``base`` is edited in the desk (has stored entries)."""

        def read() -> bool:
            query = select(models.EntryVersion.revision).where(models.EntryVersion.base == base).limit(1)
            with self.store._read() as session:
                return session.scalar(query) is not None

        return self._retry(read, "edited")

    def current(self, base: str) -> list[SavedEntry]:
        """Each entry's newest version, retired ones included, in the order entries were first saved."""

        def read() -> list[SavedEntry]:
            with self.store._read() as session:
                return _current(session, base)

        return self._retry(read, "current entries")

    def entry(self, base: str, entry_id: str) -> SavedEntry:
        """One entry's newest version; :class:`NotFound` when the base has no such entry."""

        def read() -> models.EntryVersion | None:
            with self.store._read() as session:
                return _latest(session, base, entry_id)

        latest = self._retry(read, "entry")
        if latest is None:
            raise NotFound.of("err_entry_not_found", id=entry_id, base=base)
        return _saved(latest)

    def history(self, base: str, entry_id: str) -> list[SavedEntry]:
        """Every version of one entry, newest first (empty when there is none)."""

        def read() -> list[SavedEntry]:
            query = (
                select(models.EntryVersion)
                .where(models.EntryVersion.base == base, models.EntryVersion.entry_id == entry_id)
                .order_by(models.EntryVersion.version.desc())
            )
            with self.store._read() as session:
                return [_saved(row) for row in session.scalars(query)]

        return self._retry(read, "entry history")

    def save(self, base: str, draft: EntryDraft, *, author: str | None, note: str = "edit",
             expected_version: int | None = None) -> SavedEntry:  # fmt: skip
        """Save ``draft`` as the entry's next version (the first, for a new id) and return it.

        ``expected_version``: the version the lead started from (0: a new entry). When someone
        saved another version since, nothing is saved and :class:`Conflict` says who and when.
        A draft equal to the current version saves nothing and returns the current one.
        """
        draft = draft.check()

        def write() -> SavedEntry:
            with self.store._write() as session, session.begin():
                latest = _latest(session, base, draft.id)
                current = 0 if latest is None else latest.version
                if expected_version is not None and expected_version != current:
                    raise _conflict(base, draft.id, latest, expected_version)
                if latest is not None and _saved(latest).draft() == draft:
                    return _saved(latest)
                row = _row(base, draft, current + 1, author, note)
                session.add(row)
                session.flush()
                return _saved(row)

        try:
            return self._retry(write, "save entry")
        except IntegrityError:  # another desk saved the same version number first
            raise _conflict(base, draft.id, None, expected_version) from None

    def save_many(self, base: str, drafts: Iterable[EntryDraft], *, author: str | None, note: str) -> int:
        """Save every draft that differs from its entry's current version, in one transaction.

        Used to copy a base in (its first versions) and for a CSV import; returns how many
        versions were added.
        """
        checked = [draft.check() for draft in drafts]
        ids = [draft.id for draft in checked]
        if len(set(ids)) != len(ids):
            duplicate = next(i for i in ids if ids.count(i) > 1)
            raise InvalidInput.of("err_entry_duplicate_id", id=duplicate)

        def write() -> int:
            with self.store._write() as session, session.begin():
                latest = {entry.id: entry for entry in _current(session, base)}
                rows = [
                    _row(base, draft, latest[draft.id].version + 1 if draft.id in latest else 1, author, note)
                    for draft in checked
                    if draft.id not in latest or latest[draft.id].draft() != draft
                ]
                session.add_all(rows)
                return len(rows)

        try:
            return self._retry(write, "save entries")
        except IntegrityError:
            raise Conflict.of("err_entries_conflict", base=base) from None

    def rollback(self, base: str, entry_id: str, version: int, *, author: str | None,
                 expected_version: int | None = None) -> SavedEntry:  # fmt: skip
        """Make an old version current again, as a new version noting "rollback to N"."""
        old = next((v for v in self.history(base, entry_id) if v.version == version), None)
        if old is None:
            raise NotFound.of("err_entry_version_not_found", id=entry_id, version=version)
        return self.save(base, old.draft(), author=author, note=f"rollback to {version}",
                         expected_version=expected_version)  # fmt: skip

    def retire(self, base: str, entry_id: str, *, author: str | None, retired: bool = True,
               expected_version: int | None = None) -> SavedEntry:  # fmt: skip
        """Hide an entry from searches (or bring it back), as a new version."""
        current = self.entry(base, entry_id)
        return self.save(base, replace(current.draft(), retired=retired), author=author,
                         note="retire" if retired else "restore", expected_version=expected_version)  # fmt: skip

    def forget_base(self, base: str) -> int:
        """Delete a base's entries, their history and suggestions (the base is no longer edited here)."""

        def write() -> int:
            with self.store._write() as session, session.begin():
                count = 0
                for model in (models.EntryVersion, models.PhrasingSuggestion, models.DismissedGap):
                    count += session.query(model).filter(model.base == base).delete()
                return count

        return self._retry(write, "forget base")

    # Phrasing suggestions ------------------------------------------------------------------------

    def suggest(self, base: str, entry_id: str, question: str, *, user: str | None) -> Suggestion:
        """Note that an agent answered ``question`` with the entry: a new pending suggestion, or one
        more pick of an existing one. Approved and rejected ones keep their status (a rejected
        suggestion is never suggested again)."""
        question = clean(question)
        key = question_key(question)[:500]

        def write() -> Suggestion:
            now = datetime.now(UTC)
            with self.store._write() as session, session.begin():
                row = _suggestion_row(session, base, entry_id, key)
                if row is None:
                    row = models.PhrasingSuggestion(base=base, entry_id=entry_id, question=question, key=key,
                                                    status="pending", picks=0, users=[], first_seen=now)  # fmt: skip
                    session.add(row)
                row.picks += 1
                row.last_seen = now
                if user and user not in row.users:
                    row.users = [*row.users, user]
                session.flush()
                return _suggestion(row)

        return self._retry(write, "suggest phrasing")

    def withdraw(self, base: str, entry_id: str, question: str, *, user: str | None) -> None:
        """Take back one pick of a suggestion (an agent's Undo); a pending one left with none is deleted."""
        key = question_key(clean(question))[:500]

        def write() -> None:
            with self.store._write() as session, session.begin():
                row = _suggestion_row(session, base, entry_id, key)
                if row is None:
                    return
                row.picks = max(row.picks - 1, 0)
                if user in row.users:
                    row.users = [name for name in row.users if name != user]
                if row.picks == 0 and row.status == "pending":
                    session.delete(row)

        self._retry(write, "withdraw suggestion")

    def suggestions(self, base: str, status: SuggestionStatus = "pending") -> list[Suggestion]:
        """The base's suggestions with ``status``: those more agents made first, then more picks, then newest."""

        def read() -> list[Suggestion]:
            query = select(models.PhrasingSuggestion).where(
                models.PhrasingSuggestion.base == base, models.PhrasingSuggestion.status == status
            )
            with self.store._read() as session:
                rows = [_suggestion(row) for row in session.scalars(query)]
            return sorted(rows, key=lambda s: (-len(s.users), -s.picks, -s.last_seen.timestamp(), s.id))

        return self._retry(read, "suggestions")

    def suggestion(self, suggestion_id: int) -> Suggestion:
        def read() -> Suggestion:
            with self.store._read() as session:
                row = session.get(models.PhrasingSuggestion, suggestion_id)
                if row is None:
                    raise NotFound.of("err_suggestion_not_found", id=suggestion_id)
                return _suggestion(row)

        return self._retry(read, "suggestion")

    def decide(self, suggestion_id: int, status: SuggestionStatus, *, by: str | None) -> Suggestion:
        """Mark a suggestion approved or rejected (the caller adds an approved one to its entry)."""
        if status not in SUGGESTION_STATUSES:
            raise InvalidInput(f"Unknown suggestion status {status!r}; use one of {', '.join(SUGGESTION_STATUSES)}.")

        def write() -> Suggestion:
            with self.store._write() as session, session.begin():
                row = session.get(models.PhrasingSuggestion, suggestion_id)
                if row is None:
                    raise NotFound.of("err_suggestion_not_found", id=suggestion_id)
                row.status, row.decided_by, row.decided_at = status, by, datetime.now(UTC)
                return _suggestion(row)

        return self._retry(write, "decide suggestion")

    # Dismissed gap questions ----------------------------------------------------------------------

    def dismiss(self, base: str, questions: Sequence[str], *, by: str | None) -> int:
        """Leave these questions out of the base's gaps from now on; returns how many were new."""
        keys = {question_key(question)[:500] for question in questions}

        def write() -> int:
            now = datetime.now(UTC)
            with self.store._write() as session, session.begin():
                known = set(session.scalars(select(models.DismissedGap.key).where(models.DismissedGap.base == base)))
                rows = [models.DismissedGap(base=base, key=key, dismissed_by=by, dismissed_at=now)
                        for key in sorted(keys - known)]  # fmt: skip
                session.add_all(rows)
                return len(rows)

        return self._retry(write, "dismiss gap")

    def dismissed(self, base: str) -> set[str]:
        """The question keys (:func:`~reranker.store.question_key`) dismissed from the base's gaps."""

        def read() -> set[str]:
            with self.store._read() as session:
                return set(session.scalars(select(models.DismissedGap.key).where(models.DismissedGap.base == base)))

        return self._retry(read, "dismissed gaps")


def _suggestion_row(session: Session, base: str, entry_id: str, key: str) -> models.PhrasingSuggestion | None:
    query = select(models.PhrasingSuggestion).where(
        models.PhrasingSuggestion.base == base,
        models.PhrasingSuggestion.entry_id == entry_id,
        models.PhrasingSuggestion.key == key,
    )
    return session.scalars(query).one_or_none()


def _current(session: Session, base: str) -> list[SavedEntry]:
    query = select(models.EntryVersion).where(models.EntryVersion.base == base).order_by(models.EntryVersion.revision)
    newest: dict[str, models.EntryVersion] = {}
    for row in session.scalars(query):
        newest[row.entry_id] = row  # keeps the first-saved order of ids, with each one's newest row
    return [_saved(row) for row in newest.values()]


def _latest(session: Session, base: str, entry_id: str) -> models.EntryVersion | None:
    query = (
        select(models.EntryVersion)
        .where(models.EntryVersion.base == base, models.EntryVersion.entry_id == entry_id)
        .order_by(models.EntryVersion.version.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def _row(base: str, draft: EntryDraft, version: int, author: str | None, note: str) -> models.EntryVersion:
    return models.EntryVersion(base=base, entry_id=draft.id, version=version, question=draft.question,
                               answer=draft.answer, category=draft.category, phrasings=list(draft.phrasings),
                               retired=draft.retired, author=author, time=datetime.now(UTC), note=note[:300])  # fmt: skip


def _saved(row: models.EntryVersion) -> SavedEntry:
    return SavedEntry(row.base, row.entry_id, row.version, row.question, row.answer, row.category,
                      tuple(row.phrasings), row.retired, row.author, row.time, row.note, row.revision)  # fmt: skip


def _suggestion(row: models.PhrasingSuggestion) -> Suggestion:
    return Suggestion(row.id, row.base, row.entry_id, row.question, row.status,  # type: ignore[arg-type]
                      row.picks, tuple(row.users), row.first_seen, row.last_seen, row.decided_by)  # fmt: skip


def _conflict(base: str, entry_id: str, latest: models.EntryVersion | None, expected: int | None) -> Conflict:
    if latest is None:
        return Conflict.of("err_entry_conflict_new", id=entry_id, base=base)
    if expected == 0:
        return Conflict.of("err_entry_id_taken", id=entry_id, base=base)
    return Conflict.of("err_entry_conflict", id=entry_id, version=latest.version, expected=expected,
                       author=latest.author or "anonymous", time=latest.time.strftime("%Y-%m-%d %H:%M UTC"))  # fmt: skip
