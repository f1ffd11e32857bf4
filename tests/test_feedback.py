"""The feedback store: picks survive, concurrent writers all land, labels round-trip into evaluate."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from reranker.errors import InvalidInput
from reranker.evaluation.evaluate import evaluate, load_evaluation_set
from reranker.feedback.store import MIGRATIONS, SCHEMA_VERSION, FeedbackStore, ShownAnswer, base_version
from reranker.knowledge.bases import BUNDLED_DIR, load_faq
from reranker.knowledge.labelled import load_queries

ROOT = Path(__file__).resolve().parent.parent
EN_FAQ = BUNDLED_DIR / "en_store_faq.csv"
# Records ``count`` picks tagged ``writer``; prints each id once record() has returned.
WRITER = """
import sys
from reranker.feedback.store import FeedbackStore
path, writer, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = FeedbackStore(path)
for n in range(count):
    record_id = store.record(base="en", base_version="v", question=f"{writer} question {n}", chosen_id="en-001")
    print(record_id, flush=True)
"""


def record(store: FeedbackStore, question: str, chosen_id: str | None = "en-004", **fields) -> int:
    return store.record(base="en", base_version="v1", question=question, chosen_id=chosen_id, **fields)


def spawn_writer(path: Path, writer: str, count: int) -> subprocess.Popen[str]:
    command = [sys.executable, "-c", WRITER, str(path), writer, str(count)]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)


def test_a_record_keeps_everything_the_desk_showed(store):
    shown = (ShownAnswer("en-004", 0.91, 1), ShownAnswer("en-005", 0.40, 2))
    record_id = record(
        store, "  where is my parcel ", shown=shown, instruction="Judge it", first_stage="keyword",
        request_id="req-1", user="ana",
    )  # fmt: skip
    [saved] = store.records("en")
    assert saved.id == record_id and saved.question == "where is my parcel"
    assert (saved.chosen_id, saved.shown, saved.first_stage) == ("en-004", shown, "keyword")
    assert (saved.request_id, saved.user, saved.instruction, saved.base_version) == (
        "req-1",
        "ana",
        "Judge it",
        "v1",
    )
    assert saved.time.endswith("+00:00")


def test_undo_removes_the_pick_just_recorded(store):
    keep, mistake = record(store, "where is my parcel"), record(store, "refund please", None)
    assert store.undo(mistake) is True
    assert [r.id for r in store.records()] == [keep]
    assert store.undo(mistake) is False


def test_records_filter_by_base(store):
    record(store, "where is my parcel")
    store.record(base="zh", base_version="v", question="怎么退货", chosen_id="zh-010")
    assert [r.base for r in store.records("zh")] == ["zh"]
    assert len(store.records()) == 2


@pytest.mark.parametrize(
    ("question", "chosen_id"),
    [("   ", "en-001"), ("where is my parcel", " ")],
    ids=["no question", "empty id"],
)
def test_unusable_picks_are_refused_with_a_sentence(store, question, chosen_id):
    with pytest.raises(InvalidInput):
        record(store, question, chosen_id)
    assert store.records() == []


def test_export_keeps_the_latest_pick_per_question_and_none_as_out_of_scope(store):
    record(store, "Where is my parcel?", "en-001")
    record(store, "my card was declined", None)
    record(store, "where is my  PARCEL?", "en-004")  # the agent corrected the first pick
    assert store.export_labels("en") == (
        "query,relevant_ids\nmy card was declined,\nwhere is my  PARCEL?,en-004\n"
    )


def test_export_can_leave_out_ids_the_base_no_longer_has(store):
    record(store, "where is my parcel", "en-999")
    record(store, "refund, please", "en-010")
    assert store.export_labels("en", known_ids={"en-010"}) == 'query,relevant_ids\n"refund, please",en-010\n'


def test_exported_labels_load_and_evaluate_against_the_bundled_base(store, tmp_path):
    kb = load_faq(EN_FAQ)
    labelled = load_queries(BUNDLED_DIR / "en_store_queries.csv")
    for query in labelled:  # agents pick each bundled label's first id, or "none of these"
        store.record(base="en", base_version=base_version(kb), question=query.query,
                     chosen_id=query.relevant_ids[0] if query.relevant_ids else None)  # fmt: skip
    exported = tmp_path / "picks.csv"
    exported.write_text(store.export_labels("en", known_ids={e.id for e in kb.entries}), encoding="utf-8")
    kb, picks = load_evaluation_set(EN_FAQ, exported)
    assert [(q.query, q.relevant_ids) for q in picks] == [(q.query, q.relevant_ids[:1]) for q in labelled]
    report = evaluate(kb, picks, scorer=None)
    assert len(report.out_of_scope) == sum(not q.relevant_ids for q in labelled)
    assert report.metrics()["queries"] == len(labelled) - len(report.out_of_scope)
    command = [sys.executable, "-m", "reranker.evaluate", "--faq", str(EN_FAQ), "--queries", str(exported)]
    done = subprocess.run(
        [*command, "--no-rerank", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["mrr@10"] == pytest.approx(report.metrics()["mrr@10"])


def test_base_version_changes_when_any_row_changes():
    kb = load_faq(EN_FAQ)
    edited = EN_FAQ.read_text(encoding="utf-8").replace("3–5 business days", "4–6 business days", 1)
    assert base_version(kb) == base_version(load_faq(EN_FAQ))
    assert base_version(kb) != base_version(load_faq(edited.encode()))


def test_threshold_is_stored_per_base_and_can_be_cleared(store, tmp_path):
    assert store.threshold("en") is None
    store.set_threshold("en", 0.42)
    store.set_threshold("zh", 0.3)
    assert FeedbackStore(store.path).threshold("en") == 0.42
    store.set_threshold("en", None)
    assert (store.threshold("en"), store.threshold("zh")) == (None, 0.3)
    with pytest.raises(InvalidInput):
        store.set_threshold("en", 1.5)


def test_the_database_is_in_wal_mode_at_the_current_schema_version(store):
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_version_1_database_is_migrated_and_keeps_its_picks(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    with sqlite3.connect(path) as connection:
        MIGRATIONS[0](connection)
        connection.execute("PRAGMA user_version = 1")
        connection.execute(
            "INSERT INTO picks (time, base, base_version, question, chosen_id, shown) "
            "VALUES ('2026-01-01T00:00:00+00:00', 'en', 'v0', 'old question', 'en-002', '[]')"
        )
    store = FeedbackStore(path)
    [old] = store.records()
    assert (old.question, old.chosen_id, old.user) == ("old question", "en-002", None)
    record(store, "new question", user="ana")
    store.set_threshold("en", 0.5)
    assert [r.user for r in store.records()] == [None, "ana"]


def test_a_database_from_a_newer_program_is_refused(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(InvalidInput, match="newer than this program"):
        FeedbackStore(path)


def test_threads_recording_at_once_all_land(store):
    def write(thread: int) -> None:
        for n in range(25):
            record(store, f"thread {thread} question {n}")

    threads = [threading.Thread(target=write, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({r.question for r in store.records()}) == 200


def test_four_processes_recording_at_once_all_land(store):
    writers = [spawn_writer(store.path, f"writer{w}", 50) for w in range(4)]
    outputs = [writer.communicate(timeout=120)[0] for writer in writers]
    assert all(writer.returncode == 0 for writer in writers)
    acknowledged = {int(line) for output in outputs for line in output.split()}
    assert {r.id for r in store.records()} == acknowledged and len(acknowledged) == 200


def test_acknowledged_records_survive_a_sigkill(store):
    writer = spawn_writer(store.path, "killed", 100_000)
    assert writer.stdout is not None
    acknowledged = [int(writer.stdout.readline()) for _ in range(30)]
    writer.kill()
    writer.wait(timeout=30)
    reopened = FeedbackStore(store.path)
    assert set(acknowledged) <= {r.id for r in reopened.records()}
    with sqlite3.connect(reopened.path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
