"""Batch triage: every question gets the desk's best answer and a verdict; bad rows never stop it."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from reranker.cli.main import main
from reranker.desk.batch import answer_questions, read_questions, rows_table
from reranker.errors import InvalidInput
from reranker.knowledge.bases import BUNDLED_DIR, load_faq
from reranker.retrieval.keyword import search_base

EN_FAQ = BUNDLED_DIR / "en_store_faq.csv"
QUESTIONS = ["forgot my password", "how much does shipping cost", "can u ship to germany"]


@pytest.fixture(scope="module")
def kb():
    return load_faq(EN_FAQ)


@pytest.mark.parametrize(
    "content",
    [
        "channel,question\nemail,forgot my password\nchat,shipping cost",
        "问题\nforgot my password\nshipping cost",
        "forgot my password\nshipping cost",
    ],
    ids=["named column among others", "Chinese header", "one column, no header"],
)
def test_questions_come_from_the_question_column_or_the_only_one(content):
    assert read_questions(content.encode()) == ["forgot my password", "shipping cost"]


def test_a_file_without_a_question_column_is_refused_with_the_names_to_use():
    with pytest.raises(InvalidInput, match="Name the questions column 'question'"):
        read_questions(b"channel,text\nemail,forgot my password")


def test_each_row_has_the_rerankers_best_keyword_candidate_in_question_order(kb, hf_scorer):
    rows = list(answer_questions(kb, QUESTIONS, hf_scorer, top_k=5, threshold=0.5))
    assert [row.row for row in rows] == [1, 2, 3] and [row.question for row in rows] == QUESTIONS
    for row in rows:
        hits = search_base(kb, row.question, top_k=5)
        best = hf_scorer.rank(row.question, [hit.entry.text for hit in hits])[0]
        assert (row.faq_id, row.score) == (hits[best.index].entry.id, best.score)
        assert row.answer == kb.by_id(row.faq_id).answer and not row.error


def test_the_verdict_follows_the_threshold(kb, hf_scorer):
    scores = [row.score for row in answer_questions(kb, QUESTIONS, hf_scorer, threshold=0.0)]
    middle = sorted(scores)[1]
    rows = list(answer_questions(kb, QUESTIONS, hf_scorer, threshold=middle))
    assert [row.confident for row in rows] == [score >= middle for score in scores]


def test_bad_rows_are_reported_and_the_batch_goes_on(kb, hf_scorer):
    questions = ["forgot my password", "   ", "\ud800 password", "zzzz qqqq", "shipping cost"]
    rows = list(answer_questions(kb, questions, hf_scorer, threshold=0.0))
    assert [bool(row.error) for row in rows] == [False, True, True, False, False]
    assert rows[1].error == "The question is empty." and "surrogate" in rows[2].error
    assert (rows[3].faq_id, rows[3].verdict) == (None, "escalate")  # no FAQ shares a word
    assert rows[4].faq_id is not None and rows[4].confident


def test_keyword_scores_alone_never_make_a_confident_answer(kb):
    rows = list(answer_questions(kb, QUESTIONS, scorer=None, threshold=0.0))
    assert all(row.faq_id and row.verdict == "escalate" for row in rows)
    assert rows[0].faq_id == search_base(kb, QUESTIONS[0], top_k=1)[0].entry.id


def test_progress_is_reported_and_stop_ends_the_batch(kb):
    seen: list[tuple[int, int]] = []
    rows = answer_questions(
        kb,
        QUESTIONS,
        None,
        threshold=0.5,
        progress=lambda *done: seen.append(done),
        should_stop=lambda: len(seen) == 2,
    )
    assert [row.row for row in rows] == [1, 2] and seen == [(1, 3), (2, 3)]


def test_a_bad_threshold_is_refused_when_called_not_when_iterated(kb):
    with pytest.raises(InvalidInput, match="between 0 and 1"):
        answer_questions(kb, QUESTIONS, None, threshold=1.5)


def test_the_table_has_one_column_per_field(kb):
    table = rows_table(list(answer_questions(kb, QUESTIONS[:1], None, threshold=0.5)))
    assert list(table.columns) == [
        "row", "question", "faq_id", "faq_question", "answer", "score", "verdict", "error",
    ]  # fmt: skip
    assert table.loc[0, "faq_id"] == "en-061"


def answer_args(tmp_path, tiny_model_dir, *extra: str) -> list[str]:
    questions = tmp_path / "questions.csv"
    questions.write_text("question\nforgot my password\n\nshipping cost\n", encoding="utf-8")
    model = ["--model", str(tiny_model_dir), "--backend", "transformers", "--dtype", "float32"]
    return ["answer", "--base", str(EN_FAQ), "--questions", str(questions), *model, *extra]


def test_cli_writes_the_csv_and_prints_one_json_document(tmp_path, tiny_model_dir, capsys):
    out = tmp_path / "answers.csv"
    assert main(answer_args(tmp_path, tiny_model_dir, "--out", str(out), "--json", "--threshold", "0")) == 0
    payload = json.loads(capsys.readouterr().out)
    assert (payload["questions"], payload["confident"], payload["errors"]) == (2, 2, 0)
    assert payload["backend"] == "transformers"
    assert [row["question"] for row in payload["rows"]] == ["forgot my password", "shipping cost"]
    table = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert table["faq_id"].tolist() == [row["faq_id"] for row in payload["rows"]]


@pytest.mark.parametrize(
    ("extra", "message"),
    [([], "--out OUT.csv, --json"), (["--json", "--threshold", "2"], "between 0 and 1")],
    ids=["nowhere to write", "threshold out of range"],
)
def test_cli_user_errors_exit_2_with_one_line(tmp_path, tiny_model_dir, capsys, extra, message):
    assert main(answer_args(tmp_path, tiny_model_dir, *extra)) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err and captured.err.count("\n") == 1


def test_cli_refuses_an_output_folder_that_does_not_exist_before_loading_the_model(
    tmp_path, tiny_model_dir, capsys
):
    args = answer_args(tmp_path, tiny_model_dir, "--out", str(tmp_path / "missing" / "out.csv"))
    assert main(args) == 2
    assert capsys.readouterr().err.startswith("error: The folder")
