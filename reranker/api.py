"""The REST API: ``POST /v1/rerank`` (Cohere/Jina-compatible shape) and ``GET /health``.

:func:`create_api` returns a FastAPI app with both routes and OpenAPI docs at ``/docs``;
:mod:`reranker.server` puts the Gradio UI next to it. The scorer comes from a callable, so the
API can start (and say "degraded") before or without a model.

>>> api = create_api(lambda: scorer, api_key="s3cret")                                # doctest: +SKIP
>>> TestClient(api).post("/v1/rerank", json=body, headers=bearer).json()["results"][0]  # doctest: +SKIP
{'index': 1, 'relevance_score': 0.93..., 'document': {'text': 'It ships within 24 hours.'}}

Every error of these routes is ``{"error": "<what to fix>"}``: 422 when the body does not match
the schema (invalid JSON, wrong types, missing fields, ``top_n`` < 1), 400 when it does but
cannot be used (empty query, no documents, over a limit, another model), 401 for a missing or
wrong API key, 503 when the model is not loaded or the engine fails, and 500 (logged with its
traceback on the server, never sent) for a bug. The translation lives in the routes' own class,
so it holds in whichever FastAPI app the routes end up in.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, ValidationError, ValidatorFunctionWrapHandler, WrapValidator
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException

from reranker.engine import EngineSlot, EngineStatus
from reranker.errors import InvalidInput, ModelUnavailable, RerankError
from reranker.scorer import Scorer

logger = logging.getLogger(__name__)
_SURROGATE = re.compile("[\ud800-\udfff]")

DEFAULT_MAX_DOCUMENTS = 1000
#: Characters in a query or instruction. Documents have no such limit: a long one is cut to the
#: model's max length and flagged in ``meta.truncated``, like any too-long document.
DEFAULT_MAX_DOCUMENT_CHARS = 100_000
#: Request bodies larger than this are refused with 413 before they are read whole.
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
EXAMPLE_BODY = '{"query": "Where is my order?", "documents": ["It ships within 24 hours."]}'
INTERNAL_ERROR = (
    "The server failed while answering this request; the details are in its log. "
    "Try again, and report it if it keeps happening."
)


class DocumentObject(BaseModel):
    """A document given as an object; fields other than ``text`` are ignored."""

    text: str


def _one_document(value: object, handler: ValidatorFunctionWrapHandler) -> str | DocumentObject:
    try:
        return handler(value)
    except ValidationError:
        raise PydanticCustomError("document", 'must be a string or an object with a "text" string') from None


Document = Annotated[str | DocumentObject, WrapValidator(_one_document)]


class RerankRequest(BaseModel):
    """Fields other than these (e.g. Cohere's ``max_chunks_per_doc``) are ignored."""

    query: str = Field(description="The question to rank the documents for.")
    documents: list[Document] = Field(description="Candidate texts, as strings or {text} objects.")
    top_n: Annotated[int, Field(ge=1, strict=True)] | None = Field(
        default=None, description="Return only the best N results (default: all)."
    )
    instruction: str | None = Field(
        default=None, description="Task instruction for the reranker (default: the model card's)."
    )
    return_documents: Annotated[bool, Field(strict=True)] = Field(
        default=True, description="Echo each document's text in its result."
    )
    model: str | None = Field(
        default=None, description="Optional; must name the loaded model (its id or basename)."
    )

    def texts(self) -> list[str]:
        return [doc if isinstance(doc, str) else doc.text for doc in self.documents]


class RerankResult(BaseModel):
    index: int = Field(description="Position of the document in the request.")
    relevance_score: float = Field(description='P("yes"): the probability that the document answers.')
    document: DocumentObject | None = None


class RerankMeta(BaseModel):
    backend: str
    truncated: list[int] = Field(description="Indices of documents cut to fit the model's max length.")
    elapsed_ms: float


class RerankResponse(BaseModel):
    model: str
    results: list[RerankResult] = Field(description="Highest relevance_score first; ties by index.")
    meta: RerankMeta


class HealthResponse(BaseModel):
    status: Literal["loading", "ok", "degraded"] = Field(
        description='"loading" (503) until the model is ready; "ok"; "degraded" with the reason: '
        "on the slower fallback engine (200) or without a model (503)."
    )
    model_loaded: bool
    backend: str | None = Field(description="The engine scoring requests: vllm, transformers or remote.")
    engine_reason: str = Field(description="Why this engine runs, or why none does.")
    model: str | None
    error: str | None


class ErrorResponse(BaseModel):
    error: str = Field(description="What went wrong and what to change.")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in {
        400: "Well-formed but unusable request",
        401: "Missing or wrong API key",
        422: "Body does not match the schema",
        500: "A bug in the server (details in its log, not in the response)",
        503: "Model not loaded, or the engine failed",
    }.items()
}


def _field_name(loc: tuple[int | str, ...]) -> str:
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else f".{part}" if name else str(part)
    return name


_PHRASES = {
    "missing": "is required",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "int_type": "must be an integer",
    "bool_type": "must be true or false",
}


def describe_validation_error(exc: RequestValidationError) -> str:
    """One readable sentence per problem, e.g. ``documents[2]: must be a string or …``."""
    sentences = []
    for error in exc.errors():
        where = tuple(error["loc"][1:]) if error["loc"][:1] == ("body",) else tuple(error["loc"])
        if error["type"] == "json_invalid":
            detail = error.get("ctx", {}).get("error", "")
            sentences.append(
                f"The request body is not valid JSON ({detail}). Send an object like {EXAMPLE_BODY}."
            )
        elif not where or isinstance(error.get("input"), bytes):
            sentences.append(
                f"The request body must be a JSON object like {EXAMPLE_BODY}, sent with "
                "Content-Type: application/json."
            )
        elif error["type"] == "greater_than_equal":
            sentences.append(f"{_field_name(where)}: must be at least {error['ctx']['ge']}.")
        else:
            phrase = _PHRASES.get(error["type"], error["msg"])
            sentences.append(f"{_field_name(where)}: {phrase}.")
    return " ".join(dict.fromkeys(sentences))


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class JSONErrorRoute(APIRoute):
    """A route whose errors are ``{"error": "..."}`` with a 4xx/503 status, in any app."""

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        limit = self.max_body_bytes

        async def handle(request: Request) -> Response:
            try:
                await _read_capped_body(request, limit)
                return await handler(request)
            except RequestValidationError as exc:
                return _error(422, describe_validation_error(exc))
            except HTTPException as exc:
                return _error(exc.status_code, str(exc.detail), exc.headers)
            except InvalidInput as exc:
                return _error(400, str(exc))
            except RerankError as exc:
                logger.warning("%s %s failed: %s", request.method, request.url.path, exc)
                return _error(503, str(exc))
            except Exception:  # the edge: the traceback goes to the log, the caller gets JSON
                logger.exception("%s %s failed unexpectedly", request.method, request.url.path)
                return _error(500, INTERNAL_ERROR)

        return handle


async def _read_capped_body(request: Request, limit: int) -> None:
    """Read the body (kept for the route) unless it is over ``limit`` bytes: then 413."""
    too_big = HTTPException(
        413, f"The request body is over {limit // (1024 * 1024)} MB. Send fewer or shorter documents per request."
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_big
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_big
    request._body = bytes(body)  # Starlette's own cache: the route reads it from here


_BEARER = HTTPBearer(auto_error=False, description="The key the server was started with (--api-key).")


def _bearer_check(api_key: str) -> Callable[[HTTPAuthorizationCredentials | None], None]:
    def check(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]) -> None:
        if credentials is None:
            raise HTTPException(
                401, "This API needs a key: send the header Authorization: Bearer <key>.",
                headers={"WWW-Authenticate": "Bearer"},
            )  # fmt: skip
        if not secrets.compare_digest(credentials.credentials.encode(), api_key.encode()):
            raise HTTPException(
                401, "The API key is wrong: send the key the server was started with.",
                headers={"WWW-Authenticate": "Bearer"},
            )  # fmt: skip

    return check


def _basename(model: str) -> str:
    return model.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1]


def check_request(request: RerankRequest, max_documents: int, max_document_chars: int) -> None:
    """Raise :class:`InvalidInput` for a request that matches the schema but cannot be scored."""
    if not request.query.strip():
        raise InvalidInput("query is empty: send the question to rank the documents for.")
    if not request.documents:
        raise InvalidInput("documents is empty: send at least one document to rank.")
    if len(request.documents) > max_documents:
        raise InvalidInput(
            f"Too many documents: {len(request.documents)} given, at most {max_documents} per "
            "request. Split them over several requests."
        )
    fields = {"query": request.query, "instruction": request.instruction or ""}
    fields.update({f"documents[{i}]": text for i, text in enumerate(request.texts())})
    for name, text in fields.items():
        if len(text) > max_document_chars and not name.startswith("documents"):
            raise InvalidInput(
                f"{name} has {len(text):,} characters; the limit is {max_document_chars:,}. "
                "Shorten it or split it into several documents."
            )
        if not text.isascii() and _SURROGATE.search(text):
            raise InvalidInput(
                f"{name} contains half of a UTF-16 surrogate pair (an escape like \\ud83d without "
                "its partner), which is not text. Send valid UTF-8; an emoji was probably cut in half."
            )


def check_model(requested: str | None, loaded: str) -> None:
    """Accept no model, the loaded model's id, or any id with the same basename."""
    if requested is not None and _basename(requested) != _basename(loaded):
        raise InvalidInput(
            f"This server runs {loaded!r}, not {requested!r}: leave out model or send {loaded!r}."
        )


def _as_engine(
    source: EngineSlot | Callable[[], Scorer | None], load_error: str | None
) -> Callable[[], EngineStatus]:
    if isinstance(source, EngineSlot):
        return source.status

    def status() -> EngineStatus:
        scorer = source()
        if scorer is None:
            return EngineStatus("unavailable", error=load_error or "The reranker model is not loaded.")
        return EngineStatus("ready", scorer=scorer)

    return status


def create_api(engine: EngineSlot | Callable[[], Scorer | None], *, api_key: str | None = None,
               max_documents: int = DEFAULT_MAX_DOCUMENTS,
               max_document_chars: int = DEFAULT_MAX_DOCUMENT_CHARS,
               max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
               load_error: str | None = None) -> FastAPI:  # fmt: skip
    """A FastAPI app with ``POST /v1/rerank``, ``GET /health`` and docs at ``/docs``.

    ``engine`` is the app's :class:`EngineSlot` (or a callable returning the loaded
    :class:`Scorer` or None, with ``load_error`` saying why); while there is no scorer, rerank
    answers 503 with the reason. It is read on the event loop, so it must not block.
    ``api_key``: when set, ``/v1/rerank`` needs ``Authorization: Bearer <api_key>``.
    ``max_documents`` per request; ``max_document_chars`` per query and instruction (documents
    are cut to the model's max length instead); ``max_body_bytes`` per request body (413).
    """
    route_class = type("JSONErrorRoute", (JSONErrorRoute,), {"max_body_bytes": max_body_bytes})
    router = APIRouter(route_class=route_class)
    auth = [Depends(_bearer_check(api_key))] if api_key else []
    engine_status = _as_engine(engine, load_error)

    def loaded_scorer() -> Scorer:
        status = engine_status()
        if status.scorer is None:
            raise ModelUnavailable(
                status.reason + (" Try again in a minute." if status.state == "loading" else "")
            )
        return status.scorer

    @router.post("/v1/rerank", response_model=RerankResponse, response_model_exclude_none=True,
                 dependencies=auth, responses=ERROR_RESPONSES,
                 summary="Rank documents by relevance to a query")  # fmt: skip
    def rerank(request: RerankRequest) -> RerankResponse:
        # A sync route: FastAPI runs it in its threadpool, so scoring never blocks the event loop.
        check_request(request, max_documents, max_document_chars)
        scorer = loaded_scorer()
        check_model(request.model, scorer.model)
        ranking = scorer.rank(request.query, request.texts(), request.instruction, top_k=request.top_n)
        return RerankResponse(
            model=scorer.model,
            results=[
                RerankResult(
                    index=d.index,
                    relevance_score=d.score,
                    document=DocumentObject(text=d.text) if request.return_documents else None,
                )
                for d in ranking
            ],
            meta=RerankMeta(
                backend=scorer.backend_name, truncated=list(ranking.truncated), elapsed_ms=ranking.elapsed_s * 1000
            ),
        )

    @router.get("/health", response_model=HealthResponse, summary="Is the model loaded?",
                responses={503: {"model": HealthResponse, "description": "Loading, or no model"}})  # fmt: skip
    async def health() -> JSONResponse:
        status = engine_status()
        body = HealthResponse(
            status=status.health,
            model_loaded=status.scorer is not None,
            backend=status.engine,
            engine_reason=status.reason,
            model=status.scorer.model if status.scorer is not None else None,
            error=status.error if status.scorer is None else status.scorer.fallback_cause,
        )
        return JSONResponse(body.model_dump(), status_code=status.http_status)

    api = FastAPI(
        title="FAQ Rerank Desk API",
        description='Rerank FAQ answers with Qwen3-Reranker. Errors are `{"error": "..."}`.',
    )
    api.include_router(router)
    return api
