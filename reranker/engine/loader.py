"""The one background loader: load a model in a daemon thread, and say how it went.

Both slots (the reranker's :class:`~reranker.engine.slot.EngineSlot` and the embedder's
:class:`~reranker.retrieval.slot.DenseSlot`) start their model this way, so a model that cannot
be loaded (:class:`ModelUnavailable`) and a bug while loading are told apart the same way: the
first is logged as one line with its fix, the second with its traceback.

>>> results = []
>>> load_in_background(lambda: 42, "answer", lambda value, error: results.append((value, error))).join()
>>> results
[(42, None)]
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from reranker.errors import ModelUnavailable

logger = logging.getLogger(__name__)
T = TypeVar("T")


def load_in_background(load: Callable[[], T], what: str,
                       done: Callable[[T | None, str | None], None]) -> threading.Thread:  # fmt: skip
    """Run ``load`` in a daemon thread, then ``done(value, None)``, or ``done(None, why)`` when it failed.

    ``what`` names the model in the log ("reranker", "embedding model").
    """

    def run() -> None:
        started = time.monotonic()
        try:
            value = load()
        except ModelUnavailable as exc:
            logger.error("The %s could not be loaded; serving keyword search only. %s", what, exc)
            done(None, str(exc))
        except Exception as exc:  # a bug: keep its traceback in the log, tell users it failed
            logger.exception("Loading the %s failed unexpectedly", what)
            done(None, f"Loading failed ({type(exc).__name__}); see the log.")
        else:
            logger.info("The %s is ready after %.1f s", what, time.monotonic() - started)
            done(value, None)

    thread = threading.Thread(target=run, name=f"{what.replace(' ', '-')}-loader", daemon=True)
    thread.start()
    return thread
