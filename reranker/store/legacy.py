"""Copy a ``feedback.sqlite3`` (the desk's store before the team database) into the database, once.

Every pick keeps its fields and its time; the ids too when the database has no picks yet (so an
id an agent saw still names the same pick), new ids otherwise. Stored thresholds come along
(``set_by`` None: the old file did not say who set them); a base that already has a threshold in
the database keeps it. The file itself is left as it was.

The copy is one transaction that also writes a fingerprint of the file's rows to
``legacy_imports``: it happens completely or not at all, and never twice, even when several desks
start at once.

>>> import_feedback_file(store, data_dir / "feedback.sqlite3")   # doctest: +SKIP
LegacyImportResult(source='.../feedback.sqlite3', picks=1250, thresholds=2, kept_ids=True)
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

from reranker.errors import InvalidInput
from reranker.store import models
from reranker.store.retrying import retrying
from reranker.store.store import Store

log = logging.getLogger(__name__)

LEGACY_FILE = "feedback.sqlite3"
_PICK_COLUMNS = ("id", "time", "request_id", "base", "base_version", "question", "instruction",
                 "chosen_id", "shown", "first_stage", "user")  # fmt: skip


@dataclass(frozen=True)
class LegacyImportResult:
    """What one import copied: picks and thresholds, and whether the picks kept their ids."""

    source: str
    picks: int
    thresholds: int
    kept_ids: bool


@dataclass(frozen=True)
class _LegacyRows:
    picks: list[dict[str, Any]]
    thresholds: dict[str, float]
    fingerprint: str


def read_feedback_file(path: Path) -> _LegacyRows:
    """Every pick and threshold in a ``feedback.sqlite3`` of any schema version (1 or 2)."""
    try:
        connection = sqlite3.connect(path, timeout=30)
    except sqlite3.Error as exc:
        raise InvalidInput(f"Cannot open the old feedback file {path}: {exc}.") from exc
    try:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        picks: list[dict[str, Any]] = []
        if "picks" in tables:
            present = {row[1] for row in connection.execute("PRAGMA table_info(picks)")}
            columns = [c if c in present else f"NULL AS {c}" for c in _PICK_COLUMNS]
            cursor = connection.execute(f"SELECT {', '.join(columns)} FROM picks ORDER BY id")
            picks = [dict(zip(_PICK_COLUMNS, row)) for row in cursor]
        thresholds: dict[str, float] = {}
        if "settings" in tables:
            rows = connection.execute("SELECT base, value FROM settings WHERE key = 'threshold'")
            thresholds = {base: float(value) for base, value in rows}
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(f"The old feedback file {path} cannot be read ({exc}); move it aside.") from exc
    finally:
        connection.close()
    digest = hashlib.sha256()
    for pick in picks:
        digest.update(json.dumps(pick, ensure_ascii=False, sort_keys=True).encode() + b"\n")
    digest.update(json.dumps(thresholds, sort_keys=True).encode())
    return _LegacyRows(picks, thresholds, digest.hexdigest())


def import_feedback_file(store: Store, path: Path) -> LegacyImportResult | None:
    """Copy the file's picks and thresholds into ``store``; None when it was copied before."""
    rows = read_feedback_file(path)
    try:
        result = _copy(store, rows, str(path))
    except IntegrityError:  # another desk copied the same file at the same moment
        return None
    if result is not None:
        log.info("copied %d picks and %d thresholds from %s into the database (ids %s)",
                 result.picks, result.thresholds, path, "kept" if result.kept_ids else "renumbered")  # fmt: skip
    return result


@retrying
def _copy(store: Store, rows: _LegacyRows, source: str) -> LegacyImportResult | None:
    now = datetime.now(UTC)
    with store._write() as session, session.begin():
        if session.get(models.LegacyImport, rows.fingerprint) is not None:
            return None
        kept_ids = session.scalar(select(func.count()).select_from(models.Pick)) == 0
        picks = [_pick_row(pick, kept_ids) for pick in rows.picks]
        if picks:
            session.execute(insert(models.Pick), picks)
        if kept_ids and picks and session.get_bind().dialect.name == "postgresql":
            # Explicit ids leave the id sequence behind: move it past them.
            session.execute(
                text("SELECT setval(pg_get_serial_sequence('picks', 'id'), (SELECT max(id) FROM picks))")
            )
        copied = 0
        for base, value in rows.thresholds.items():
            if session.get(models.Threshold, base) is None:
                session.add(models.Threshold(base=base, value=value, set_by=None, set_at=now))
                copied += 1
            else:
                log.warning("base %r already has a threshold in the database; %s's %g is not copied",
                            base, source, value)  # fmt: skip
        session.add(models.LegacyImport(fingerprint=rows.fingerprint, source=source, picks=len(picks),
                                        thresholds=copied, imported_at=now))  # fmt: skip
    return LegacyImportResult(source, len(picks), copied, kept_ids)


def _pick_row(pick: dict[str, Any], keep_id: bool) -> dict[str, Any]:
    row = dict(
        pick, time=datetime.fromisoformat(pick["time"]).astimezone(UTC), shown=json.loads(pick["shown"])
    )
    if not keep_id:
        del row["id"]
    return row
