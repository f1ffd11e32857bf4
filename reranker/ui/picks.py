"""The desk's "Answers it" / "None of these" buttons: record the agent's pick, say "Saved", offer Undo.

The ranked table (FAQ mode, final, recording on) carries a ``data-pick`` button per row and one
"None of these" button (:func:`reranker.desk.results.render_table_html` with ``picks=True``). A
small script, installed by the pick panel's own ``gr.HTML`` (``js_on_load``), catches their
clicks anywhere in ``#ranked-table`` and fires that component's ``click`` event with the id;
:func:`record` stores it with what the ranking showed (kept in the session's ``gr.State`` as a
small :class:`~reranker.feedback.picks.Shown`) and the signed-in user. Pasted answers have no FAQ ids, so
picks are recorded in FAQ mode only.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr

from reranker.desk.desk import DeskResult
from reranker.desk.results import FAQ_ID, RANK, render_message, render_table_html, score_column
from reranker.errors import RerankError
from reranker.feedback.picks import Picks, Shown
from reranker.i18n import Lang, t
from reranker.store import ShownAnswer
from reranker.ui.i18n import I18N, lang_of, user_errors
from reranker.verdict import DEFAULT_THRESHOLD

#: Turns a click on a table's pick button into this component's click event, carrying the id.
LISTENER_JS = """
if (!window.__deskPicks) {
  window.__deskPicks = true;
  document.addEventListener('click', (event) => {
    const button = event.target.closest('#ranked-table [data-pick]');
    if (!button) return;
    if (button.classList.contains('saved')) trigger('click', {undo: true});
    else trigger('click', {pick: button.dataset.pick});
  });
}
"""
PickOutputs = tuple[str, gr.Button, int | None]


@dataclass
class PickPanel:
    """The session's last FAQ ranking, the saved pick's id, the "Saved" message and Undo."""

    shown: gr.State
    record_id: gr.State
    message: gr.HTML
    undo: gr.Button


def idle_note(picks: Picks, lang: Lang) -> str:
    """What the pick message says before a pick: where picks are recorded (nothing when off)."""
    return render_message(t("picks_faq_only", lang), "info") if picks.enabled else ""


def page_note(picks: Picks, request: gr.Request) -> str:
    """The note before a pick, in the browser's language (on page load)."""
    return idle_note(picks, lang_of(request))


def build_pick_panel() -> PickPanel:
    """The pick message (which also listens for the table's buttons) and the Undo button."""
    with gr.Row():
        message = gr.HTML(elem_id="pick-status", apply_default_css=False, js_on_load=LISTENER_JS)
        undo = gr.Button(I18N("undo"), visible=False, size="sm", scale=0, min_width=80, elem_id="pick-undo")
    return PickPanel(gr.State(), gr.State(), message, undo)


def wire_pick_panel(picks: Picks, panel: PickPanel, rank_buttons: Sequence[gr.Button]) -> None:
    """A pick button's click records the pick; Undo deletes it; a new ranking clears the message."""

    # Closures, not partials: Gradio finds gr.Request and gr.EventData by their annotations.
    @user_errors
    def on_pick(
        shown: Shown | None, record_id: int | None, request: gr.Request, evt: gr.EventData
    ) -> PickOutputs:
        if getattr(evt, "undo", False):  # the saved pick's own button: "✓ Saved · Undo"
            return undo(picks, record_id, lang_of(request))
        return record(picks, shown, request, evt)

    @user_errors
    def on_undo(record_id: int | None, request: gr.Request) -> PickOutputs:
        return undo(picks, record_id, lang_of(request))

    @user_errors
    def on_rank(request: gr.Request) -> PickOutputs:
        return cleared(picks, lang_of(request))

    outputs = [panel.message, panel.undo, panel.record_id]
    options: dict[str, Any] = dict(queue=False, show_progress="hidden", api_visibility="private")
    panel.message.click(on_pick, [panel.shown, panel.record_id], outputs, **options)
    panel.undo.click(on_undo, [panel.record_id], outputs, **options)
    for button in rank_buttons:
        button.click(on_rank, None, outputs, **options)


def shown_of(result: DeskResult, base: str | None, question: str, instruction: str | None) -> Shown | None:
    """What a final FAQ ranking of a named base showed (None for anything a pick can't refer to)."""
    if base is None or result.state != "final" or FAQ_ID not in result.table.columns:
        return None
    scores = result.table[score_column(result.kind)] if result.kind == "reranker" else None
    answers = tuple(
        ShownAnswer(str(row[FAQ_ID]), None if scores is None else float(scores.iloc[i]), int(row[RANK]))
        for i, row in enumerate(result.table.to_dict("records"))
    )
    return Shown(base, question.strip(), instruction, answers, result.first_stage)


def pick_table(picks: Picks, result: DeskResult, shown: Shown | None) -> str:
    """The table's HTML, with the pick buttons when a pick can be recorded for it."""
    if not picks.enabled or shown is None:
        return result.table_html
    return render_table_html(result.table, state=result.state, picks=True, lang=result.lang)


def threshold_in_use(picks: Picks, base: str | None, chosen: float, lang: Lang = "en") -> tuple[float, str]:
    """The base's stored threshold over the slider's, and a sentence saying so (else ``chosen``)."""
    if base is None:
        return chosen, ""
    stored, is_stored = picks.threshold_for(base)
    if not is_stored:
        return chosen, ""
    return stored, t("stored_threshold", lang, threshold=stored, base=base)


def threshold_view(picks: Picks, saved: dict[str, Any] | None, source: str, base: str | None,
                   lang: Lang = "en") -> gr.Slider:  # fmt: skip
    """The slider as the next ranking will use it, and where its value comes from.

    On the FAQ tab with a bundled base that has a stored threshold: that one, locked (a lead changes
    it in the Evaluate tab). Otherwise the agent's own, remembered in ``saved`` (this browser's settings).
    """
    settings = saved or {}
    own = settings.get("threshold", DEFAULT_THRESHOLD)
    if settings.get("tab") == "faq" and source == "bundled" and base:
        stored, is_stored = picks.threshold_for(base)
        if is_stored:
            return gr.Slider(value=stored, interactive=False, info=t("threshold_from_base", lang, base=base,
                                                                       threshold=stored))  # fmt: skip
    return gr.Slider(value=own, interactive=True, info=t("threshold_from_agent", lang))


def record(picks: Picks, shown: Shown | None, request: gr.Request, evt: gr.EventData) -> PickOutputs:
    """Store the clicked pick for the last ranking: "Saved" and Undo, or why it was not saved."""
    lang = lang_of(request)
    if shown is None:
        return render_message(t("nothing_to_pick", lang), "warn"), gr.Button(visible=False), None
    chosen = getattr(evt, "pick", "") or None
    try:
        member = picks.team.member(getattr(request, "username", None))  # any role picks; a disabled one not
        record_id = picks.record(base=shown.base, question=shown.question, chosen_id=chosen, shown=shown,
                                 user=member.name)  # fmt: skip
    except RerankError as exc:
        return render_message(exc.message(lang), "error"), gr.Button(visible=False), None
    saved = t("saved_answers", lang, chosen=chosen) if chosen else t("saved_none", lang)
    mark = html.escape(chosen or "", quote=True)  # the page script marks this pick's buttons as saved
    message = f'<div data-saved-pick="{mark}">{render_message(saved, "ok")}</div>'
    return message, gr.Button(visible=True), record_id


def cleared(picks: Picks, lang: Lang = "en") -> PickOutputs:
    """The pick message and Undo as they are before any pick (a new ranking starts)."""
    return idle_note(picks, lang), gr.Button(visible=False), None


def undo(picks: Picks, record_id: int | None, lang: Lang = "en") -> PickOutputs:
    """Delete the pick just saved."""
    if record_id is None or not picks.undo(record_id):
        return render_message(t("nothing_to_undo", lang), "info"), gr.Button(visible=False), None
    return render_message(t("undone", lang), "info"), gr.Button(visible=False), None
