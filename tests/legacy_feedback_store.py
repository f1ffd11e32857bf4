"""A frozen copy of ``reranker/feedback/store.py`` as the desk shipped it before the team database.

Only the tests use it: they write ``feedback.sqlite3`` files exactly as today's desks do, and check
that :func:`reranker.store.open_store` copies them in with nothing lost. Do not change it to follow
the package; it stands for files already on disk.

The original's docstring:

The SQLite store of agents' picks: which FAQ answer (or "none of these") answered a question.

Every pick becomes a labelled query for free: :meth:`FeedbackStore.export_labels` writes the
``query,relevant_ids`` CSV that ``python -m reranker.evaluate --queries`` reads, so the desk can
be measured, and its threshold tuned, on the team's own traffic. The store also keeps per-base
settings (the confidence threshold a team chose).

Durability: the database runs in WAL mode with ``synchronous=FULL``, so the WAL is fsynced
before :meth:`FeedbackStore.record` returns; a record whose id was handed back survives the
process being killed right after (and a power cut). Each call opens its own connection, so any
number of threads and processes can record at once; writers queue on SQLite's lock for up to
``busy_timeout_s``.

>>> store = FeedbackStore(tmp_path / "feedback.sqlite3")                 # doctest: +SKIP
>>> store.record(base="en", base_version="3f2a…", question="where is my parcel", chosen_id="en-004")  # doctest: +SKIP
1
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Iterator, Sequence, Set
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from reranker.errors import InvalidInput
from reranker.text import clean
from reranker.verdict import check_threshold

DEFAULT_BUSY_TIMEOUT_S = 30.0
THRESHOLD_SETTING = "threshold"
# A pick's columns after its id, in FeedbackRecord's order (``shown`` as JSON).
_COLUMNS = "time, request_id, base, base_version, question, instruction, chosen_id, shown, first_stage, user"


@dataclass(frozen=True)
class ShownAnswer:
    """One row the agent saw: the FAQ id, its score (None: not scored) and its rank (from 1)."""

    id: str
    score: float | None
    rank: int


@dataclass(frozen=True)
class FeedbackRecord:
    """One stored pick. ``chosen_id`` None means the agent answered "none of these"."""

    id: int
    time: str
    request_id: str | None
    base: str
    base_version: str
    question: str
    instruction: str | None
    chosen_id: str | None
    shown: tuple[ShownAnswer, ...]
    first_stage: str | None
    user: str | None


def _v1_picks(connection: sqlite3.Connection) -> None:
    connection.execute(
        """CREATE TABLE picks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            time TEXT NOT NULL,
            request_id TEXT,
            base TEXT NOT NULL,
            base_version TEXT NOT NULL,
            question TEXT NOT NULL,
            instruction TEXT,
            chosen_id TEXT,
            shown TEXT NOT NULL,
            first_stage TEXT
        )"""
    )
    connection.execute("CREATE INDEX picks_by_base ON picks (base, id)")


def _v2_user_and_settings(connection: sqlite3.Connection) -> None:
    connection.execute("ALTER TABLE picks ADD COLUMN user TEXT")
    connection.execute(
        "CREATE TABLE settings (base TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, "
        "PRIMARY KEY (base, key))"
    )


#: Schema changes in order; ``PRAGMA user_version`` counts how many a database has had.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v1_picks, _v2_user_and_settings)
SCHEMA_VERSION = len(MIGRATIONS)


def question_key(question: str) -> str:
    """What makes two questions "the same" for the export: NFKC, case and spacing ignored.

    >>> question_key("  Where is my  ORDER? ") == question_key("where is my order?")
    True
    """
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", question)).strip().casefold()


class FeedbackStore:
    """Agents' picks and per-base settings in one SQLite file (created, or migrated, on open)."""

    def __init__(self, path: str | Path, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            _migrate(connection)

    def record(
        self,
        *,
        base: str,
        base_version: str,
        question: str,
        chosen_id: str | None,
        shown: Sequence[ShownAnswer] = (),
        instruction: str | None = None,
        first_stage: str | None = None,
        request_id: str | None = None,
        user: str | None = None,
    ) -> int:
        """Store one pick and return its id once it is on disk. ``chosen_id=None``: none of these."""
        question = clean(question)
        if not question:
            raise InvalidInput("The question is empty: record a pick for the question that was asked.")
        if not base.strip():
            raise InvalidInput("Name the FAQ base the pick was made in.")
        if chosen_id is not None and not chosen_id.strip():
            raise InvalidInput('The chosen FAQ id is empty: send null for "none of these".')
        row = (
            datetime.now(UTC).isoformat(timespec="milliseconds"),
            request_id,
            base,
            base_version,
            question,
            instruction,
            chosen_id,
            json.dumps([asdict(answer) for answer in shown], ensure_ascii=False),
            first_stage,
            user,
        )
        with self._transaction() as connection:
            cursor = connection.execute(
                f"INSERT INTO picks ({_COLUMNS}) VALUES ({', '.join('?' * len(row))})", row
            )
        assert cursor.lastrowid is not None  # always set by an INSERT
        return cursor.lastrowid

    def undo(self, record_id: int) -> bool:
        """Delete a pick (the agent clicked by mistake). False when there is no such record."""
        with self._transaction() as connection:
            return connection.execute("DELETE FROM picks WHERE id = ?", (record_id,)).rowcount > 0

    def records(self, base: str | None = None) -> list[FeedbackRecord]:
        """Every pick (of one base, when given), oldest first."""
        query = f"SELECT id, {_COLUMNS} FROM picks"
        with self._connect() as connection:
            if base is None:
                rows = connection.execute(query + " ORDER BY id").fetchall()
            else:
                rows = connection.execute(query + " WHERE base = ? ORDER BY id", (base,)).fetchall()
        return [_to_record(row) for row in rows]

    def export_labels(self, base: str, known_ids: Set[str] | None = None) -> str:
        """The base's picks as a labelled query set: CSV ``query,relevant_ids``.

        The same question (see :func:`question_key`) asked again keeps only its latest pick,
        so an agent's correction replaces the earlier answer; "none of these" exports an empty
        ``relevant_ids`` (out of scope). Rows follow the order of those latest picks. With
        ``known_ids``, picks of FAQ ids no longer in the base are left out, so the file loads
        against the base as it is now.
        """
        latest: dict[str, FeedbackRecord] = {}
        for record in self.records(base):
            if known_ids is None or record.chosen_id is None or record.chosen_id in known_ids:
                key = question_key(record.question)
                latest.pop(key, None)  # re-inserted last: the file follows the latest picks' order
                latest[key] = record
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["query", "relevant_ids"])
        writer.writerows([r.question, r.chosen_id or ""] for r in latest.values())
        return out.getvalue()

    def set_threshold(self, base: str, value: float | None) -> None:
        """Store the confidence threshold for ``base`` (None: back to the desk's default)."""
        with self._transaction() as connection:
            if value is None:
                connection.execute(
                    "DELETE FROM settings WHERE base = ? AND key = ?", (base, THRESHOLD_SETTING)
                )
                return
            connection.execute(
                "INSERT OR REPLACE INTO settings (base, key, value) VALUES (?, ?, ?)",
                (base, THRESHOLD_SETTING, repr(check_threshold(value))),
            )

    def threshold(self, base: str) -> float | None:
        """The stored confidence threshold for ``base``; None when none was set."""
        with self._connect() as connection:
            row = connection.execute(
                "SELECT value FROM settings WHERE base = ? AND key = ?", (base, THRESHOLD_SETTING)
            ).fetchone()
        return None if row is None else float(row[0])

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A fresh connection in autocommit mode, closed afterwards (one per call: thread-safe)."""
        connection = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
        try:
            connection.execute("PRAGMA synchronous=FULL")
            yield connection
        finally:
            connection.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the write lock up front (no deadlock on upgrade)."""
        with self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")


def _migrate(connection: sqlite3.Connection) -> None:
    """Apply, in one transaction, the migrations this database has not had yet."""
    connection.execute("BEGIN IMMEDIATE")
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        connection.execute("ROLLBACK")
        raise InvalidInput(
            f"The feedback database is at schema version {version}, newer than this program "
            f"({SCHEMA_VERSION}). Upgrade FAQ Rerank Desk, or point --data-dir at another folder."
        )
    for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
        migration(connection)
        connection.execute(f"PRAGMA user_version = {number}")
    connection.execute("COMMIT")


def _to_record(row: tuple) -> FeedbackRecord:
    *fields, shown, first_stage, user = row
    answers = tuple(ShownAnswer(**answer) for answer in json.loads(shown))
    return FeedbackRecord(*fields, shown=answers, first_stage=first_stage, user=user)
