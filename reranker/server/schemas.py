"""The REST API's request and response bodies (pydantic), its limits, and plain-words validation errors.

The shapes are Jina's and Cohere's rerank APIs (v1 and v2), OpenAI's model list and our health
answer; :func:`describe_validation_error` turns pydantic's errors into one sentence a caller can act on.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError, ValidatorFunctionWrapHandler, WrapValidator
from pydantic_core import PydanticCustomError

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
    truncated: list[int] = Field(description="Indices of documents cut to fit the model's max length.")
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
