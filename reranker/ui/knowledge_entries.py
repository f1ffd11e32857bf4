"""The Knowledge tab's entries: the table, the edit form, an entry's history and rollback, CSV export and import.

Plain functions of the desk's :class:`~reranker.feedback.knowledge.Knowledge` and widget values,
tested without a browser (:mod:`reranker.ui.knowledge_tab` wires them). Who may change what is
decided by the editor (:func:`~reranker.feedback.team.require_lead`), not by the page: an agent's
Save answers "Only a lead ...". Every change says what it saved and how the desk's search index
took it (:func:`index_note`: how many entries the dense index re-embedded, or that the keyword
index was rebuilt). Text is in ``lang``, the browser's language.

>>> message, *form = save_entry(desk, knowledge, team, opened, "en-004", "Where is my order?", "In Account.", "",
...                             "Where is my parcel?", user="lea", lang="en")           # doctest: +SKIP
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import gradio as gr
import pandas as pd

from reranker.desk.desk import Desk
from reranker.desk.results import render_message
from reranker.errors import RerankError
from reranker.feedback.editor import ChangedRows, FaqEditor, ImportPreview
from reranker.feedback.knowledge import Knowledge
from reranker.feedback.knowledge_gaps import next_id
from reranker.feedback.team import Team
from reranker.i18n import Lang, t, t_count
from reranker.retrieval.dense import DenseIndex
from reranker.store.entries import EntryDraft, SavedEntry

#: How long a save waits for the dense index to take the change before saying it is still updating.
INDEX_WAIT_S = 5.0
#: Exported CSVs older than this are deleted at the next export (the browser fetched them at once).
EXPORT_MAX_AGE_S = 15 * 60
#: Characters of an old answer shown in the history table.
ANSWER_START = 80
#: Ids of missing entries named in the import preview (then "…").
MISSING_SHOWN = 10
TIME_FORMAT = "%Y-%m-%d %H:%M"
#: The entries table: one row per entry (the id first: selecting a row opens it; then whether it is
#: retired, blank for an active one, so a retired entry stands out).
ENTRY_COLUMNS = ("kn_col_id", "kn_col_status", "kn_col_question", "kn_col_phrasings", "kn_col_category",
                 "kn_col_version", "kn_col_saved_by", "kn_col_saved_at")  # fmt: skip
HISTORY_COLUMNS = ("kn_col_version", "kn_col_time", "kn_col_author", "kn_col_note", "kn_col_question",
                   "kn_col_answer_start")  # fmt: skip
PREVIEW_COLUMNS = ("kn_col_line", "kn_col_id", "kn_col_status", "kn_col_detail")
#: How a version's note (stored in English) is said: the plain notes, then patterns with their parts.
PLAIN_NOTES = {"edit": "kn_note_edit", "new": "kn_note_new", "retire": "kn_note_retire", "restore": "kn_note_restore",
               "file": "kn_note_file", "from a gap": "kn_note_from_a_gap"}  # fmt: skip
NOTE_PATTERNS = (
    (re.compile(r"^rollback to (?P<version>\d+)$"), "kn_note_rollback"),
    (re.compile(r"^import (?P<file>.+)$"), "kn_note_import"),
    (re.compile(r"^copied from (?P<file>.+)$"), "kn_note_copied"),
    (re.compile(r"^approved suggestion \((?P<n>\d+) picks\)$"), "kn_note_approved"),
    (re.compile(r"^learned from a pick by (?P<user>.+)$"), "kn_note_learned"),
)
Kind = Literal["ok", "warn", "info", "error"]


@dataclass(frozen=True)
class Opened:
    """The entry in the form: its base, its id (None: a new entry), the version the lead opened
    (0: new; sent as ``expected_version``), whether it is retired, and the gap a new entry answers."""

    base: str
    id: str | None = None
    version: int = 0
    retired: bool = False
    gap: str | None = None


#: The form's values, in the order of :attr:`reranker.ui.knowledge_tab.EntryForm.outputs`: the id
#: box, question, answer, category, phrasings, the :class:`Opened` state, the Retire/Restore button.
Form = tuple[Any, ...]
#: A status line and the form.
Reply = tuple[Any, ...]
FORM_FIELDS = 7


def unchanged() -> Form:
    """The form left as it is (after a refusal or an error)."""
    return tuple(gr.update() for _ in range(FORM_FIELDS))


def lines(text: str | None) -> tuple[str, ...]:
    """The phrasings box, one phrasing per line (blank lines dropped).

    >>> lines("Where is my parcel?\\n\\n  Track my order  \\n")
    ('Where is my parcel?', 'Track my order')
    """
    return tuple(line.strip() for line in (text or "").splitlines() if line.strip())


def when(moment: Any) -> str:
    """A stored time as the tables show it (minutes, UTC); ISO strings are cut the same way."""
    if moment is None:
        return ""
    if isinstance(moment, str):
        return moment[:16].replace("T", " ")
    return moment.strftime(TIME_FORMAT)


def note_text(note: str, lang: Lang) -> str:
    """A version's note in ``lang`` (a note we do not know is shown as stored).

    >>> note_text("rollback to 2", "zh"), note_text("import faq.csv", "en"), note_text("odd", "zh")
    ('回滚到第 2 版', 'import faq.csv', 'odd')
    """
    if note in PLAIN_NOTES:
        return t(PLAIN_NOTES[note], lang)
    for pattern, key in NOTE_PATTERNS:
        found = pattern.match(note)
        if found:
            return t(key, lang, **found.groupdict())
    return note


def message(text: str, kind: Kind = "ok") -> str:
    return render_message(text, kind)


def failed(exc: RerankError, lang: Lang) -> str:
    """The status line for an error a user can fix (a refusal, a conflict, a bad draft), in ``lang``."""
    return render_message(exc.message(lang), "error")


# Tables ------------------------------------------------------------------------------------------


def frame(rows: Sequence[Sequence[object]], columns: Sequence[str], lang: Lang) -> pd.DataFrame:
    """A table with the message ids ``columns`` as headers, in ``lang``."""
    return pd.DataFrame(list(rows), columns=[t(column, lang) for column in columns])


def matches(entry: SavedEntry, query: str) -> bool:
    """Whether the filter ``query`` (case-insensitive) is in the entry's id, texts, category or phrasings."""
    needle = query.strip().casefold()
    texts = (entry.id, entry.question, entry.answer, entry.category, *entry.phrasings)
    return not needle or any(needle in text.casefold() for text in texts)


def entries_table(
    editor: FaqEditor, base: str | None, query: str | None = "", lang: Lang = "en"
) -> pd.DataFrame:
    """The base's entries that match the filter: id, whether it is retired, question, number of
    phrasings, category, version, who saved it and when."""
    if not base:
        return frame([], ENTRY_COLUMNS, lang)
    rows = []
    for entry in editor.listing(base):
        if not matches(entry, query or ""):
            continue
        from_file = entry.note == "file"
        rows.append([entry.id, t("kn_retired", lang) if entry.retired else "", entry.question, len(entry.phrasings),
                     entry.category, entry.version, t("kn_from_file", lang) if from_file else entry.author or "",
                     "" if from_file else when(entry.time)])  # fmt: skip
    return frame(rows, ENTRY_COLUMNS, lang)


def history_table(editor: FaqEditor, opened: Opened | None, lang: Lang = "en") -> pd.DataFrame:
    """The open entry's versions, newest first (empty for a new entry)."""
    if opened is None or opened.id is None:
        return frame([], HISTORY_COLUMNS, lang)
    rows = [[v.version, "" if v.note == "file" else when(v.time), v.author or "", note_text(v.note, lang),
             v.question, _start(v.answer)] for v in editor.history(opened.base, opened.id)]  # fmt: skip
    return frame(rows, HISTORY_COLUMNS, lang)


def _start(text: str) -> str:
    return text if len(text) <= ANSWER_START else text[: ANSWER_START - 1] + "…"


def selected_cell(row: Sequence[object] | None) -> str | None:
    """The first cell of a selected table row (an id, a version), as text; None for no row."""
    if not row or row[0] is None or str(row[0]) == "":
        return None
    return str(row[0])


# The form ----------------------------------------------------------------------------------------


def form_of(entry: SavedEntry | EntryDraft, opened: Opened, lang: Lang = "en") -> Form:
    """The form showing ``entry`` (the id can be typed only for a new entry)."""
    retire = gr.Button(
        value=t("kn_restore" if opened.retired else "kn_retire", lang), interactive=opened.id is not None
    )
    return (gr.Textbox(value=entry.id, interactive=opened.id is None), entry.question, entry.answer, entry.category,
            "\n".join(entry.phrasings), opened, retire)  # fmt: skip


def opened_form(saved: SavedEntry, lang: Lang = "en") -> Form:
    return form_of(saved, Opened(saved.base, saved.id, saved.version, saved.retired), lang)


def editing_note(saved: SavedEntry, lang: Lang) -> str:
    key = "kn_editing_retired" if saved.retired else "kn_editing"
    return message(t(key, lang, id=saved.id, version=saved.version), "warn" if saved.retired else "info")


def open_entry(editor: FaqEditor, base: str | None, entry_id: str | None, lang: Lang = "en") -> Reply:
    """Load the selected entry's current version into the form (anyone may look)."""
    if not base or not entry_id:
        return message(t("kn_open_first", lang), "info"), *unchanged()
    try:
        saved = editor.entry(base, entry_id)
    except RerankError as exc:
        return failed(exc, lang), *unchanged()
    return editing_note(saved, lang), *opened_form(saved, lang)


def new_entry(editor: FaqEditor, base: str | None, lang: Lang = "en") -> Reply:
    """An empty form for a new entry of ``base``, with the next free id in the base's style."""
    if not base:
        return message(t("kn_open_first", lang), "info"), *unchanged()
    try:
        entry_id = next_id([entry.id for entry in editor.listing(base)])
    except RerankError as exc:
        return failed(exc, lang), *unchanged()
    return message(t("kn_new_hint", lang, id=entry_id), "info"), *form_of(
        EntryDraft(entry_id, ""), Opened(base), lang
    )


def save_entry(desk: Desk, knowledge: Knowledge, team: Team, opened: Opened | None, entry_id: str | None,
               question: str | None, answer: str | None, category: str | None, phrasings: str | None,
               user: str | None = None, lang: Lang = "en") -> Reply:  # fmt: skip
    """Save the form: a new entry (one drafted from a gap through the gap, so its questions leave
    the gaps), or the open entry as its next version, refused with the Conflict message when
    someone saved it since the lead opened it."""
    if opened is None:
        return message(t("kn_open_first", lang), "info"), *unchanged()
    draft = EntryDraft(opened.id or (entry_id or ""), question or "", answer or "", category or "", lines(phrasings),
                       opened.retired)  # fmt: skip
    try:
        member = team.member(user)
        if opened.gap is not None:
            saved = knowledge.gaps.create_entry(opened.base, opened.gap, draft, by=member)
        elif opened.id is None:
            saved = knowledge.editor.create(opened.base, draft, by=member)
        else:
            saved = knowledge.editor.save(opened.base, draft, by=member, expected_version=opened.version)
    except RerankError as exc:
        return failed(exc, lang), *unchanged()
    if opened.id is not None and saved.version == opened.version:
        return message(t("kn_unchanged", lang, id=saved.id, version=saved.version), "info"), *opened_form(
            saved, lang
        )
    said = [t("kn_saved", lang, id=saved.id, version=saved.version)]
    if opened.gap is not None:
        said.append(t("kn_gap_answered", lang))
    said.append(index_note(desk, opened.base, lang))
    return message(" ".join(said)), *opened_form(saved, lang)


def retire_entry(desk: Desk, editor: FaqEditor, team: Team, opened: Opened | None, user: str | None = None,
                 lang: Lang = "en") -> Reply:  # fmt: skip
    """Retire the open entry (searches no longer find it), or restore a retired one: a new version."""
    if opened is None or opened.id is None:
        return message(t("kn_open_first", lang), "info"), *unchanged()
    try:
        saved = editor.retire(opened.base, opened.id, by=team.member(user), retired=not opened.retired,
                              expected_version=opened.version)  # fmt: skip
    except RerankError as exc:
        return failed(exc, lang), *unchanged()
    key = "kn_retired_done" if saved.retired else "kn_restored_done"
    said = f"{t(key, lang, id=saved.id, version=saved.version)} {index_note(desk, opened.base, lang)}"
    return message(said), *opened_form(saved, lang)


def ask_rollback(opened: Opened | None, version: str | None, lang: Lang = "en") -> tuple[gr.Row, str]:
    """The confirmation shown before a rollback (the row stays hidden until a version is chosen)."""
    if opened is None or opened.id is None or version is None:
        return gr.Row(visible=True), t("kn_choose_version", lang)
    return gr.Row(visible=True), t(
        "kn_rollback_ask", lang, version=version, id=opened.id, next=opened.version + 1
    )


def rollback_entry(desk: Desk, editor: FaqEditor, team: Team, opened: Opened | None, version: str | None,
                   user: str | None = None, lang: Lang = "en") -> Reply:  # fmt: skip
    """Make the chosen old version current again, saved as a new version (a lead's, confirmed)."""
    if opened is None or opened.id is None or version is None:
        return message(t("kn_choose_version", lang), "info"), *unchanged()
    try:
        saved = editor.rollback(opened.base, opened.id, int(version), by=team.member(user),
                                expected_version=opened.version)  # fmt: skip
    except RerankError as exc:
        return failed(exc, lang), *unchanged()
    said = t("kn_rolled_back", lang, id=saved.id, version=version, saved=saved.version)
    return message(f"{said} {index_note(desk, opened.base, lang)}"), *opened_form(saved, lang)


# How the search index took a change ---------------------------------------------------------------


def dense_index(desk: Desk, base: str, wait_s: float = INDEX_WAIT_S) -> DenseIndex | None:
    """The dense index of the base as served now, once the desk has built it (new texts embedded,
    the rest read from its cache); None when the base is searched by keyword, or still after
    ``wait_s`` seconds."""
    kb = desk.bases.named(base)  # the saved version: loading it starts its embedding
    if desk.dense.health()[0] == "keyword":  # dense search off, not loaded (yet), or failed
        return None
    deadline = time.monotonic() + wait_s
    while True:
        index = desk.dense.for_base(kb).index
        if index is not None or not desk.dense.busy or time.monotonic() >= deadline:
            return index
        time.sleep(0.05)


def index_note(desk: Desk, base: str, lang: Lang = "en", wait_s: float = INDEX_WAIT_S) -> str:
    """How the search index took a save: entries the dense index re-embedded, or the keyword index rebuilt."""
    index = dense_index(desk, base, wait_s)
    if index is not None:
        return t_count("kn_reembedded", lang, index.computed)
    if desk.dense.health()[0] != "keyword" and desk.dense.busy:
        return t("kn_reindexing", lang)
    return t("kn_keyword_rebuilt", lang)


# CSV export and import ---------------------------------------------------------------------------


def export_base(editor: FaqEditor, base: str | None, directory: Path) -> str:
    """Write the base as CSV (:meth:`FaqEditor.export_csv`) into ``directory``; its path, for the download."""
    folder = directory / "faq-bases"
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - EXPORT_MAX_AGE_S
    for old in folder.glob("*/*.csv"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
                old.parent.rmdir()
        except OSError:  # another export removed it first
            continue
    data = editor.export_csv(base or "")
    name = re.sub(r"[^\w.-]+", "-", base or "").strip("-.").removesuffix(".csv") or "faq"
    path = folder / uuid.uuid4().hex[:12] / f"{name}.csv"
    path.parent.mkdir()
    path.write_bytes(data)
    return str(path)


def export_file(
    editor: FaqEditor, base: str | None, directory: Path, lang: Lang = "en"
) -> tuple[str | None, str]:
    """The exported file (None when it cannot be made) and a status line."""
    try:
        return export_base(editor, base, directory), ""
    except RerankError as exc:
        return None, failed(exc, lang)


def detail(row_status: str, changed: Sequence[str], error: RerankError | None, lang: Lang) -> str:
    if error is not None:
        return error.message(lang)
    return (
        t("list_sep", lang).join(t(f"kn_field_{name}", lang) for name in changed)
        if row_status == "changed"
        else ""
    )


def preview_table(preview: ImportPreview, lang: Lang = "en") -> pd.DataFrame:
    """The preview's rows: line, id, status and the changed fields or the reason, in ``lang``."""
    rows = [[row.line, row.id, t(f"kn_status_{row.status}", lang), detail(row.status, row.changed, row.error, lang)]
            for row in preview.rows]  # fmt: skip
    return frame(rows, PREVIEW_COLUMNS, lang)


def preview_summary(preview: ImportPreview, lang: Lang = "en") -> str:
    """Counts per status, and the entries the file lacks (kept by an import)."""
    counts = preview.counts()
    text = message(
        t("kn_preview_counts", lang, file=preview.filename, **counts), "warn" if counts["invalid"] else "info"
    )
    if preview.missing:
        ids = t("list_sep", lang).join(preview.missing[:MISSING_SHOWN]) + (
            "…" if len(preview.missing) > MISSING_SHOWN else ""
        )
        text += message(t("kn_preview_missing", lang, n=len(preview.missing), ids=ids), "info")
    return text


def preview_file(editor: FaqEditor, base: str | None, upload: str | None,
                 lang: Lang = "en") -> tuple[str, pd.DataFrame, gr.Button]:  # fmt: skip
    """What importing the uploaded CSV into the base would do: the summary, the rows, and Import
    (enabled when some row would add or change an entry)."""
    empty = frame([], PREVIEW_COLUMNS, lang)
    if not upload or not base:
        return "", empty, gr.Button(interactive=False)
    path = Path(upload)
    try:
        preview = editor.preview_import(base, path.read_bytes(), path.name)
    except FileNotFoundError:
        return message(t("err_upload_gone", lang), "error"), empty, gr.Button(interactive=False)
    except RerankError as exc:
        return failed(exc, lang), empty, gr.Button(interactive=False)
    useful = preview.count("new") + preview.count("changed") > 0
    return preview_summary(preview, lang), preview_table(preview, lang), gr.Button(interactive=useful)


def import_file(desk: Desk, editor: FaqEditor, team: Team, base: str | None, upload: str | None,
                changed: ChangedRows, user: str | None = None, lang: Lang = "en") -> str:  # fmt: skip
    """Import the uploaded CSV into the base (a lead): new rows added, changed ones overwritten or skipped."""
    if not upload or not base:
        return message(t("kn_import_no_file", lang), "info")
    path = Path(upload)
    try:
        result = editor.apply_import(
            base, path.read_bytes(), path.name, changed=changed, by=team.member(user)
        )
    except FileNotFoundError:
        return message(t("err_upload_gone", lang), "error")
    except RerankError as exc:
        return failed(exc, lang)
    said = t("kn_imported", lang, file=path.name, base=base, **result.__dict__)
    if result.added or result.changed:
        said += " " + index_note(desk, base, lang)
    return message(said)
