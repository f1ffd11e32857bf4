"""The Gradio UI, a thin layer over :class:`~reranker.desk.Desk`.

``app`` assembles the page, ``rerank_tab`` and ``evaluate_tab`` build and wire one tab each,
``handlers`` holds the event handlers (plain functions), ``examples`` the example questions.
"""

from reranker.ui.app import CSS_PATHS, THEME, build_demo
from reranker.ui.handlers import export_dir, user_errors

__all__ = ["CSS_PATHS", "THEME", "build_demo", "export_dir", "user_errors"]
