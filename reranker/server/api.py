"""The REST API: the rerank routes of Jina and Cohere, model names, metrics and health.

``POST /v1/rerank`` (Jina's and Cohere v1's shape), ``POST /v2/rerank`` (Cohere v2's),
``GET /v1/models`` (the served names, OpenAI's shape), ``GET /metrics`` (Prometheus) and
``GET /health``. :func:`create_api` returns a FastAPI app with them and OpenAPI docs at ``/docs``;
:mod:`reranker.server.serve` puts the Gradio UI next to it. The scorer comes from a callable, so the
API can start (and say "degraded") before or without a model. Given the desk, the API also
searches its FAQ bases and records agents' picks (:mod:`reranker.server.faq`).

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

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, FastAPI, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from reranker.engine.model_source import model_basename
from reranker.engine.scorer import RankedDocument, Ranking, Scorer
from reranker.engine.slot import EngineSlot, EngineStatus
from reranker.errors import InvalidInput, ModelUnavailable, NotFound
from reranker.feedback.knowledge import Knowledge
from reranker.feedback.picks import Picks
from reranker.feedback.shared_bases import SharedBases
from reranker.server.auth import ApiAccess, access_check
from reranker.server.faq import add_faq_routes
from reranker.server.knowledge import add_knowledge_routes
from reranker.server.routing import Admission, JSONErrorRoute
from reranker.server.schemas import (
    _SURROGATE,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_DOCUMENT_CHARS,
    DEFAULT_MAX_DOCUMENTS,
    ERROR_RESPONSES,
    KEYWORD_ONLY,
    ApiVersion,
    BilledUnits,
    CohereMeta,
    DocumentObject,
    Evidence,
    HealthResponse,
    ModelCard,
    ModelList,
    RerankMeta,
    RerankRequest,
    RerankResponse,
    RerankResult,
    RerankV2Request,
    RerankV2Response,
    RerankV2Result,
    Tokens,
    Usage,
)
from reranker.server.telemetry import CONTENT_TYPE, Telemetry

if TYPE_CHECKING:
    from reranker.desk.desk import Desk

logger = logging.getLogger(__name__)
#: The routes that score, and so wait for the engine: the ones ``capacity`` limits.
SCORING_ROUTES = frozenset({"/v1/rerank", "/v2/rerank", "/v1/faq/search"})


class UnknownModel(NotFound):
    """A request for a model this server does not serve: a 404 listing the served names, as vLLM does."""


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
    if requested is None or requested in served or model_basename(requested) == model_basename(loaded):
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
               picks: Picks | None = None,
               first_stage: Callable[[], tuple[str, str]] = lambda: KEYWORD_ONLY,
               capacity: int | None = None,
               shared: SharedBases | None = None,
               knowledge: Knowledge | None = None) -> FastAPI:  # fmt: skip
    """A FastAPI app with the rerank routes, ``/v1/models``, ``/metrics``, ``/health`` and ``/docs``.

    ``engine`` is the app's :class:`EngineSlot` (or a callable returning the loaded
    :class:`Scorer` or None, with ``load_error`` saying why); while there is no scorer, rerank
    answers 503 with the reason (``/health``: 503 "loading" until it is ready). It is read on
    the event loop, so it must not block. ``max_body_bytes`` caps a request body (413).
    ``api_key``: when set, every route but ``/health`` and ``/docs`` needs
    ``Authorization: Bearer <api_key>`` (``/metrics`` included: scrape with that bearer token).
    ``access`` (instead of ``api_key``): the key, logins over HTTP Basic, the team's keys, or locked;
    each request is attributed to its caller in the log and in ``/metrics``.
    ``capacity``: at most this many scoring requests (rerank, FAQ search) in the app at once,
    running or waiting; one more is answered 503 with ``Retry-After`` at once (None: no limit).
    ``max_documents`` per request; ``max_document_chars`` per query and instruction.
    ``served_model_names``: the names a request's ``model`` may use (vLLM's
    ``--served-model-name``), the first one answered as ``model``; default: the model's path or id.
    ``first_stage()`` -> (mode, reason) for ``/health`` (the desk's ``DenseSlot.health``).
    With ``desk``, also the FAQ routes over its bases (:mod:`reranker.server.faq`), recording
    agents' picks in ``picks`` (None: recording is off); with ``shared``, leads save the team's bases;
    with ``knowledge``, the entries, suggestions, gaps and health routes (:mod:`reranker.server.knowledge`).
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
    admission = None if capacity is None else Admission(capacity)
    route_class = type("MeteredRoute", (JSONErrorRoute,), {
        "telemetry": telemetry, "max_body_bytes": max_body_bytes, "admission": admission, "admitted": SCORING_ROUTES,
    })  # fmt: skip
    router = APIRouter(route_class=route_class)
    access = access or ApiAccess(api_key=api_key)
    auth = [] if access.open else [Depends(access_check(access))]
    _add_routes(router, service, telemetry, auth, first_stage)
    if desk is not None:
        add_faq_routes(router, desk, picks or Picks(None, desk.bases), auth, ERROR_RESPONSES, shared)
        if knowledge is not None:
            add_knowledge_routes(router, knowledge, auth, ERROR_RESPONSES)
    api = FastAPI(
        title="FAQ Rerank Desk API",
        description='Rerank FAQ answers with Qwen3-Reranker. Errors are `{"error": "..."}`.',
    )
    api.include_router(router)
    api.state.telemetry = telemetry
    return api


def _add_routes(router: APIRouter, service: RankingService, telemetry: Telemetry, auth: list[Any],
                first_stage: Callable[[], tuple[str, str]]) -> None:  # fmt: skip
    """The rerank routes (v1, v2), ``/v1/models``, ``/metrics`` and ``/health`` on ``router``."""
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
        return _health(service.engine_status(), *first_stage())
