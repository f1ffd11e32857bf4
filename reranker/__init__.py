"""FAQ Rerank Desk's scoring core: Qwen3-Reranker behind one small, typed API.

>>> import reranker
>>> scorer = reranker.load_scorer()          # doctest: +SKIP
>>> scorer.score("Where is my order?", ["It ships within 24 hours.", "Reset your password."])  # doctest: +SKIP
"""

from reranker.engine.load import load_scorer
from reranker.engine.prompt import DEFAULT_INSTRUCTION
from reranker.engine.scorer import RankedDocument, Scorer, ScoreResult
from reranker.errors import BackendFailure, InvalidInput, ModelUnavailable, RerankError

__all__ = [
    "DEFAULT_INSTRUCTION",
    "BackendFailure",
    "InvalidInput",
    "ModelUnavailable",
    "RankedDocument",
    "RerankError",
    "ScoreResult",
    "Scorer",
    "load_scorer",
]
