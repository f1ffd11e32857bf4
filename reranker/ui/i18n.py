"""``I18N``: the catalogue of :mod:`reranker.i18n` as Gradio's ``gr.I18n`` (the browser picks the language).

Labels use ``I18N("key")``; add keys to :data:`reranker.i18n.MESSAGES`, not here. Texts made on
the server (messages, errors) use the request's language, :func:`lang_of`.

Every handler reaches the page through :func:`user_errors` (or :func:`user_errors_stream`): an
error the agent can fix (:class:`~reranker.errors.RerankError`) becomes a pop-up saying what to
do; anything else is a bug, logged with its traceback under a short reference that the pop-up
gives. Both pop-ups are titled and worded in the agent's language, never with the exception's
text. (Gradio's toast shows its type, "Error", where ``gr.Error`` has a title: the page script,
``assets/desk.js``, puts the title there, from the page header's ``data-error-title``.)
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

import gradio as gr

from reranker.errors import RerankError
from reranker.i18n import LANGUAGES, Lang, catalogue, language_of, t

logger = logging.getLogger(__name__)
I18N = gr.I18n(**{lang: catalogue(lang) for lang in LANGUAGES})
P = ParamSpec("P")
R = TypeVar("R")


def lang_of(request: gr.Request | None) -> Lang:
    """The browser's language (``en`` for API clients that send none)."""
    headers = getattr(request, "headers", None) or {}
    return language_of(headers.get("accept-language"))


def user_error(message: str | RerankError, lang: Lang) -> gr.Error:
    """The pop-up for an error the agent can fix, titled in ``lang``; the log gets one line, no traceback."""
    text = message.message(lang) if isinstance(message, RerankError) else message
    logger.info("User error: %s", message)
    return gr.Error(text, title=t("error_title", lang), print_exception=False)


def unexpected_error(error: Exception, lang: Lang) -> gr.Error:
    """The pop-up for a bug: a short message in ``lang`` with a reference; the log gets the traceback
    under the same reference (the page never shows the exception's text)."""
    reference = uuid.uuid4().hex[:8]
    logger.error("Unexpected error (reference %s)", reference, exc_info=error)
    return gr.Error(
        t("err_unexpected", lang, ref=reference), title=t("error_title", lang), print_exception=False
    )


def shown_error(error: Exception, lang: Lang) -> gr.Error:
    """``error`` as the page shows it: a pop-up made here as it is, a user's error or a bug."""
    if isinstance(error, gr.Error):
        return error
    if isinstance(error, RerankError):
        return user_error(error, lang)
    return unexpected_error(error, lang)


def request_in(args: tuple[object, ...], kwargs: dict[str, object]) -> gr.Request | None:
    """The handler's ``gr.Request`` argument, if it takes one (for the browser's language)."""
    return next((arg for arg in (*args, *kwargs.values()) if isinstance(arg, gr.Request)), None)


def user_errors(handler: Callable[P, R]) -> Callable[P, R]:
    """Errors of ``handler`` as pop-ups in the browser's language (:func:`shown_error`)."""

    @functools.wraps(handler)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return handler(*args, **kwargs)
        except Exception as exc:  # the page's edge: each error is shown, a bug is logged with its traceback
            raise shown_error(exc, lang_of(request_in(args, kwargs))) from exc

    return wrapper


def user_errors_stream(handler: Callable[P, Iterator[R]]) -> Callable[P, Iterator[R]]:
    """:func:`user_errors` for a generator handler (errors arise while it is iterated)."""

    @functools.wraps(handler)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Iterator[R]:
        try:
            yield from handler(*args, **kwargs)
        except Exception as exc:  # the page's edge, as in user_errors
            raise shown_error(exc, lang_of(request_in(args, kwargs))) from exc

    return wrapper
