"""The Knowledge tab: leads edit the FAQ base in the desk and act on what the agents' picks teach.

Five views over one base: **Entries** (the table, the edit form, the open entry's history and a
confirmed rollback), **Import / export** (the base as CSV; an upload's preview row by row, then
Import), **Suggestions** (customers' questions to approve as phrasings), **Gaps** (topics no entry
answered: "Draft an entry" fills the Entries form, or dismiss) and **Health** (entries not picked
lately, entries agents confuse). This module only lays out and wires; the handlers are plain
functions in :mod:`reranker.ui.knowledge_entries` and :mod:`reranker.ui.knowledge_review`. The
tab loads when it is opened, in the browser's language; the version a lead opened stays in a
``gr.State`` and goes back as ``expected_version``, so a save over someone else's newer one is refused.

>>> with gr.Blocks() as demo, gr.Tabs():                                       # doctest: +SKIP
...     build_knowledge_tab(desk, knowledge, picks.team)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd

from reranker.desk.desk import Desk
from reranker.desk.language import default_base
from reranker.feedback.knowledge import Knowledge
from reranker.feedback.team import Team
from reranker.ui import handlers
from reranker.ui import knowledge_entries as entries
from reranker.ui import knowledge_review as review
from reranker.ui.i18n import I18N, lang_of, user_errors
from reranker.ui.rerank_tab import PLAIN, UI_ONLY

#: A change: queued (it may wait for the dense index), a small progress mark, no API endpoint.
ACTION: dict[str, Any] = dict(show_progress="minimal", api_visibility="private")
#: Column widths: the questions get the room.
ENTRY_WIDTHS = ["90px", "110px", "320px", "90px", "110px", "80px", "100px", "140px"]
HISTORY_WIDTHS = ["90px", "150px", "100px", "200px", "30%", "30%"]
GAP_WIDTHS = ["30%", "100px", "150px", "150px", "40%"]


def user_of(request: gr.Request) -> str | None:
    return getattr(request, "username", None)


@dataclass
class EntryForm:
    entry_id: gr.Textbox
    question: gr.Textbox
    answer: gr.Textbox
    category: gr.Textbox
    phrasings: gr.Textbox
    opened: gr.State
    retire: gr.Button
    save: gr.Button
    new: gr.Button
    message: gr.HTML

    @property
    def outputs(self) -> list[Any]:
        """What the handlers of :mod:`reranker.ui.knowledge_entries` return, after the status line."""
        return [self.message, self.entry_id, self.question, self.answer, self.category, self.phrasings, self.opened,
                self.retire]  # fmt: skip

    @property
    def inputs(self) -> list[Any]:
        return [self.opened, self.entry_id, self.question, self.answer, self.category, self.phrasings]


@dataclass
class EntriesView:
    filter: gr.Textbox
    table: gr.DataFrame
    form: EntryForm
    history: gr.DataFrame
    version: gr.State
    rollback: gr.Button
    confirm_row: gr.Row
    confirm_text: gr.Markdown
    confirm: gr.Button
    cancel: gr.Button
    #: The history and its rollback, shown while an entry is open.
    history_box: gr.Column


@dataclass
class ImportView:
    export: gr.Button
    export_file: gr.File
    upload: gr.File
    summary: gr.HTML
    preview: gr.DataFrame
    changed: gr.Radio
    apply: gr.Button
    message: gr.HTML


@dataclass
class ReviewViews:
    suggestions_tab: gr.Tab
    suggestions: gr.DataFrame
    suggestion: gr.State
    approve: gr.Button
    reject: gr.Button
    suggestion_message: gr.HTML
    gaps_tab: gr.Tab
    gaps: gr.DataFrame
    topics: gr.State
    gap: gr.State
    draft: gr.Button
    dismiss: gr.Button
    gap_message: gr.HTML
    health_tab: gr.Tab
    days: gr.Number
    health: gr.DataFrame
    pairs: gr.DataFrame


def table(label: str, elem_id: str, widths: list[str] | None = None) -> gr.DataFrame:
    return gr.DataFrame(pd.DataFrame(), label=I18N(label), interactive=False, wrap=True, max_height=420,
                        column_widths=widths, elem_id=elem_id)  # fmt: skip


def build_entries_view() -> EntriesView:
    with gr.Row():
        with gr.Column(scale=3):
            query = gr.Textbox(label=I18N("kn_filter"), max_lines=1, elem_id="kn-filter")
            listing = table("kn_entries", "kn-entries", ENTRY_WIDTHS)
        with gr.Column(scale=2):
            message = gr.HTML(elem_id="kn-message", **PLAIN)
            entry_id = gr.Textbox(label=I18N("kn_col_id"), max_lines=1, interactive=False, elem_id="kn-id")
            question = gr.Textbox(label=I18N("kn_col_question"), lines=2, max_lines=4, elem_id="kn-question")
            answer = gr.Textbox(label=I18N("kn_answer"), lines=5, max_lines=12, elem_id="kn-answer")
            category = gr.Textbox(label=I18N("kn_col_category"), max_lines=1, elem_id="kn-category")
            phrasings = gr.Textbox(label=I18N("kn_phrasings"), lines=3, max_lines=10, elem_id="kn-phrasings")
            with gr.Row():
                save = gr.Button(I18N("kn_save"), variant="primary", elem_id="kn-save")
                retire = gr.Button(I18N("kn_retire"), variant="stop", interactive=False, elem_id="kn-retire")
                new = gr.Button(I18N("kn_new"), elem_id="kn-new")
    form = EntryForm(entry_id, question, answer, category, phrasings, gr.State(), retire, save, new, message)
    with gr.Column(visible=False, elem_id="kn-history-box") as history_box:
        history = table("kn_history", "kn-history", HISTORY_WIDTHS)
        rollback = gr.Button(I18N("kn_rollback"), scale=0, min_width=220, elem_id="kn-rollback")
        with gr.Row(visible=False, elem_id="kn-rollback-row") as confirm_row:
            confirm_text = gr.Markdown(elem_id="kn-rollback-text")
            confirm = gr.Button(I18N("kn_rollback_confirm"), variant="primary", scale=0, min_width=160,
                                elem_id="kn-rollback-confirm")  # fmt: skip
            cancel = gr.Button(I18N("kn_cancel"), scale=0, min_width=100, elem_id="kn-rollback-cancel")
    return EntriesView(
        query, listing, form, history, gr.State(), rollback, confirm_row, confirm_text, confirm, cancel, history_box
    )


def build_import_view() -> ImportView:
    with gr.Row(equal_height=True):
        export = gr.Button(I18N("kn_export"), scale=0, min_width=160, elem_id="kn-export")
        export_file = gr.File(label=I18N("kn_export_file"), interactive=False, elem_id="kn-export-file")
    upload = gr.File(
        label=I18N("kn_import_file"), file_types=[".csv"], type="filepath", elem_id="kn-import-file"
    )
    summary = gr.HTML(elem_id="kn-preview-summary", **PLAIN)
    preview = table("kn_preview", "kn-preview")
    with gr.Row(equal_height=True):
        changed = gr.Radio([(I18N("kn_skip"), "skip"), (I18N("kn_overwrite"), "overwrite")], value="skip",
                           label=I18N("kn_changed_rows"), elem_id="kn-changed")  # fmt: skip
        apply = gr.Button(I18N("kn_import"), variant="primary", interactive=False, scale=0, min_width=160,
                          elem_id="kn-import")  # fmt: skip
    message = gr.HTML(elem_id="kn-import-message", **PLAIN)
    return ImportView(export, export_file, upload, summary, preview, changed, apply, message)


def build_review_views() -> ReviewViews:
    with gr.Tab(
        I18N("kn_tab_suggestions"), id="kn-suggestions", elem_id="kn-suggestions-tab"
    ) as suggestions_tab:
        gr.Markdown(I18N("kn_suggestions_intro"))
        suggestions = table("kn_tab_suggestions", "kn-suggestions")
        with gr.Row():
            approve = gr.Button(
                I18N("kn_approve"), variant="primary", scale=0, min_width=260, elem_id="kn-approve"
            )
            reject = gr.Button(I18N("kn_reject"), variant="stop", scale=0, min_width=260, elem_id="kn-reject")
        suggestion_message = gr.HTML(elem_id="kn-suggestion-message", **PLAIN)
    with gr.Tab(I18N("kn_tab_gaps"), id="kn-gaps", elem_id="kn-gaps-tab") as gaps_tab:
        gr.Markdown(I18N("kn_gaps_intro"))
        gaps = table("kn_tab_gaps", "kn-gaps", GAP_WIDTHS)
        with gr.Row():
            draft = gr.Button(I18N("kn_draft"), variant="primary", scale=0, min_width=180, elem_id="kn-draft")
            dismiss = gr.Button(I18N("kn_dismiss"), scale=0, min_width=140, elem_id="kn-dismiss")
        gap_message = gr.HTML(elem_id="kn-gap-message", **PLAIN)
    with gr.Tab(I18N("kn_tab_health"), id="kn-health", elem_id="kn-health-tab") as health_tab:
        days = gr.Number(0, label=I18N("kn_unpicked_days"), minimum=0, precision=0, elem_id="kn-days")
        health = table("kn_health", "kn-health")
        pairs = table("kn_pairs", "kn-pairs")
    return ReviewViews(suggestions_tab, suggestions, gr.State(), approve, reject, suggestion_message, gaps_tab, gaps,
                       gr.State({}), gr.State(), draft, dismiss, gap_message, health_tab, days, health, pairs)  # fmt: skip


def build_knowledge_tab(desk: Desk, knowledge: Knowledge, team: Team) -> gr.Tab:
    """Lay out the Knowledge tab (inside the page's ``gr.Tabs``) and wire it; returns the tab."""
    with gr.Tab(I18N("tab_knowledge"), id="knowledge", elem_id="knowledge-tab") as tab:
        gr.Markdown(I18N("kn_intro"))
        with gr.Row(equal_height=True):
            base = gr.Dropdown(desk.bases.names, value=None, label=I18N("base"), scale=4, elem_id="kn-base")
            reload = gr.Button(I18N("kn_reload"), scale=0, min_width=120, elem_id="kn-reload")
        with gr.Tabs(elem_id="kn-views") as views:
            with gr.Tab(I18N("kn_tab_entries"), id=review.ENTRIES_TAB, elem_id="kn-entries-tab"):
                view = build_entries_view()
            with gr.Tab(I18N("kn_tab_import"), id="kn-import", elem_id="kn-import-tab"):
                port = build_import_view()
            reviews = build_review_views()
    wire_entries(desk, knowledge, team, base, view)
    wire_import(desk, knowledge, team, base, port)
    wire_reviews(desk, knowledge, team, base, view, reviews, views)
    wire_base(desk, knowledge, tab, base, reload, view, reviews)
    return tab


def wire_base(desk: Desk, knowledge: Knowledge, tab: gr.Tab, base: gr.Dropdown, reload: gr.Button,
              view: EntriesView, reviews: ReviewViews) -> None:  # fmt: skip
    """Opening the tab picks the base (the browser's language first) among the bases served now and
    lists its entries; choosing a base or Reload also reads its suggestions, gaps and health. The
    form keeps what the lead is editing unless the base changed (then it is a new entry's)."""
    editor = knowledge.editor

    @user_errors
    def on_open(name: str | None, request: gr.Request) -> dict[str, Any]:
        names = desk.bases.names
        if name not in names:
            name = default_base(
                names, functools.partial(handlers.base_language_of, desk.bases), lang_of(request)
            )
        return gr.update(choices=names, value=name)

    def show(
        name: str | None, query: str | None, opened: entries.Opened | None, request: gr.Request
    ) -> tuple[Any, ...]:
        lang = lang_of(request)
        listing = entries.entries_table(editor, name, query, lang)
        if opened is not None and opened.base == name:  # the form keeps what the lead is editing
            return listing, gr.update(), *entries.unchanged()
        return listing, *entries.new_entry(editor, name, lang)

    def show_reviews(name: str | None, days: float | None, request: gr.Request) -> tuple[Any, ...]:
        lang = lang_of(request)
        return (review.suggestions_table(knowledge, name, lang), *review.gaps_view(knowledge.gaps, name, lang),
                *review.health_view(knowledge, name, days, lang))  # fmt: skip

    listing = dict(fn=show, inputs=[base, view.filter, view.form.opened], outputs=[view.table, *view.form.outputs],
                   **UI_ONLY)  # fmt: skip
    others = dict(fn=show_reviews, inputs=[base, reviews.days],
                  outputs=[reviews.suggestions, reviews.gaps, reviews.topics, reviews.health, reviews.pairs],
                  **UI_ONLY)  # fmt: skip
    tab.select(on_open, base, base, **UI_ONLY).then(**listing)
    base.input(**listing).then(**others)
    reload.click(**listing).then(**others)


def wire_entries(desk: Desk, knowledge: Knowledge, team: Team, base: gr.Dropdown, view: EntriesView) -> None:
    """The filter and the table; a row opens its entry; Save, Retire/Restore, New entry; the
    history, and a rollback after its confirmation."""
    editor, form = knowledge.editor, view.form

    @user_errors
    def on_filter(name: str | None, query: str | None, request: gr.Request) -> Any:
        return entries.entries_table(editor, name, query, lang_of(request))

    @user_errors
    def on_row(name: str | None, request: gr.Request, evt: gr.SelectData) -> tuple[Any, ...]:
        return entries.open_entry(editor, name, entries.selected_cell(evt.row_value), lang_of(request))

    @user_errors
    def on_new(name: str | None, request: gr.Request) -> tuple[Any, ...]:
        return entries.new_entry(editor, name, lang_of(request))

    @user_errors
    def on_save(opened: entries.Opened | None, entry_id: str | None, question: str | None, answer: str | None,
                category: str | None, phrasings: str | None, request: gr.Request) -> tuple[Any, ...]:  # fmt: skip
        return entries.save_entry(desk, knowledge, team, opened, entry_id, question, answer, category, phrasings,
                                  user_of(request), lang_of(request))  # fmt: skip

    @user_errors
    def on_retire(opened: entries.Opened | None, request: gr.Request) -> tuple[Any, ...]:
        return entries.retire_entry(desk, editor, team, opened, user_of(request), lang_of(request))

    @user_errors
    def on_history(opened: entries.Opened | None, request: gr.Request) -> tuple[Any, None, gr.Row, gr.Column]:
        table = entries.history_table(editor, opened, lang_of(request))
        is_open = opened is not None and opened.id is not None
        return table, None, gr.Row(visible=False), gr.Column(visible=is_open)

    @user_errors
    def on_version(evt: gr.SelectData) -> tuple[str | None, gr.Row]:
        return entries.selected_cell(evt.row_value), gr.Row(visible=False)

    @user_errors
    def on_rollback(
        opened: entries.Opened | None, version: str | None, request: gr.Request
    ) -> tuple[gr.Row, str]:
        return entries.ask_rollback(opened, version, lang_of(request))

    @user_errors
    def on_confirm(
        opened: entries.Opened | None, version: str | None, request: gr.Request
    ) -> tuple[Any, ...]:
        return entries.rollback_entry(desk, editor, team, opened, version, user_of(request), lang_of(request))

    def hide() -> gr.Row:
        return gr.Row(visible=False)

    listing = dict(fn=on_filter, inputs=[base, view.filter], outputs=view.table, **UI_ONLY)
    history = dict(fn=on_history, inputs=form.opened,
                   outputs=[view.history, view.version, view.confirm_row, view.history_box], **UI_ONLY)  # fmt: skip
    view.filter.change(**listing, trigger_mode="always_last")
    view.table.select(on_row, base, form.outputs, **UI_ONLY)
    form.new.click(on_new, base, form.outputs, **UI_ONLY)
    form.save.click(on_save, form.inputs, form.outputs, **ACTION).then(**listing)
    form.retire.click(on_retire, form.opened, form.outputs, **ACTION).then(**listing)
    form.opened.change(**history)
    view.history.select(on_version, None, [view.version, view.confirm_row], **UI_ONLY)
    view.rollback.click(
        on_rollback, [form.opened, view.version], [view.confirm_row, view.confirm_text], **UI_ONLY
    )
    view.confirm.click(on_confirm, [form.opened, view.version], form.outputs, **ACTION).then(**listing)
    view.cancel.click(hide, None, view.confirm_row, **UI_ONLY)


def wire_import(desk: Desk, knowledge: Knowledge, team: Team, base: gr.Dropdown, port: ImportView) -> None:
    """Export gives the base's CSV; an upload (or another base) shows the preview; Import applies it."""
    editor = knowledge.editor

    @user_errors
    def on_export(name: str | None, request: gr.Request) -> tuple[str | None, str]:
        return entries.export_file(editor, name, desk.export_dir, lang_of(request))

    @user_errors
    def on_preview(name: str | None, upload: str | None, request: gr.Request) -> tuple[Any, ...]:
        return entries.preview_file(editor, name, upload, lang_of(request))

    @user_errors
    def on_import(name: str | None, upload: str | None, changed: Any, request: gr.Request) -> str:
        return entries.import_file(
            desk, editor, team, name, upload, changed, user_of(request), lang_of(request)
        )

    preview = dict(fn=on_preview, inputs=[base, port.upload], outputs=[port.summary, port.preview, port.apply],
                   **UI_ONLY)  # fmt: skip
    port.export.click(on_export, base, [port.export_file, port.message], **ACTION)
    port.upload.change(**preview)
    base.change(**preview)
    port.apply.click(on_import, [base, port.upload, port.changed], port.message, **ACTION).then(**preview)


def wire_reviews(desk: Desk, knowledge: Knowledge, team: Team, base: gr.Dropdown, view: EntriesView,
                 reviews: ReviewViews, views: gr.Tabs) -> None:  # fmt: skip
    """Each view is read again when it is opened; Approve/Reject a suggestion; Draft (into the
    Entries form) or Dismiss a gap; the health filter."""
    gaps = knowledge.gaps

    @user_errors
    def on_suggestions(name: str | None, request: gr.Request) -> Any:
        return review.suggestions_table(knowledge, name, lang_of(request))

    @user_errors
    def on_suggestion(evt: gr.SelectData) -> str | None:
        return entries.selected_cell(evt.row_value)

    def decide(approve: bool) -> Any:
        def on_decide(chosen: str | None, request: gr.Request) -> tuple[str, None]:
            return review.decide_suggestion(desk, knowledge, team, chosen, approve, user_of(request),
                                            lang_of(request)), None  # fmt: skip

        return on_decide

    @user_errors
    def on_gaps(name: str | None, request: gr.Request) -> tuple[Any, ...]:
        return *review.gaps_view(gaps, name, lang_of(request)), None

    @user_errors
    def on_gap(topics: review.Topics | None, evt: gr.SelectData) -> str | None:
        return review.chosen_gap(topics, evt.row_value)

    @user_errors
    def on_draft(name: str | None, chosen: str | None, request: gr.Request) -> tuple[Any, ...]:
        return review.draft_gap(gaps, name, chosen, lang_of(request))

    @user_errors
    def on_dismiss(name: str | None, chosen: str | None, request: gr.Request) -> str:
        return review.dismiss_gap(gaps, team, name, chosen, user_of(request), lang_of(request))

    @user_errors
    def on_health(name: str | None, days: float | None, request: gr.Request) -> tuple[Any, Any]:
        return review.health_view(knowledge, name, days, lang_of(request))

    suggestions = dict(fn=on_suggestions, inputs=base, outputs=reviews.suggestions, **UI_ONLY)
    reviews.suggestions_tab.select(**suggestions)
    reviews.suggestions.select(on_suggestion, None, reviews.suggestion, **UI_ONLY)
    for button, approve in ((reviews.approve, True), (reviews.reject, False)):
        button.click(decide(approve), reviews.suggestion, [reviews.suggestion_message, reviews.suggestion],
                     **ACTION).then(**suggestions)  # fmt: skip
    found = dict(fn=on_gaps, inputs=base, outputs=[reviews.gaps, reviews.topics, reviews.gap], **UI_ONLY)
    reviews.gaps_tab.select(**found)
    reviews.gaps.select(on_gap, reviews.topics, reviews.gap, **UI_ONLY)
    reviews.draft.click(on_draft, [base, reviews.gap], [*view.form.outputs, views], **UI_ONLY)
    reviews.dismiss.click(on_dismiss, [base, reviews.gap], reviews.gap_message, **ACTION).then(**found)
    health = dict(
        fn=on_health, inputs=[base, reviews.days], outputs=[reviews.health, reviews.pairs], **UI_ONLY
    )
    reviews.health_tab.select(**health)
    reviews.days.change(**health)
