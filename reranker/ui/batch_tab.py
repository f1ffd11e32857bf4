"""The "Batch" tab: a file of customer questions in, the best FAQ answer (or "escalate") for each out.

Over :mod:`reranker.desk.batch`, the same path as ``python -m reranker answer``: each question gets the
best entry of the chosen base, its score and a verdict under the base's threshold (the one stored
for it, else the default). Rows arrive as they are answered, with a progress bar; Stop ends the
batch after the question under way and keeps every row answered so far (and their CSV), saying
"Stopped: n of m answered"; Stop with no batch running does nothing. A question that cannot be
answered is reported, never fatal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import get_args

import gradio as gr
import pandas as pd

from reranker.desk.batch import BatchRow, Verdict, answer_questions, read_questions, rows_table
from reranker.desk.desk import Desk
from reranker.desk.results import SCORE_DECIMALS, export_csv
from reranker.errors import InvalidInput
from reranker.feedback.picks import Picks
from reranker.i18n import Lang, t
from reranker.knowledge.bases import DEFAULT_TOP_K
from reranker.ui import handlers
from reranker.ui.i18n import I18N, lang_of, user_errors_stream

#: The table and its CSV are refreshed after this many questions.
UPDATE_EVERY = 10
BatchUpdate = tuple[str, pd.DataFrame, str | None]


#: The columns the Batch tab shows, verdict first (the CSV keeps the CLI's columns, :data:`COLUMNS`).
SHOWN = ("verdict", "row", "question", "faq_id", "answer", "score", "error")


def batch_summary(
    rows: Sequence[BatchRow], total: int, threshold: float, stored: bool, lang: Lang = "en"
) -> str:
    """How far the batch got; how many questions got an FAQ answer (confident or to escalate) and
    how many got none (no match, or an error); the rows that failed."""
    answered = [row for row in rows if row.answered]
    confident = sum(row.confident for row in answered)
    source = t("batch_stored" if stored else "batch_default", lang)
    lines = [t("batch_summary", lang, done=len(rows), total=total, answered=len(answered), confident=confident,
               escalate=len(answered) - confident, missing=len(rows) - len(answered), threshold=threshold,
               source=source)]  # fmt: skip
    lines += [t("batch_row_failed", lang, row=row.row, error=row.error_in(lang)) for row in rows if row.error]
    return "\n".join(lines)


def localized(rows: Sequence[BatchRow], lang: Lang) -> pd.DataFrame:
    """The batch CSV's table with its column names, verdicts and errors in ``lang`` (English: as the CLI
    writes them)."""
    table = rows_table(rows)
    verdicts = {verdict: t(f"batch_{verdict}", lang) for verdict in get_args(Verdict)}
    table = table.assign(verdict=table["verdict"].map(verdicts), error=[row.error_in(lang) for row in rows])
    return table.rename(columns={column: t(f"batch_col_{column}", lang) for column in table.columns})


def shown_table(rows: Sequence[BatchRow], lang: Lang) -> pd.DataFrame:
    """What the tab shows: verdict first, readable headers in ``lang``, scores to 3 decimals."""
    return pd.DataFrame([_shown_row(row, lang) for row in rows],
                        columns=[t(f"batch_head_{column}", lang) for column in SHOWN])  # fmt: skip


def _shown_row(row: BatchRow, lang: Lang) -> list[object]:
    verdict = t("batch_error", lang) if row.error else t(f"batch_{row.verdict}", lang)
    score = "" if row.score is None else f"{row.score:.{SCORE_DECIMALS}f}"
    return [verdict, row.row, row.question, row.faq_id or "", row.answer, score, row.error_in(lang)]


def run_batch(desk: Desk, picks: Picks, questions_file: str | None, base_name: str | None, top_k: int,
              progress: Callable[[int, int], None] | None = None, lang: Lang = "en",
              should_stop: Callable[[], bool] | None = None) -> Iterator[BatchUpdate]:  # fmt: skip
    """Answer the file's questions from the base: (summary, table, CSV path) every few rows and at the end.

    When ``should_stop()`` turns true (checked between questions) the last update has every row
    answered so far, and its summary starts with "Stopped: n of m answered."
    """
    if not questions_file:
        raise InvalidInput.of("batch_no_file")
    kb = desk.bases.named(base_name or "")
    questions = read_questions(questions_file)
    threshold, stored = picks.threshold_for(base_name or "")
    rows: list[BatchRow] = []
    stage = desk.dense.for_base(kb)

    def update(stopped: bool = False) -> BatchUpdate:
        summary = batch_summary(rows, len(questions), threshold, stored, lang)
        if stopped:
            summary = f"{t('batch_stopped', lang, done=len(rows), total=len(questions))}\n\n{summary}"
        return summary, shown_table(rows, lang), str(export_csv(localized(rows, lang), desk.export_dir))

    for row in answer_questions(kb, questions, desk.scorer, top_k, threshold=threshold, progress=progress,
                                should_stop=should_stop, stage=stage):  # fmt: skip
        rows.append(row)
        if len(rows) % UPDATE_EVERY == 0 or len(rows) == len(questions):
            yield update()
    if len(rows) < len(questions):  # stopped
        yield update(stopped=True)
    elif not rows:
        yield batch_summary(rows, 0, threshold, stored, lang), shown_table(rows, lang), None


def build_batch_tab(desk: Desk, picks: Picks) -> gr.Dropdown:
    """Lay out the tab inside the current ``gr.Tab`` and wire Run (``api_name="batch"``) and Stop.

    Returns the base dropdown (the page restores the browser's remembered base into it)."""
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

    stops = handlers.StopSignals()

    @user_errors_stream
    def answer(questions_file: str | None, base_name: str | None, k: float,
               request: gr.Request, progress: gr.Progress = gr.Progress()) -> Iterator[BatchUpdate]:  # noqa: B008 - Gradio's progress bar  # fmt: skip
        lang = lang_of(request)
        desc = t("batch_progress", lang)
        with handlers.stoppable(stops, request) as stopped:
            yield from run_batch(desk, picks, questions_file, base_name, int(k),
                                 lambda done, total: progress((done, total), desc=desc), lang,
                                 should_stop=stopped.is_set)  # fmt: skip

    run.click(answer, [questions, base, top_k], [summary, table, download], api_name="batch")
    stop.click(handlers.bind(handlers.stop, stops), None, None, queue=False, show_progress="hidden",
               api_visibility="private")  # fmt: skip
    return base
