"""The team database's schema: migrations create it, match the models, and run safely more than once."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from reranker.errors import InvalidInput
from reranker.store import current_revision, default_url, head_revision, make_engine, open_store, upgrade
from reranker.store.database import parse_url
from reranker.store.models import Base

TABLES = {"picks", "thresholds", "faq_bases", "users", "api_keys", "legacy_imports", "alembic_version",
          "faq_entry_versions", "phrasing_suggestions", "dismissed_gap_questions"}


def test_upgrade_creates_every_table_at_the_newest_revision(database_url):
    assert upgrade(database_url) == head_revision()
    engine = make_engine(database_url)
    assert set(sa.inspect(engine).get_table_names()) == TABLES
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_the_migrations_build_exactly_the_schema_the_models_describe(database_url):
    upgrade(database_url)
    engine = make_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_upgrading_twice_changes_nothing_and_keeps_the_data(database_url):
    store = open_store("/nonexistent", database_url, bcrypt_rounds=4)
    store.record(base="en", base_version="v1", question="refund?", chosen_id="en-010")
    store.close()
    assert upgrade(database_url) == head_revision()
    assert [r.question for r in open_store("/nonexistent", database_url).records()] == ["refund?"]


def _upgrade_in_child(url: str, failures) -> None:
    try:
        upgrade(url)
    except Exception as exc:  # reported to the parent, which fails the test
        failures.put(repr(exc))


def test_desks_starting_together_migrate_one_after_the_other(database_url):
    fork = multiprocessing.get_context("fork")
    failures = fork.Queue()
    desks = [fork.Process(target=_upgrade_in_child, args=(database_url, failures)) for _ in range(3)]
    for desk in desks:
        desk.start()
    for desk in desks:
        desk.join(timeout=60)
    assert [desk.exitcode for desk in desks] == [0, 0, 0]
    assert failures.empty(), failures.get()
    assert current_revision(make_engine(database_url)) == head_revision()


def test_threads_of_one_desk_can_upgrade_at_once(database_url):
    with ThreadPoolExecutor(3) as pool:
        assert set(pool.map(upgrade, [database_url] * 3)) == {head_revision()}


def test_a_database_newer_than_the_program_is_refused_with_what_to_do(database_url):
    upgrade(database_url)
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(InvalidInput, match=r"newer than this program.*Upgrade FAQ Rerank Desk"):
        upgrade(engine)


def test_sqlite_runs_in_wal_mode_with_full_sync(tmp_path):
    engine = make_engine(default_url(tmp_path / "new" / "folder"))
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert (tmp_path / "new" / "folder" / "desk.db").exists()


def test_plain_postgresql_urls_use_psycopg_3():
    assert parse_url("postgresql://desk@db/desk").drivername == "postgresql+psycopg"
    assert parse_url("postgres://desk@db/desk").drivername == "postgresql+psycopg"


@pytest.mark.parametrize("url", ["mysql://db/desk", "not a url", "sqlite://", "sqlite:///:memory:"])
def test_unusable_database_urls_say_which_ones_work(url):
    with pytest.raises(InvalidInput, match=r"sqlite:///PATH/desk.db or postgresql\+psycopg://"):
        make_engine(url)
