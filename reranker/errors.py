"""Errors a user can fix. Each message says what went wrong and what to do.

The UI turns these into ``gr.Error``, the REST API into 4xx JSON, the CLI into exit code 2.
Nothing else in the project catches broad exceptions.
"""

from __future__ import annotations


class RerankError(Exception):
    """Base class for every error meant to be shown to a user."""


class ModelUnavailable(RerankError):
    """The reranker model (or its engine) could not be loaded."""


class InvalidInput(RerankError):
    """The user's input (query, candidates, CSV, request body) cannot be used as given."""


class BackendFailure(RerankError):
    """The loaded engine failed while scoring; the request can be retried."""


class NotFound(InvalidInput):
    """A name (a served model, an FAQ base) that does not exist here; the message lists those that do."""
