"""The UI's event handlers: plain functions of the desk and widget values, testable without Gradio's server.

Each takes the shared :class:`~reranker.desk.Desk` first (the layout binds it with
:func:`functools.partial`) and returns widget values. Errors meant for users
(:class:`~reranker.errors.RerankError`) become ``gr.Error`` pop-ups; anything else is a bug,
logged with its traceback by Gradio, and the page shows a bare "Error".
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import gradio as gr
from gradio.utils import get_upload_folder

from reranker.candidates import SplitMode
from reranker.desk import Desk, DeskResult, assess, check_threshold
from reranker.errors import RerankError
from reranker.presets import get_preset, instruction_for
from reranker.results import ScoreKind, render_message
from reranker.ui import picks

P = ParamSpec("P")
R = TypeVar("R")

STOPPED = "Stopped. The table keeps the scores that had arrived; rank again for the full order."


def user_errors(handler: Callable[P, R]) -> Callable[P, R]:
    """Show :class:`RerankError` messages to the user as a ``gr.Error`` pop-up."""

    @functools.wraps(handler)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return handler(*args, **kwargs)
        except RerankError as exc:
            raise gr.Error(str(exc)) from exc

    return wrapper


def user_errors_stream(handler: Callable[P, Iterator[R]]) -> Callable[P, Iterator[R]]:
    """:func:`user_errors` for a generator handler (errors arise while it is iterated)."""

    @functools.wraps(handler)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Iterator[R]:
        try:
            yield from handler(*args, **kwargs)
        except RerankError as exc:
            raise gr.Error(str(exc)) from exc

    return wrapper


def export_dir() -> Path:
    """Exports live in Gradio's own temp folder, which is where it serves files from."""
    return Path(get_upload_folder()) / "rerank-exports"


def result_outputs(result: DeskResult) -> tuple[Any, ...]:
    """Widget values for a ranking: banner, best answer, table, status, CSV, state.

    The state is only what re-judging the banner needs, (best score, score kind): Gradio keeps
    every session's state in memory (up to ``AppConfig.max_sessions`` of them), so no table.
    A partial ranking has no best answer and no download yet.
    """
    return (
        render_message(result.banner.text, result.banner.kind),
        result.best_answer,
        result.table_html,
        render_message(f"{result.summary}\n{result.status}", "info"),
        None if result.csv_path is None else str(result.csv_path),
        (result.best_score, result.kind) if result.state == "final" else None,
    )


@user_errors_stream
def rank_pasted(desk: Desk, query: str, preset: str, override: str, text: str, mode: SplitMode,
                threshold: float) -> Iterator[tuple[Any, ...]]:  # fmt: skip
    """Pasted answers at once, then re-ranked as their scores arrive."""
    instruction = instruction_for(preset, override)
    for result in desk.rank_pasted_stream(query, instruction, text, mode, threshold):
        yield result_outputs(result)


@user_errors_stream
def rank_faq(desk: Desk, query: str, preset: str, override: str, base_name: str, upload: str | None,
             top_k: int, threshold: float) -> Iterator[tuple[Any, ...]]:  # fmt: skip
    """Keyword matches from the base at once, then re-ranked as their scores arrive.

    A base's stored threshold replaces the slider's (the status says so). The last value is
    what the ranking showed, for the pick buttons (None until it is final, or for an upload).
    """
    base = desk.select_base(base_name, upload)
    instruction = instruction_for(preset, override)
    named = None if upload else base_name
    threshold, note = picks.threshold_in_use(desk, named, threshold)
    for result in desk.rank_faq_stream(query, instruction, base, int(top_k), threshold):
        banner, best, _, status, csv, last = result_outputs(result)
        shown = picks.shown_of(result, named, query, instruction)
        status += render_message(note, "info") if note else ""
        yield banner, best, picks.pick_table(desk, result, shown), status, csv, last, shown


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


def stopped() -> str:
    return render_message(STOPPED, "warn")


def count_pasted(desk: Desk, text: str, mode: SplitMode) -> str:
    return desk.preview_pasted(text, mode).summary()


def describe_base(desk: Desk, base_name: str | None, upload: str | None) -> str:
    try:
        return render_message(desk.select_base(base_name, upload).describe(), "info")
    except RerankError as exc:
        return render_message(str(exc), "error")


@user_errors
def rejudge(last: tuple[float | None, ScoreKind] | None, threshold: float) -> str:
    """The banner for the last ranking under a new threshold (nothing is scored again)."""
    if last is None:
        return ""
    best_score, kind = last
    banner = assess(best_score, check_threshold(threshold), kind)
    return render_message(banner.text, banner.kind)


@user_errors
def show_preset(preset: str) -> gr.Dropdown:
    return gr.Dropdown(info=get_preset(preset).instruction)
