"""The Gradio UI: ``build_demo(desk, config)`` assembles the page from its tabs; nothing here launches.

The desk (:class:`~reranker.desk.Desk`) is shared by every session. The engine banner on top
follows the reranker as it loads (a timer polls it until it is ready); the first-stage banner
below it follows the embedding model and the bases being embedded the same way.

>>> demo = build_demo(Desk(scorer, export_dir=export_dir()), AppConfig())   # doctest: +SKIP
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import gradio as gr

from reranker.config import AppConfig
from reranker.desk import Desk
from reranker.ui import handlers
from reranker.ui.batch_tab import build_batch_tab
from reranker.ui.evaluate_tab import build_evaluate_tab
from reranker.ui.rerank_tab import PLAIN, UI_ONLY, build_rerank_tab

CSS_PATHS = [Path(__file__).resolve().parent.parent.parent / "assets" / "style.css"]
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
HEADER = (
    '<div class="desk-header"><h1>FAQ Rerank Desk</h1><p>Put the right answer first: paste candidate '
    "answers or search an FAQ base, and Qwen3-Reranker orders them by how well they answer the "
    "customer's question.</p></div>"
)


def build_demo(desk: Desk, config: AppConfig) -> gr.Blocks:
    """The whole UI. ``desk`` is shared by every session; nothing here launches a server."""
    with gr.Blocks(title="FAQ Rerank Desk", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        gr.HTML(HEADER, **PLAIN)
        model_banner = gr.HTML(handlers.engine_banner(desk), elem_id="model-banner", **PLAIN)
        engine_timer = gr.Timer(2.0, active=desk.engine.status().state == "loading")
        stage_banner = gr.HTML(handlers.first_stage_banner(desk), elem_id="first-stage-banner", **PLAIN)
        stage_timer = gr.Timer(2.0, active=desk.dense.busy)
        with gr.Tabs(elem_id="main-tabs"):
            with gr.Tab("Rerank", elem_id="rerank-tab"):
                build_rerank_tab(desk, config)
            with gr.Tab("Evaluate", elem_id="evaluate-tab"):
                build_evaluate_tab(lambda: desk.scorer, desk)
            with gr.Tab("Batch", elem_id="batch-tab"):
                build_batch_tab(desk)
        refresh = partial(handlers.refresh_engine, desk)
        demo.load(refresh, None, [model_banner, engine_timer], **UI_ONLY)
        engine_timer.tick(refresh, None, [model_banner, engine_timer], **UI_ONLY)
        refresh_stage = partial(handlers.refresh_first_stage, desk)
        demo.load(refresh_stage, None, [stage_banner, stage_timer], **UI_ONLY)
        stage_timer.tick(refresh_stage, None, [stage_banner, stage_timer], **UI_ONLY)
    return demo
