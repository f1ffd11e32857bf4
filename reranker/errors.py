"""Errors a user can fix. Each message says what went wrong and what to do.

The UI turns these into ``gr.Error``, the REST API into 4xx JSON, the CLI into exit code 2.
Nothing else in the project catches broad exceptions.
"""

from __future__ import annotations

from typing import Self

from reranker.i18n import Lang, t


class RerankError(Exception):
    """Base class for every error meant to be shown to a user.

    One made by :meth:`of` also carries its message id and parameters, so the UI can say it in
    the browser's language (:meth:`message`); ``str()`` is always the English text (API, CLI).
    """

    def __init__(self, message: str, key: str | None = None, params: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.key, self.params = key, params or {}

    @classmethod
    def of(cls, key: str, **params: object) -> Self:
        """The error whose message is the catalogue's ``key`` (English text, id kept for the UI)."""
        return cls(t(key, "en", **params), key, params)

    def message(self, lang: Lang) -> str:
        """The message in ``lang`` when it has a message id, else the English text."""
        return t(self.key, lang, **self.params) if self.key else str(self)


class ModelUnavailable(RerankError):
    """The reranker model (or its engine) could not be loaded."""


class InvalidInput(RerankError):
    """The user's input (query, candidates, CSV, request body) cannot be used as given."""


class BackendFailure(RerankError):
    """The loaded engine failed while scoring; the request can be retried."""


class NotFound(InvalidInput):
    """A name (a served model, an FAQ base) that does not exist here; the message lists those that do."""


class DatabaseUnavailable(RerankError):
    """The database could not be reached (or stayed locked) even after retrying; try again later."""


class Forbidden(RerankError):
    """The signed-in user's role does not allow this (only leads may), or nobody is signed in."""


class Conflict(InvalidInput):
    """Someone else changed the thing being saved since it was read; reload and try again."""
