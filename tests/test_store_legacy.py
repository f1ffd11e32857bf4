"""The first start on the team database copies today's feedback.sqlite3 in, once, with nothing lost."""

from __future__ import annotations

import multiprocessing
import sqlite3
from dataclasses import asdict
from pathlib import Path

import legacy_feedback_store
import pytest
from legacy_feedback_store import FeedbackStore, ShownAnswer

from reranker.store import LEGACY_FILE, Store, open_store


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def old_store(data_dir) -> FeedbackStore:
    """A feedback.sqlite3 written by today's code: picks of two bases, one undone, two thresholds."""
    old = FeedbackStore(data_dir / LEGACY_FILE)
    shown = (ShownAnswer("en-004", 0.91, 1), ShownAnswer("en-005", None, 2))
    old.record(base="en", base_version="3f2a", question="where is my parcel", chosen_id="en-004", shown=shown,
               instruction="Judge it", first_stage="keyword", request_id="req-1", user="ana")  # fmt: skip
    mistake = old.record(base="en", base_version="3f2a", question="oops", chosen_id="en-001")
    old.record(base="中文 FAQ", base_version="77aa", question="退货政策是什么？", chosen_id=None, user="li")
    old.undo(mistake)
    old.record(base="en", base_version="3f2b", question='refund "now", please', chosen_id="en-010")
    old.set_threshold("en", 0.37)
    old.set_threshold("中文 FAQ", 0.8)
    return old


def fields(records) -> list[dict]:
    return [asdict(record) for record in records]


def test_every_pick_and_threshold_of_todays_file_is_copied_with_its_id(old_store, data_dir, database_url):
    store = open_store(data_dir, database_url)
    assert fields(store.records()) == fields(old_store.records())
    assert [r.id for r in store.records()] == [1, 3, 4]  # the undone pick's id stays unused
    for base in ("en", "中文 FAQ"):
        assert store.threshold(base) == old_store.threshold(base)
        assert store.export_labels(base) == old_store.export_labels(base)
    assert store.threshold_setting("en").set_by is None  # the old file did not say who


def test_the_copy_happens_once_and_new_picks_follow_the_old_ids(old_store, data_dir, database_url):
    open_store(data_dir, database_url).close()
    store = open_store(data_dir, database_url)
    assert len(store.records()) == 3
    assert store.record(base="en", base_version="v", question="new one", chosen_id=None) == 5


def test_the_old_file_is_left_as_it_was(old_store, data_dir, database_url):
    before = fields(old_store.records())
    open_store(data_dir, database_url)
    assert fields(FeedbackStore(data_dir / LEGACY_FILE).records()) == before


def test_a_first_version_file_without_users_or_settings_is_copied(data_dir, database_url):
    data_dir.mkdir()
    with sqlite3.connect(data_dir / LEGACY_FILE) as connection:
        legacy_feedback_store.MIGRATIONS[0](connection)  # the schema before picks had a user
        connection.execute("PRAGMA user_version = 1")
        connection.execute(
            "INSERT INTO picks (time, base, base_version, question, chosen_id, shown) VALUES "
            "('2025-11-02T10:00:00.000+00:00', 'en', 'v0', 'old question', 'en-002', '[]')"
        )
    [record] = open_store(data_dir, database_url).records()
    assert (record.id, record.time, record.question, record.user) == (
        1, "2025-11-02T10:00:00.000+00:00", "old question", None
    )  # fmt: skip


def test_a_second_desks_file_is_added_to_a_database_that_already_has_picks(
    old_store, data_dir, database_url, tmp_path
):
    other_dir = tmp_path / "desk-b"
    other = FeedbackStore(other_dir / LEGACY_FILE)
    other.record(base="en", base_version="v", question="desk b's question", chosen_id="en-002", user="bo")
    other.set_threshold("en", 0.9)  # desk A's 0.37 was there first and stays
    other.set_threshold("fr", 0.5)
    open_store(data_dir, database_url)
    store = open_store(other_dir, database_url)
    assert [(r.id, r.question) for r in store.records()] == [
        (1, "where is my parcel"), (3, "退货政策是什么？"), (4, 'refund "now", please'), (5, "desk b's question")
    ]  # fmt: skip
    assert (store.threshold("en"), store.threshold("fr")) == (0.37, 0.5)


def _open(data_dir: Path, url: str) -> None:
    open_store(data_dir, url).close()


def test_desks_starting_together_copy_the_file_once(old_store, data_dir, database_url):
    fork = multiprocessing.get_context("fork")
    desks = [fork.Process(target=_open, args=(data_dir, database_url)) for _ in range(3)]
    for desk in desks:
        desk.start()
    for desk in desks:
        desk.join(timeout=60)
    assert [desk.exitcode for desk in desks] == [0, 0, 0]
    assert len(Store(database_url).records()) == 3


def test_an_empty_old_file_copies_nothing(data_dir, database_url):
    FeedbackStore(data_dir / LEGACY_FILE)
    store = open_store(data_dir, database_url)
    assert (store.records(), store.thresholds()) == ([], [])
