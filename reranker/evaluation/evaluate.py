"""Does reranking put the right answer first on our questions? Evaluate on a labelled query set.

Each labelled query goes through the same two steps as the desk: the first stage (``--retrieval``
keyword, dense or hybrid; default hybrid when the embedding model loads, else keyword) picks
the top K FAQ entries, then (unless ``--no-rerank``) the reranker orders them by P("yes") for
the entry's text (its answer, or its question when the answer is empty). In-scope queries give
``mrr@10``, ``recall@1/5/20`` (at least one right answer in the top k) and ``ndcg@10``;
out-of-scope queries (no relevant ids) give the threshold sweep: how many of them "no
confident answer" catches at each threshold, and how many answerable ones it wrongly flags.

Command line::

    python -m reranker.evaluate --faq knowledge_base/en_store_faq.csv \\
        --queries knowledge_base/en_store_queries.csv [--top-k 20] [--no-rerank] [--json] \\
        [--retrieval keyword|dense|hybrid] [--embedding-model MODEL|none]
    python -m reranker.evaluate --faq knowledge_base/en_store_faq.csv \\
        --picks "English store FAQ (en_store_faq.csv)" [--data-dir data] [--min-caught 0.9 --max-escalated 0.1]

``--picks`` evaluates on the agents' picks recorded in that base (the app's store in
``--data-dir``); with reranking, the report ends with the threshold that meets the goal
(``--min-caught``, ``--max-escalated``) in a plain sentence.

>>> from reranker.knowledge.bases import BUNDLED_DIR
>>> kb, queries = load_evaluation_set(BUNDLED_DIR / "en_store_faq.csv", BUNDLED_DIR / "en_store_queries.csv")
>>> evaluate(kb, queries, scorer=None).metrics()["queries"]
52
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from reranker.desk.pipeline import check_top_k, search_and_rank
from reranker.engine.scorer import Scorer
from reranker.errors import InvalidInput
from reranker.evaluation.metrics import (
    PROBABILITY_THRESHOLDS,
    ThresholdPoint,
    hit_at_k,
    ndcg_at_k,
    quantile_thresholds,
    reciprocal_rank,
    sweep_thresholds,
)
from reranker.knowledge.bases import DEFAULT_TOP_K, KnowledgeBase, load_faq
from reranker.knowledge.labelled import LabelledQuery, load_queries
from reranker.retrieval.dense import DenseIndex
from reranker.retrieval.first_stage import Retrieval

logger = logging.getLogger(__name__)

#: The first stage alone (keyword, dense, hybrid), or the first stage + reranking (rerank).
Method = Literal["keyword", "dense", "hybrid", "rerank"]
METHOD_NAMES = {
    "keyword": "keyword search only (BM25)",
    "dense": "dense search only (embeddings)",
    "hybrid": "hybrid search only (keyword + dense)",
}
METRICS: tuple[str, ...] = ("mrr@10", "recall@1", "recall@5", "recall@20", "ndcg@10")
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class QueryResult:
    """One labelled query's ranking: FAQ ids best first, and the best score (None: no candidate)."""

    query: str
    relevant_ids: tuple[str, ...]
    ranked_ids: tuple[str, ...]
    top_score: float | None

    @property
    def in_scope(self) -> bool:
        return bool(self.relevant_ids)

    @property
    def rank(self) -> int | None:
        """Rank (from 1) of the first right answer; None when it is not among the candidates."""
        return next((r for r, i in enumerate(self.ranked_ids, start=1) if i in self.relevant_ids), None)


@dataclass(frozen=True)
class Miss:
    """An in-scope query whose first answer was wrong: what was expected and what came first."""

    query: str
    expected: tuple[str, ...]
    got: str | None
    rank: int | None


@dataclass(frozen=True)
class EvaluationReport:
    """The rankings of ``total`` labelled queries (fewer when the run was interrupted).

    >>> report = EvaluationReport("keyword", 20, (QueryResult("q", ("a",), ("b", "a"), 3.2),), total=1)
    >>> report.metrics()["mrr@10"], report.misses()[0].got
    (0.5, 'b')
    """

    method: Method
    top_k: int
    results: tuple[QueryResult, ...]
    total: int
    retrieval: Retrieval = "keyword"

    @property
    def description(self) -> str:
        """ "hybrid search + reranking", "keyword search only (BM25)", ..."""
        return (
            f"{self.retrieval} search + reranking" if self.method == "rerank" else METHOD_NAMES[self.method]
        )

    @property
    def partial(self) -> bool:
        return len(self.results) < self.total

    @property
    def in_scope(self) -> list[QueryResult]:
        return [r for r in self.results if r.in_scope]

    @property
    def out_of_scope(self) -> list[QueryResult]:
        return [r for r in self.results if not r.in_scope]

    def metrics(self) -> dict[str, float | int | None]:
        """The averages over in-scope queries (None when there are none) and ``queries``."""
        scored = self.in_scope
        per_query = {
            "mrr@10": [reciprocal_rank(r.ranked_ids, r.relevant_ids, k=10) for r in scored],
            "recall@1": [hit_at_k(r.ranked_ids, r.relevant_ids, k=1) for r in scored],
            "recall@5": [hit_at_k(r.ranked_ids, r.relevant_ids, k=5) for r in scored],
            "recall@20": [hit_at_k(r.ranked_ids, r.relevant_ids, k=20) for r in scored],
            "ndcg@10": [ndcg_at_k(r.ranked_ids, r.relevant_ids, k=10) for r in scored],
        }
        averages: dict[str, float | int | None] = {
            name: sum(values) / len(values) if values else None for name, values in per_query.items()
        }
        averages["queries"] = len(scored)
        return averages

    def threshold_sweep(self) -> list[ThresholdPoint]:
        """Out-of-scope vs in-scope queries flagged "no confident answer" at each threshold.

        Reranker scores are probabilities, swept from 0.05 to 0.95; keyword (BM25) scores are
        swept over the 5 %..95 % quantiles of this run's own top scores.
        """
        if self.method == "rerank":
            thresholds: Sequence[float] = PROBABILITY_THRESHOLDS
        else:
            thresholds = quantile_thresholds([r.top_score for r in self.results if r.top_score is not None])
        return sweep_thresholds(
            [r.top_score for r in self.in_scope], [r.top_score for r in self.out_of_scope], thresholds
        )

    def misses(self) -> list[Miss]:
        """In-scope queries where the first answer is not a right one, in file order."""
        return [
            Miss(r.query, r.relevant_ids, r.ranked_ids[0] if r.ranked_ids else None, r.rank)
            for r in self.in_scope
            if r.rank != 1
        ]

    def to_dict(self) -> dict[str, object]:
        """Everything as plain JSON-ready data, the metrics as top-level keys."""
        return {
            **self.metrics(),
            "out_of_scope": len(self.out_of_scope),
            "method": self.method,
            "retrieval": self.retrieval,
            "top_k": self.top_k,
            "partial": self.partial,
            "evaluated": len(self.results),
            "total": self.total,
            "threshold_sweep": [asdict(point) for point in self.threshold_sweep()],
            "misses": [asdict(miss) for miss in self.misses()],
        }


def load_evaluation_set(
    faq: str | Path | bytes, queries: str | Path | bytes
) -> tuple[KnowledgeBase, list[LabelledQuery]]:
    """The FAQ base and its labelled queries; ``InvalidInput`` when an id is not in the base."""
    kb = load_faq(faq)
    labelled = load_queries(queries, known_ids={entry.id for entry in kb.entries})
    if not labelled:
        raise InvalidInput("The queries file has no queries: fill in the query column.")
    return kb, labelled


def rank_queries(
    kb: KnowledgeBase,
    queries: Sequence[LabelledQuery],
    scorer: Scorer | None,
    top_k: int = DEFAULT_TOP_K,
    instruction: str | None = None,
    *,
    retrieval: Retrieval = "keyword",
    index: DenseIndex | None = None,
) -> Iterator[QueryResult]:
    """Rank each query's first-stage top ``top_k``, reranked when there is a scorer; one at a time."""
    check_top_k(top_k)
    for labelled in queries:
        ranking = search_and_rank(
            kb, labelled.query, scorer, top_k, instruction, retrieval=retrieval, index=index
        )
        ids = tuple(hit.entry.id for hit in ranking.hits)
        best = ranking.best
        top = None if best is None else best.score if ranking.reranked else best.recall_score
        yield QueryResult(labelled.query, labelled.relevant_ids, ids, top)


def evaluate(
    kb: KnowledgeBase,
    queries: Sequence[LabelledQuery],
    scorer: Scorer | None,
    top_k: int = DEFAULT_TOP_K,
    instruction: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    retrieval: Retrieval = "keyword",
    index: DenseIndex | None = None,
) -> EvaluationReport:
    """Evaluate the first stage alone (``scorer=None``) or followed by reranking on ``queries``.

    ``retrieval`` is keyword, dense or hybrid (the last two need the base's dense ``index``).
    ``progress(done, total)`` is called after each query.

    >>> from reranker.knowledge.bases import BUNDLED_DIR
    >>> kb, queries = load_evaluation_set(BUNDLED_DIR / "zh_ecommerce_faq.csv", BUNDLED_DIR / "zh_ecommerce_queries.csv")
    >>> report = evaluate(kb, queries, scorer=None, top_k=20)
    >>> report.method, len(report.out_of_scope)
    ('keyword', 5)
    """
    results = []
    for result in rank_queries(kb, queries, scorer, top_k, instruction, retrieval=retrieval, index=index):
        results.append(result)
        if progress is not None:
            progress(len(results), len(queries))
    return EvaluationReport(_method(scorer, retrieval), top_k, tuple(results), total=len(queries),
                            retrieval=retrieval)  # fmt: skip


def format_report(report: EvaluationReport, title: str) -> str:
    """The human-readable report: metrics, the threshold sweep and the misses."""
    lines = [title, f"method: {report.description}, top {report.top_k} candidates"]
    if report.partial:
        lines.append(f"PARTIAL: interrupted after {len(report.results)} of {report.total} queries")
    metrics = report.metrics()
    lines += [f"{metrics['queries']} in-scope queries, {len(report.out_of_scope)} out of scope", ""]
    lines += [f"{name:<10} {_number(metrics[name])}" for name in METRICS]

    sweep = report.threshold_sweep()
    if report.out_of_scope and sweep:
        kind = "reranker score" if report.method == "rerank" else "search score (quantiles of top scores)"
        lines += ["", f'"No confident answer" when the top {kind} is below the threshold:']
        lines.append(f"{'threshold':>10}  {'out-of-scope flagged':>20}  {'in-scope flagged':>16}")
        out_total, in_total = len(report.out_of_scope), metrics["queries"]
        for point in sweep:
            lines.append(
                f"{point.threshold:>10.3g}  {f'{point.out_of_scope_flagged}/{out_total}':>20}  "
                f"{f'{point.in_scope_flagged}/{in_total}':>16}"
            )

    misses = report.misses()
    lines += ["", f"Queries where the right answer was not first ({len(misses)}):"]
    for miss in misses:
        where = f"right answer at {miss.rank}" if miss.rank else f"right answer not in top {report.top_k}"
        lines.append(
            f"  {miss.query}\n    expected {'|'.join(miss.expected)}, got {miss.got or 'nothing'} ({where})"
        )
    return "\n".join(lines)


def _method(scorer: Scorer | None, retrieval: Retrieval) -> Method:
    return retrieval if scorer is None else "rerank"


def _number(value: float | int | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
