"""Engines and migrations: which database a URL names, how it is opened, and ``upgrade(url)``.

SQLite (the default, ``sqlite:///<data-dir>/desk.db``) runs in WAL mode with ``synchronous=FULL``:
the WAL is fsynced before a write returns, so an acknowledged write survives a SIGKILL or a power
cut. Write transactions start with ``BEGIN IMMEDIATE`` (they take the write lock up front and
queue on it for up to ``busy_timeout_s``, instead of failing when a reader upgrades). PostgreSQL
is ``postgresql+psycopg://user:password@host:port/db`` (psycopg 3; ``postgresql://`` means the
same); connections are checked before use, so a restarted server is reconnected to.

Migrations are Alembic revisions shipped in ``reranker/store/migrations``; :func:`upgrade` applies
the missing ones under a lock, so desks starting together do not race.

>>> engine = make_engine(default_url(tmp_path))      # doctest: +SKIP
>>> upgrade(engine)                                   # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from reranker.errors import InvalidInput

log = logging.getLogger(__name__)

DATABASE_FILE = "desk.db"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
DEFAULT_BUSY_TIMEOUT_S = 30.0
#: The execution option that makes a SQLite transaction take the write lock when it begins.
WRITE_LOCK = "store_write_lock"
#: pg_advisory_xact_lock key held while migrating (any constant; "FAQRRDSK" in hex).
PG_MIGRATION_LOCK = 0x4641515252445348
#: Alembic keeps the running migration in module globals: one upgrade at a time per process.
_UPGRADE_LOCK = threading.Lock()
URL_HELP = "Give --database-url as sqlite:///PATH/desk.db or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB."


def default_url(data_dir: str | Path) -> str:
    """The default database: ``desk.db`` in the data directory.

    >>> default_url("/srv/desk")
    'sqlite:////srv/desk/desk.db'
    """
    return f"sqlite:///{Path(data_dir) / DATABASE_FILE}"


def parse_url(url: str | URL) -> URL:
    """The URL with PostgreSQL's driver made psycopg 3; :class:`InvalidInput` for anything else.

    >>> parse_url("postgresql://desk:pw@db:5432/desk").drivername
    'postgresql+psycopg'
    >>> parse_url("mysql://db/desk")
    Traceback (most recent call last):
    ...
    reranker.errors.InvalidInput: The database URL names mysql, which this desk does not support. Give --database-url as sqlite:///PATH/desk.db or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidInput(f"{str(url)!r} is not a database URL. {URL_HELP}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise InvalidInput(
            f"The database URL names {parsed.drivername}, which this desk does not support. {URL_HELP}"
        )
    return parsed


def make_engine(url: str | URL, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> Engine:
    """An engine for ``url`` with the settings above (SQLite's folder is created)."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, busy_timeout_s)
    try:
        return create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=10,
                             connect_args={"connect_timeout": 10})  # fmt: skip
    except NoSuchModuleError:
        raise InvalidInput(f"psycopg is not installed: pip install 'psycopg[binary]'. {URL_HELP}") from None


def _sqlite_engine(url: URL, busy_timeout_s: float) -> Engine:
    if url.database in (None, "", ":memory:"):
        raise InvalidInput(f"Give the SQLite database a file (the desks share it). {URL_HELP}")
    Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": busy_timeout_s})

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling is switched off; "begin" below emits BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE_LOCK, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this program knows."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None  # the package ships its revisions
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(database: str | URL | Engine, revision: str = "head") -> str:
    """Apply the migrations the database has not had yet; returns the revision it is at now.

    Takes a lock first (PostgreSQL: an advisory lock; SQLite: the write lock; and one per
    process), so several desks starting at once migrate one after the other. A database newer than this program is an
    :class:`InvalidInput` saying to upgrade the program.
    """
    engine = database if isinstance(database, Engine) else make_engine(database)
    try:
        with _UPGRADE_LOCK, engine.connect().execution_options(**{WRITE_LOCK: True}) as connection:
            command.upgrade(_alembic_config(connection), revision)
    except CommandError as exc:
        if "Can't locate revision" not in str(exc):
            raise
        raise InvalidInput(
            f"The database's schema is newer than this program ({exc}). Upgrade FAQ Rerank Desk on "
            "this machine to the version the other desks run."
        ) from None
    finally:
        if engine is not database:
            engine.dispose()
    now = current_revision(engine)
    assert now is not None
    log.info("database schema at revision %s", now)
    return now
