"""The desk's FAQ routes: list the bases, search one, record which answer answered, export the labels.

``GET /v1/faq/bases``, ``PUT /v1/faq/bases/{name}`` (a lead saves a CSV for the whole team),
``PUT|DELETE /v1/faq/bases/{name}/threshold`` (a lead applies or removes a threshold), ``POST /v1/faq/search``, ``POST /v1/feedback`` and
``GET /v1/feedback/export``: the desk's main job as an API, for chatbots and helpdesk macros.
:func:`add_faq_routes` adds them to :func:`reranker.server.api.create_api`'s router, so they share its
API key, its ``{"error": ...}`` answers (404 for an unknown base, 400 for an id the base does
not have, 403 when an agent's key or login asks for a lead's export) and its metrics. A pick is
recorded under its caller: the key's user or the login. A search is answered by :func:`reranker.desk.pipeline.search_and_rank`,
the same path as evaluation and batch triage, with the desk's first stage (keyword, dense or
hybrid: each result has its keyword and dense rank); what it showed is remembered under its
``request_id`` so that a pick sent with that id records the ids, scores and ranks shown.

>>> body = {"query": "where is my parcel", "base": "English store FAQ (en_store_faq.csv)"}   # doctest: +SKIP
>>> client.post("/v1/faq/search", json=body).json()["results"][0]["id"]                      # doctest: +SKIP
'en-004'
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.params import Depends
from pydantic import BaseModel, Field

from reranker.desk.desk import Desk
from reranker.desk.pipeline import FaqHit, shown_answers
from reranker.feedback.picks import Picks, RecentRequests, Shown, version_of
from reranker.feedback.shared_bases import SharedBases
from reranker.knowledge.bases import DEFAULT_TOP_K
from reranker.server.auth import caller_of
from reranker.server.schemas import CHUNKS_SCORED, EVIDENCE, Evidence
from reranker.verdict import is_confident

CSV_TYPE = "text/csv; charset=utf-8"


class BaseInfo(BaseModel):
    name: str = Field(description="The name to send as base.")
    rows: int = Field(description="FAQ entries in the base.")
    version: str = Field(description="Content hash of the base; changes whenever any row does.")
    threshold: float = Field(description="Confidence threshold searches of this base use.")
    threshold_stored: bool = Field(description="True: set for this base (Evaluate tab); false: the default.")
    file: str = Field(description="The CSV file the base is read from.")


class BaseList(BaseModel):
    bases: list[BaseInfo]


class SearchRequest(BaseModel):
    query: str = Field(description="The customer's question.")
    base: str = Field(description="An FAQ base's name (GET /v1/faq/bases).")
    top_k: int = Field(
        default=DEFAULT_TOP_K, strict=True, description="First-stage candidates to rerank (and return)."
    )
    instruction: str | None = Field(
        default=None, description="Reranker instruction (default: the model card's)."
    )
    return_evidence: bool = Field(
        default=False, strict=True,
        description="Give each reranked answer the passage that earned its score as evidence {start, end, text}.",
    )  # fmt: skip


class SearchResult(BaseModel):
    id: str
    question: str
    answer: str
    category: str
    relevance_score: float | None = Field(
        description='Reranker P("yes"); null when the reranker is not loaded.'
    )
    keyword_score: float | None = Field(description="BM25 score; null when keyword search did not find it.")
    keyword_rank: int | None = Field(
        description="Rank in the keyword search (from 1); null: not found by it."
    )
    dense_score: float | None = Field(
        description="Cosine similarity; null when dense search did not run or find it."
    )
    dense_rank: int | None = Field(description="Rank in the dense search (from 1); null: not found by it.")
    rank: int = Field(description="Rank in this answer (from 1).")
    truncated: bool = Field(description="The answer was cut: longer than the whole-document limit.")
    chunks_scored: int = CHUNKS_SCORED
    evidence: Evidence | None = EVIDENCE


class SearchResponse(BaseModel):
    request_id: str = Field(description="Send it with POST /v1/feedback to record what was shown.")
    base: str
    results: list[SearchResult] = Field(description="Best first.")
    reranked: bool = Field(description="False: the first stage's order only (the reranker is not loaded).")
    first_stage: str = Field(description="What searched the base: keyword, dense or hybrid.")
    first_stage_reason: str = Field(description="Why that first stage (e.g. the embedding model is loading).")
    confident: bool = Field(description="The best relevance_score reaches the threshold.")
    threshold: float
    threshold_stored: bool


class FeedbackRequest(BaseModel):
    query: str = Field(description="The customer's question.")
    base: str = Field(description="The FAQ base the answer was picked from.")
    chosen_id: str | None = Field(description='The FAQ id that answered it; null for "none of these".')
    request_id: str | None = Field(default=None, description="The search's request_id, if any.")


class ThresholdRequest(BaseModel):
    threshold: float = Field(description='The confidence threshold for the base: a relevance_score (P("yes")), 0 to 1.')


class FeedbackCreated(BaseModel):
    id: int = Field(description="The stored record's id.")


def _result(rank: int, hit: FaqHit, return_evidence: bool) -> SearchResult:
    entry = hit.entry
    evidence = None
    if return_evidence and hit.score is not None:
        start, end = hit.evidence or (0, len(entry.text))
        evidence = Evidence(start=start, end=end, text=entry.text[start:end])
    return SearchResult(id=entry.id, question=entry.question, answer=entry.answer, category=entry.category,
                        relevance_score=hit.score, keyword_score=hit.keyword_score,
                        keyword_rank=hit.keyword_rank, dense_score=hit.dense_score, dense_rank=hit.dense_rank,
                        rank=rank, truncated=hit.truncated, chunks_scored=hit.chunks_scored,
                        evidence=evidence)  # fmt: skip


def search(desk: Desk, picks: Picks, request: SearchRequest, recent: RecentRequests) -> SearchResponse:
    """Search and rank one base for the query; remember what was shown under a new request id."""
    kb = desk.bases.named(request.base)
    ranking, stage = desk.search(kb, request.query, request.top_k, request.instruction)
    threshold, stored = picks.threshold_for(request.base)
    best = ranking.best
    confident = ranking.reranked and best is not None and is_confident(best.score, threshold)
    request_id = str(uuid.uuid4())
    recent.remember(request_id, Shown(request.base, request.query, request.instruction,
                                      shown_answers(ranking.hits), ranking.retrieval))  # fmt: skip
    return SearchResponse(request_id=request_id, base=request.base,
                          results=[_result(rank, hit, request.return_evidence)
                                   for rank, hit in enumerate(ranking.hits, start=1)],
                          reranked=ranking.reranked, first_stage=stage.retrieval,
                          first_stage_reason=stage.reason, confident=confident, threshold=threshold,
                          threshold_stored=stored)  # fmt: skip


def list_bases(desk: Desk, picks: Picks) -> BaseList:
    """Every base the desk serves: the bundled ones, ``--kb`` and the team's saved bases."""
    return BaseList(bases=[_info(desk, picks, name) for name in desk.bases.names])


def _info(desk: Desk, picks: Picks, name: str) -> BaseInfo:
    kb = desk.bases.named(name)
    threshold, stored = picks.threshold_for(name)
    return BaseInfo(name=name, rows=len(kb), version=version_of(kb), threshold=threshold,
                    threshold_stored=stored, file=desk.bases.paths[name].name)  # fmt: skip


def add_faq_routes(router: APIRouter, desk: Desk, picks: Picks, dependencies: Sequence[Depends],
                   responses: dict[int | str, dict[str, Any]], shared: SharedBases | None = None) -> None:  # fmt: skip
    """Add the FAQ routes to ``router`` (the API's, with its error translation and key); with
    ``shared``, also ``PUT /v1/faq/bases/{name}`` (a lead saves a CSV as the team's base)."""
    recent = RecentRequests()
    common: dict[str, Any] = dict(dependencies=list(dependencies), responses=responses)

    @router.get("/v1/faq/bases", response_model=BaseList, summary="The FAQ bases to search", **common)
    def bases() -> BaseList:
        return list_bases(desk, picks)

    if shared is not None:

        @router.put("/v1/faq/bases/{name}", response_model=BaseInfo, summary="Save a CSV as the team's FAQ base "
                    "(leads; replaces one of that name; every desk serves it)", **common)  # fmt: skip
        async def save_base(name: str, http: Request) -> BaseInfo:
            data = await http.body()
            await run_in_threadpool(shared.save, name, data, filename=None, by=caller_of(http))
            return _info(desk, picks, name.strip())

    @router.put("/v1/faq/bases/{name}/threshold", response_model=BaseInfo,
                summary="Apply a confidence threshold to a base, for every desk (leads)", **common)  # fmt: skip
    def apply_threshold(name: str, request: ThresholdRequest, http: Request) -> BaseInfo:
        picks.set_threshold(name, request.threshold, by=caller_of(http))
        return _info(desk, picks, name)

    @router.delete("/v1/faq/bases/{name}/threshold", response_model=BaseInfo,
                   summary="Remove a base's threshold: the default applies again (leads)", **common)  # fmt: skip
    def remove_threshold(name: str, http: Request) -> BaseInfo:
        picks.set_threshold(name, None, by=caller_of(http))
        return _info(desk, picks, name)

    @router.post("/v1/faq/search", response_model=SearchResponse, summary="Search and rank an FAQ base",
                 **common)  # fmt: skip
    def faq_search(request: SearchRequest) -> SearchResponse:
        return search(desk, picks, request, recent)

    @router.post("/v1/feedback", response_model=FeedbackCreated, status_code=201,
                 summary="Record which FAQ answer answered a question (null: none of these)", **common)  # fmt: skip
    def feedback(request: FeedbackRequest, http: Request) -> FeedbackCreated:
        record_id = picks.record(base=request.base, question=request.query, chosen_id=request.chosen_id,
                                 shown=recent.get(request.request_id), request_id=request.request_id,
                                 user=caller_of(http).name)  # fmt: skip
        return FeedbackCreated(id=record_id)

    @router.get("/v1/feedback/export", summary="A base's picks as a labelled query set (CSV)",
                response_class=Response, **common)  # fmt: skip
    def export(base: str, http: Request) -> Response:
        filename = "agents-picks.csv"
        return Response(picks.export(base, by=caller_of(http)), media_type=CSV_TYPE,
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})  # fmt: skip
