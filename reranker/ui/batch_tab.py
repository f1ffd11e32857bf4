"""The "Batch" tab: a file of customer questions in, the best FAQ answer (or "escalate") for each out.

Over :mod:`reranker.batch`, the same path as ``python -m reranker answer``: each question gets the
best entry of the chosen base, its score and a verdict under the base's threshold (the one stored
for it, else the default). Rows arrive as they are answered, with a progress bar; Stop keeps
the rows so far (and their CSV); a question that cannot be answered is reported, never fatal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import gradio as gr
import pandas as pd

from reranker.batch import BatchRow, answer_questions, read_questions, rows_table
from reranker.desk import Desk
from reranker.errors import InvalidInput, RerankError
from reranker.knowledge_base import DEFAULT_TOP_K
from reranker.picks import named_base, threshold_for
from reranker.results import export_csv

#: The table and its CSV are refreshed after this many questions.
UPDATE_EVERY = 10
BatchUpdate = tuple[str, pd.DataFrame, str | None]


def batch_summary(rows: Sequence[BatchRow], total: int, threshold: float, stored: bool) -> str:
    """How far the batch got, how many are confident or escalated, and the rows that failed."""
    confident = sum(row.confident for row in rows)
    failed = [row for row in rows if row.error]
    source = "stored for this base" if stored else "the default"
    lines = [
        f"{len(rows)} of {total} questions answered: {confident} confident, {len(rows) - confident} "
        f"to escalate (threshold {threshold:.2f}, {source})."
    ]
    lines += [f"- Row {row.row} not answered: {row.error}" for row in failed]
    return "\n".join(lines)


def run_batch(desk: Desk, questions_file: str | None, base_name: str | None, top_k: int,
              progress: Callable[[int, int], None] | None = None) -> Iterator[BatchUpdate]:  # fmt: skip
    """Answer the file's questions from the base: (summary, table, CSV path) every few rows and at the end."""
    if not questions_file:
        raise InvalidInput("Upload a CSV of questions (a 'question' column, or one question per line).")
    kb = named_base(desk, base_name or "")
    questions = read_questions(questions_file)
    threshold, stored = threshold_for(desk, base_name or "")
    rows: list[BatchRow] = []
    stage = desk.dense.for_base(kb)
    for row in answer_questions(kb, questions, desk.scorer, top_k, threshold=threshold, progress=progress,
                                stage=stage):  # fmt: skip
        rows.append(row)
        if len(rows) % UPDATE_EVERY == 0 or len(rows) == len(questions):
            table = rows_table(rows)
            yield (
                batch_summary(rows, len(questions), threshold, stored),
                table,
                str(export_csv(table, desk.export_dir)),
            )
    if not rows:
        yield batch_summary(rows, 0, threshold, stored), rows_table(rows), None


def build_batch_tab(desk: Desk) -> None:
    """Lay out the tab inside the current ``gr.Tab`` and wire Run (``api_name="batch"``) and Stop."""
    names = list(desk.base_paths)
    gr.Markdown(
        "Answer a whole file of customer questions: each gets the best FAQ answer and its score, "
        "and is marked **confident** or **escalate** (send it to a human)."
    )
    with gr.Row():
        questions = gr.File(label="Questions CSV (a 'question' column, or one question per line)",
                            file_types=[".csv", ".txt"], type="filepath", elem_id="batch-questions")  # fmt: skip
        with gr.Column():
            base = gr.Dropdown(
                names, value=names[0] if names else None, label="FAQ base", elem_id="batch-base"
            )
            top_k = gr.Slider(
                1, 100, value=DEFAULT_TOP_K, step=1, label="Candidates per question (keyword top K)"
            )
    with gr.Row():
        run = gr.Button("Answer the questions", variant="primary", elem_id="batch-run")
        stop = gr.Button("Stop", variant="stop", scale=0, min_width=100, elem_id="batch-stop")
    summary = gr.Markdown(elem_id="batch-summary")
    table = gr.DataFrame(label="Answers", interactive=False, wrap=True, elem_id="batch-table")
    download = gr.File(label="Download CSV", elem_id="batch-download")

    def answer(questions_file: str | None, base_name: str | None, k: float,
               progress: gr.Progress = gr.Progress()) -> Iterator[BatchUpdate]:  # noqa: B008 - Gradio's progress bar  # fmt: skip
        try:
            yield from run_batch(desk, questions_file, base_name, int(k),
                                 lambda done, total: progress((done, total), desc="Answering"))  # fmt: skip
        except RerankError as exc:
            raise gr.Error(str(exc)) from exc

    event = run.click(answer, [questions, base, top_k], [summary, table, download], api_name="batch")
    stop.click(None, None, None, cancels=[event], queue=False, api_visibility="private")
