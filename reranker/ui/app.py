"""The Gradio UI: ``build_demo(desk, config, picks)`` assembles the page from its tabs; nothing here launches.

The desk (:class:`~reranker.desk.desk.Desk`) is shared by every session. A one-line status chip
under the title says whether the reranker is ready and which search finds the candidates (a timer
polls it while the model loads or bases are embedded); the operator's fix sits behind its
"details" disclosure, in the log and in ``/health``. ``HEAD`` (the page
script, ``assets/desk.js``), ``CSS_PATHS``, ``THEME`` and ``I18N`` go to ``launch()``.

>>> demo = build_demo(Desk(scorer, export_dir=export_dir()), AppConfig())   # doctest: +SKIP
"""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from reranker.config import AppConfig
from reranker.desk.desk import Desk
from reranker.errors import RerankError
from reranker.feedback.knowledge import Knowledge
from reranker.feedback.picks import Picks
from reranker.feedback.shared_bases import SharedBases
from reranker.feedback.team import Team
from reranker.i18n import t
from reranker.shipped import shipped
from reranker.ui import handlers
from reranker.ui import picks as pick_panel
from reranker.ui.batch_tab import build_batch_tab
from reranker.ui.evaluate_tab import build_evaluate_tab
from reranker.ui.i18n import I18N
from reranker.ui.knowledge_tab import build_knowledge_tab
from reranker.ui.rerank_tab import PLAIN, UI_ONLY, RerankTab, build_rerank_tab

ASSETS = shipped("assets")
CSS_PATHS = [ASSETS / "style.css"]
HEAD = f"<script>{(ASSETS / 'desk.js').read_text(encoding='utf-8')}</script>"
# System fonts only: support desks often run offline, and the page should fetch nothing external.
THEME = gr.themes.Default(
    primary_hue="indigo",
    neutral_hue="slate",
    font=[
        "ui-sans-serif",
        "system-ui",
        "Segoe UI",
        "Roboto",
        "Noto Sans",
        "Noto Sans CJK SC",
        "PingFang SC",
        "Microsoft YaHei",
        "sans-serif",
    ],
    font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"],
)


def header(team: Team, request: gr.Request) -> str:
    """The title, the tagline and, on a desk with logins, who is signed in and a Sign out link; it
    carries the error pop-ups' title and the tables' copy-button labels in the browser's language
    for the page script (``data-error-title``, ``data-table-copy``, ``data-table-copied``)."""
    lang = handlers.lang_of(request)
    labels = " ".join(f'data-{key.replace("_", "-")}="{html.escape(t(key, lang))}"'
                      for key in ("error_title", "table_copy", "table_copied"))  # fmt: skip
    return (
        f'<div class="desk-header" {labels}>'
        f"<h1>{html.escape(t('app_title', lang))}</h1>"
        f"<p>{html.escape(t('app_tagline', lang))}</p>{signed_in_line(team, request)}</div>"
    )


def signed_in_line(team: Team, request: gr.Request) -> str:
    """The line "Signed in as alice (lead) · Sign out" (Gradio's ``logout``); nothing when nobody signed in."""
    name = getattr(request, "username", None)
    if not name:
        return ""
    lang = handlers.lang_of(request)
    try:
        who = t("signed_in_as", lang, name=name, role=t(f"role_{team.member(name).role}", lang))
    except RerankError as exc:  # disabled since signing in
        who = exc.message(lang)
    sign_out = f'<a href="logout" id="sign-out">{html.escape(t("sign_out", lang))}</a>'
    return f'<p class="signed-in" id="signed-in">{html.escape(who)} · {sign_out}</p>'


def build_demo(desk: Desk, config: AppConfig, picks: Picks | None = None,
               shared: SharedBases | None = None, knowledge: Knowledge | None = None) -> gr.Blocks:  # fmt: skip
    """The whole UI. ``desk`` and ``picks`` are shared by every session; nothing here launches a server.

    ``picks``: the team's picks and thresholds over the desk's bases (None: not recorded).
    ``shared``: the team's stored bases (a lead's "Save for the team"; None: uploads stay in the session).
    ``knowledge``: the Knowledge tab's editor, learner and gaps (None: no Knowledge tab).
    """
    picks = picks or Picks(None, desk.bases)
    with gr.Blocks(title="FAQ Rerank Desk", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        page_header = gr.HTML(**PLAIN)
        chip = gr.HTML(elem_id="status-chip", **PLAIN)
        chip_timer = gr.Timer(2.0, active=desk.engine.status().state == "loading" or desk.dense.busy)
        with gr.Tabs(elem_id="main-tabs") as main_tabs:
            with gr.Tab(I18N("tab_rerank"), id="rerank", elem_id="rerank-tab") as rerank_tab:
                tab = build_rerank_tab(desk, picks, config, shared)
            with gr.Tab(I18N("tab_evaluate"), id="evaluate", elem_id="evaluate-tab") as evaluate_tab:
                eval_base, show_current = build_evaluate_tab(lambda: desk.scorer, desk, picks)
            with gr.Tab(I18N("tab_batch"), id="batch", elem_id="batch-tab") as batch_tab:
                batch_base = build_batch_tab(desk, picks)
            knowledge_tab = None if knowledge is None else build_knowledge_tab(desk, knowledge, picks.team)
        saved = tab.settings.saved
        main = [(rerank_tab, "rerank"), (evaluate_tab, "evaluate"), (batch_tab, "batch")]
        main += [] if knowledge_tab is None else [(knowledge_tab, "knowledge")]
        for main_tab, name in main:
            main_tab.select(handlers.remember_tab("main_tab", name), saved, saved, **UI_ONLY)
        eval_base.input(handlers.remember("eval_base"), [saved, eval_base], saved, **UI_ONLY)
        batch_base.input(handlers.remember("batch_base"), [saved, batch_base], saved, **UI_ONLY)
        refresh = handlers.bind(handlers.refresh_status, desk)
        demo.load(refresh, None, [chip, chip_timer], **UI_ONLY)
        chip_timer.tick(refresh, None, [chip, chip_timer], **UI_ONLY)
        wire_page_load(demo, desk, picks, page_header, tab, [main_tabs, eval_base, batch_base], show_current,
                       tuple(name for _, name in main))  # fmt: skip
    return demo


def base_choices(desk: Desk) -> dict[str, Any]:
    """The base dropdown's choices as the desk serves them now (the team's saved bases included)."""
    return gr.update(choices=desk.bases.names)


def wire_page_load(demo: gr.Blocks, desk: Desk, picks: Picks, page_header: gr.HTML, tab: RerankTab,
                   others: list[gr.components.Component], show_current: dict[str, Any] | None,
                   tab_names: tuple[str, ...] = handlers.MAIN_TABS) -> None:  # fmt: skip
    """On load: texts in the browser's language, this browser's settings (``others``: the main tabs,
    the Evaluate and Batch bases), then the chosen base's description, the threshold the desk will
    use, and the Evaluate base's stored threshold (``show_current``). ``tab_names``: the page's main tabs."""
    demo.load(handlers.bind(header, picks.team), None, page_header, **UI_ONLY)
    demo.load(handlers.bind(base_choices, desk), None, tab.faq.base, **UI_ONLY)  # bases saved on other desks
    demo.load(handlers.page_texts, None, [tab.results.table, tab.results.stale], **UI_ONLY)
    demo.load(handlers.bind(pick_panel.page_note, picks), None, tab.pick.message, **UI_ONLY)
    paste, faq, settings = tab.paste, tab.faq, tab.settings
    main_tabs, eval_base, batch_base = others
    restored = [*settings.values, faq.base, tab.answer_tabs, main_tabs, eval_base, batch_base, settings.saved]
    loaded = demo.load(handlers.bind(handlers.restore_settings, desk, tab_names), settings.saved, restored, **UI_ONLY)
    if show_current is not None:
        loaded.then(**show_current)
    loaded.then(
        handlers.bind(handlers.describe_base, desk), [faq.source, faq.base, faq.upload], [faq.info, faq.source],
        **UI_ONLY).then(handlers.bind(handlers.show_threshold, picks), [settings.saved, faq.source, faq.base],
                        settings.threshold, **UI_ONLY)  # fmt: skip
    demo.load(handlers.bind(handlers.count_pasted, desk), [paste.pasted, paste.split], paste.count, **UI_ONLY)
