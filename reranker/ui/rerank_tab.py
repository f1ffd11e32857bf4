"""The Rerank tab: one screen per ticket. Question and answers on the left, results on the right.

Each panel builder makes its widgets inside the current ``gr.Blocks`` context and returns them
in a small dataclass; :func:`wire_rerank_tab` connects them to the handlers in
:mod:`reranker.ui.handlers`. The page script (``assets/desk.js``) adds the keyboard shortcuts,
the per-row Copy buttons and the out-of-date marking; it finds widgets by their ``elem_id``.
Labels are message ids of :mod:`reranker.i18n` (``I18N("key")``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from reranker.config import AppConfig
from reranker.desk.desk import Desk
from reranker.feedback.picks import Picks
from reranker.feedback.shared_bases import SharedBases
from reranker.knowledge.bases import DEFAULT_TOP_K
from reranker.knowledge.presets import DEFAULT_PRESET, PRESETS
from reranker.ui import handlers
from reranker.ui.examples import FAQ_EXAMPLES, PASTE_EXAMPLES
from reranker.ui.i18n import I18N
from reranker.ui.picks import PickPanel, build_pick_panel, wire_pick_panel
from reranker.ui.shared_base_panel import build_share_panel, wire_share_panel
from reranker.verdict import DEFAULT_THRESHOLD

MAX_TOP_K = 100
#: gr.HTML options for our own markup: no Gradio prose styling, no scripts.
PLAIN: dict[str, Any] = dict(apply_default_css=False, js_on_load=None, elem_classes="desk-html")
UI_ONLY: dict[str, Any] = dict(queue=False, show_progress="hidden", api_visibility="private")
#: Page-script calls (assets/desk.js) run in the browser around events.
MARK_STALE = "() => window.deskMarkStale && window.deskMarkStale()"
FRESH = "(...args) => { window.deskFresh && window.deskFresh(); return args; }"
SHOW_BANNER = "() => window.deskShowBanner && window.deskShowBanner()"
NEW_TICKET = "() => window.deskNewTicket && window.deskNewTicket()"


@dataclass
class QuestionPanel:
    query: gr.Textbox
    new_ticket: gr.Button


@dataclass
class SettingsPanel:
    preset: gr.Dropdown
    override: gr.Textbox
    threshold: gr.Slider
    top_k: gr.Slider
    saved: gr.BrowserState

    @property
    def values(self) -> list[gr.components.Component]:
        return [self.threshold, self.top_k, self.preset, self.override]


@dataclass
class PastePanel:
    split: gr.Radio
    pasted: gr.Textbox
    count: gr.Markdown
    button: gr.Button


@dataclass
class FaqPanel:
    source: gr.Radio
    base: gr.Dropdown
    upload: gr.File
    info: gr.HTML
    button: gr.Button


@dataclass
class ResultsPanel:
    heading: gr.HTML
    stale: gr.HTML
    banner: gr.HTML
    best: gr.Textbox
    table: gr.HTML
    status: gr.HTML
    stop: gr.Button
    download: gr.DownloadButton
    last_result: gr.State

    @property
    def outputs(self) -> list[gr.components.Component]:
        return [
            self.banner,
            self.best,
            self.table,
            self.status,
            self.heading,
            self.download,
            self.last_result,
        ]


@dataclass
class RerankTab:
    """What the page wires on load: the remembered settings and the texts in the browser's language."""

    answer_tabs: gr.Tabs
    settings: SettingsPanel
    paste: PastePanel
    faq: FaqPanel
    results: ResultsPanel
    pick: PickPanel


def build_question_panel() -> QuestionPanel:
    query = gr.Textbox(label=I18N("question"), lines=2, max_lines=6, elem_id="query", info=I18N("question_hint"),
                       placeholder=I18N("question_placeholder"))  # fmt: skip
    new_ticket = gr.Button(I18N("new_ticket"), size="sm", elem_id="new-ticket")
    return QuestionPanel(query, new_ticket)


def build_settings_panel(config: AppConfig) -> SettingsPanel:
    """Per-agent settings, folded away and remembered in the browser (``gr.BrowserState``)."""
    with gr.Accordion(I18N("settings"), open=False, elem_id="settings"):
        with gr.Row():
            threshold = gr.Slider(0, 1, value=DEFAULT_THRESHOLD, step=0.05, label=I18N("threshold"),
                                  info=I18N("threshold_from_agent"), elem_id="threshold")  # fmt: skip
            top_k = gr.Slider(1, min(MAX_TOP_K, config.max_candidates), step=1, label=I18N("top_k"),
                              value=min(DEFAULT_TOP_K, config.max_candidates), elem_id="top-k")  # fmt: skip
        preset = gr.Dropdown([(I18N(f"preset_{p.key}"), p.key) for p in PRESETS], value=DEFAULT_PRESET,
                             label=I18N("preset"), elem_id="preset")  # fmt: skip
        override = gr.Textbox(label=I18N("override"), lines=2, elem_id="override",
                              placeholder=I18N("override_placeholder"))  # fmt: skip
    saved = gr.BrowserState(handlers.DEFAULT_SETTINGS, storage_key="faq-rerank-desk-settings")
    return SettingsPanel(preset, override, threshold, top_k, saved)


def build_paste_panel() -> PastePanel:
    split = gr.Radio([(I18N("split_lines"), "lines"), (I18N("split_blank"), "blank_lines")],
                     value="lines", label=I18N("split"), elem_id="split")  # fmt: skip
    # A fixed height (lines == max_lines): Gradio then skips its auto-resize, which re-measures the
    # whole text on every keystroke and froze the tab for seconds after a 400-answer paste.
    pasted = gr.Textbox(label=I18N("pasted"), lines=8, max_lines=8, elem_id="pasted",
                        placeholder="1. …\n2. …")  # fmt: skip
    count = gr.Markdown(elem_classes="desk-count", elem_id="count")
    button = gr.Button(I18N("rank_pasted"), variant="primary", elem_id="rank-pasted")
    return PastePanel(split, pasted, count, button)


def upload_guard_js(limit: int) -> str:
    """Keeps a file over ``limit`` bytes from uploading; the base info box's click event says why."""
    return (
        f"const limit = {limit};"
        """
if (!window.__deskUploadGuard) {
  window.__deskUploadGuard = true;
  const guard = (event, files) => {
    const file = [...(files || [])].find((f) => f.size > limit);
    if (!file) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    if (event.type === 'input') return;
    if (event.target.value) event.target.value = '';
    trigger('click', {name: file.name, size: file.size});
  };
  for (const type of ['input', 'change']) {
    document.addEventListener(type, (event) => {
      if (event.target.matches?.('#upload input[type=file]')) guard(event, event.target.files);
    }, true);
  }
  document.addEventListener('drop', (event) => {
    if (event.target.closest?.('#upload')) guard(event, event.dataTransfer?.files);
  }, true);
}
"""
    )


def build_faq_panel(desk: Desk) -> FaqPanel:
    names = desk.bases.names
    source = gr.Radio([(I18N("source_bundled"), "bundled"), (I18N("source_upload"), "upload")],
                      value="bundled", label=I18N("source"), elem_id="source")  # fmt: skip
    base = gr.Dropdown(names, value=names[0] if names else None, label=I18N("base"), elem_id="base")
    # The action right under the base, so a phone reaches it without scrolling past the upload.
    button = gr.Button(I18N("rank_faq"), variant="primary", elem_id="rank-faq")
    upload = gr.File(label=I18N("upload"), file_types=[".csv"], type="filepath", elem_id="upload", height=90)
    info = gr.HTML(**{**PLAIN, "js_on_load": upload_guard_js(desk.bases.max_upload_bytes)}, elem_id="base-info")
    return FaqPanel(source, base, upload, info, button)


def build_examples(desk: Desk, question: QuestionPanel, settings: SettingsPanel, paste: PastePanel,
                   faq: FaqPanel) -> None:  # fmt: skip
    """Example tickets, labelled in plain words, folded under the question."""
    by_file = {path.name: name for name, path in desk.bases.paths.items()}
    faq_examples = [[q, p, by_file[f]] for q, p, f in FAQ_EXAMPLES if f in by_file]
    with gr.Accordion(I18N("examples"), open=False, elem_id="examples"):
        gr.Examples([values for _, values in PASTE_EXAMPLES], [question.query, settings.preset, paste.pasted, paste.split],
                    example_labels=[label for label, _ in PASTE_EXAMPLES], label=I18N("tab_paste"),
                    api_visibility="private")  # fmt: skip
        gr.Examples(faq_examples, [question.query, settings.preset, faq.base], label=I18N("tab_faq"),
                    example_labels=[e[0] for e in faq_examples], api_visibility="private")  # fmt: skip


def build_results_panel() -> ResultsPanel:
    heading = gr.HTML(elem_id="results-for", **PLAIN)
    stale = gr.HTML(elem_id="stale-note", **PLAIN)
    banner = gr.HTML(elem_id="banner", **PLAIN)
    best = gr.Textbox(label=I18N("best"), lines=2, max_lines=6, interactive=True, buttons=["copy"],
                      elem_id="best-answer")  # fmt: skip
    table = gr.HTML(elem_id="ranked-table", **PLAIN)
    with gr.Row(elem_id="results-footer"):
        status = gr.HTML(elem_id="status", **PLAIN)
        stop = gr.Button(I18N("stop"), variant="stop", size="sm", scale=0, min_width=90, elem_id="stop")
        download = gr.DownloadButton(I18N("download"), interactive=False, size="sm", scale=0, min_width=140,
                                     elem_id="download")  # fmt: skip
    return ResultsPanel(heading, stale, banner, best, table, status, stop, download, gr.State())


def build_rerank_tab(desk: Desk, picks: Picks, config: AppConfig, shared: SharedBases | None = None) -> RerankTab:
    """The Rerank tab's layout and events (inside a ``gr.Tab``); with ``shared``, "Save for the team"."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=4, min_width=320, elem_id="ticket"):
            question = build_question_panel()
            with gr.Tabs(elem_id="answer-tabs") as answer_tabs:
                with gr.Tab(I18N("tab_paste"), id="paste", elem_id="paste-tab") as paste_tab:
                    paste = build_paste_panel()
                with gr.Tab(I18N("tab_faq"), id="faq", elem_id="faq-tab") as faq_tab:
                    faq = build_faq_panel(desk)
                    if shared is not None:
                        wire_share_panel(shared, picks.team, build_share_panel(), faq.upload, faq.base)
            settings = build_settings_panel(config)
            build_examples(desk, question, settings, paste, faq)
        # The results, and their answer column, get the room.
        with gr.Column(scale=8, min_width=320, elem_id="results"):
            results = build_results_panel()
            pick = build_pick_panel()
    wire_rerank_tab(desk, picks, question, settings, paste, faq, results, pick)
    wire_pick_panel(picks, pick, [paste.button, faq.button])
    show = dict(fn=handlers.bind(handlers.show_threshold, picks), inputs=[settings.saved, faq.source, faq.base],
                outputs=settings.threshold, **UI_ONLY)  # fmt: skip
    for tab, name in ((paste_tab, "paste"), (faq_tab, "faq")):
        tab.select(handlers.remember_tab("tab", name), settings.saved, settings.saved, **UI_ONLY).then(**show)
    faq.base.input(handlers.remember("base"), [settings.saved, faq.base], settings.saved, **UI_ONLY)
    for trigger in (faq.base.change, faq.source.change, faq.button.click):
        trigger(**show)
    gr.on([settings.threshold.input, settings.threshold.release], handlers.remember("threshold"),
          [settings.saved, settings.threshold], settings.saved, **UI_ONLY)  # fmt: skip
    return RerankTab(answer_tabs, settings, paste, faq, results, pick)


def wire_rerank_tab(desk: Desk, picks: Picks, question: QuestionPanel, settings: SettingsPanel, paste: PastePanel,
                    faq: FaqPanel, results: ResultsPanel, pick: PickPanel) -> None:  # fmt: skip
    # The table itself shows progress (rows arrive scored), so no spinner hides it.
    ranking: dict[str, Any] = dict(outputs=results.outputs, show_progress="hidden", js=FRESH)
    asked = [question.query, settings.preset, settings.override]
    stops = handlers.StopSignals()
    paste_event = paste.button.click(handlers.bind(handlers.rank_pasted, desk, stops),
                                     [*asked, paste.pasted, paste.split, settings.threshold],
                                     api_name="rank_pasted", **ranking)  # fmt: skip
    faq_event = faq.button.click(handlers.bind(handlers.rank_faq, desk, picks, stops),
                                 [*asked, faq.source, faq.base, faq.upload, settings.top_k, settings.threshold],
                                 api_name="rank_faq", **{**ranking, "outputs": [*results.outputs, pick.shown]})  # fmt: skip
    for event in (paste_event, faq_event):
        event.success(handlers.enable_download, None, results.download, js=SHOW_BANNER, **UI_ONLY)
        event.failure(None, js=MARK_STALE, **UI_ONLY)
    results.stop.click(handlers.bind(handlers.stop, stops), None, None, **UI_ONLY)
    cleared = [question.query, paste.pasted, *results.outputs, pick.message, pick.undo, pick.record_id, pick.shown]
    question.new_ticket.click(handlers.bind(handlers.new_ticket, picks), None, cleared,
                              cancels=[paste_event, faq_event], **UI_ONLY).then(None, js=NEW_TICKET, **UI_ONLY)  # fmt: skip
    wire_inputs(desk, settings, paste, faq, results)


def wire_inputs(desk: Desk, settings: SettingsPanel, paste: PastePanel, faq: FaqPanel,
                results: ResultsPanel) -> None:  # fmt: skip
    """Live counts and base descriptions, out-of-date marking, and the remembered settings."""
    for trigger in (paste.pasted.change, paste.split.change):
        trigger(
            handlers.bind(handlers.count_pasted, desk), [paste.pasted, paste.split], paste.count, **UI_ONLY
        )
    faq.info.click(
        handlers.bind(handlers.upload_too_large, desk), [faq.base], [faq.info, faq.source], **UI_ONLY
    )
    faq.upload.change(handlers.bind(handlers.upload_changed, desk), [faq.base, faq.upload], [faq.info, faq.source],
                      **UI_ONLY)  # fmt: skip
    faq.base.change(handlers.bind(handlers.base_chosen, desk), [faq.base, faq.upload], [faq.info, faq.source],
                    **UI_ONLY)  # fmt: skip
    faq.source.input(handlers.bind(handlers.describe_base, desk), [faq.source, faq.base, faq.upload],
                     [faq.info, faq.source], **UI_ONLY)  # fmt: skip
    for component in (paste.split, faq.source, faq.base, faq.upload, settings.preset, settings.override):
        component.change(None, js=MARK_STALE, **UI_ONLY)
    settings.threshold.change(handlers.rejudge, [results.last_result, settings.threshold],
                              [results.banner, results.best], **UI_ONLY)  # fmt: skip
    settings.preset.change(handlers.show_preset, settings.preset, settings.preset, **UI_ONLY)
    remembered = [settings.top_k, settings.preset, settings.override]
    for component in remembered:
        component.change(handlers.save_settings, [settings.saved, *remembered], settings.saved, **UI_ONLY)
