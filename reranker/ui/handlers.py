"""The UI's event handlers: plain functions of the desk and widget values, testable without Gradio's server.

Each takes the shared :class:`~reranker.desk.desk.Desk` first (the layout binds it with
:func:`bind`) and returns widget values. Errors meant for users
(:class:`~reranker.errors.RerankError`) become ``gr.Error`` pop-ups; anything else is a bug,
logged with its traceback, and the page says so in the agent's language (:func:`bind` puts every
bound handler behind :func:`~reranker.ui.i18n.user_errors`). Text we render on the server is in
the browser's language (its ``Accept-Language``; see :mod:`reranker.i18n`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import html
import inspect
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import gradio as gr
from cachetools import LRUCache
from gradio.utils import get_upload_folder

from reranker.desk.desk import Desk, DeskResult, assess
from reranker.desk.language import base_language, default_base, switch_hint
from reranker.desk.results import ScoreKind, render_message, render_preview
from reranker.errors import RerankError
from reranker.feedback.picks import Picks
from reranker.feedback.team import require_lead
from reranker.i18n import Lang, t
from reranker.knowledge.bases import DEFAULT_TOP_K
from reranker.knowledge.candidates import SplitMode
from reranker.knowledge.presets import DEFAULT_PRESET, get_preset, instruction_for
from reranker.knowledge.registry import BaseRegistry, SelectedBase
from reranker.knowledge.tabular import human_size
from reranker.ui import picks as pick_panel
from reranker.ui.i18n import lang_of, user_error, user_errors, user_errors_stream
from reranker.verdict import DEFAULT_THRESHOLD, check_threshold

logger = logging.getLogger(__name__)
Source = Literal["bundled", "upload"]
#: What re-judging needs from the last ranking: (best score, score kind). No table: Gradio keeps
#: every session's state in memory (up to ``AppConfig.max_sessions`` of them).
LastRanking = tuple[float | None, ScoreKind] | None
#: What a browser remembers (``gr.BrowserState``). A base of None: the first in the browser's language.
DEFAULT_SETTINGS: dict[str, Any] = {
    "threshold": DEFAULT_THRESHOLD,
    "top_k": DEFAULT_TOP_K,
    "preset": DEFAULT_PRESET,
    "override": "",
    "main_tab": "rerank",
    "tab": "paste",
    "base": None,
    "eval_base": None,
    "batch_base": None,
}
MAIN_TABS = ("rerank", "evaluate", "batch")
ANSWER_TABS = ("paste", "faq")
BASE_KEYS = ("base", "eval_base", "batch_base")


def bind(handler: Callable[..., Any], *leading: Any) -> Callable[..., Any]:
    """``handler`` with ``leading`` (the desk, its picks) as its first arguments, for an event, its
    errors shown in the browser's language (:func:`~reranker.ui.i18n.user_errors`).

    Unlike :func:`functools.partial`, Gradio still sees the handler's type hints (so a
    ``gr.Request`` parameter gets the request) and whether it streams (a generator).
    """
    if inspect.isgeneratorfunction(handler):

        def bound(*args: Any, **kwargs: Any) -> Any:
            yield from handler(*leading, *args, **kwargs)

        shown = user_errors_stream(bound)
    else:

        def bound(*args: Any, **kwargs: Any) -> Any:
            return handler(*leading, *args, **kwargs)

        shown = user_errors(bound)
    functools.update_wrapper(shown, handler)
    signature = inspect.signature(handler)
    shown.__signature__ = signature.replace(parameters=list(signature.parameters.values())[len(leading):])  # type: ignore[attr-defined]
    return shown


class StopSignals:
    """One stop flag per browser session for the ranking it runs now: Stop sets it, the ranking
    checks it between batches and ends with the rows scored so far. Shared by every session."""

    def __init__(self, capacity: int = 1000) -> None:
        self._running: LRUCache[str, threading.Event] = LRUCache(maxsize=capacity)
        self._lock = threading.Lock()

    def start(self, session: str | None) -> threading.Event:
        """A fresh flag for the session's new ranking (a ranking still running keeps its own)."""
        event = threading.Event()
        with self._lock:
            self._running[session or ""] = event
        return event

    def finish(self, session: str | None, event: threading.Event) -> None:
        with self._lock:
            if self._running.get(session or "") is event:
                del self._running[session or ""]

    def stop(self, session: str | None) -> bool:
        """Stop the session's running ranking; False (and nothing happens) when none runs."""
        with self._lock:
            event = self._running.get(session or "")
        if event is None:
            return False
        event.set()
        return True


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
    plain = result.checked if result.done else result.banner.text
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
    final = result.done
    return (
        render_message(banner.text, banner.kind),
        best_box(result.best_answer, banner.confident or not final, result.lang),
        result.table_html,
        status_html(result),
        head,
        None if result.csv_path is None else str(result.csv_path),
        (result.best_score, result.kind) if final else None,
    )


@contextlib.contextmanager
def stoppable(stops: StopSignals, request: gr.Request | None) -> Iterator[threading.Event]:
    """The stop flag of this session's ranking, for as long as it runs."""
    session = getattr(request, "session_hash", None)
    event = stops.start(session)
    try:
        yield event
    finally:
        stops.finish(session, event)


@user_errors_stream
def rank_pasted(desk: Desk, stops: StopSignals, query: str, preset: str, override: str, text: str,
                mode: SplitMode, threshold: float, request: gr.Request) -> Iterator[tuple[Any, ...]]:  # fmt: skip
    """Pasted answers at once, then re-ranked as their scores arrive (until done or stopped)."""
    lang = lang_of(request)
    head = heading(query, t("pasted_source", lang), preset, override, lang)
    instruction = instruction_for(preset, override)
    with stoppable(stops, request) as stop:
        for result in desk.rank_pasted_stream(query, instruction, text, mode, threshold, lang=lang,
                                              should_stop=stop.is_set):  # fmt: skip
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
def rank_faq(desk: Desk, picks: Picks, stops: StopSignals, query: str, preset: str, override: str, source: Source,
             base_name: str, upload: str | None, top_k: int, threshold: float,
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
    hint = language_hint(desk, query, base, lang)
    with stoppable(stops, request) as stop:
        for result in desk.rank_faq_stream(query, instruction, base, int(top_k), threshold, lang=lang,
                                           should_stop=stop.is_set):  # fmt: skip
            banner, best, _, status, _, csv, last = result_outputs(result, head)
            shown = pick_panel.shown_of(result, named, query, instruction)
            status += render_message(note, "info") if note else ""
            table = pick_panel.pick_table(picks, result, shown)
            yield hint + banner, best, table, status, head, csv, last, shown


def language_hint(desk: Desk, query: str, base: SelectedBase, lang: Lang) -> str:
    """A hint to switch base when the question's script does not match the base's language ("" if it does)."""
    others = {name: other for name in desk.bases.names if (other := base_language_of(desk.bases, name))}
    hint = switch_hint(query, base.label, base_language(base.kb), others, lang)
    return "" if hint is None else f'<div class="script-hint">{render_message(hint, "warn")}</div>'


#: The operator's notices already written to the log (each once, not on every poll).
_logged_notices: set[str] = set()


def status_chip(desk: Desk, lang: Lang) -> str:
    """One line for the agent: is the reranker ready, and which search finds the candidates.

    The operator's text (why, and the fix: flags, commands) stays behind a "details" disclosure;
    it is also in the log (once) and in ``/health``.
    """
    status = desk.engine.status()
    engine = "loading" if status.state == "loading" else "unavailable" if status.scorer is None else \
        "fallback" if status.fallback else "ready"  # fmt: skip
    stage, _ = desk.dense.health()
    notices = [notice for notice in (desk.engine_notice(), desk.first_stage_notice()) if notice is not None]
    for _, text in notices:
        if text not in _logged_notices:
            _logged_notices.add(text)
            logger.warning("Operator notice: %s", text)
    kind = "warn" if engine in ("unavailable", "fallback") or any(k != "info" for k, _ in notices) else "info"
    line = t("chip", lang, engine=t(f"chip_engine_{engine}", lang), stage=t(f"chip_stage_{stage}", lang))
    details = ""
    if notices:
        means = [] if engine == "ready" else [t(f"chip_means_{engine}", lang)]
        means += [] if (search := search_means(desk, lang)) is None else [search]
        what = "".join(f"<li>{html.escape(sentence)}</li>" for sentence in means)
        operator = "".join(f"<pre>{html.escape(text)}</pre>" for _, text in notices)
        details = (f'<details class="operator"><summary>{html.escape(t("details", lang))}</summary>'
                   f'<ul>{what}</ul><p class="operator-log">{html.escape(t("chip_operator_log", lang))}</p>'
                   f'<div class="operator-fix" lang="en">{operator}</div></details>')  # fmt: skip
    return (
        f'<div class="status-chip chip-{kind}" role="status"><span>{html.escape(line)}</span>{details}</div>'
    )


def search_means(desk: Desk, lang: Lang) -> str | None:
    """What the first stage's state means for the agent's FAQ searches (None: it runs as configured)."""
    state = desk.dense.state
    if state in ("loading", "unavailable"):
        return t(f"chip_stage_means_{state}", lang)
    embedding = desk.dense.embedding() if state == "ready" else []
    if embedding:
        done, total = sum(d for d, _ in embedding), sum(n for _, n in embedding)
        return t("chip_stage_means_embedding", lang, done=done, total=total)
    return None


def refresh_status(desk: Desk, request: gr.Request) -> tuple[str, gr.Timer]:
    """The status chip, and the timer that polls it kept running while the model loads or bases embed."""
    busy = desk.engine.status().state == "loading" or desk.dense.busy
    return status_chip(desk, lang_of(request)), gr.Timer(active=busy)


def enable_download() -> gr.DownloadButton:
    return gr.DownloadButton(interactive=True)


def stop(stops: StopSignals, request: gr.Request) -> None:
    """Stop this session's running ranking or batch (it ends with what it has so far); nothing when none runs."""
    stops.stop(getattr(request, "session_hash", None))


def new_ticket(picks: Picks, request: gr.Request) -> tuple[Any, ...]:
    """A clean desk for the next ticket: question, answers, results and the last pick (its
    message, Undo and what the ranking showed) cleared; settings kept."""
    lang = lang_of(request)
    return ("", "", "", best_box("", True, lang), placeholder(lang), "", "",
            gr.DownloadButton(value=None, interactive=False), None, *pick_panel.cleared(picks, lang), None)  # fmt: skip


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


def base_language_of(bases: BaseRegistry, name: str) -> Lang | None:
    """The language of a named base (None when it cannot be loaded: the base's own message says why)."""
    try:
        return base_language(bases.named(name))
    except RerankError:
        return None


def settings_for(bases: BaseRegistry, saved: dict[str, Any] | None, lang: Lang,
                 main_tabs: tuple[str, ...] = MAIN_TABS) -> dict[str, Any]:  # fmt: skip
    """This browser's settings: what it remembered, and for the rest the defaults in its language.

    A remembered base or tab the desk no longer has falls back to the default; the default base is
    the first one in the browser's language (:func:`reranker.desk.language.default_base`). The
    source is always the bundled base on a new visit (an upload is not kept).
    """
    settings = {**DEFAULT_SETTINGS, **(saved or {})}
    first = default_base(bases.names, functools.partial(base_language_of, bases), lang)
    for key in BASE_KEYS:
        if settings[key] not in bases.names:
            settings[key] = first
    for key, allowed in (("main_tab", main_tabs), ("tab", ANSWER_TABS)):
        if settings[key] not in allowed:
            settings[key] = DEFAULT_SETTINGS[key]
    return settings


def restore_settings(desk: Desk, main_tabs: tuple[str, ...], saved: dict[str, Any] | None,
                     request: gr.Request) -> tuple[Any, ...]:  # fmt: skip
    """This browser's settings on page load: threshold, top K, preset, custom instruction, the
    Rerank base, the answer tab, the main tab (one of ``main_tabs``, the page's), and the Evaluate
    and Batch bases."""
    settings = settings_for(desk.bases, saved, lang_of(request), main_tabs)
    tabs = [gr.Tabs() if settings[key] == DEFAULT_SETTINGS[key] else gr.Tabs(selected=settings[key])
            for key in ("tab", "main_tab")]  # the page opens on the defaults: a tab clicked meanwhile stays  # fmt: skip
    return (settings["threshold"], settings["top_k"], settings["preset"], settings["override"],
            settings["base"], *tabs, settings["eval_base"], settings["batch_base"], settings)  # fmt: skip


def save_settings(saved: dict[str, Any] | None, top_k: int, preset: str, override: str) -> dict[str, Any]:
    """The remembered settings with the Settings panel's values (the agent's own threshold is
    remembered only when the agent moves the slider: it may show a base's stored one)."""
    return {**DEFAULT_SETTINGS, **(saved or {}), "top_k": top_k, "preset": preset, "override": override}


def show_threshold(picks: Picks, saved: dict[str, Any] | None, source: str, base: str | None,
                   request: gr.Request) -> gr.Slider:  # fmt: skip
    """The threshold slider as the next ranking will use it (:func:`reranker.ui.picks.threshold_view`)."""
    return pick_panel.threshold_view(picks, saved, source, base, lang_of(request))


def remember(key: str) -> Callable[[dict[str, Any] | None, Any], dict[str, Any]]:
    """An event handler that remembers the widget's value under ``key`` (a base)."""

    def remembered(saved: dict[str, Any] | None, value: Any) -> dict[str, Any]:
        return {**DEFAULT_SETTINGS, **(saved or {}), key: value}

    return remembered


def remember_tab(key: str, tab: str) -> Callable[[dict[str, Any] | None], dict[str, Any]]:
    """An event handler that remembers the selected ``tab`` under ``key`` (when a tab is selected)."""

    def remembered(saved: dict[str, Any] | None) -> dict[str, Any]:
        return {**DEFAULT_SETTINGS, **(saved or {}), key: tab}

    return remembered
