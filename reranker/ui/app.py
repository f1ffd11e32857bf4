"""The Gradio UI: ``build_demo(desk, config, picks)`` assembles the page from its tabs; nothing here launches.

The desk (:class:`~reranker.desk.desk.Desk`) is shared by every session. The engine banner on top
follows the reranker as it loads (a timer polls it until it is ready); the first-stage banner
below it follows the embedding model and the bases being embedded the same way. ``HEAD`` (the page
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
    """The title, the tagline and, on a desk with logins, who is signed in and a Sign out link."""
    lang = handlers.lang_of(request)
    return (
        f'<div class="desk-header"><h1>{html.escape(t("app_title", lang))}</h1>'
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
               shared: SharedBases | None = None) -> gr.Blocks:  # fmt: skip
    """The whole UI. ``desk`` and ``picks`` are shared by every session; nothing here launches a server.

    ``picks``: the team's picks and thresholds over the desk's bases (None: not recorded).
    ``shared``: the team's stored bases (a lead's "Save for the team"; None: uploads stay in the session).
    """
    picks = picks or Picks(None, desk.bases)
    with gr.Blocks(title="FAQ Rerank Desk", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        page_header = gr.HTML(**PLAIN)
        model_banner = gr.HTML(handlers.engine_banner(desk), elem_id="model-banner", **PLAIN)
        engine_timer = gr.Timer(2.0, active=desk.engine.status().state == "loading")
        stage_banner = gr.HTML(handlers.first_stage_banner(desk), elem_id="first-stage-banner", **PLAIN)
        stage_timer = gr.Timer(2.0, active=desk.dense.busy)
        with gr.Tabs(elem_id="main-tabs"):
            with gr.Tab(I18N("tab_rerank"), elem_id="rerank-tab"):
                tab = build_rerank_tab(desk, picks, config, shared)
            with gr.Tab(I18N("tab_evaluate"), elem_id="evaluate-tab"):
                build_evaluate_tab(lambda: desk.scorer, desk, picks)
            with gr.Tab(I18N("tab_batch"), elem_id="batch-tab"):
                build_batch_tab(desk, picks)
        refresh = handlers.bind(handlers.refresh_engine, desk)
        demo.load(refresh, None, [model_banner, engine_timer], **UI_ONLY)
        engine_timer.tick(refresh, None, [model_banner, engine_timer], **UI_ONLY)
        refresh_stage = handlers.bind(handlers.refresh_first_stage, desk)
        demo.load(refresh_stage, None, [stage_banner, stage_timer], **UI_ONLY)
        stage_timer.tick(refresh_stage, None, [stage_banner, stage_timer], **UI_ONLY)
        wire_page_load(demo, desk, picks, page_header, tab)
    return demo


def base_choices(desk: Desk) -> dict[str, Any]:
    """The base dropdown's choices as the desk serves them now (the team's saved bases included)."""
    return gr.update(choices=desk.bases.names)


def wire_page_load(demo: gr.Blocks, desk: Desk, picks: Picks, page_header: gr.HTML, tab: RerankTab) -> None:
    """On load: texts in the browser's language, this browser's settings, the base description."""
    demo.load(handlers.bind(header, picks.team), None, page_header, **UI_ONLY)
    demo.load(handlers.page_texts, None, [tab.results.table, tab.results.stale], **UI_ONLY)
    demo.load(handlers.bind(pick_panel.page_note, picks), None, tab.pick.message, **UI_ONLY)
    demo.load(handlers.restore_settings, tab.settings.saved, tab.settings.values, **UI_ONLY)
    demo.load(handlers.bind(base_choices, desk), None, tab.faq.base, **UI_ONLY)  # bases saved on other desks
    paste, faq = tab.paste, tab.faq
    demo.load(handlers.bind(handlers.count_pasted, desk), [paste.pasted, paste.split], paste.count, **UI_ONLY)
    demo.load(handlers.bind(handlers.describe_base, desk), [faq.source, faq.base, faq.upload], [faq.info, faq.source],
              **UI_ONLY)  # fmt: skip
