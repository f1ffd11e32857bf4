"""--retain-days: picks older than N days are deleted at start and then on every interval."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from reranker.errors import InvalidInput
from reranker.store import Store, open_store
from reranker.store import store as store_module
from reranker.store.retention import RetentionJob


@pytest.fixture
def store(database_url, tmp_path) -> Store:
    return open_store(tmp_path, database_url)


def pick_aged(store: Store, monkeypatch, days: float, question: str) -> None:
    aged = datetime.now(UTC) - timedelta(days=days)
    monkeypatch.setattr(store_module, "_now", lambda: aged)
    store.record(base="en", base_version="v", question=question, chosen_id=None)
    monkeypatch.undo()


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_old_picks_go_at_start_and_again_on_each_interval(store, monkeypatch):
    pick_aged(store, monkeypatch, 100, "old")
    pick_aged(store, monkeypatch, 1, "recent")
    job = RetentionJob(store, days=30, interval_s=0.3).start()
    try:
        wait_for(lambda: job.purged == 1)
        assert [r.question for r in store.records()] == ["recent"]
        pick_aged(store, monkeypatch, 45, "aged since")
        wait_for(lambda: job.purged == 2)
        assert [r.question for r in store.records()] == ["recent"]
    finally:
        job.stop()


def test_stop_returns_at_once_between_purges(store):
    job = RetentionJob(store, days=30).start()  # next purge in a day
    wait_for(lambda: job.runs == 1)
    start = time.monotonic()
    job.stop()
    assert time.monotonic() - start < 2


def test_an_unavailable_database_is_tried_again_sooner(tmp_path, caplog):
    from conftest import free_port

    unreachable = Store(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/desk", retry_s=0.1)
    job = RetentionJob(unreachable, days=30, retry_after_s=0.1).start()
    wait_for(lambda: caplog.text.count("not purged yet") >= 2)
    job.stop()


def test_negative_days_are_refused():
    with pytest.raises(InvalidInput, match="0 or more"):
        RetentionJob(None, days=-1)  # type: ignore[arg-type]
