"""The UI's event handlers: plain functions of the desk and widget values, testable without Gradio's server.

Each takes the shared :class:`~reranker.desk.desk.Desk` first (the layout binds it with
:func:`functools.partial`) and returns widget values. Errors meant for users
(:class:`~reranker.errors.RerankError`) become ``gr.Error`` pop-ups; anything else is a bug,
logged with its traceback by Gradio, and the page shows a bare "Error". Text we render on the
server is in the browser's language (its ``Accept-Language``; see :mod:`reranker.i18n`).
"""

from __future__ import annotations

import dataclasses
import functools
import html
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar

import gradio as gr
from gradio.utils import get_upload_folder

from reranker.desk.desk import Desk, DeskResult, assess
from reranker.desk.results import ScoreKind, render_message, render_preview
from reranker.errors import RerankError
from reranker.feedback.picks import Picks
from reranker.feedback.team import require_lead
from reranker.i18n import Lang, t
from reranker.knowledge.bases import DEFAULT_TOP_K
from reranker.knowledge.candidates import SplitMode
from reranker.knowledge.presets import DEFAULT_PRESET, get_preset, instruction_for
from reranker.knowledge.registry import SelectedBase
from reranker.knowledge.tabular import human_size
from reranker.ui import picks as pick_panel
from reranker.ui.i18n import lang_of, user_error
from reranker.verdict import DEFAULT_THRESHOLD, check_threshold

P = ParamSpec("P")
R = TypeVar("R")
Source = Literal["bundled", "upload"]
#: What re-judging needs from the last ranking: (best score, score kind). No table: Gradio keeps
#: every session's state in memory (up to ``AppConfig.max_sessions`` of them).
LastRanking = tuple[float | None, ScoreKind] | None
DEFAULT_SETTINGS: dict[str, Any] = {
    "threshold": DEFAULT_THRESHOLD,
    "top_k": DEFAULT_TOP_K,
    "preset": DEFAULT_PRESET,
    "override": "",
}


def request_in(args: tuple[object, ...], kwargs: dict[str, object]) -> gr.Request | None:
    """The handler's ``gr.Request`` argument, if it takes one (for the browser's language)."""
    return next((arg for arg in (*args, *kwargs.values()) if isinstance(arg, gr.Request)), None)


def user_errors(handler: Callable[P, R]) -> Callable[P, R]:
    """Show :class:`RerankError` messages to the user as a ``gr.Error`` pop-up, in their language."""

    @functools.wraps(handler)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return handler(*args, **kwargs)
        except RerankError as exc:
            raise user_error(exc, lang_of(request_in(args, kwargs))) from exc

    return wrapper


def user_errors_stream(handler: Callable[P, Iterator[R]]) -> Callable[P, Iterator[R]]:
    """:func:`user_errors` for a generator handler (errors arise while it is iterated)."""

    @functools.wraps(handler)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Iterator[R]:
        try:
            yield from handler(*args, **kwargs)
        except RerankError as exc:
            raise user_error(exc, lang_of(request_in(args, kwargs))) from exc

    return wrapper


def bind(handler: Callable[..., Any], *leading: Any) -> Callable[..., Any]:
    """``handler`` with ``leading`` (the desk, its picks) as its first arguments, for an event.

    Unlike :func:`functools.partial`, Gradio still sees the handler's type hints (so a
    ``gr.Request`` parameter gets the request) and whether it streams (a generator).
    """
    if inspect.isgeneratorfunction(handler):

        def bound(*args: Any, **kwargs: Any) -> Any:
            yield from handler(*leading, *args, **kwargs)
    else:

        def bound(*args: Any, **kwargs: Any) -> Any:
            return handler(*leading, *args, **kwargs)

    functools.update_wrapper(bound, handler)
    signature = inspect.signature(handler)
    bound.__signature__ = signature.replace(parameters=list(signature.parameters.values())[len(leading):])  # type: ignore[attr-defined]
    return bound


def export_dir() -> Path:
    """Exports live in Gradio's own temp folder, which is where it serves files from."""
    return Path(get_upload_folder()) / "rerank-exports"


def placeholder(lang: Lang) -> str:
    return f'<div class="desk-placeholder">{html.escape(t("placeholder", lang))}</div>'


def page_texts(request: gr.Request) -> tuple[str, str]:
    """The empty table and the out-of-date note, in the browser's language (on page load)."""
    lang = lang_of(request)
    return placeholder(lang), f'<div class="stale-note" role="status">{html.escape(t("stale", lang))}</div>'


def best_box(result_best: str | None, confident: bool, lang: Lang) -> gr.Textbox:
    """The best answer, editable; below the threshold it says to check it first."""
    label = t("best" if confident else "best_unsure", lang)
    classes = ["best-answer"] if confident else ["best-answer", "unsure"]
    if result_best is None:
        return gr.Textbox(label=label, elem_classes=classes)
    return gr.Textbox(value=result_best, label=label, elem_classes=classes)


def status_html(result: DeskResult) -> str:
    """The plain status line, with the engine, model and cache behind a details toggle."""
    plain = result.checked if result.state == "final" else result.banner.text
    details = html.escape(f"{result.summary}\n{result.status}")
    return (
        f'<div class="desk-message desk-info" role="status">{html.escape(plain)}'
        f"<details><summary>{html.escape(t('details', result.lang))}</summary>{details}</details></div>"
    )


def heading(query: str, source: str, preset: str, override: str, lang: Lang) -> str:
    """ "For: question · base · instruction", and the instruction exactly as the model gets it."""
    named = t("custom_instruction", lang) if override and override.strip() else t(f"preset_{preset}", lang)
    line = t("results_for", lang, question=query.strip(), base=source, instruction=named)
    sent = f"{t('instruction_sent', lang)}: {instruction_for(preset, override)}"
    return (
        f'<div class="results-for"><div class="for-line">{html.escape(line)}</div>'
        f'<div class="instruction-sent">{html.escape(sent)}</div></div>'
    )


def result_outputs(result: DeskResult, head: str) -> tuple[Any, ...]:
    """Widget values for a ranking: banner, best answer, table, status, heading, CSV, state.

    A partial ranking has no best answer and no download yet.
    """
    banner = result.banner
    final = result.state == "final"
    return (
        render_message(banner.text, banner.kind),
        best_box(result.best_answer, banner.confident or not final, result.lang),
        result.table_html,
        status_html(result),
        head,
        None if result.csv_path is None else str(result.csv_path),
        (result.best_score, result.kind) if final else None,
    )


@user_errors_stream
def rank_pasted(desk: Desk, query: str, preset: str, override: str, text: str, mode: SplitMode,
                threshold: float, request: gr.Request) -> Iterator[tuple[Any, ...]]:  # fmt: skip
    """Pasted answers at once, then re-ranked as their scores arrive."""
    lang = lang_of(request)
    head = heading(query, t("pasted_source", lang), preset, override, lang)
    instruction = instruction_for(preset, override)
    for result in desk.rank_pasted_stream(query, instruction, text, mode, threshold, lang=lang):
        yield result_outputs(result, head)


def selected_base(desk: Desk, source: Source, base_name: str | None, upload: str | None,
                  lang: Lang) -> SelectedBase:  # fmt: skip
    """The base the agent chose: the upload only when "My uploaded CSV" is the source."""
    if source == "upload":
        if not upload:
            raise user_error(t("no_upload", lang), lang)
        base = desk.select_base(None, upload)
        return dataclasses.replace(base, label=t("uploaded_label", lang, name=Path(upload).name))
    return desk.select_base(base_name)


@user_errors_stream
def rank_faq(desk: Desk, picks: Picks, query: str, preset: str, override: str, source: Source, base_name: str,
             upload: str | None, top_k: int, threshold: float,
             request: gr.Request) -> Iterator[tuple[Any, ...]]:  # fmt: skip
    """Keyword matches from the base at once, then re-ranked as their scores arrive.

    A base's stored threshold replaces the slider's (the status says so). The last value is
    what the ranking showed, for the pick buttons (None until it is final, or for an upload).
    Ranking an uploaded file is a lead's (:class:`~reranker.errors.Forbidden` for an agent).
    """
    lang = lang_of(request)
    member = picks.team.member(getattr(request, "username", None))  # a user disabled since signing in stops here
    if source == "upload":
        require_lead(member, "bases")  # an agent ranks the team's bases; a lead may try a new file
    base = selected_base(desk, source, base_name, upload, lang)
    head = heading(query, base.label, preset, override, lang)
    instruction = instruction_for(preset, override)
    named = None if source == "upload" else base_name
    threshold, note = pick_panel.threshold_in_use(picks, named, threshold, lang)
    for result in desk.rank_faq_stream(query, instruction, base, int(top_k), threshold, lang=lang):
        banner, best, _, status, _, csv, last = result_outputs(result, head)
        shown = pick_panel.shown_of(result, named, query, instruction)
        status += render_message(note, "info") if note else ""
        yield banner, best, pick_panel.pick_table(picks, result, shown), status, head, csv, last, shown


def engine_banner(desk: Desk) -> str:
    """The banner about the reranker itself (loading, slower fallback engine, unavailable)."""
    notice = desk.engine_notice()
    return "" if notice is None else render_message(notice[1], notice[0])  # type: ignore[arg-type]


def refresh_engine(desk: Desk) -> tuple[str, gr.Timer]:
    """The engine banner, and the timer that polls it kept running only while the model loads."""
    return engine_banner(desk), gr.Timer(active=desk.engine.status().state == "loading")


def first_stage_banner(desk: Desk) -> str:
    """The banner about the first stage (embedding model loading or unavailable, bases being embedded)."""
    notice = desk.first_stage_notice()
    return "" if notice is None else render_message(notice[1], notice[0])  # type: ignore[arg-type]


def refresh_first_stage(desk: Desk) -> tuple[str, gr.Timer]:
    """The first-stage banner, and its timer kept running only while the embedder loads or embeds."""
    return first_stage_banner(desk), gr.Timer(active=desk.dense.busy)


def enable_download() -> gr.DownloadButton:
    return gr.DownloadButton(interactive=True)


def stopped(request: gr.Request) -> str:
    return render_message(t("stopped", lang_of(request)), "warn")


def new_ticket(request: gr.Request) -> tuple[Any, ...]:
    """A clean desk for the next ticket: question, answers and results cleared; settings kept."""
    lang = lang_of(request)
    return ("", "", "", best_box("", True, lang), placeholder(lang), "", "",
            gr.DownloadButton(value=None, interactive=False), None)  # fmt: skip


def count_pasted(desk: Desk, text: str, mode: SplitMode, request: gr.Request) -> str:
    return desk.preview_pasted(text, mode).summary(lang_of(request))


def describe_base(desk: Desk, source: Source, base_name: str | None, upload: str | None,
                  request: gr.Request) -> tuple[str, Source]:  # fmt: skip
    """What the search will run on: the chosen base, or the upload with a 3-row preview.

    A rejected upload says why and switches the source back to the bundled base, naming it.
    """
    lang = lang_of(request)
    if source == "upload" and upload:
        try:
            check = desk.check_upload(upload)
        except RerankError as exc:
            fallback = base_name or t("nothing_in_use", lang)
            return render_message(
                t("upload_rejected", lang, reason=exc.message(lang), fallback=fallback), "error"
            ), "bundled"
        kind = "warn" if check.suspicious else "info"
        return render_message(check.describe(lang), kind) + render_preview(check.preview, lang), "upload"
    if source == "upload":
        return render_message(t("no_upload", lang), "info"), "upload"
    try:
        return render_message(desk.select_base(base_name).describe(lang), "info"), "bundled"
    except RerankError as exc:
        return render_message(exc.message(lang), "error"), "bundled"


def upload_too_large(desk: Desk, base_name: str | None, request: gr.Request,
                     evt: gr.EventData) -> tuple[str, Source]:  # fmt: skip
    """A file over ``--max-upload-mb`` was kept from uploading: why, and what is still in use."""
    lang = lang_of(request)
    size = int(getattr(evt, "size", 0) or 0)
    reason = t("err_csv_too_large", lang, name=str(getattr(evt, "name", "")), size=human_size(size),
               limit=human_size(desk.bases.max_upload_bytes))  # fmt: skip
    fallback = base_name or t("nothing_in_use", lang)
    return render_message(t("upload_rejected", lang, reason=reason, fallback=fallback), "error"), "bundled"


def base_chosen(desk: Desk, base_name: str | None, upload: str | None,
                request: gr.Request) -> tuple[str, Source]:  # fmt: skip
    """Choosing a bundled base makes it the source, even with a file uploaded."""
    return describe_base(desk, "bundled", base_name, upload, request)


def upload_changed(desk: Desk, base_name: str | None, upload: str | None,
                   request: gr.Request) -> tuple[str, Source]:  # fmt: skip
    """Uploading a file makes it the source (with its preview); removing it goes back to the base."""
    return describe_base(desk, "upload" if upload else "bundled", base_name, upload, request)


@user_errors
def rejudge(last: LastRanking, threshold: float, request: gr.Request) -> tuple[str, gr.Textbox]:
    """The banner and best-answer label for the last ranking under a new threshold (no re-scoring)."""
    lang = lang_of(request)
    if last is None:
        return "", gr.Textbox()
    best_score, kind = last
    banner = assess(best_score, check_threshold(threshold), kind, lang)
    return render_message(banner.text, banner.kind), best_box(None, banner.confident, lang)


@user_errors
def show_preset(preset: str, request: gr.Request) -> gr.Dropdown:
    """Under the preset: the instruction the model gets, as configured (never translated)."""
    return gr.Dropdown(info=f"{t('instruction_sent', lang_of(request))}: {get_preset(preset).instruction}")


def restore_settings(saved: dict[str, Any] | None) -> tuple[Any, ...]:
    """This browser's remembered settings (threshold, top K, preset, custom instruction)."""
    settings = {**DEFAULT_SETTINGS, **(saved or {})}
    return settings["threshold"], settings["top_k"], settings["preset"], settings["override"]


def save_settings(threshold: float, top_k: int, preset: str, override: str) -> dict[str, Any]:
    return {"threshold": threshold, "top_k": top_k, "preset": preset, "override": override}
