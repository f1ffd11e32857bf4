"""The REST API: the rerank routes of Jina and Cohere, model names, metrics and health.

``POST /v1/rerank`` (Jina's and Cohere v1's shape), ``POST /v2/rerank`` (Cohere v2's),
``GET /v1/models`` (the served names, OpenAI's shape), ``GET /metrics`` (Prometheus) and
``GET /health``. :func:`create_api` returns a FastAPI app with them and OpenAPI docs at ``/docs``;
:mod:`reranker.serve` puts the Gradio UI next to it. The scorer comes from a callable, so the
API can start (and say "degraded") before or without a model. Given the desk, the API also
searches its FAQ bases and records agents' picks (:mod:`reranker.faq_api`).

>>> api = create_api(lambda: scorer, api_key="s3cret")                                # doctest: +SKIP
>>> TestClient(api).post("/v1/rerank", json=body, headers=bearer).json()["results"][0]  # doctest: +SKIP
{'index': 1, 'relevance_score': 0.93..., 'document': {'text': 'It ships within 24 hours.'}}

Every error of these routes is ``{"error": "<what to fix>"}``: 422 when the body does not match
the schema (invalid JSON, wrong types, missing fields, ``top_n`` < 1), 400 when it does but
cannot be used (empty query, no documents, over a limit), 404 for a model this server does not
serve (the message lists the served names), 401 for a missing or wrong API key, 503 when the
model is not loaded or the engine fails, and 500 (logged with its traceback on the server, never
sent) for a bug. The cohere SDK reads any JSON error body (it keeps it as ``ApiError.body``). The translation lives in the routes' own class,
so it holds in whichever FastAPI app the routes end up in.
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, ValidationError, ValidatorFunctionWrapHandler, WrapValidator
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException

from reranker.engine import EngineSlot, EngineStatus
from reranker.errors import InvalidInput, ModelUnavailable, NotFound, RerankError
from reranker.evidence import CHUNKS_SCORED, EVIDENCE, Evidence
from reranker.faq_api import add_faq_routes
from reranker.scorer import RankedDocument, Ranking, Scorer
from reranker.telemetry import CONTENT_TYPE, Telemetry

if TYPE_CHECKING:
    from reranker.desk import Desk

logger = logging.getLogger(__name__)
_SURROGATE = re.compile("[\ud800-\udfff]")

DEFAULT_MAX_DOCUMENTS = 1000
#: Characters in a query or instruction. Documents have no such limit: a long one is scored in
#: overlapping windows of the model's max length, and cut (flagged in ``meta.truncated``) only
#: beyond the whole-document limit (:data:`reranker.prompt.MAX_WINDOWS` windows).
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
TopN = Annotated[int, Field(ge=1, strict=True)]


class _RankingRequest(BaseModel):
    """What every rerank route takes; fields other than these are ignored."""

    query: str = Field(description="The question to rank the documents for.")
    top_n: TopN | None = Field(default=None, description="Return only the best N results (default: all).")
    instruction: str | None = Field(
        default=None, description="Task instruction for the reranker (default: the model card's)."
    )
    model: str | None = Field(
        default=None,
        description="Optional; a served name (GET /v1/models), the model's path or id, or its basename.",
    )
    return_evidence: Annotated[bool, Field(strict=True)] = Field(
        default=False,
        description="Give each result the passage that earned its score (the best window of a long "
        "document; the whole text of a short one) as evidence {start, end, text}.",
    )


class RerankRequest(_RankingRequest):
    """Jina's and Cohere v1's request; other fields (e.g. ``max_chunks_per_doc``) are ignored."""

    documents: list[Document] = Field(description="Candidate texts, as strings or {text} objects.")
    return_documents: Annotated[bool, Field(strict=True)] = Field(
        default=True, description="Echo each document's text in its result."
    )

    def texts(self) -> list[str]:
        return [doc if isinstance(doc, str) else doc.text for doc in self.documents]


class RerankV2Request(_RankingRequest):
    """Cohere v2's request; other fields (e.g. ``priority``) are ignored."""

    documents: list[str] = Field(description="Candidate texts.")
    max_tokens_per_doc: TopN | None = Field(
        default=None, description="Cut each document to its first N tokens before scoring (default: no cut)."
    )

    def texts(self) -> list[str]:
        return list(self.documents)


class RerankResult(BaseModel):
    index: int = Field(description="Position of the document in the request.")
    relevance_score: float = Field(description='P("yes"): the probability that the document answers.')
    document: DocumentObject | None = None
    chunks_scored: int = CHUNKS_SCORED
    evidence: Evidence | None = EVIDENCE


class ApiVersion(BaseModel):
    version: str


class BilledUnits(BaseModel):
    search_units: int = Field(description="Cohere's unit: one query with up to 100 documents.")


class Tokens(BaseModel):
    input_tokens: int = Field(description="Prompt tokens of every (query, document) pair.")


class CohereMeta(BaseModel):
    api_version: ApiVersion
    billed_units: BilledUnits
    tokens: Tokens
    warnings: list[str] | None = None


class RerankMeta(CohereMeta):
    backend: str
    truncated: list[int] = Field(
        description="Indices of documents cut: longer than the whole-document limit (16 windows of "
        "the model's max length), or than max_tokens_per_doc."
    )
    elapsed_ms: float


class Usage(BaseModel):
    total_tokens: int = Field(description="Prompt tokens of every (query, document) pair (Jina's usage).")


class RerankResponse(BaseModel):
    id: str
    model: str = Field(description="The first served name (GET /v1/models).")
    results: list[RerankResult] = Field(description="Highest relevance_score first; ties by index.")
    usage: Usage
    meta: RerankMeta


class RerankV2Result(BaseModel):
    index: int = Field(description="Position of the document in the request.")
    relevance_score: float = Field(description='P("yes"): the probability that the document answers.')
    chunks_scored: int = CHUNKS_SCORED
    evidence: Evidence | None = EVIDENCE


class RerankV2Response(BaseModel):
    id: str
    results: list[RerankV2Result] = Field(description="Highest relevance_score first; ties by index.")
    meta: CohereMeta


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "faq-rerank-desk"
    root: str = Field(description="The model the name serves: its path or Hugging Face id.")


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


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
    first_stage: Literal["keyword", "dense", "hybrid"] = Field(
        description="What searches an FAQ base now: keyword until the embedding model is ready."
    )
    first_stage_reason: str = Field(description="Why this first stage: the embedding model, or why none.")


#: ``/health``'s first stage when the app has no embedding model.
KEYWORD_ONLY = ("keyword", "Keyword search (BM25) only: no embedding model is configured.")


class ErrorResponse(BaseModel):
    error: str = Field(description="What went wrong and what to change.")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in {
        400: "Well-formed but unusable request",
        401: "Missing or wrong API key",
        404: "A model or FAQ base this server does not serve (the message lists those it does)",
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


class UnknownModel(NotFound):
    """A request for a model this server does not serve: a 404 listing the served names, as vLLM does."""


async def _answer(handler: Callable[[Request], Coroutine[Any, Any, Response]], request: Request,
                  max_body_bytes: int) -> Response:  # fmt: skip
    try:
        await _read_capped_body(request, max_body_bytes)
        return await handler(request)
    except RequestValidationError as exc:
        return _error(422, describe_validation_error(exc))
    except HTTPException as exc:
        return _error(exc.status_code, str(exc.detail), exc.headers)
    except NotFound as exc:
        return _error(404, str(exc))
    except InvalidInput as exc:
        return _error(400, str(exc))
    except RerankError as exc:
        logger.warning("%s %s failed: %s", request.method, request.url.path, exc)
        return _error(503, str(exc))
    except Exception:  # the edge: the traceback goes to the log, the caller gets JSON
        logger.exception("%s %s failed unexpectedly", request.method, request.url.path)
        return _error(500, INTERNAL_ERROR)


class JSONErrorRoute(APIRoute):
    """A route whose errors are ``{"error": "..."}`` with a 4xx/503 status, in any app.

    With ``telemetry`` set (:func:`create_api` makes such a subclass), every answer is counted
    and timed under the route's path and its status.
    """

    telemetry: Telemetry | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        telemetry, path, limit = self.telemetry, self.path, self.max_body_bytes

        async def handle(request: Request) -> Response:
            start = time.perf_counter()
            response = await _answer(handler, request, limit)
            if telemetry is not None:
                telemetry.observe_request(
                    path, request.method, response.status_code, time.perf_counter() - start
                )
            return response

        return handle


async def _read_capped_body(request: Request, limit: int) -> None:
    """Read the body (kept for the route) unless it is over ``limit`` bytes: then 413."""
    too_big = HTTPException(
        413,
        f"The request body is over {limit // (1024 * 1024)} MB. Send fewer or shorter documents per request.",
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


@dataclass(frozen=True)
class ApiAccess:
    """Who may call the API: a bearer ``api_key``, the UI's ``login`` over HTTP Basic, or both.

    ``locked``: nobody (the app is shared and neither is set); the routes answer 403 saying how
    to open them.
    """

    api_key: str | None = None
    login: tuple[str, str] | None = None
    locked: bool = False

    @property
    def open(self) -> bool:
        return not (self.api_key or self.login or self.locked)


def _access_check(access: ApiAccess) -> Callable[..., None]:
    def check(
        request: Request, bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]
    ) -> None:
        if access.locked:
            raise HTTPException(
                403, "The REST API is off on this shared app: restart it with --api-key KEY (or --auth "
                "user:password and send that login as HTTP Basic), or with --open-api to open it to everyone.",
            )  # fmt: skip
        if bearer is not None and access.api_key and _same(bearer.credentials, access.api_key):
            return
        login = _basic_login(request)
        if access.login and login and all(map(_same, login, access.login)):
            return
        wrong = "The API key is wrong: send the key the server was started with."
        missing = "This API needs a key: send the header Authorization: Bearer <key>."
        if access.login:
            missing = "This API needs the app's login: send it as HTTP Basic (or a key as Authorization: Bearer <key>)."
        schemes = ", ".join(
            scheme for scheme, on in (("Bearer", access.api_key), ("Basic", access.login)) if on
        )
        raise HTTPException(
            401, wrong if bearer is not None else missing, headers={"WWW-Authenticate": schemes}
        )

    return check


def _same(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode(), expected.encode())


def _basic_login(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


def _basename(model: str) -> str:
    return model.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1]


def check_request(
    request: RerankRequest | RerankV2Request, max_documents: int, max_document_chars: int
) -> None:
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


def check_model(requested: str | None, served: Sequence[str], loaded: str) -> None:
    """Accept no model, a served name, the loaded model's path or id, or any id with its basename.

    Raises :class:`UnknownModel` (a 404) naming the served names for anything else.
    """
    if requested is None or requested in served or _basename(requested) == _basename(loaded):
        return
    names = ", ".join(map(repr, served if loaded in served else [*served, loaded]))
    raise UnknownModel(
        f"The model {requested!r} does not exist on this server; it serves {names}. Send one of "
        "these as model (GET /v1/models lists them), or leave model out."
    )


@dataclass(frozen=True)
class Ranked:
    """One rerank request's answer, before it takes a route's shape."""

    id: str
    model: str
    backend: str
    results: list[RankedDocument]
    truncated: list[int]
    documents: int
    total_tokens: int
    elapsed_s: float

    def cohere_meta(self, version: str) -> dict[str, Any]:
        """Cohere's ``meta``: API version, billed units (a query per 100 documents), tokens."""
        return dict(
            api_version=ApiVersion(version=version),
            billed_units=BilledUnits(search_units=-(-self.documents // 100)),
            tokens=Tokens(input_tokens=self.total_tokens),
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


@dataclass(frozen=True)
class RankingService:
    """The one ranking path behind every rerank route: checks, model names, scoring, metrics."""

    engine_status: Callable[[], EngineStatus]
    telemetry: Telemetry
    served_model_names: tuple[str, ...] = ()
    max_documents: int = DEFAULT_MAX_DOCUMENTS
    max_document_chars: int = DEFAULT_MAX_DOCUMENT_CHARS

    def scorer(self) -> Scorer:
        status = self.engine_status()
        if status.scorer is None:
            loading = status.state == "loading"
            raise ModelUnavailable(status.reason + (" Try again in a minute." if loading else ""))
        return status.scorer

    def names(self, scorer: Scorer) -> list[str]:
        """The served names: ``--served-model-name``'s, else the model's path or id."""
        return list(self.served_model_names) or [scorer.model]

    def rank(self, route: str, request: RerankRequest | RerankV2Request,
             max_tokens_per_doc: int | None = None) -> Ranked:  # fmt: skip
        check_request(request, self.max_documents, self.max_document_chars)
        scorer = self.scorer()
        check_model(request.model, self.names(scorer), scorer.model)
        texts, cut = request.texts(), []
        if max_tokens_per_doc is not None:
            texts, cut = scorer.encoder.cut_documents(texts, max_tokens_per_doc)
        with self.telemetry.queued():
            result = scorer.score_detailed(request.query, texts, request.instruction)
        truncated = sorted(set(result.truncated) | set(cut))
        self.telemetry.observe_scoring(route, scorer.backend_name, result, len(truncated))
        ranking = Ranking.of(result.documents, result.cache_hits, result.elapsed_s, request.top_n)
        return Ranked(
            id=str(uuid.uuid4()),
            model=self.names(scorer)[0],
            backend=scorer.backend_name,
            results=list(ranking),
            truncated=truncated,
            documents=len(texts),
            total_tokens=result.total_tokens,
            elapsed_s=result.elapsed_s,
        )


def _rerank_v1(ranked: Ranked, return_documents: bool, return_evidence: bool) -> RerankResponse:
    return RerankResponse(
        id=ranked.id,
        model=ranked.model,
        results=[
            RerankResult(
                index=d.index,
                relevance_score=d.score,
                document=DocumentObject(text=d.text) if return_documents else None,
                chunks_scored=d.chunks_scored,
                evidence=Evidence.of(d) if return_evidence else None,
            )
            for d in ranked.results
        ],
        usage=Usage(total_tokens=ranked.total_tokens),
        meta=RerankMeta(
            **ranked.cohere_meta("1"),
            backend=ranked.backend,
            truncated=ranked.truncated,
            elapsed_ms=ranked.elapsed_s * 1000,
        ),
    )


def _rerank_v2(ranked: Ranked, return_evidence: bool) -> RerankV2Response:
    warnings = None
    if ranked.truncated:
        warnings = [
            f"Documents {ranked.truncated} were cut to fit max_tokens_per_doc or the whole-document limit."
        ]
    return RerankV2Response(
        id=ranked.id,
        results=[
            RerankV2Result(
                index=d.index,
                relevance_score=d.score,
                chunks_scored=d.chunks_scored,
                evidence=Evidence.of(d) if return_evidence else None,
            )
            for d in ranked.results
        ],
        meta=CohereMeta(**ranked.cohere_meta("2"), warnings=warnings),
    )


def _model_list(service: RankingService, created: int) -> ModelList:
    scorer = service.scorer()
    return ModelList(
        data=[ModelCard(id=name, created=created, root=scorer.model) for name in service.names(scorer)]
    )


def _health(status: EngineStatus, stage: str, stage_reason: str) -> JSONResponse:
    """``/health``: the reranker's state (its status code) and the first stage's."""
    body = HealthResponse(
        status=status.health,
        model_loaded=status.scorer is not None,
        backend=status.engine,
        engine_reason=status.reason,
        model=status.scorer.model if status.scorer is not None else None,
        error=status.error if status.scorer is None else status.scorer.fallback_cause,
        first_stage=stage,  # type: ignore[arg-type]
        first_stage_reason=stage_reason,
    )
    return JSONResponse(body.model_dump(), status_code=status.http_status)


def create_api(engine: EngineSlot | Callable[[], Scorer | None], *, api_key: str | None = None,
               access: ApiAccess | None = None,
               max_documents: int = DEFAULT_MAX_DOCUMENTS,
               max_document_chars: int = DEFAULT_MAX_DOCUMENT_CHARS,
               max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
               load_error: str | None = None,
               served_model_names: Sequence[str] = (),
               desk: Desk | None = None,
               first_stage: Callable[[], tuple[str, str]] = lambda: KEYWORD_ONLY) -> FastAPI:  # fmt: skip
    """A FastAPI app with the rerank routes, ``/v1/models``, ``/metrics``, ``/health`` and ``/docs``.

    ``engine`` is the app's :class:`EngineSlot` (or a callable returning the loaded
    :class:`Scorer` or None, with ``load_error`` saying why); while there is no scorer, rerank
    answers 503 with the reason (``/health``: 503 "loading" until it is ready). It is read on
    the event loop, so it must not block. ``max_body_bytes`` caps a request body (413);
    documents have no character limit (a long one is cut to the model's max length).
    ``api_key``: when set, every route but ``/health`` and ``/docs`` needs
    ``Authorization: Bearer <api_key>`` (``/metrics`` included: scrape with that bearer token).
    ``access`` (instead of ``api_key``): the key, the UI's login over HTTP Basic, or locked.
    ``max_documents`` per request; ``max_document_chars`` per query and instruction.
    ``served_model_names``: the names a request's ``model`` may use (vLLM's
    ``--served-model-name``), the first one answered as ``model``; default: the model's path or id.
    ``first_stage()`` -> (mode, reason) for ``/health`` (the desk's ``DenseSlot.health``).
    With ``desk``, also the FAQ routes over its bases (:mod:`reranker.faq_api`).
    The app's :class:`Telemetry` is ``app.state.telemetry``.
    """

    engine_status = _as_engine(engine, load_error)

    def serving() -> tuple[str, str] | None:
        scorer = engine_status().scorer
        return None if scorer is None else (scorer.backend_name, scorer.model)

    telemetry = Telemetry(serving, first_stage=lambda: first_stage()[0])
    service = RankingService(
        engine_status, telemetry, tuple(served_model_names), max_documents, max_document_chars
    )
    route_class = type(
        "MeteredRoute", (JSONErrorRoute,), {"telemetry": telemetry, "max_body_bytes": max_body_bytes}
    )
    router = APIRouter(route_class=route_class)
    access = access or ApiAccess(api_key=api_key)
    auth = [] if access.open else [Depends(_access_check(access))]
    started = int(time.time())

    # Sync routes: FastAPI runs them in its threadpool, so scoring never blocks the event loop.
    @router.post("/v1/rerank", response_model=RerankResponse, response_model_exclude_none=True,
                 dependencies=auth, responses=ERROR_RESPONSES,
                 summary="Rank documents by relevance to a query (Jina, Cohere v1)")  # fmt: skip
    def rerank(request: RerankRequest) -> RerankResponse:
        return _rerank_v1(
            service.rank("/v1/rerank", request), request.return_documents, request.return_evidence
        )

    @router.post("/v2/rerank", response_model=RerankV2Response, response_model_exclude_none=True,
                 dependencies=auth, responses=ERROR_RESPONSES,
                 summary="Rank documents by relevance to a query (Cohere v2)")  # fmt: skip
    def rerank_v2(request: RerankV2Request) -> RerankV2Response:
        return _rerank_v2(
            service.rank("/v2/rerank", request, request.max_tokens_per_doc), request.return_evidence
        )

    @router.get("/v1/models", response_model=ModelList, dependencies=auth, responses=ERROR_RESPONSES,
                summary="The names a request's model may use")  # fmt: skip
    async def models() -> ModelList:
        return _model_list(service, started)

    @router.get("/metrics", dependencies=auth, response_class=PlainTextResponse,
                summary="Prometheus metrics (text exposition)")  # fmt: skip
    async def metrics() -> Response:
        return Response(telemetry.render(), media_type=CONTENT_TYPE)

    @router.get("/health", response_model=HealthResponse, summary="Is the model loaded?",
                responses={503: {"model": HealthResponse, "description": "Loading, or no model"}})  # fmt: skip
    async def health() -> JSONResponse:
        return _health(engine_status(), *first_stage())

    if desk is not None:
        add_faq_routes(router, desk, auth, ERROR_RESPONSES)
    api = FastAPI(
        title="FAQ Rerank Desk API",
        description='Rerank FAQ answers with Qwen3-Reranker. Errors are `{"error": "..."}`.',
    )
    api.include_router(router)
    api.state.telemetry = telemetry
    return api
