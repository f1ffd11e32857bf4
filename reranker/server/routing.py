"""How the REST routes answer: every error as ``{"error": "..."}`` with its status, metered, body capped.

:class:`JSONErrorRoute` is the routes' own class, so the translation holds in whichever FastAPI
app the routes end up in (Gradio's, once :mod:`reranker.server.serve` puts them in front).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import Message

from reranker.errors import Conflict, DatabaseUnavailable, Forbidden, InvalidInput, NotFound, RerankError
from reranker.server.auth import CALLER
from reranker.server.schemas import DEFAULT_MAX_BODY_BYTES, INTERNAL_ERROR, describe_validation_error
from reranker.server.telemetry import Telemetry

logger = logging.getLogger("reranker.server.api")
access_log = logging.getLogger("reranker.server.access")
#: Seconds a client is told to wait (``Retry-After``) when the desk is full or its database is away.
RETRY_AFTER_S = 1
DATABASE_RETRY_AFTER_S = 5


class Admission:
    """At most ``limit`` requests in the desk at once (running or waiting); beyond, a 503 at once.

    Counted where a request arrives, before it waits for a worker thread, so a full desk says so
    immediately instead of queueing without end (a load balancer then tries another desk).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.inside = 0
        self._lock = threading.Lock()

    def enter(self) -> bool:
        with self._lock:
            if self.inside >= self.limit:
                return False
            self.inside += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.inside -= 1


def busy_response(limit: int) -> JSONResponse:
    return error_response(
        503, f"The desk is busy: {limit} requests are already running or waiting. Try again in a moment.",
        {"Retry-After": str(RETRY_AFTER_S)},
    )  # fmt: skip


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def _answer(handler: Callable[[Request], Coroutine[Any, Any, Response]], request: Request,
                  max_body_bytes: int) -> Response:  # fmt: skip
    try:
        return await handler(capped(request, max_body_bytes))
    except RequestValidationError as exc:
        return error_response(422, describe_validation_error(exc))
    except HTTPException as exc:
        return error_response(exc.status_code, str(exc.detail), exc.headers)
    except NotFound as exc:
        return error_response(404, str(exc))
    except Conflict as exc:
        return error_response(409, str(exc))
    except Forbidden as exc:
        return error_response(403, str(exc))
    except DatabaseUnavailable as exc:
        logger.warning("%s %s: %s", request.method, request.url.path, exc)
        return error_response(503, str(exc), {"Retry-After": str(DATABASE_RETRY_AFTER_S)})
    except InvalidInput as exc:
        return error_response(400, str(exc))
    except RerankError as exc:
        logger.warning("%s %s failed: %s", request.method, request.url.path, exc)
        return error_response(503, str(exc))
    except Exception:  # the edge: the traceback goes to the log, the caller gets JSON
        logger.exception("%s %s failed unexpectedly", request.method, request.url.path)
        return error_response(500, INTERNAL_ERROR)


class JSONErrorRoute(APIRoute):
    """A route whose errors are ``{"error": "..."}`` with a 4xx/503 status, in any app.

    With ``telemetry`` set (:func:`create_api` makes such a subclass), every answer is counted
    and timed under the route's path, its status and its caller, and logged with the caller. With
    ``admission`` set, the routes in ``admitted`` (the scoring ones) answer 503 at once when full.
    """

    telemetry: Telemetry | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    admission: Admission | None = None
    admitted: frozenset[str] = frozenset()

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        telemetry, path, limit = self.telemetry, self.path, self.max_body_bytes
        admission = self.admission if self.path in self.admitted else None

        async def handle(request: Request) -> Response:
            start = time.perf_counter()
            if admission is not None and not admission.enter():
                response: Response = busy_response(admission.limit)
                if telemetry is not None:
                    telemetry.rejected.labels(path).inc()
            else:
                try:
                    response = await _answer(handler, request, limit)
                finally:
                    if admission is not None:
                        admission.leave()
            caller = request.scope.get(CALLER)
            label = None if caller is None else caller.label
            if telemetry is not None:
                telemetry.observe_request(
                    path, request.method, response.status_code, time.perf_counter() - start, label or "anonymous"
                )
            access_log.info("%s %s %d by %s", request.method, path, response.status_code, label or "anonymous")
            return response

        return handle


def capped(request: Request, limit: int) -> Request:
    """The request with a body of at most ``limit`` bytes: a 413 as soon as it declares or sends more.

    The body is not read here: the returned request counts the bytes as the route reads them
    (through Starlette's public ``receive``), so nothing over the limit is ever held in memory.
    """
    too_big = HTTPException(
        413,
        f"The request body is over {limit // (1024 * 1024)} MB. Send fewer or shorter documents per request.",
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_big
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise too_big
        return message

    return Request(request.scope, receive)
