"""Agents' picks in the team database: what a pick keeps, threads recording at once, labels round-trip into evaluate."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from reranker.errors import InvalidInput
from reranker.evaluation.evaluate import evaluate, load_evaluation_set
from reranker.feedback.picks import base_version
from reranker.knowledge.bases import BUNDLED_DIR, load_faq
from reranker.knowledge.labelled import load_queries
from reranker.store import ShownAnswer, Store, open_store

ROOT = Path(__file__).resolve().parent.parent
EN_FAQ = BUNDLED_DIR / "en_store_faq.csv"
def record(store: Store, question: str, chosen_id: str | None = "en-004", **fields) -> int:
    return store.record(base="en", base_version="v1", question=question, chosen_id=chosen_id, **fields)


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
    assert open_store(tmp_path / "data").threshold("en") == 0.42
    store.set_threshold("en", None)
    assert (store.threshold("en"), store.threshold("zh")) == (None, 0.3)
    with pytest.raises(InvalidInput):
        store.set_threshold("en", 1.5)


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
