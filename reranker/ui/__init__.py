"""The Gradio UI, a thin layer over :class:`~reranker.desk.desk.Desk`.

``app`` assembles the page, ``rerank_tab`` and ``evaluate_tab`` build and wire one tab each,
``handlers`` holds the event handlers (plain functions), ``examples`` the example questions,
``i18n`` the labels' ``gr.I18n`` (from the catalogue in :mod:`reranker.i18n`).
"""

from reranker.ui.app import CSS_PATHS, HEAD, THEME, build_demo
from reranker.ui.handlers import export_dir, user_errors
from reranker.ui.i18n import I18N

__all__ = ["CSS_PATHS", "HEAD", "I18N", "THEME", "build_demo", "export_dir", "user_errors"]
