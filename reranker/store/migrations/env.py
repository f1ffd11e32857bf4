"""Alembic's environment: run by :func:`reranker.store.database.upgrade` with an open connection.

For writing a new revision, Alembic's own command line works too, with the database URL as ``-x``
and a two-line ini (``[alembic]``, ``script_location = reranker/store/migrations``,
``prepend_sys_path = .``), from the repository root::

    alembic -c store.ini -x url=sqlite:////tmp/dev/desk.db upgrade head
    alembic -c store.ini -x url=sqlite:////tmp/dev/desk.db revision --autogenerate -m "..."
    alembic -c store.ini -x url=sqlite:////tmp/dev/desk.db check   # models == migrations
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from reranker.store.database import PG_MIGRATION_LOCK, WRITE_LOCK, make_engine
from reranker.store.models import Base


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things: copy-and-move tables instead
        compare_type=True,
        transactional_ddl=True,  # SQLite's DDL is transactional too: a revision applies whole or not at all
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})
        context.run_migrations()


def main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = make_engine(context.get_x_argument(as_dictionary=True)["url"])
    with engine.connect().execution_options(**{WRITE_LOCK: True}) as fresh:
        run_migrations(fresh)
    engine.dispose()


if hasattr(
    context, "config"
):  # run by Alembic (imported elsewhere, e.g. by pytest's doctests, it does nothing)
    main()
