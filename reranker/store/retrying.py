"""Calls to a database that may be briefly away: retried with back-off, then one clear error.

A database that cannot be reached (PostgreSQL restarting, SQLite locked beyond its busy timeout)
is retried for ``retry_s`` seconds, logging "database unavailable, retrying"; after that the call
raises :class:`~reranker.errors.DatabaseUnavailable`. Other database errors are bugs and propagate.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from reranker.errors import DatabaseUnavailable

if TYPE_CHECKING:
    from reranker.store.store import Store

log = logging.getLogger("reranker.store.store")
P = ParamSpec("P")
R = TypeVar("R")


def _transient(exc: DBAPIError) -> bool:
    """Whether an error means "the database is not there right now" rather than a bug."""
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    message = str(exc.orig).lower()
    if "sqlite" in type(exc.orig).__module__:
        return any(word in message for word in ("locked", "busy", "unable to open", "disk i/o"))
    return True


def retry(call: Callable[[], R], retry_s: float, what: str) -> R:
    """``call()``, again and again with back-off while the database is unavailable, for up to
    ``retry_s`` seconds; then :class:`DatabaseUnavailable`. Other errors propagate at once."""
    deadline = time.monotonic() + retry_s
    delay = 0.1
    while True:
        try:
            return call()
        except DBAPIError as exc:
            if not _transient(exc):
                raise
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            if time.monotonic() + delay > deadline:
                raise DatabaseUnavailable(
                    f"Database unavailable, retried for {retry_s:g} s ({reason}). Try again "
                    "in a moment; if it lasts, ask the operator to check the database server.",
                    "db_unavailable",  # the UI's message, in the browser's language
                ) from exc
            log.warning("database unavailable, retrying in %.1f s (%s): %s", delay, what, reason)
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def retrying(method: Callable[P, R]) -> Callable[P, R]:
    """A store method run with :func:`retry`, for up to the store's ``retry_s``."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        store: Store = args[0]  # type: ignore[assignment]
        return retry(lambda: method(*args, **kwargs), store.retry_s, method.__name__)

    return wrapper
