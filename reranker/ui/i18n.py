"""``I18N``: the catalogue of :mod:`reranker.i18n` as Gradio's ``gr.I18n`` (the browser picks the language).

Labels use ``I18N("key")``; add keys to :data:`reranker.i18n.MESSAGES`, not here. Texts made on
the server (messages, errors) use the request's language, :func:`lang_of`.
"""

from __future__ import annotations

import logging

import gradio as gr

from reranker.errors import RerankError
from reranker.i18n import LANGUAGES, Lang, catalogue, language_of, t

logger = logging.getLogger(__name__)
I18N = gr.I18n(**{lang: catalogue(lang) for lang in LANGUAGES})


def lang_of(request: gr.Request | None) -> Lang:
    """The browser's language (``en`` for API clients that send none)."""
    headers = getattr(request, "headers", None) or {}
    return language_of(headers.get("accept-language"))


def user_error(message: str | RerankError, lang: Lang) -> gr.Error:
    """The pop-up for an error the agent can fix, titled in ``lang``; the log gets one line, no traceback."""
    text = message.message(lang) if isinstance(message, RerankError) else message
    logger.info("User error: %s", message)
    return gr.Error(text, title=t("error_title", lang), print_exception=False)
