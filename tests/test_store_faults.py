"""A database that goes away: the store says "database unavailable, retrying", waits, and recovers."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

import pytest
from sqlalchemy.exc import OperationalError

from reranker.errors import DatabaseUnavailable, RerankError
from reranker.store import Store, default_url, make_engine, open_store, upgrade


def pick(store: Store, question: str) -> int:
    return store.record(base="en", base_version="v", question=question, chosen_id="en-001")


@pytest.fixture
def pg_url(postgres):
    name = "faults"
    postgres.execute(f"CREATE DATABASE {name}")
    upgrade(postgres.url(name))
    yield postgres.url(name)
    postgres.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def restart(postgres):
    """Stop the server now and start it again after ``delay`` seconds (the server is up after the test)."""
    timers: list[threading.Timer] = []

    def stop_for(delay: float) -> threading.Timer:
        postgres.stop()
        timer = threading.Timer(delay, postgres.start)
        timers.append(timer)
        timer.start()
        return timer

    yield stop_for
    for timer in timers:
        timer.join()


def test_a_pick_made_while_postgresql_restarts_waits_for_it_and_is_kept(pg_url, restart, caplog):
    store = Store(pg_url, retry_s=30)
    before = [pick(store, f"before {n}") for n in range(5)]  # the pool now holds connections
    restart(1.0)
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="reranker.store"):
        during = pick(store, "during the restart")
    assert 0.5 < time.monotonic() - start < 30
    assert "database unavailable, retrying" in caplog.text
    assert [r.id for r in Store(pg_url).records()] == [*before, during]


def test_a_database_down_for_longer_than_retry_s_is_a_clear_error(pg_url, restart):
    store = Store(pg_url, retry_s=0.3)
    pick(store, "acknowledged")
    back_up = restart(1.5)
    start = time.monotonic()
    with pytest.raises(DatabaseUnavailable, match=r"Database unavailable, retried for 0\.3 s .*Try again"):
        pick(store, "lost to the outage, and the agent is told so")
    assert time.monotonic() - start < 1.5
    assert issubclass(DatabaseUnavailable, RerankError)  # shown as a message, 503 in the API
    back_up.join()
    assert [r.question for r in store.records()] == ["acknowledged"]  # recovers by itself


def test_a_sqlite_file_locked_past_its_busy_timeout_is_retried_then_reported(tmp_path):
    url = default_url(tmp_path)
    upgrade(url)
    store = Store(make_engine(url, busy_timeout_s=0.1), retry_s=0.3)
    blocker = sqlite3.connect(tmp_path / "desk.db", isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    with pytest.raises(DatabaseUnavailable, match="database is locked"):
        pick(store, "waits for the lock")
    assert store.records() == []  # readers are not blocked by a writer (WAL)
    threading.Timer(0.3, lambda: blocker.execute("ROLLBACK")).start()
    assert Store(make_engine(url, busy_timeout_s=0.1), retry_s=5).record(
        base="en", base_version="v", question="lands once the lock is free", chosen_id=None
    )  # fmt: skip
    blocker.close()


def test_a_bug_is_not_mistaken_for_an_outage(tmp_path):
    store = Store(default_url(tmp_path), retry_s=30)  # never migrated: no tables
    start = time.monotonic()
    with pytest.raises(OperationalError, match="no such table"):
        pick(store, "question")
    assert time.monotonic() - start < 1


def test_an_unreachable_server_at_start_is_a_clear_error(postgres):
    from conftest import free_port

    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/desk"
    store = Store(url, retry_s=0.3)
    with pytest.raises(DatabaseUnavailable, match="Database unavailable"):
        store.records()
    with pytest.raises(DatabaseUnavailable, match="Database unavailable"):
        open_store("/nonexistent", url, retry_s=0.3)  # the desk does not start, and says why
