"""The FAQ base as leads edit it in the desk: entries with their history, and CSV export and import.

A base the desk serves from a file (bundled, ``--kb`` or a lead's upload) is listed as its file's
entries (each shown as version 1) until a lead first saves: then the whole base is copied into
the team database (:class:`~reranker.store.entries.EntryStore`) and every desk serves it from
there (:class:`~reranker.feedback.shared_bases.SharedBases` writes the current entries to a
file of its own and reloads only what changed, so the dense index re-embeds only the entries
whose text changed).

An import is previewed first: each row of the CSV is new, changed, unchanged or invalid (with the
reason and its line), and the lead chooses whether changed rows overwrite or are skipped. A
column the file does not have (say, no ``similar_questions``) keeps what the entries hold. What
:meth:`FaqEditor.export_csv` writes, :meth:`FaqEditor.apply_import` reads back to the same base.

>>> editor = FaqEditor(store, shared)                                              # doctest: +SKIP
>>> editor.save("Returns", EntryDraft("r-9", "Do you take back sale items?", "Yes."), by=lead)   # doctest: +SKIP
"""

from __future__ import annotations

import io
import logging
from collections import Counter
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Literal

import pandas as pd

from reranker.errors import InvalidInput, NotFound, RerankError
from reranker.feedback.shared_bases import SharedBases
from reranker.feedback.team import Member, require_lead
from reranker.knowledge.bases import (
    ANSWER_COLUMNS,
    CATEGORY_COLUMNS,
    ID_COLUMNS,
    QUESTION_COLUMNS,
    SIMILAR_COLUMNS,
    FaqEntry,
    faq_table,
)
from reranker.knowledge.tabular import find_column, read_table, require_column, row_lines, split_pipes
from reranker.store import Store
from reranker.store.entries import EntryDraft, EntryStore, SavedEntry
from reranker.text import clean, neutralise_formula, restore_formula

log = logging.getLogger(__name__)

ImportStatus = Literal["new", "changed", "unchanged", "invalid"]
ChangedRows = Literal["overwrite", "skip"]
#: The entry fields a lead edits, in the order the preview names changed ones.
EDITED_FIELDS = tuple(f.name for f in fields(EntryDraft) if f.name != "id")


@dataclass(frozen=True)
class ImportRow:
    """One data row of an imported CSV and what importing it would do."""

    line: int
    id: str
    status: ImportStatus
    draft: EntryDraft | None = None
    #: For "changed": the fields that differ from the current version.
    changed: tuple[str, ...] = ()
    #: For "invalid": why (say it with ``error.message(lang)``).
    error: RerankError | None = None


@dataclass(frozen=True)
class ImportPreview:
    """What importing a CSV into ``base`` would do, row by row; ``missing``: current entries the
    file does not have (an import keeps them; retire them in the Knowledge tab)."""

    base: str
    filename: str
    rows: tuple[ImportRow, ...]
    missing: tuple[str, ...]

    def count(self, status: ImportStatus) -> int:
        return sum(1 for row in self.rows if row.status == status)

    def counts(self) -> dict[str, int]:
        found = Counter(row.status for row in self.rows)
        return {status: found.get(status, 0) for status in ("new", "changed", "unchanged", "invalid")}


@dataclass(frozen=True)
class ImportResult:
    """What an import did: entries added, changed (overwritten), skipped, unchanged, invalid rows."""

    added: int
    changed: int
    skipped: int
    unchanged: int
    invalid: int
    #: The preview the import was made from, row by row.
    preview: ImportPreview


def draft_of(entry: FaqEntry) -> EntryDraft:
    return EntryDraft(entry.id, entry.question, entry.answer, entry.category, entry.similar_questions)


def changed_fields(old: EntryDraft, new: EntryDraft) -> tuple[str, ...]:
    """The fields of ``new`` that differ from ``old``.

    >>> changed_fields(EntryDraft("1", "Q?", "A."), EntryDraft("1", "Q?", "B.", phrasings=("Q2?",)))
    ('answer', 'phrasings')
    """
    return tuple(name for name in EDITED_FIELDS if getattr(old, name) != getattr(new, name))


class FaqEditor:
    """Leads' edits of the desk's FAQ bases, stored with history in the team database."""

    def __init__(self, store: Store, shared: SharedBases) -> None:
        self.entries = EntryStore(store)
        self.shared = shared
        self.registry = shared.registry

    # Reading -----------------------------------------------------------------------------------

    def edited(self, base: str) -> bool:
        """Whether ``base`` is edited in the desk (else it is still served from its file)."""
        return self.entries.edited(base)

    def listing(self, base: str) -> list[SavedEntry]:
        """Every entry of the base, current version, retired ones included (marked ``retired``)."""
        if self.entries.edited(base):
            return self.entries.current(base)
        kb = self.registry.named(base)
        when = datetime.now(UTC)
        return [SavedEntry(base, e.id, 1, e.question, e.answer, e.category, e.similar_questions, False, None, when,
                           "file", 0) for e in kb.entries]  # fmt: skip

    def entry(self, base: str, entry_id: str) -> SavedEntry:
        """One entry's current version; :class:`NotFound` when the base has none with that id."""
        if self.entries.edited(base):
            return self.entries.entry(base, entry_id)
        found = next((e for e in self.listing(base) if e.id == entry_id), None)
        if found is None:
            raise NotFound.of("err_entry_not_found", id=entry_id, base=base)
        return found

    def history(self, base: str, entry_id: str) -> list[SavedEntry]:
        """Every version of the entry, newest first (one "file" version while the base is not edited)."""
        if self.entries.edited(base):
            history = self.entries.history(base, entry_id)
            if not history:
                raise NotFound.of("err_entry_not_found", id=entry_id, base=base)
            return history
        return [self.entry(base, entry_id)]

    # Editing -----------------------------------------------------------------------------------

    def save(self, base: str, draft: EntryDraft, *, by: Member, expected_version: int | None = None,
             note: str = "edit") -> SavedEntry:  # fmt: skip
        """Save a new or changed entry as its next version (a lead); every desk serves it at once.

        ``expected_version``: the version the lead edited (0: a new entry), to refuse overwriting
        someone else's save with :class:`~reranker.errors.Conflict`.
        """
        require_lead(by, "knowledge")
        draft = draft.check()
        self._copy_in(base, by)
        if draft.retired:
            self._require_one_active(base, draft.id)
        saved = self.entries.save(base, draft, author=by.name, note=note, expected_version=expected_version)
        self.shared.sync()
        return saved

    def create(self, base: str, draft: EntryDraft, *, by: Member, note: str = "new") -> SavedEntry:
        """Add a new entry; :class:`~reranker.errors.Conflict` when its id is taken."""
        return self.save(base, draft, by=by, expected_version=0, note=note)

    def retire(self, base: str, entry_id: str, *, by: Member, retired: bool = True,
               expected_version: int | None = None) -> SavedEntry:  # fmt: skip
        """Hide an entry from searches (``retired=False``: bring it back), as a new version."""
        require_lead(by, "knowledge")
        draft = replace(self.entry(base, entry_id).draft(), retired=retired)  # save checks one stays active
        return self.save(base, draft, by=by, expected_version=expected_version,
                         note="retire" if retired else "restore")  # fmt: skip

    def rollback(self, base: str, entry_id: str, version: int, *, by: Member,
                 expected_version: int | None = None) -> SavedEntry:  # fmt: skip
        """Make an old version current again (saved as a new version noting "rollback to N")."""
        require_lead(by, "knowledge")
        old = next((v for v in self.history(base, entry_id) if v.version == version), None)
        if old is None:
            raise NotFound.of("err_entry_version_not_found", id=entry_id, version=version)
        return self.save(base, old.draft(), by=by, expected_version=expected_version, note=f"rollback to {version}")

    # CSV ---------------------------------------------------------------------------------------

    def export_csv(self, base: str) -> bytes:
        """The base's entries (not the retired ones) as CSV for people: UTF-8 with BOM, CRLF rows,
        formula cells neutralised (read back by :meth:`preview_import`)."""
        active = [entry for entry in self.listing(base) if not entry.retired]
        out = io.StringIO()
        faq_table([entry.faq_entry() for entry in active]).map(neutralise_formula).to_csv(out, index=False, lineterminator="\r\n")
        return out.getvalue().encode("utf-8-sig")

    def preview_import(self, base: str, data: bytes, filename: str = "the file") -> ImportPreview:
        """What importing ``data`` into ``base`` would do (a new base name: every row is new)."""
        table = read_table(data, max_bytes=self.registry.max_upload_bytes, name=filename)
        lines = row_lines(data, max_bytes=self.registry.max_upload_bytes, name=filename)
        columns = _Columns.of(table, filename)
        current = {entry.id: entry for entry in self._listing_or_empty(base)}
        taken = set(current)
        seen: dict[str, int] = {}
        rows: list[ImportRow] = []
        generated = 0
        for index, record in enumerate(table.to_dict("records")):
            line = lines[index] if index < len(lines) else index + 2
            entry_id = columns.cell(record, columns.id)
            if not entry_id:
                entry_id = generated_id = _free_id(taken, generated)
                generated = int(generated_id.rsplit("-", 1)[1])
            taken.add(entry_id)
            if entry_id in seen:
                error = InvalidInput.of("err_import_duplicate", id=entry_id, line=seen[entry_id])
                rows.append(ImportRow(line, entry_id, "invalid", error=error))
                continue
            seen[entry_id] = line
            try:
                draft = columns.draft(record, entry_id, current.get(entry_id)).check()
            except InvalidInput as error:
                rows.append(ImportRow(line, entry_id, "invalid", error=error))
                continue
            old = current.get(entry_id)
            if old is None:
                rows.append(ImportRow(line, entry_id, "new", draft))
            elif old.draft() == draft:
                rows.append(ImportRow(line, entry_id, "unchanged", draft))
            else:
                rows.append(ImportRow(line, entry_id, "changed", draft, changed_fields(old.draft(), draft)))
        missing = tuple(i for i, entry in current.items() if i not in seen and not entry.retired)
        return ImportPreview(base, filename, tuple(rows), missing)

    def apply_import(self, base: str, data: bytes, filename: str = "the file", *, changed: ChangedRows,
                     by: Member) -> ImportResult:  # fmt: skip
        """Import the CSV into ``base``: new rows are added; changed rows overwrite or are skipped."""
        require_lead(by, "knowledge")
        if changed not in ("overwrite", "skip"):
            raise InvalidInput(f"Choose overwrite or skip for changed rows, not {changed!r}.")
        preview = self.preview_import(base, data, filename)
        keep = {"new", "changed"} if changed == "overwrite" else {"new"}
        drafts = [row.draft for row in preview.rows if row.status in keep and row.draft is not None]
        if drafts:
            if base in self.registry.paths:
                self._copy_in(base, by)
            self.entries.save_many(base, drafts, author=by.name, note=f"import {filename}"[:300])
            self.shared.sync()
        counts = preview.counts()
        skipped = counts["changed"] if changed == "skip" else 0
        log.info("imported %s into %r: %s", filename, base, counts)
        return ImportResult(counts["new"], counts["changed"] - skipped, skipped, counts["unchanged"], counts["invalid"],
                            preview)  # fmt: skip

    # Helpers -----------------------------------------------------------------------------------

    def _listing_or_empty(self, base: str) -> list[SavedEntry]:
        if base in self.registry.paths or self.entries.edited(base):
            return self.listing(base)
        return []

    def _copy_in(self, base: str, by: Member) -> None:
        """Copy a base served from its file into the database (its entries' first versions)."""
        if self.entries.edited(base):
            return
        kb = self.registry.named(base)
        source = self.registry.paths[base].name
        added = self.entries.save_many(base, map(draft_of, kb.entries), author=by.name, note=f"copied from {source}")
        log.info("FAQ base %r is now edited in the desk (%d entries copied from %s)", base, added, source)

    def _require_one_active(self, base: str, retiring: str) -> None:
        if not any(not entry.retired and entry.id != retiring for entry in self.listing(base)):
            raise InvalidInput.of("err_entry_last_active", base=base)


@dataclass(frozen=True)
class _Columns:
    """Which CSV column holds which field (the names ``load_faq`` accepts)."""

    question: str
    answer: str | None
    id: str | None
    category: str | None
    similar: str | None

    @classmethod
    def of(cls, table: pd.DataFrame, filename: str) -> _Columns:
        return cls(require_column(table, filename, "question", QUESTION_COLUMNS), find_column(table, ANSWER_COLUMNS),
                   find_column(table, ID_COLUMNS), find_column(table, CATEGORY_COLUMNS),
                   find_column(table, SIMILAR_COLUMNS))  # fmt: skip

    @staticmethod
    def cell(record: dict[str, str], column: str | None) -> str:
        return restore_formula(clean(record[column])) if column else ""

    def draft(self, record: dict[str, str], entry_id: str, current: SavedEntry | None) -> EntryDraft:
        """The row as an entry; a column the file does not have keeps the current entry's value."""
        phrasings = tuple(map(restore_formula, split_pipes(self.cell(record, self.similar))))
        return EntryDraft(
            entry_id,
            self.cell(record, self.question),
            self.cell(record, self.answer) if self.answer or current is None else current.answer,
            self.cell(record, self.category) if self.category or current is None else current.category,
            phrasings if self.similar or current is None else current.phrasings,
        )


def _free_id(taken: set[str], after: int) -> str:
    """The next ``new-N`` id nobody uses (for imported rows without an id)."""
    number = after + 1
    while f"new-{number}" in taken:
        number += 1
    return f"new-{number}"
