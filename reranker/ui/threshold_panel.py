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
from reranker.ui.i18n import I18N, lang_of

#: The top scores of an evaluation's answerable and unanswerable questions.
Scores = tuple[list[float | None], list[float | None]]


@dataclass
class ThresholdPanel:
    scores: gr.State
    min_caught: gr.Slider
    max_escalated: gr.Slider
    sentence: gr.Markdown
    recommended: gr.State
    apply: gr.Button
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
    return goal_sentence(rec.threshold, counts, rec.met, min_caught, max_escalated, lang), rec.threshold


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
    """The goal sliders, the recommendation and the Apply button (inside the Evaluate tab)."""
    gr.Markdown(I18N("goal_heading"))
    with gr.Row():
        min_caught = gr.Slider(0, 100, value=90, step=5, label=I18N("goal_caught"),
                               elem_id="goal-caught")  # fmt: skip
        max_escalated = gr.Slider(0, 100, value=10, step=5, label=I18N("goal_escalated"),
                                  elem_id="goal-escalated")  # fmt: skip
    sentence = gr.Markdown(I18N("goal_not_yet"), elem_id="threshold-recommendation")
    with gr.Row():
        apply = gr.Button(I18N("goal_apply"), scale=0, min_width=180, elem_id="threshold-apply",
                          interactive=picks.store is not None)  # fmt: skip
        message = gr.HTML(apply_default_css=False, elem_id="threshold-message")
    return ThresholdPanel(gr.State(), min_caught, max_escalated, sentence, gr.State(), apply, message)


def wire_threshold_panel(picks: Picks, panel: ThresholdPanel, base: gr.Dropdown, faq_upload: gr.File) -> None:
    """Recompute the recommendation when the scores or the goal change; Apply stores it."""
    options: dict[str, Any] = dict(queue=False, show_progress="hidden", api_visibility="private")
    goal = [panel.scores, panel.min_caught, panel.max_escalated]

    def on_goal(
        scores: Scores | None, caught: float, escalated: float, request: gr.Request
    ) -> tuple[str, float | None]:
        return recommend(scores, caught, escalated, lang_of(request))

    def on_apply(name: str | None, uploaded: str | None, threshold: float | None, request: gr.Request) -> str:
        return apply_threshold(picks, name, uploaded, threshold, lang_of(request), getattr(request, "username", None))

    for trigger in (panel.scores.change, panel.min_caught.change, panel.max_escalated.change):
        trigger(on_goal, goal, [panel.sentence, panel.recommended], **options)
    panel.apply.click(on_apply, [base, faq_upload, panel.recommended], panel.message, **options)
