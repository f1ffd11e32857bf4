"""The desk on the team database: started as today it keeps its old picks; the new flags map onto settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from legacy_feedback_store import FeedbackStore, ShownAnswer

from reranker.cli.main import build_parser
from reranker.config import AppConfig, app_config
from reranker.feedback.team import OPEN, Member
from reranker.knowledge.bases import bundled_bases
from reranker.server.serve import create_picks, open_team_store, start_retention
from reranker.store import LEGACY_FILE
from reranker.store import models as store_models

EN_BASE = next(name for name in bundled_bases() if "en_store_faq" in name)


def test_a_desk_started_with_no_new_flags_keeps_its_old_picks_and_thresholds(desk, tmp_path):
    data_dir = tmp_path / "data"
    old = FeedbackStore(data_dir / LEGACY_FILE)
    old.record(base=EN_BASE, base_version="v0", question="where is my parcel", chosen_id="en-004",
               shown=(ShownAnswer("en-004", 0.9, 1),), user="ana")  # fmt: skip
    old.record(base=EN_BASE, base_version="v0", question="can I pay in bitcoin", chosen_id=None)
    old.set_threshold(EN_BASE, 0.37)

    picks = create_picks(AppConfig(data_dir=data_dir), desk)

    assert (data_dir / "desk.db").is_file()
    assert picks.enabled and picks.threshold_for(EN_BASE) == (0.37, True)
    assert picks.export(EN_BASE, by=OPEN).splitlines() == [
        "query,relevant_ids", "where is my parcel,en-004", "can I pay in bitcoin,"
    ]  # fmt: skip
    new_id = picks.record(base=EN_BASE, question="refund please", chosen_id="en-010", user="bo")
    restarted = create_picks(AppConfig(data_dir=data_dir), desk)  # the old file is not copied twice
    assert [r.user for r in restarted.store.records()] == ["ana", None, "bo"]
    assert restarted.store.records()[-1].id == new_id


def test_no_feedback_records_no_pick_but_thresholds_still_apply(desk, tmp_path):
    picks = create_picks(AppConfig(data_dir=tmp_path, feedback=False), desk)
    picks.set_threshold(EN_BASE, 0.5, by=Member("lead", "lead"))
    assert not picks.enabled and picks.threshold_for(EN_BASE) == (0.5, True)
    assert picks.store.threshold_setting(EN_BASE).set_by == "lead"


def test_database_url_and_retain_days_are_serve_flags_with_environment_variables(tmp_path, monkeypatch):
    parser = build_parser()
    url = f"sqlite:///{tmp_path}/team.db"
    config = app_config(parser, parser.parse_args(["serve", "--database-url", url, "--retain-days", "30"]))
    assert (config.url, config.retain_days) == (url, 30)
    monkeypatch.setenv("RERANKER_DATABASE_URL", url)
    monkeypatch.setenv("RERANKER_RETAIN_DAYS", "7")
    monkeypatch.setenv("RERANKER_DATA_DIR", str(tmp_path))
    assert (AppConfig().url, AppConfig().retain_days) == (url, 7)
    monkeypatch.delenv("RERANKER_DATABASE_URL")
    assert AppConfig().url == f"sqlite:///{tmp_path}/desk.db"


def test_retain_days_purges_old_picks_when_the_desk_starts(tmp_path):
    config = AppConfig(data_dir=tmp_path, retain_days=30)
    store = open_team_store(config)
    old = store.record(base="en", base_version="v", question="old question", chosen_id="en-001")
    recent = store.record(base="en", base_version="v", question="recent question", chosen_id="en-001")
    with store._write() as session, session.begin():
        session.get_one(store_models.Pick, old).time = datetime.now(UTC) - timedelta(days=31)
    job = start_retention(config, store)
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=30)
        while job.runs == 0 and datetime.now(UTC) < deadline:
            job._stop.wait(0.05)
    finally:
        job.stop()
    assert [r.id for r in store.records()] == [recent] and job.purged == 1
    assert start_retention(AppConfig(data_dir=tmp_path), store) is None
