"""``I18N``: the catalogue of :mod:`reranker.i18n` as Gradio's ``gr.I18n`` (the browser picks the language).

Labels use ``I18N("key")``; add keys to :data:`reranker.i18n.MESSAGES`, not here.
"""

from __future__ import annotations

import gradio as gr

from reranker.i18n import LANGUAGES, catalogue

I18N = gr.I18n(**{lang: catalogue(lang) for lang in LANGUAGES})
