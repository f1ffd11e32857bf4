"""The Gradio UI: layout, and event handlers that only call :class:`~reranker.desk.Desk`.

Each handler passes widget values to the desk and the result back to widgets; errors meant
for users (:class:`~reranker.errors.RerankError`) become ``gr.Error`` pop-ups or an inline
message. Launching is app.py's job.

>>> demo = build_demo(Desk(scorer, export_dir=export_dir), AppConfig())   # doctest: +SKIP
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import gradio as gr
from gradio.utils import get_upload_folder

from reranker.candidates import SplitMode
from reranker.config import AppConfig
from reranker.desk import DEFAULT_THRESHOLD, DEFAULT_TOP_K, Desk, DeskResult, assess, check_threshold
from reranker.errors import RerankError
from reranker.evaluate_tab import build_evaluate_tab
from reranker.presets import DEFAULT_PRESET, get_preset, instruction_for, preset_choices
from reranker.results import ScoreKind, render_message

P = ParamSpec("P")
R = TypeVar("R")

CSS_PATHS = [Path(__file__).resolve().parent.parent / "assets" / "style.css"]
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
MAX_TOP_K = 100
TABLE_PLACEHOLDER = '<div class="desk-placeholder">Ranked answers appear here.</div>'

SEED_CANDIDATES = (
    "您购买的商品正在打包中，通常24小时内发出。\n"
    "退货流程：进入‘我的订单’→点击‘申请退货’→等待审核。\n"
    "促销活动期间订单量激增，发货时间可能延长至48小时。"
)
# (label, [question, preset, pasted answers, split mode])
PASTE_EXAMPLES = [
    (
        "订单一直显示待发货怎么办？ (zh, seed)",
        ["订单一直显示待发货怎么办？", "orders", SEED_CANDIDATES, "lines"],
    ),
    (
        "I was charged twice for the same order (en)",
        [
            "I was charged twice for the same order",
            "finance",
            "You can change your card under Account > Wallet at any time.\n"
            "A second charge is usually a pending authorisation; it drops off within 3-5 "
            "business days. If both charges post, contact us and we refund the duplicate the "
            "same day.\n"
            "Standard shipping is free on orders over $50.",
            "lines",
        ],
    ),
    (
        "How do I return a damaged item? (en, multi-line answers)",
        [
            "How do I return a damaged item?",
            "refunds",
            "Damaged on arrival?\nTake a photo of the item and the box, then open Account > "
            "Orders > Report a problem within 7 days. We send a prepaid label and refund you "
            "once it is scanned.\n\nGift cards cannot be returned or exchanged.\n\nTo cancel an "
            "order, open Account > Orders within 30 minutes of paying.",
            "blank_lines",
        ],
    ),
]
# (question, preset, file name of the FAQ base)
FAQ_EXAMPLES = [
    ("付完款两天了还是待发货，啥时候能发啊", "orders", "zh_ecommerce_faq.csv"),
    ("快递三天没动静了，物流一直停在中转站", "orders", "zh_ecommerce_faq.csv"),
    ("can u ship to germany and will i pay customs", "orders", "en_store_faq.csv"),
    ("I forgot my password and the reset email never arrives", "account", "en_store_faq.csv"),
]


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


def result_outputs(result: DeskResult) -> tuple[Any, ...]:
    """Widget values for a ranking: banner, best answer, table, status, CSV, state.

    The state is only what re-judging the banner needs, (best score, score kind): Gradio keeps
    every session's state in memory (up to ``AppConfig.max_sessions`` of them), so no table.
    A partial ranking has no best answer and no download yet.
    """
    csv = None if result.csv_path is None else str(result.csv_path)
    return (
        render_message(result.banner.text, result.banner.kind),
        result.best_answer,
        result.table_html,
        render_message(f"{result.summary}\n{result.status}", "info"),
        csv,
        (result.best_score, result.kind) if result.state == "final" else None,
    )


def engine_banner(desk: Desk) -> str:
    """The banner about the reranker itself (loading, slower fallback engine, unavailable)."""
    notice = desk.engine_notice()
    return "" if notice is None else render_message(notice[1], notice[0])  # type: ignore[arg-type]


def export_dir() -> Path:
    """Exports live in Gradio's own temp folder, which is where it serves files from."""
    return Path(get_upload_folder()) / "rerank-exports"


def build_demo(desk: Desk, config: AppConfig) -> gr.Blocks:
    """The whole UI. ``desk`` is shared by every session; nothing here launches a server."""
    base_names = list(desk.base_paths)
    first_base = base_names[0] if base_names else None
    base_by_file = {path.name: name for name, path in desk.base_paths.items()}

    @user_errors_stream
    def rank_pasted(query: str, preset: str, override: str, text: str, mode: SplitMode,
                    threshold: float) -> Iterator[tuple[Any, ...]]:  # fmt: skip
        instruction = instruction_for(preset, override)
        for result in desk.rank_pasted_stream(query, instruction, text, mode, threshold):
            yield result_outputs(result)

    @user_errors_stream
    def rank_faq(query: str, preset: str, override: str, base_name: str, upload: str | None,
                 top_k: int, threshold: float) -> Iterator[tuple[Any, ...]]:  # fmt: skip
        base = desk.select_base(base_name, upload)
        instruction = instruction_for(preset, override)
        for result in desk.rank_faq_stream(query, instruction, base, int(top_k), threshold):
            yield result_outputs(result)

    def refresh_engine() -> tuple[str, gr.Timer]:
        return engine_banner(desk), gr.Timer(active=desk.engine.status().state == "loading")

    def enable_download() -> gr.DownloadButton:
        return gr.DownloadButton(interactive=True)

    def stopped() -> str:
        return render_message(
            "Stopped. The table keeps the scores that had arrived; rank again for the full order.", "warn"
        )

    def count_pasted(text: str, mode: SplitMode) -> str:
        return desk.preview_pasted(text, mode).summary()

    def describe_base(base_name: str, upload: str | None) -> str:
        try:
            return render_message(desk.select_base(base_name, upload).describe(), "info")
        except RerankError as exc:
            return render_message(str(exc), "error")

    @user_errors
    def rejudge(last: tuple[float | None, ScoreKind] | None, threshold: float) -> str:
        if last is None:
            return ""
        best_score, kind = last
        banner = assess(best_score, check_threshold(threshold), kind)
        return render_message(banner.text, banner.kind)

    @user_errors
    def show_preset(preset: str) -> gr.Dropdown:
        return gr.Dropdown(info=get_preset(preset).instruction)

    plain: dict[str, Any] = dict(apply_default_css=False, js_on_load=None, elem_classes="desk-html")
    with gr.Blocks(title="FAQ Rerank Desk", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        gr.HTML(
            '<div class="desk-header"><h1>FAQ Rerank Desk</h1><p>Put the right answer first: '
            "paste candidate answers or search an FAQ base, and Qwen3-Reranker orders them by "
            "how well they answer the customer's question.</p></div>",
            **plain,
        )
        model_banner = gr.HTML(engine_banner(desk), elem_id="model-banner", **plain)
        engine_timer = gr.Timer(2.0, active=desk.engine.status().state == "loading")

        with gr.Tabs(elem_id="main-tabs"):
            with gr.Tab("Rerank", elem_id="rerank-tab"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=5, min_width=380):
                        query = gr.Textbox(
                            label="Customer question",
                            lines=2,
                            elem_id="query",
                            placeholder="e.g. 订单一直显示待发货怎么办？ / Where is my order?",
                        )
                        preset = gr.Dropdown(
                            preset_choices(),
                            value=DEFAULT_PRESET,
                            label="Instruction",
                            info=get_preset(DEFAULT_PRESET).instruction,
                            elem_id="preset",
                        )
                        with gr.Accordion("Custom instruction", open=False):
                            override = gr.Textbox(
                                label="Custom instruction (overrides the preset when filled in)",
                                lines=2,
                                placeholder="Given a customer's question about …, judge whether the document …",
                            )
                        threshold = gr.Slider(
                            0,
                            1,
                            value=DEFAULT_THRESHOLD,
                            step=0.05,
                            label="Confidence threshold",
                            elem_id="threshold",
                            info="When even the best score is below this, the question goes to a human agent.",
                        )
                        with gr.Tabs():
                            with gr.Tab("Paste answers", elem_id="paste-tab"):
                                split = gr.Radio(
                                    [
                                        ("One answer per line", "lines"),
                                        ("Blank line between answers", "blank_lines"),
                                    ],
                                    value="lines",
                                    label="How are the answers separated?",
                                    elem_id="split",
                                )
                                pasted = gr.Textbox(
                                    label="Candidate answers",
                                    lines=8,
                                    max_lines=20,
                                    elem_id="pasted",
                                    placeholder="Paste the answers you are choosing between.",
                                )
                                pasted_count = gr.Markdown(
                                    count_pasted("", "lines"), elem_classes="desk-count"
                                )
                                paste_button = gr.Button(
                                    "Rank answers", variant="primary", elem_id="rank-pasted"
                                )
                                gr.Examples(
                                    [values for _, values in PASTE_EXAMPLES],
                                    [query, preset, pasted, split],
                                    example_labels=[label for label, _ in PASTE_EXAMPLES],
                                    label="Examples",
                                    api_visibility="private",
                                )
                            with gr.Tab("FAQ base", elem_id="faq-tab"):
                                base = gr.Dropdown(
                                    base_names, value=first_base, label="FAQ base", elem_id="base"
                                )
                                upload = gr.File(
                                    label=f"…or upload an FAQ CSV (question, answer, id, category; up to {config.max_upload_mb:g} MB)",
                                    file_types=[".csv"],
                                    type="filepath",
                                    elem_id="upload",
                                )
                                base_info = gr.HTML(
                                    describe_base(first_base, None) if first_base else "", **plain
                                )
                                top_k = gr.Slider(
                                    1,
                                    min(MAX_TOP_K, config.max_candidates),
                                    value=min(DEFAULT_TOP_K, config.max_candidates),
                                    step=1,
                                    label="Candidates to rerank (top K of the keyword search)",
                                )
                                faq_button = gr.Button(
                                    "Search and rank", variant="primary", elem_id="rank-faq"
                                )
                                faq_examples = [
                                    [q, p, base_by_file[f]] for q, p, f in FAQ_EXAMPLES if f in base_by_file
                                ]
                                gr.Examples(
                                    faq_examples,
                                    [query, preset, base],
                                    example_labels=[e[0] for e in faq_examples],
                                    label="Examples",
                                    api_visibility="private",
                                )

                    with gr.Column(scale=7, min_width=480):
                        banner = gr.HTML(label="Banner", elem_id="banner", **plain)
                        best = gr.Textbox(
                            label="Best answer",
                            lines=2,
                            max_lines=10,
                            interactive=False,
                            buttons=["copy"],
                            elem_id="best-answer",
                        )
                        table = gr.HTML(
                            TABLE_PLACEHOLDER, label="Ranked answers", elem_id="ranked-table", **plain
                        )
                        status = gr.HTML(label="Status", elem_id="status", **plain)
                        with gr.Row():
                            stop = gr.Button("Stop", variant="stop", size="md", scale=0, min_width=100,
                                             elem_id="stop")  # fmt: skip
                            download = gr.DownloadButton(
                                "Download CSV",
                                interactive=False,
                                size="md",
                                scale=0,
                                min_width=160,
                                elem_id="download",
                            )
            with gr.Tab("Evaluate", elem_id="evaluate-tab"):
                build_evaluate_tab(lambda: desk.scorer)

        last_result = gr.State()

        outputs = [banner, best, table, status, download, last_result]
        # The table itself shows progress (rows arrive scored), so no spinner hides it.
        ranking: dict[str, Any] = dict(outputs=outputs, show_progress="hidden")
        ui_only: dict[str, Any] = dict(queue=False, show_progress="hidden", api_visibility="private")
        paste_event = paste_button.click(
            rank_pasted,
            [query, preset, override, pasted, split, threshold],
            api_name="rank_pasted",
            **ranking,
        )
        paste_event.success(enable_download, None, download, **ui_only)
        faq_event = faq_button.click(
            rank_faq,
            [query, preset, override, base, upload, top_k, threshold],
            api_name="rank_faq",
            **ranking,
        )
        faq_event.success(enable_download, None, download, **ui_only)
        stop.click(stopped, None, status, cancels=[paste_event, faq_event], **ui_only)
        demo.load(refresh_engine, None, [model_banner, engine_timer], **ui_only)
        engine_timer.tick(refresh_engine, None, [model_banner, engine_timer], **ui_only)
        for trigger in (pasted.change, split.change):
            trigger(count_pasted, [pasted, split], pasted_count, **ui_only)
        for trigger in (base.change, upload.change):
            trigger(describe_base, [base, upload], base_info, **ui_only)
        threshold.change(rejudge, [last_result, threshold], banner, **ui_only)
        preset.change(show_preset, preset, preset, **ui_only)
    return demo
