"""The "Batch" tab: a file of customer questions in, the best FAQ answer (or "escalate") for each out.

Over :mod:`reranker.desk.batch`, the same path as ``python -m reranker answer``: each question gets the
best entry of the chosen base, its score and a verdict under the base's threshold (the one stored
for it, else the default). Rows arrive as they are answered, with a progress bar; Stop keeps
the rows so far (and their CSV); a question that cannot be answered is reported, never fatal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import get_args

import gradio as gr
import pandas as pd

from reranker.desk.batch import BatchRow, Verdict, answer_questions, read_questions, rows_table
from reranker.desk.desk import Desk
from reranker.desk.results import export_csv
from reranker.errors import InvalidInput, RerankError
from reranker.feedback.picks import Picks
from reranker.i18n import Lang, t
from reranker.knowledge.bases import DEFAULT_TOP_K
from reranker.ui.i18n import I18N, lang_of, user_error

#: The table and its CSV are refreshed after this many questions.
UPDATE_EVERY = 10
BatchUpdate = tuple[str, pd.DataFrame, str | None]


def batch_summary(
    rows: Sequence[BatchRow], total: int, threshold: float, stored: bool, lang: Lang = "en"
) -> str:
    """How far the batch got, how many are confident or escalated, and the rows that failed."""
    confident = sum(row.confident for row in rows)
    source = t("batch_stored" if stored else "batch_default", lang)
    lines = [t("batch_summary", lang, answered=len(rows), total=total, confident=confident,
               escalate=len(rows) - confident, threshold=threshold, source=source)]  # fmt: skip
    lines += [t("batch_row_failed", lang, row=row.row, error=row.error) for row in rows if row.error]
    return "\n".join(lines)


def localized(table: pd.DataFrame, lang: Lang) -> pd.DataFrame:
    """The batch table with its column names and verdicts in ``lang`` (English: as the CLI writes them)."""
    verdicts = {verdict: t(f"batch_{verdict}", lang) for verdict in get_args(Verdict)}
    table = table.assign(verdict=table["verdict"].map(verdicts))
    return table.rename(columns={column: t(f"batch_col_{column}", lang) for column in table.columns})


def run_batch(desk: Desk, picks: Picks, questions_file: str | None, base_name: str | None, top_k: int,
              progress: Callable[[int, int], None] | None = None, lang: Lang = "en") -> Iterator[BatchUpdate]:  # fmt: skip
    """Answer the file's questions from the base: (summary, table, CSV path) every few rows and at the end."""
    if not questions_file:
        raise InvalidInput.of("batch_no_file")
    kb = desk.bases.named(base_name or "")
    questions = read_questions(questions_file)
    threshold, stored = picks.threshold_for(base_name or "")
    rows: list[BatchRow] = []
    stage = desk.dense.for_base(kb)
    for row in answer_questions(kb, questions, desk.scorer, top_k, threshold=threshold, progress=progress,
                                stage=stage):  # fmt: skip
        rows.append(row)
        if len(rows) % UPDATE_EVERY == 0 or len(rows) == len(questions):
            table = localized(rows_table(rows), lang)
            yield (
                batch_summary(rows, len(questions), threshold, stored, lang),
                table,
                str(export_csv(table, desk.export_dir)),
            )
    if not rows:
        yield batch_summary(rows, 0, threshold, stored, lang), localized(rows_table(rows), lang), None


def build_batch_tab(desk: Desk, picks: Picks) -> None:
    """Lay out the tab inside the current ``gr.Tab`` and wire Run (``api_name="batch"``) and Stop."""
    names = desk.bases.names
    gr.Markdown(I18N("batch_intro"))
    with gr.Row():
        questions = gr.File(label=I18N("batch_questions"),
                            file_types=[".csv", ".txt"], type="filepath", elem_id="batch-questions")  # fmt: skip
        with gr.Column():
            base = gr.Dropdown(
                names, value=names[0] if names else None, label=I18N("base"), elem_id="batch-base"
            )
            top_k = gr.Slider(1, 100, value=DEFAULT_TOP_K, step=1, label=I18N("batch_top_k"))
    with gr.Row():
        run = gr.Button(I18N("batch_run"), variant="primary", elem_id="batch-run")
        stop = gr.Button(I18N("stop"), variant="stop", scale=0, min_width=100, elem_id="batch-stop")
    summary = gr.Markdown(elem_id="batch-summary")
    table = gr.DataFrame(label=I18N("batch_answers"), interactive=False, wrap=True, elem_id="batch-table")
    download = gr.File(label=I18N("download"), elem_id="batch-download")

    def answer(questions_file: str | None, base_name: str | None, k: float,
               request: gr.Request, progress: gr.Progress = gr.Progress()) -> Iterator[BatchUpdate]:  # noqa: B008 - Gradio's progress bar  # fmt: skip
        lang = lang_of(request)
        desc = t("batch_progress", lang)
        try:
            yield from run_batch(desk, picks, questions_file, base_name, int(k),
                                 lambda done, total: progress((done, total), desc=desc), lang)  # fmt: skip
        except RerankError as exc:
            raise user_error(exc, lang) from exc

    event = run.click(answer, [questions, base, top_k], [summary, table, download], api_name="batch")
    stop.click(None, None, None, cancels=[event], queue=False, api_visibility="private")
