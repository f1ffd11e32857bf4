"""The team's database: picks, thresholds, uploaded FAQ bases, users and API keys.

SQLite by default (``sqlite:///<data-dir>/desk.db``), PostgreSQL for several desks
(``postgresql+psycopg://...``); SQLAlchemy 2 models, Alembic migrations shipped in the package.
:func:`open_store` is what a desk calls at start: migrate, copy an old ``feedback.sqlite3`` in
(once), and return the :class:`Store`.

>>> store = open_store(data_dir)                                       # doctest: +SKIP
>>> store.record(base="en", base_version="3f2a", question="refund?", chosen_id="en-010", user="ana")  # doctest: +SKIP
1
"""

from __future__ import annotations

import logging
from pathlib import Path

from reranker.store.accounts import ROLES, Account, KeyInfo, Role
from reranker.store.database import current_revision, default_url, head_revision, make_engine, upgrade
from reranker.store.legacy import LEGACY_FILE, LegacyImportResult, import_feedback_file
from reranker.store.retrying import retry
from reranker.store.store import (
    BaseInfo,
    PickRecord,
    ShownAnswer,
    Store,
    StoredBase,
    ThresholdSetting,
    question_key,
)

log = logging.getLogger(__name__)

__all__ = [
    "LEGACY_FILE",
    "ROLES",
    "Account",
    "BaseInfo",
    "KeyInfo",
    "LegacyImportResult",
    "PickRecord",
    "Role",
    "ShownAnswer",
    "Store",
    "StoredBase",
    "ThresholdSetting",
    "current_revision",
    "default_url",
    "head_revision",
    "import_feedback_file",
    "make_engine",
    "open_store",
    "question_key",
    "upgrade",
]


def open_store(data_dir: str | Path, database_url: str | None = None, **options: float) -> Store:
    """The team's store, ready to use: ``database_url`` (default ``desk.db`` in ``data_dir``)
    migrated to this program's schema, with ``data_dir``'s old ``feedback.sqlite3`` copied in
    the first time. ``options`` go to :class:`Store` (``retry_s``, ``bcrypt_rounds``); a database
    that stays unreachable for ``retry_s`` is a :class:`~reranker.errors.DatabaseUnavailable`."""
    data_dir = Path(data_dir)
    store = Store(make_engine(database_url or default_url(data_dir)), **options)  # type: ignore[arg-type]
    retry(lambda: upgrade(store.engine), store.retry_s, "upgrade")
    legacy = data_dir / LEGACY_FILE
    if legacy.is_file():
        import_feedback_file(store, legacy)
    return store
