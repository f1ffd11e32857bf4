"""The "Evaluate" tab: keyword, dense and hybrid search, and reranking, side by side on a labelled query set.

``build_evaluate_tab`` only lays out widgets and wires one event; the tables and plots come
from the plain functions below (tested without a browser), and the evaluation itself from
:func:`reranker.evaluation.evaluate.evaluate`.

>>> with gr.Blocks() as demo, gr.Tab("Evaluate"):
...     _ = build_evaluate_tab(lambda: None)     # no scorer yet: keyword search only
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from reranker.desk.desk import Desk
from reranker.engine.scorer import Scorer
from reranker.errors import InvalidInput, RerankError
from reranker.evaluation.calibration import goal_sentence, recommend_for_report
from reranker.evaluation.evaluate import (
    DEFAULT_TOP_K,
    METRICS,
    EvaluationReport,
    evaluate,
    load_evaluation_set,
)
from reranker.feedback.picks import Picks
from reranker.i18n import Lang, t
from reranker.knowledge.bases import KnowledgeBase, bundled_bases
from reranker.knowledge.labelled import LabelledQuery, bundled_query_sets
from reranker.retrieval.dense import DenseIndex
from reranker.retrieval.first_stage import Retrieval
from reranker.ui.i18n import I18N, lang_of, user_errors
from reranker.ui.threshold_panel import Scores, build_threshold_panel, report_scores, wire_threshold_panel

METHOD = "Method"
METRIC = "Metric"
VALUE = "Value"
BAR = "Bar"
QUERIES = "In-scope queries"
THRESHOLD = "Threshold"
IN_SCOPE_FLAGGED = "In-scope wrongly flagged (%)"
OUT_OF_SCOPE_CAUGHT = "Out-of-scope caught (%)"
QUERY = "Query"
EXPECTED = "Expected"
GOT = "Got"
RIGHT_RANK = "Right answer's rank"

METRICS_COLUMNS = [METHOD, *METRICS, QUERIES]
#: The message id of each report column's header (the tables keep English column names inside).
HEADER_KEYS = {METHOD: "eval_col_method", QUERIES: "eval_col_queries", QUERY: "eval_col_query",
               EXPECTED: "eval_col_expected", GOT: "eval_col_got", RIGHT_RANK: "eval_col_right_rank"}  # fmt: skip
MISSES_COLUMNS = [QUERY, EXPECTED, GOT, RIGHT_RANK]

METHODS = ("keyword", "dense", "hybrid", "rerank")
#: The message id of each chart column's title: the charts show them (axes, legend, tooltips) in
#: the browser's language, with the bars' method names.
CHART_TITLES = {METHOD: "eval_col_method", BAR: "chart_metric_and_method", VALUE: "chart_value",
                THRESHOLD: "chart_threshold", IN_SCOPE_FLAGGED: "chart_in_scope_flagged",
                OUT_OF_SCOPE_CAUGHT: "chart_out_of_scope_caught"}  # fmt: skip
MAX_TOP_K = 100
DECIMALS = 3
#: The query set made of the agents' picks in the chosen base (from the store of picks).
AGENTS_PICKS = "Agents' picks in this base"


def paired_query_set(base_name: str | None) -> str | None:
    """The bundled query set written for this bundled FAQ base (``x_faq.csv`` -> ``x_queries.csv``).

    >>> paired_query_set("English store FAQ (en_store_faq.csv)")
    'English store test queries (en_store_queries.csv)'
    """
    base = bundled_bases().get(base_name or "")
    if base is None:
        return None
    wanted = base.name.replace("_faq", "_queries")
    return next((name for name, path in bundled_query_sets().items() if path.name == wanted), None)


def choose_sources(
    base_name: str | None,
    query_set_name: str | None,
    faq_upload: str | None,
    queries_upload: str | None,
    bases: Mapping[str, Path] | None = None,
) -> tuple[Path, Path]:
    """The FAQ and queries files to use: an uploaded file replaces the chosen base (of ``bases``,
    default the bundled ones) or query set."""
    faq = Path(faq_upload) if faq_upload else (bases or bundled_bases()).get(base_name or "")
    queries = Path(queries_upload) if queries_upload else bundled_query_sets().get(query_set_name or "")
    if faq is None:
        raise InvalidInput.of("err_eval_no_base")
    if queries is None:
        raise InvalidInput.of("err_eval_no_queries")
    return faq, queries


def method_label(report: EvaluationReport, lang: Lang = "en") -> str:
    """The row's name: "Keyword only (BM25)", ..., "Hybrid + rerank" (in ``lang``)."""
    if report.method == "rerank":
        return t(f"eval_method_rerank_{report.retrieval}", lang)
    return t(f"eval_method_{report.method}", lang)


def picks_file(picks: Picks, export_dir: Path, base_name: str | None, user: str | None = None) -> Path:
    """The agents' picks in the desk's base, written as a labelled queries CSV to evaluate.

    ``user`` is who is signed in: exporting the picks is a lead's (:class:`~reranker.errors.Forbidden`).
    """
    path = export_dir / f"agents-picks-{uuid.uuid4().hex[:8]}.csv"
    text = picks.export(base_name or "", by=picks.team.member(user))
    if text.count("\n") < 2:
        raise InvalidInput.of("err_eval_no_picks", base=base_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def compare(
    kb: KnowledgeBase,
    queries: Sequence[LabelledQuery],
    scorer: Scorer | None,
    top_k: int = DEFAULT_TOP_K,
    progress: Callable[[int, int], None] | None = None,
    index: DenseIndex | None = None,
) -> list[EvaluationReport]:
    """Keyword search alone; with the base's dense ``index`` also dense and hybrid; with a scorer,
    the best first stage (hybrid, or keyword without an index) + reranking, on the same queries."""
    reports = [evaluate(kb, queries, None, top_k)]
    if index is not None:
        reports += [
            evaluate(kb, queries, None, top_k, retrieval=mode, index=index) for mode in ("dense", "hybrid")
        ]
    if scorer is not None:
        retrieval: Retrieval = "keyword" if index is None else "hybrid"
        reports.append(
            evaluate(kb, queries, scorer, top_k, progress=progress, retrieval=retrieval, index=index)
        )
    return reports


def verdict(reports: Sequence[EvaluationReport], lang: Lang = "en") -> str:
    """The answer first, in plain words (in ``lang``): does reranking help, and which threshold to use.

    The threshold comes from :func:`reranker.evaluation.calibration.recommend_for_report` (the same
    calibration as the threshold goal below), when there are out-of-scope questions to judge by.
    """
    if len(reports) < 2:
        return ""
    keyword, rerank = (report.metrics()["queries"] - len(report.misses()) for report in reports[:2])
    key = "eval_helps" if rerank > keyword else "eval_hurts" if rerank < keyword else "eval_same"
    text = t(key, lang, rerank=rerank, keyword=keyword)
    if reports[-1].out_of_scope:
        try:
            rec = recommend_for_report(reports[-1])
            counts = (rec.caught, rec.unanswerable, rec.escalated, rec.answerable)
            sentence = goal_sentence(rec.threshold, counts, rec.met, 0.9, 0.1, lang)
            text += f" **{t('eval_suggested', lang)}** {sentence}"
        except RerankError as exc:
            text += f" {exc.message(lang)}"
    return text


def summary(reports: Sequence[EvaluationReport], top_k: int, lang: Lang = "en",
            sources: tuple[str, str] | None = None) -> str:  # fmt: skip
    """The verdict (:func:`verdict`), what was evaluated (``sources``: FAQ and queries file names), how
    many queries, how often the right answer came first, and any caveat, in ``lang``."""
    first = reports[0]
    metrics = first.metrics()
    lines = [verdict(reports, lang)] if len(reports) > 1 else []
    if sources is not None:
        lines.append(t("eval_sources", lang, faq=sources[0], queries=sources[1]))
    lines.append(
        t("eval_counts", lang, in_scope=metrics["queries"], out_of_scope=len(first.out_of_scope), k=top_k)
    )
    for report in reports:
        in_scope = report.metrics()["queries"]
        right = in_scope - len(report.misses())
        lines.append(
            t("eval_right_first", lang, method=method_label(report, lang), right=right, total=in_scope)
        )
    if not any(report.method == "dense" for report in reports):
        lines.append(t("eval_no_dense", lang))
    if reports[-1].method != "rerank":
        lines.append(t("eval_no_reranker", lang))
    lines.append(t("eval_misses_of", lang, method=method_label(reports[-1], lang)))
    return " ".join(lines)


def metrics_table(reports: Sequence[EvaluationReport], lang: Lang = "en") -> pd.DataFrame:
    """One row per method: its metrics (rounded) and the number of in-scope queries."""
    rows = []
    for report in reports:
        metrics = report.metrics()
        row: dict[str, object] = {METHOD: method_label(report, lang)}
        row |= {name: _round(metrics[name]) for name in METRICS}
        row[QUERIES] = metrics["queries"]
        rows.append(row)
    return pd.DataFrame(rows, columns=METRICS_COLUMNS)


def bar_name(metric: str, method: str, lang: Lang = "en") -> str:
    """One bar's label, "mrr@10 rerank" (native bar plots stack bars that share an x value, so each
    (metric, method) pair gets its own)."""
    return f"{metric} {t(f'chart_bar_{method}', lang)}"


def bar_order(lang: Lang = "en") -> list[str]:
    """The bars in order: by metric, then method."""
    return [bar_name(metric, method, lang) for metric in METRICS for method in METHODS]


def metric_bars(reports: Sequence[EvaluationReport], lang: Lang = "en") -> pd.DataFrame:
    """Long format for the bar chart: one row per (method, metric), labelled in ``BAR`` (in ``lang``)."""
    rows = []
    for report in reports:
        metrics = report.metrics()
        for name in METRICS:
            rows.append(
                {
                    METHOD: method_label(report, lang),
                    METRIC: name,
                    VALUE: _round(metrics[name]),
                    BAR: bar_name(name, report.method, lang),
                }
            )
    return pd.DataFrame(rows, columns=[METHOD, METRIC, VALUE, BAR])


def tradeoff(reports: Sequence[EvaluationReport], lang: Lang = "en") -> pd.DataFrame:
    """The threshold sweep as percentages, so BM25 and reranker thresholds share one plot.

    Empty when the query set has no out-of-scope or no in-scope queries.
    """
    rows = []
    for report in reports:
        in_scope, out_of_scope = len(report.in_scope), len(report.out_of_scope)
        if not in_scope or not out_of_scope:
            continue
        for point in report.threshold_sweep():
            rows.append(
                {
                    METHOD: method_label(report, lang),
                    THRESHOLD: _round(point.threshold),
                    IN_SCOPE_FLAGGED: round(100 * point.in_scope_flagged / in_scope, 1),
                    OUT_OF_SCOPE_CAUGHT: round(100 * point.out_of_scope_flagged / out_of_scope, 1),
                }
            )
    return pd.DataFrame(rows, columns=[METHOD, THRESHOLD, IN_SCOPE_FLAGGED, OUT_OF_SCOPE_CAUGHT])


def chart_titles(lang: Lang = "en") -> dict[str, str]:
    """Each chart column's title in ``lang`` (the name of the column in the chart's data)."""
    return {column: t(key, lang) for column, key in CHART_TITLES.items()}


def chart_titled(table: pd.DataFrame, lang: Lang) -> pd.DataFrame:
    """A chart's data with its columns named in ``lang``: the plot's axes, legend and tooltips show them."""
    return table.rename(columns=chart_titles(lang))


def chart_axes(lang: Lang = "en") -> tuple[gr.BarPlot, gr.LinePlot]:
    """The charts' columns, bar order and tooltips in ``lang``, to match the data a run returns in it."""
    titles = chart_titles(lang)
    curve = (METHOD, THRESHOLD, IN_SCOPE_FLAGGED, OUT_OF_SCOPE_CAUGHT)
    return (gr.BarPlot(x=titles[BAR], y=titles[VALUE], color=titles[METHOD], sort=bar_order(lang)),
            gr.LinePlot(x=titles[IN_SCOPE_FLAGGED], y=titles[OUT_OF_SCOPE_CAUGHT], color=titles[METHOD],
                        tooltip=[titles[column] for column in curve]))  # fmt: skip


def misses_table(report: EvaluationReport, kb: KnowledgeBase, lang: Lang = "en") -> pd.DataFrame:
    """Queries whose first answer was wrong: the expected ids, what came first, the right rank."""
    rows = [
        {
            QUERY: miss.query,
            EXPECTED: " | ".join(miss.expected),
            GOT: f"{miss.got}: {kb.by_id(miss.got).question}" if miss.got else t("eval_nothing_found", lang),
            RIGHT_RANK: str(miss.rank) if miss.rank else t("eval_not_in_top", lang, k=report.top_k),
        }
        for miss in report.misses()
    ]
    return pd.DataFrame(rows, columns=MISSES_COLUMNS)


def run_evaluation(
    get_scorer: Callable[[], Scorer | None],
    desk: Desk | None,
    picks: Picks | None,
    sources: tuple[str | None, str | None, str | None, str | None],
    top_k: int,
    progress: Callable[[int, int], None] | None = None,
    lang: Lang = "en",
    user: str | None = None,
) -> tuple[str, pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, Scores | None]:
    """The tab's outputs for (base, query set, FAQ upload, queries upload) in ``lang``, and the top scores
    that the threshold goal needs (None without reranking or without both kinds of question).
    ``user``: who is signed in (the agents' picks as a query set are a lead's)."""
    base_name, query_set_name, faq_upload, queries_upload = sources
    if desk is not None and picks is not None and query_set_name == AGENTS_PICKS and not queries_upload:
        queries_upload = str(picks_file(picks, desk.export_dir, base_name, user))
    bases = None if desk is None else desk.bases.paths
    kb, queries = load_evaluation_set(
        *choose_sources(base_name, query_set_name, faq_upload, queries_upload, bases)
    )
    index = None if desk is None else desk.dense.index_now(kb)
    reports = compare(kb, queries, get_scorer(), top_k, progress, index)
    names = (t("uploaded_label", lang, name=Path(faq_upload).name) if faq_upload else base_name or "",
             t("uploaded_label", lang, name=Path(queries_upload).name) if queries_upload and query_set_name != AGENTS_PICKS
             else query_set_name or "")  # fmt: skip
    return (
        summary(reports, top_k, lang, names),
        headed(metrics_table(reports, lang), lang),
        chart_titled(metric_bars(reports, lang), lang),
        chart_titled(tradeoff(reports, lang), lang),
        headed(misses_table(reports[-1], kb, lang), lang),
        report_scores(reports[-1]),
    )


def headed(table: pd.DataFrame, lang: Lang) -> pd.DataFrame:
    """A report table with its column headers in ``lang`` (metric names such as MRR@10 stay as they are)."""
    return table.rename(columns={column: t(key, lang) for column, key in HEADER_KEYS.items()})


def build_evaluate_tab(get_scorer: Callable[[], Scorer | None], desk: Desk | None = None,
                       picks: Picks | None = None) -> tuple[gr.Dropdown, dict[str, Any] | None]:  # fmt: skip
    """Lay out the tab inside the current ``gr.Tab`` and wire its Run button (``api_name="evaluate"``).

    With the ``desk``: its bases; with ``picks``, the agents' picks of each as a query set (when
    recording is on), and the threshold goal with "Apply to this base". Returns the base dropdown
    (the page restores the browser's remembered base into it) and the event that shows its stored
    threshold (None without picks), for the page to run after that.
    """
    bases = bundled_bases() if desk is None else desk.bases.paths
    query_sets = [*bundled_query_sets(), *([AGENTS_PICKS] if picks is not None and picks.enabled else [])]
    first_base = next(iter(bases), None)

    @user_errors
    def run(
        base_name: str | None,
        query_set_name: str | None,
        faq_upload: str | None,
        queries_upload: str | None,
        top_k: float,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - how Gradio injects its progress bar
    ) -> tuple[Any, ...]:
        lang = lang_of(request)
        desc = t("eval_progress", lang)
        outputs = run_evaluation(get_scorer, desk, picks, (base_name, query_set_name, faq_upload, queries_upload),
                                 int(top_k), lambda done, total: progress((done, total), desc=desc), lang,
                                 getattr(request, "username", None))  # fmt: skip
        return outputs if picks is not None else outputs[:-1]

    @user_errors
    def axes(request: gr.Request) -> tuple[gr.BarPlot, gr.LinePlot]:
        return chart_axes(lang_of(request))

    def pair_query_set(base_name: str | None) -> gr.Dropdown:
        paired = paired_query_set(base_name)
        return gr.Dropdown(value=paired) if paired else gr.Dropdown()

    gr.Markdown(I18N("eval_intro"))
    with gr.Row():
        base = gr.Dropdown(list(bases), value=first_base, label=I18N("base"), elem_id="eval-base")
        query_set = gr.Dropdown(query_sets, value=paired_query_set(first_base),
                                label=I18N("eval_queries"), elem_id="eval-queries")  # fmt: skip
    with gr.Accordion(I18N("eval_upload"), open=False), gr.Row():
        faq_upload = gr.File(label=I18N("eval_faq_csv"), file_types=[".csv"], type="filepath")
        queries_upload = gr.File(label=I18N("eval_queries_csv"),
                                 file_types=[".csv"], type="filepath")  # fmt: skip
    top_k = gr.Slider(1, MAX_TOP_K, value=DEFAULT_TOP_K, step=1, label=I18N("eval_top_k"))
    button = gr.Button(I18N("eval_run"), variant="primary", elem_id="eval-run")
    outputs = build_report_widgets()
    show_current = None
    if picks is not None:
        panel = build_threshold_panel(picks)
        outputs.append(panel.scores)
        show_current = wire_threshold_panel(picks, panel, base, faq_upload)

    base.change(pair_query_set, base, query_set, queue=False, show_progress="hidden",
                api_visibility="private")  # fmt: skip
    # The charts' axes in the browser's language first, then the run (whose data is named in it).
    button.click(axes, None, outputs[2:4], queue=False, show_progress="hidden", api_visibility="private").then(
        run, [base, query_set, faq_upload, queries_upload, top_k], outputs, api_name="evaluate",
        show_progress_on=outputs[0])  # one progress bar, on the verdict  # fmt: skip
    return base, show_current


def build_report_widgets() -> list[gr.components.Component]:
    """The summary, metrics table, bar chart, trade-off curve and misses table, in that order."""
    note = gr.Markdown(elem_id="eval-summary")
    with gr.Accordion(I18N("eval_details"), open=False, elem_id="eval-details"):
        return [note, *build_metric_widgets()]


def build_metric_widgets() -> list[gr.components.Component]:
    """The metrics table, bar chart, trade-off curve and misses table (under the verdict's details)."""
    metrics = gr.DataFrame(pd.DataFrame(columns=METRICS_COLUMNS), label=I18N("eval_metrics"),
                           interactive=False)  # fmt: skip
    with gr.Row():
        # Columns, titles and bar names are set in the browser's language at each run (chart_axes).
        bars = gr.BarPlot(x=BAR, y=VALUE, color=METHOD, y_lim=[0, 1], x_label_angle=-40,
                          label=I18N("eval_bars"))  # fmt: skip
        curve = gr.LinePlot(x=IN_SCOPE_FLAGGED, y=OUT_OF_SCOPE_CAUGHT, color=METHOD, x_lim=[0, 100], y_lim=[0, 100],
                            label=I18N("eval_curve"))  # fmt: skip
    misses = gr.DataFrame(pd.DataFrame(columns=MISSES_COLUMNS), label=I18N("eval_misses"),
                          interactive=False, wrap=True)  # fmt: skip
    return [metrics, bars, curve, misses]


def _round(value: float | int | None) -> float | None:
    return None if value is None else round(float(value), DECIMALS)
