"""The Batch tab: a questions file in, a row per question out, bad rows reported, never fatal."""

from __future__ import annotations

import pandas as pd
import pytest
from gradio_client import Client, handle_file

from reranker.errors import InvalidInput, NotFound
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
    assert len(table) == UPDATE_EVERY + 2 and table["question"][0] == "where is my parcel"
    assert "Row 2 not answered: The question is empty." in summary
    assert "threshold 0.50, the default" in summary
    assert pd.read_csv(csv_path, encoding="utf-8-sig")["verdict"].isin(["confident", "escalate"]).all()


def test_the_batch_uses_the_threshold_stored_for_the_base(desk, questions, picks):
    picks.store.set_threshold(EN_BASE, 0.0)
    summary, table, _ = list(run_batch(desk, picks, str(questions), EN_BASE, 5))[-1]
    assert "threshold 0.00, stored for this base" in summary
    assert set(table["verdict"][table["error"] == ""]) == {"confident"}


def test_missing_file_and_unknown_base_are_user_errors(desk, questions, picks):
    with pytest.raises(InvalidInput, match="Upload a CSV"):
        list(run_batch(desk, picks, None, EN_BASE, 5))
    with pytest.raises(NotFound):
        list(run_batch(desk, picks, str(questions), "Nope", 5))


def test_the_batch_endpoint_answers_a_file_in_a_launched_app(questions, app_url):
    client = Client(app_url, verbose=False)
    summary, table, csv_file = client.predict(handle_file(str(questions)), EN_BASE, 5, api_name="/batch")
    assert f"{UPDATE_EVERY + 2} of {UPDATE_EVERY + 2} questions answered" in summary
    assert len(pd.read_csv(csv_file, encoding="utf-8-sig")) == len(table["data"]) == UPDATE_EVERY + 2
