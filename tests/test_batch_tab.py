"""The Batch tab: a questions file in, a row per question out, bad rows reported, never fatal."""

from __future__ import annotations

import pandas as pd
import pytest
from gradio_client import Client, handle_file

from reranker.errors import InvalidInput, NotFound
from reranker.i18n import t
from reranker.knowledge.bases import bundled_bases
from reranker.ui.batch_tab import UPDATE_EVERY, run_batch

ZH_BASE, EN_BASE = list(bundled_bases())


@pytest.fixture
def questions(tmp_path):
    path = tmp_path / "questions.csv"
    lines = ["question", "where is my parcel", '""', *[f"refund for order {n}" for n in range(UPDATE_EVERY)]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_rows_arrive_in_steps_and_the_empty_row_is_reported(desk, questions, picks):
    updates = list(run_batch(desk, picks, str(questions), EN_BASE, 5))
    assert len(updates) == 2  # after UPDATE_EVERY rows, then at the end
    summary, table, csv_path = updates[-1]
    assert len(table) == UPDATE_EVERY + 2 and table["Customer question"][0] == "where is my parcel"
    assert table.columns[0] == "Verdict"
    assert "Row 2 not answered: The question is empty." in summary
    assert "threshold 0.50, the default" in summary
    assert pd.read_csv(csv_path, encoding="utf-8-sig")["verdict"].isin(["confident", "escalate"]).all()


def test_the_batch_uses_the_threshold_stored_for_the_base(desk, questions, picks):
    picks.store.set_threshold(EN_BASE, 0.0)
    summary, table, _ = list(run_batch(desk, picks, str(questions), EN_BASE, 5))[-1]
    assert "threshold 0.00, stored for this base" in summary
    assert set(table["Verdict"][table["Problem"] == ""]) == {"confident"}


def test_the_table_shows_three_decimal_scores_and_chinese_headers_and_errors(desk, questions, picks):
    _, table, csv_path = list(run_batch(desk, picks, str(questions), EN_BASE, 5, lang="zh"))[-1]
    assert list(table.columns)[:3] == ["结论", "行号", "客户问题"]
    scores = [score for score in table["分数"] if score]
    assert scores and all(len(score.split(".")[1]) == 3 for score in scores)
    assert table["问题说明"][1] == "问题是空的。" and table["结论"][1] == "未回答"
    assert pd.read_csv(csv_path, encoding="utf-8-sig")["错误"].fillna("").tolist()[1] == "问题是空的。"


def test_english_questions_on_the_chinese_base_are_not_counted_as_answered(desk, tmp_path, picks):
    path = tmp_path / "english.csv"
    path.write_text("question\nwhere is my parcel\nrefund please\n", encoding="utf-8")
    summary, table, _ = list(run_batch(desk, picks, str(path), ZH_BASE, 5))[-1]
    answered = (table["FAQ id"] != "").sum()
    assert answered < 2  # the Chinese base shares no word with these
    assert summary.startswith(f"2 of 2 questions checked: {answered} got an FAQ answer")
    assert f"{2 - answered} got none" in summary


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_stop_keeps_every_row_answered_so_far_and_says_how_many(desk, questions, picks, lang):
    done: list[int] = []
    updates = list(run_batch(desk, picks, str(questions), EN_BASE, 5, progress=lambda n, _: done.append(n),
                             lang=lang, should_stop=lambda: len(done) >= 3))  # fmt: skip
    summary, table, csv_path = updates[-1]
    assert summary.startswith(t("batch_stopped", lang, done=3, total=UPDATE_EVERY + 2))
    assert len(table) == 3 and len(pd.read_csv(csv_path, encoding="utf-8-sig")) == 3


def test_a_batch_that_is_not_stopped_does_not_say_stopped(desk, questions, picks):
    summary, table, _ = list(run_batch(desk, picks, str(questions), EN_BASE, 5, should_stop=lambda: False))[
        -1
    ]
    assert "Stopped" not in summary and len(table) == UPDATE_EVERY + 2


def test_missing_file_and_unknown_base_are_user_errors(desk, questions, picks):
    with pytest.raises(InvalidInput, match="Upload a CSV"):
        list(run_batch(desk, picks, None, EN_BASE, 5))
    with pytest.raises(NotFound):
        list(run_batch(desk, picks, str(questions), "Nope", 5))


def test_the_batch_endpoint_answers_a_file_in_a_launched_app(questions, app_url):
    client = Client(app_url, verbose=False)
    summary, table, csv_file = client.predict(handle_file(str(questions)), EN_BASE, 5, api_name="/batch")
    total = UPDATE_EVERY + 2
    assert f"{total} of {total} questions checked: {total - 1} got an FAQ answer" in summary
    assert len(pd.read_csv(csv_file, encoding="utf-8-sig")) == len(table["data"]) == UPDATE_EVERY + 2
