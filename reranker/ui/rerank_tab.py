"""The Rerank tab: the question panel, the two sources of answers, the results panel, and their wiring.

Each panel builder makes its widgets inside the current ``gr.Blocks`` context and returns them
in a small dataclass; :func:`wire_rerank_tab` connects them to the handlers in
:mod:`reranker.ui.handlers`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import gradio as gr

from reranker.config import AppConfig
from reranker.desk import DEFAULT_THRESHOLD, Desk
from reranker.knowledge_base import DEFAULT_TOP_K
from reranker.presets import DEFAULT_PRESET, get_preset, preset_choices
from reranker.ui import handlers
from reranker.ui.examples import FAQ_EXAMPLES, PASTE_EXAMPLES
from reranker.ui.picks import PickPanel, build_pick_panel, wire_pick_panel

MAX_TOP_K = 100
TABLE_PLACEHOLDER = '<div class="desk-placeholder">Ranked answers appear here.</div>'
#: gr.HTML options for our own markup: no Gradio prose styling, no scripts.
PLAIN: dict[str, Any] = dict(apply_default_css=False, js_on_load=None, elem_classes="desk-html")
UI_ONLY: dict[str, Any] = dict(queue=False, show_progress="hidden", api_visibility="private")


@dataclass
class QuestionPanel:
    query: gr.Textbox
    preset: gr.Dropdown
    override: gr.Textbox
    threshold: gr.Slider


@dataclass
class PastePanel:
    split: gr.Radio
    pasted: gr.Textbox
    count: gr.Markdown
    button: gr.Button


@dataclass
class FaqPanel:
    base: gr.Dropdown
    upload: gr.File
    info: gr.HTML
    top_k: gr.Slider
    button: gr.Button


@dataclass
class ResultsPanel:
    banner: gr.HTML
    best: gr.Textbox
    table: gr.HTML
    status: gr.HTML
    stop: gr.Button
    download: gr.DownloadButton
    last_result: gr.State

    @property
    def outputs(self) -> list[gr.components.Component]:
        return [self.banner, self.best, self.table, self.status, self.download, self.last_result]


def build_question_panel() -> QuestionPanel:
    query = gr.Textbox(label="Customer question", lines=2, elem_id="query",
                       placeholder="e.g. 订单一直显示待发货怎么办？ / Where is my order?")  # fmt: skip
    preset = gr.Dropdown(preset_choices(), value=DEFAULT_PRESET, label="Instruction",
                         info=get_preset(DEFAULT_PRESET).instruction, elem_id="preset")  # fmt: skip
    with gr.Accordion("Custom instruction", open=False):
        override = gr.Textbox(label="Custom instruction (overrides the preset when filled in)", lines=2,
                              placeholder="Given a customer's question about …, judge whether the document …")  # fmt: skip
    threshold = gr.Slider(0, 1, value=DEFAULT_THRESHOLD, step=0.05, label="Confidence threshold",
                          elem_id="threshold",
                          info="When even the best score is below this, the question goes to a human agent.")  # fmt: skip
    return QuestionPanel(query, preset, override, threshold)


def build_paste_panel(desk: Desk, question: QuestionPanel) -> PastePanel:
    split = gr.Radio([("One answer per line", "lines"), ("Blank line between answers", "blank_lines")],
                     value="lines", label="How are the answers separated?", elem_id="split")  # fmt: skip
    pasted = gr.Textbox(label="Candidate answers", lines=8, max_lines=20, elem_id="pasted",
                        placeholder="Paste the answers you are choosing between.")  # fmt: skip
    count = gr.Markdown(handlers.count_pasted(desk, "", "lines"), elem_classes="desk-count")
    button = gr.Button("Rank answers", variant="primary", elem_id="rank-pasted")
    gr.Examples([values for _, values in PASTE_EXAMPLES], [question.query, question.preset, pasted, split],
                example_labels=[label for label, _ in PASTE_EXAMPLES], label="Examples",
                api_visibility="private")  # fmt: skip
    return PastePanel(split, pasted, count, button)


def build_faq_panel(desk: Desk, config: AppConfig, question: QuestionPanel) -> FaqPanel:
    names = list(desk.base_paths)
    first = names[0] if names else None
    base = gr.Dropdown(names, value=first, label="FAQ base", elem_id="base")
    upload = gr.File(
        label=f"…or upload an FAQ CSV (question, answer, id, category; up to {config.max_upload_mb:g} MB)",
        file_types=[".csv"], type="filepath", elem_id="upload",
    )  # fmt: skip
    info = gr.HTML(handlers.describe_base(desk, first, None) if first else "", **PLAIN)
    top_k = gr.Slider(1, min(MAX_TOP_K, config.max_candidates), value=min(DEFAULT_TOP_K, config.max_candidates),
                      step=1, label="Candidates to rerank (top K of the first stage)")  # fmt: skip
    button = gr.Button("Search and rank", variant="primary", elem_id="rank-faq")
    by_file = {path.name: name for name, path in desk.base_paths.items()}
    examples = [[q, p, by_file[f]] for q, p, f in FAQ_EXAMPLES if f in by_file]
    gr.Examples(examples, [question.query, question.preset, base], example_labels=[e[0] for e in examples],
                label="Examples", api_visibility="private")  # fmt: skip
    return FaqPanel(base, upload, info, top_k, button)


def build_results_panel() -> ResultsPanel:
    banner = gr.HTML(label="Banner", elem_id="banner", **PLAIN)
    best = gr.Textbox(label="Best answer", lines=2, max_lines=10, interactive=False, buttons=["copy"],
                      elem_id="best-answer")  # fmt: skip
    table = gr.HTML(TABLE_PLACEHOLDER, label="Ranked answers", elem_id="ranked-table", **PLAIN)
    status = gr.HTML(label="Status", elem_id="status", **PLAIN)
    with gr.Row():
        stop = gr.Button("Stop", variant="stop", size="md", scale=0, min_width=100, elem_id="stop")
        download = gr.DownloadButton("Download CSV", interactive=False, size="md", scale=0, min_width=160,
                                     elem_id="download")  # fmt: skip
    return ResultsPanel(banner, best, table, status, stop, download, gr.State())


def build_rerank_tab(desk: Desk, config: AppConfig) -> None:
    """The Rerank tab's layout and events (inside a ``gr.Tab``)."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=380):
            question = build_question_panel()
            with gr.Tabs():
                with gr.Tab("Paste answers", elem_id="paste-tab"):
                    paste = build_paste_panel(desk, question)
                with gr.Tab("FAQ base", elem_id="faq-tab"):
                    faq = build_faq_panel(desk, config, question)
        with gr.Column(scale=7, min_width=480):
            results = build_results_panel()
            pick = build_pick_panel(desk)
    wire_rerank_tab(desk, question, paste, faq, results, pick)
    wire_pick_panel(desk, pick, [paste.button, faq.button])


def wire_rerank_tab(desk: Desk, question: QuestionPanel, paste: PastePanel, faq: FaqPanel,
                    results: ResultsPanel, pick: PickPanel) -> None:  # fmt: skip
    # The table itself shows progress (rows arrive scored), so no spinner hides it.
    ranking: dict[str, Any] = dict(outputs=results.outputs, show_progress="hidden")
    asked = [question.query, question.preset, question.override]
    paste_event = paste.button.click(partial(handlers.rank_pasted, desk),
                                     [*asked, paste.pasted, paste.split, question.threshold],
                                     api_name="rank_pasted", **ranking)  # fmt: skip
    faq_event = faq.button.click(partial(handlers.rank_faq, desk),
                                 [*asked, faq.base, faq.upload, faq.top_k, question.threshold],
                                 api_name="rank_faq", **{**ranking, "outputs": [*results.outputs, pick.shown]})  # fmt: skip
    for event in (paste_event, faq_event):
        event.success(handlers.enable_download, None, results.download, **UI_ONLY)
    results.stop.click(handlers.stopped, None, results.status, cancels=[paste_event, faq_event], **UI_ONLY)
    for trigger in (paste.pasted.change, paste.split.change):
        trigger(partial(handlers.count_pasted, desk), [paste.pasted, paste.split], paste.count, **UI_ONLY)
    for trigger in (faq.base.change, faq.upload.change):
        trigger(partial(handlers.describe_base, desk), [faq.base, faq.upload], faq.info, **UI_ONLY)
    question.threshold.change(handlers.rejudge, [results.last_result, question.threshold], results.banner,
                              **UI_ONLY)  # fmt: skip
    question.preset.change(handlers.show_preset, question.preset, question.preset, **UI_ONLY)
