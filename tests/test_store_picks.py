"""Picks and thresholds in the team database: kept whole, exported like before, purged on request."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from legacy_feedback_store import FeedbackStore

from reranker.errors import InvalidInput
from reranker.store import ShownAnswer, Store, open_store
from reranker.store import store as store_module

ROOT = Path(__file__).resolve().parent.parent
# Records picks until killed; prints each id once record() has returned.
WRITER = """
import sys
from reranker.store import Store
store = Store(sys.argv[1])
n = 0
while True:
    n += 1
    print(store.record(base="en", base_version="v", question=f"question {n}", chosen_id="en-001"), flush=True)
"""


@pytest.fixture
def store(database_url, tmp_path) -> Store:
    return open_store(tmp_path, database_url, bcrypt_rounds=4)


def pick(store: Store, question: str, chosen_id: str | None = "en-004", base: str = "en", **fields) -> int:
    return store.record(base=base, base_version="v1", question=question, chosen_id=chosen_id, **fields)


def at(monkeypatch, moment: datetime) -> None:
    """Make the store's clock say ``moment``."""
    monkeypatch.setattr(store_module, "_now", lambda: moment)


def test_a_pick_keeps_everything_the_desk_showed_and_who_picked(store):
    shown = (ShownAnswer("en-004", 0.91, 1), ShownAnswer("en-005", None, 2))
    record_id = pick(store, "  where is my parcel ", shown=shown, instruction="Judge it",
                     first_stage="keyword", request_id="req-1", user="ana")  # fmt: skip
    [saved] = store.records("en")
    assert saved.id == record_id and saved.question == "where is my parcel"
    assert (saved.chosen_id, saved.shown, saved.first_stage, saved.user) == (
        "en-004",
        shown,
        "keyword",
        "ana",
    )
    assert (saved.request_id, saved.instruction, saved.base_version) == ("req-1", "Judge it", "v1")
    assert datetime.fromisoformat(saved.time) - datetime.now(UTC) < timedelta(seconds=5)


def test_records_are_oldest_first_and_filtered_by_base(store):
    first, second, third = pick(store, "a"), pick(store, "b", base="fr"), pick(store, "c", chosen_id=None)
    assert [r.id for r in store.records()] == [first, second, third]
    assert [(r.question, r.chosen_id) for r in store.records("en")] == [("a", "en-004"), ("c", None)]
    assert store.pick_count() == 3 and store.pick_count("fr") == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"question": "   "}, "question is empty"),
        ({"base": " "}, "Name the FAQ base"),
        ({"chosen_id": " "}, "send null"),
    ],
)
def test_a_pick_without_a_question_base_or_answer_is_refused(store, fields, message):
    arguments = {"base": "en", "base_version": "v1", "question": "refund?", "chosen_id": "en-010"} | fields
    with pytest.raises(InvalidInput, match=message):
        store.record(**arguments)
    assert store.records() == []


def test_undo_deletes_only_that_pick(store):
    keep, mistake = pick(store, "a"), pick(store, "b")
    assert store.undo(mistake) is True
    assert store.undo(mistake) is False
    assert [r.id for r in store.records()] == [keep]


def test_export_is_the_same_csv_as_todays_feedback_store(store, tmp_path):
    old = FeedbackStore(tmp_path / "old.sqlite3")
    picks = [("Where is my order?", "en-004"), ("refund", None), ("where is my  ORDER?", "en-005"),
             ('a "quoted", question', "en-gone"), ("Ünïcode question", "en-001")]  # fmt: skip
    for question, chosen in picks:
        pick(store, question, chosen)
        old.record(base="en", base_version="v1", question=question, chosen_id=chosen)
    pick(store, "other base", base="fr")
    known = {"en-001", "en-004", "en-005"}
    assert store.export_labels("en") == old.export_labels("en")
    assert store.export_labels("en", known_ids=known) == old.export_labels("en", known_ids=known)
    assert store.export_labels("en", known_ids=known).splitlines() == [
        "query,relevant_ids", "refund,", "where is my  ORDER?,en-005", "Ünïcode question,en-001"
    ]  # fmt: skip


def test_a_threshold_records_who_set_it_and_when_and_can_be_removed(store, monkeypatch):
    assert store.threshold("en") is None
    at(monkeypatch, datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
    store.set_threshold("en", 0.42, set_by="lena")
    setting = store.threshold_setting("en")
    assert (setting.value, setting.set_by, setting.set_at) == (
        0.42,
        "lena",
        datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
    )
    store.set_threshold("en", 0.6, set_by="omar")
    store.set_threshold("fr", 0.3)
    assert [(s.base, s.value, s.set_by) for s in store.thresholds()] == [
        ("en", 0.6, "omar"),
        ("fr", 0.3, None),
    ]
    assert store.remove_threshold("en") is True
    assert store.remove_threshold("en") is False
    store.set_threshold("fr", None)
    assert (store.threshold("en"), store.threshold("fr"), store.thresholds()) == (None, None, [])


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan")])
def test_a_threshold_outside_0_to_1_is_refused(store, value):
    with pytest.raises(InvalidInput, match="between 0 and 1"):
        store.set_threshold("en", value, set_by="lena")
    assert store.threshold("en") is None


def test_purge_deletes_picks_before_a_date_of_one_base_or_all(store, monkeypatch):
    for day, base in [(1, "en"), (2, "fr"), (3, "en"), (10, "en")]:
        at(monkeypatch, datetime(2026, 5, day, 12, tzinfo=UTC))
        pick(store, f"day {day}", base=base)
    assert store.purge_picks(date(2026, 5, 3), base="en") == 1
    assert [r.question for r in store.records()] == ["day 2", "day 3", "day 10"]
    assert store.purge_picks(datetime(2026, 5, 3, 12, 0, 1, tzinfo=UTC)) == 2
    assert [r.question for r in store.records()] == ["day 10"]


def test_purge_older_than_keeps_the_last_days(store, monkeypatch):
    now = datetime.now(UTC)
    for age in (40, 31, 29, 0):
        at(monkeypatch, now - timedelta(days=age))
        pick(store, f"{age} days old")
    monkeypatch.undo()
    assert store.purge_older_than(30) == 2
    assert [r.question for r in store.records()] == ["29 days old", "0 days old"]


def test_purge_needs_a_time_zone(store):
    with pytest.raises(InvalidInput, match="time zone"):
        store.purge_picks(datetime(2026, 1, 1))


def _write_picks(url: str, writer: int, count: int, ids) -> None:
    store = Store(url)
    ids.put([pick(store, f"writer {writer} question {n}") for n in range(count)])


def test_desks_writing_at_once_lose_no_pick(store, database_url):
    fork = multiprocessing.get_context("fork")
    ids = fork.Queue()
    desks = [fork.Process(target=_write_picks, args=(database_url, w, 25, ids)) for w in range(4)]
    for desk in desks:
        desk.start()
    returned = sorted(i for _ in desks for i in ids.get(timeout=60))
    for desk in desks:
        desk.join(timeout=60)
    assert len(set(returned)) == 100
    assert sorted(r.id for r in store.records()) == returned


def test_a_pick_acknowledged_before_sigkill_is_kept(store, database_url):
    writer = subprocess.Popen([sys.executable, "-c", WRITER, database_url], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    acknowledged = [int(writer.stdout.readline()) for _ in range(20)]
    os.kill(writer.pid, signal.SIGKILL)
    acknowledged += [int(line) for line in writer.stdout.read().split()]  # printed before the kill
    writer.wait()
    stored = {r.id for r in store.records()}
    assert set(acknowledged) <= stored and len(acknowledged) >= 20


def test_threads_of_one_desk_recording_at_once_lose_no_pick(store):
    with ThreadPoolExecutor(8) as pool:
        returned = sorted(pool.map(lambda n: pick(store, f"thread question {n}"), range(80)))
    assert len(set(returned)) == 80
    assert sorted(r.id for r in store.records()) == returned
