"""The Evaluate tab's threshold goal: recommend the threshold that meets it, and apply it to a base.

After an evaluation with reranking, each labelled question's top score is kept (in a
``gr.State``); the support lead sets the goal with two sliders ("send at least X % of the
none-of-these questions to a human", "escalate at most Y % of the answerable ones") and reads
:func:`reranker.evaluation.calibration.recommend_threshold`'s sentence. "Apply to this base" stores the
threshold for the base (:meth:`reranker.feedback.picks.Picks.set_threshold`, in the team database): the desk and
``POST /v1/faq/search`` use it from then on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from reranker.desk.results import render_message
from reranker.errors import RerankError
from reranker.evaluation.calibration import goal_sentence, recommend_threshold
from reranker.evaluation.evaluate import EvaluationReport
from reranker.feedback.picks import Picks
from reranker.i18n import Lang, t
from reranker.ui.i18n import I18N, lang_of, user_errors

#: The top scores of an evaluation's answerable and unanswerable questions.
Scores = tuple[list[float | None], list[float | None]]


@dataclass
class ThresholdPanel:
    scores: gr.State
    min_caught: gr.Slider
    max_escalated: gr.Slider
    sentence: gr.Markdown
    recommended: gr.State
    current: gr.HTML
    apply: gr.Button
    remove: gr.Button
    confirm_row: gr.Row
    confirm_text: gr.Markdown
    confirm: gr.Button
    cancel: gr.Button
    message: gr.HTML


def report_scores(report: EvaluationReport) -> Scores | None:
    """The reranker's top score of each answerable and each unanswerable question (None: no use)."""
    if report.method != "rerank" or not report.in_scope or not report.out_of_scope:
        return None
    return [r.top_score for r in report.in_scope], [r.top_score for r in report.out_of_scope]


def recommend(scores: Scores | None, min_caught_pct: float, max_escalated_pct: float,
              lang: Lang = "en") -> tuple[str, float | None]:  # fmt: skip
    """The plain sentence for the goal (percentages) and the recommended threshold (None: none yet)."""
    if scores is None:
        return t("goal_not_yet", lang), None
    answerable, unanswerable = scores
    min_caught, max_escalated = min_caught_pct / 100, max_escalated_pct / 100
    try:
        rec = recommend_threshold(answerable, unanswerable, min_caught, max_escalated)
    except RerankError as exc:
        return exc.message(lang), None
    counts = (rec.caught, rec.unanswerable, rec.escalated, rec.answerable)
    sentence = goal_sentence(rec.threshold, counts, rec.met, min_caught, max_escalated, lang)
    return sentence, rec.threshold if rec.met else None  # nothing to apply when no threshold meets the goal


def stored_note(picks: Picks, base: str | None, uploaded: str | None, lang: Lang = "en") -> str:
    """What the desk uses for the base now: its stored threshold, or each agent's own."""
    if not picks.enabled or uploaded or not base:
        return ""
    stored, is_stored = picks.threshold_for(base)
    key = "goal_current_stored" if is_stored else "goal_current_none"
    return render_message(t(key, lang, base=base, threshold=stored), "info")


def can_apply(picks: Picks, uploaded: str | None, threshold: float | None) -> gr.Button:
    """Apply is enabled only for a threshold that meets the goal, on one of the desk's own bases."""
    return gr.Button(interactive=picks.enabled and not uploaded and threshold is not None)


def confirm_question(picks: Picks, base: str | None, threshold: float | None, lang: Lang = "en") -> str:
    """The confirmation asked before storing: the new threshold, and the one it replaces."""
    stored, is_stored = picks.threshold_for(base or "")
    if is_stored:
        return t("goal_confirm_replace", lang, base=base, threshold=threshold, stored=stored)
    return t("goal_confirm", lang, base=base, threshold=threshold)


def remove_threshold(picks: Picks, base: str | None, lang: Lang = "en", user: str | None = None) -> str:
    """Remove the base's stored threshold: the desk goes back to each agent's own (``user``: leads only)."""
    try:
        picks.set_threshold(base or "", None, by=picks.team.member(user))
    except RerankError as exc:
        return render_message(exc.message(lang), "error")
    return render_message(t("goal_removed", lang, base=base), "ok")


def apply_threshold(picks: Picks, base: str | None, uploaded: str | None, threshold: float | None,
                    lang: Lang = "en", user: str | None = None) -> str:  # fmt: skip
    """Store ``threshold`` for the desk's base; a message saying what happened (or why not).

    ``user`` is who is signed in: only a lead may apply a threshold.
    """
    try:
        member = picks.team.member(user)
        if threshold is None:
            return render_message(t("goal_not_yet", lang), "warn")
        if uploaded:
            return render_message(t("goal_not_upload", lang), "warn")
        picks.set_threshold(base or "", threshold, by=member)
    except RerankError as exc:
        return render_message(exc.message(lang), "error")
    return render_message(t("goal_stored", lang, threshold=threshold, base=base), "ok")


def build_threshold_panel(picks: Picks) -> ThresholdPanel:
    """The goal sliders, the recommendation, the base's stored threshold, Apply (with a confirmation) and Remove."""
    gr.Markdown(I18N("goal_heading"))
    with gr.Row():
        min_caught = gr.Slider(0, 100, value=90, step=5, label=I18N("goal_caught"),
                               elem_id="goal-caught")  # fmt: skip
        max_escalated = gr.Slider(0, 100, value=10, step=5, label=I18N("goal_escalated"),
                                  elem_id="goal-escalated")  # fmt: skip
    sentence = gr.Markdown(I18N("goal_not_yet"), elem_id="threshold-recommendation")
    current = gr.HTML(apply_default_css=False, elem_id="threshold-current")
    with gr.Row():
        apply = gr.Button(I18N("goal_apply"), scale=0, min_width=180, elem_id="threshold-apply",
                          interactive=False)  # fmt: skip
        remove = gr.Button(I18N("goal_remove"), scale=0, min_width=180, elem_id="threshold-remove",
                           variant="stop", interactive=picks.enabled)  # fmt: skip
    with gr.Row(visible=False, elem_id="threshold-confirm-row") as confirm_row:
        confirm_text = gr.Markdown(elem_id="threshold-confirm-text")
        confirm = gr.Button(I18N("goal_confirm_button"), variant="primary", scale=0, min_width=140,
                            elem_id="threshold-confirm")  # fmt: skip
        cancel = gr.Button(I18N("goal_cancel"), scale=0, min_width=100, elem_id="threshold-cancel")
    message = gr.HTML(apply_default_css=False, elem_id="threshold-message")
    return ThresholdPanel(gr.State(), min_caught, max_escalated, sentence, gr.State(), current, apply, remove,
                          confirm_row, confirm_text, confirm, cancel, message)  # fmt: skip


def wire_threshold_panel(picks: Picks, panel: ThresholdPanel, base: gr.Dropdown,
                         faq_upload: gr.File) -> dict[str, Any]:  # fmt: skip
    """Recompute the recommendation when the scores or the goal change; Apply asks, Confirm stores it,
    Remove removes the stored one; the base's current threshold is shown throughout.

    Returns the event (``fn``, ``inputs``, ``outputs``) that shows the base's current threshold, for
    the page to run once it has restored the browser's base."""
    options: dict[str, Any] = dict(queue=False, show_progress="hidden", api_visibility="private")
    goal = [panel.scores, panel.min_caught, panel.max_escalated]

    @user_errors
    def on_goal(scores: Scores | None, caught: float, escalated: float, uploaded: str | None,
                request: gr.Request) -> tuple[str, float | None, gr.Button, gr.Row, str]:  # fmt: skip
        sentence, threshold = recommend(scores, caught, escalated, lang_of(request))
        return sentence, threshold, can_apply(picks, uploaded, threshold), gr.Row(visible=False), ""

    @user_errors
    def on_base(name: str | None, uploaded: str | None, threshold: float | None,
                request: gr.Request) -> tuple[str, gr.Button, gr.Row]:  # fmt: skip
        return stored_note(picks, name, uploaded, lang_of(request)), can_apply(picks, uploaded, threshold), \
            gr.Row(visible=False)  # fmt: skip

    @user_errors
    def on_apply(name: str | None, threshold: float | None, request: gr.Request) -> tuple[gr.Row, str]:
        return gr.Row(visible=True), confirm_question(picks, name, threshold, lang_of(request))

    @user_errors
    def on_confirm(name: str | None, uploaded: str | None, threshold: float | None,
                   request: gr.Request) -> tuple[str, gr.Row, str]:  # fmt: skip
        lang = lang_of(request)
        message = apply_threshold(picks, name, uploaded, threshold, lang, getattr(request, "username", None))
        return message, gr.Row(visible=False), stored_note(picks, name, uploaded, lang)

    @user_errors
    def on_remove(name: str | None, uploaded: str | None, request: gr.Request) -> tuple[str, gr.Row, str]:
        lang = lang_of(request)
        return (remove_threshold(picks, name, lang, getattr(request, "username", None)), gr.Row(visible=False),
                stored_note(picks, name, uploaded, lang))

    def on_cancel() -> gr.Row:
        return gr.Row(visible=False)

    for trigger in (panel.scores.change, panel.min_caught.change, panel.max_escalated.change):
        trigger(on_goal, [*goal, faq_upload], [panel.sentence, panel.recommended, panel.apply, panel.confirm_row,
                                              panel.message], **options)  # fmt: skip
    show_current: dict[str, Any] = dict(fn=on_base, inputs=[base, faq_upload, panel.recommended],
                                        outputs=[panel.current, panel.apply, panel.confirm_row], **options)  # fmt: skip
    for trigger in (base.change, faq_upload.change):
        trigger(**show_current)
    panel.apply.click(on_apply, [base, panel.recommended], [panel.confirm_row, panel.confirm_text], **options)
    panel.confirm.click(on_confirm, [base, faq_upload, panel.recommended],
                        [panel.message, panel.confirm_row, panel.current], **options)  # fmt: skip
    panel.remove.click(on_remove, [base, faq_upload], [panel.message, panel.confirm_row, panel.current],
                       **options)  # fmt: skip
    panel.cancel.click(on_cancel, None, panel.confirm_row, **options)
    return show_current
