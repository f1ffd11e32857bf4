"""``faq-rerank-desk evaluate`` (also ``python -m reranker.evaluate``): measure a labelled query set.

The evaluation itself is :mod:`reranker.evaluation.evaluate`; this module parses the flags, loads
the engines, shows progress on stderr and prints the report (or JSON).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from reranker.cli.console import stdout_to_stderr
from reranker.config import (
    DatabaseConfig,
    EngineConfig,
    RetrievalConfig,
    add_database_arguments,
    add_engine_arguments,
    add_retrieval_arguments,
    database_config,
    engine_config,
    retrieval_config,
)
from reranker.desk.pipeline import check_top_k
from reranker.engine.scorer import Scorer
from reranker.errors import InvalidInput, ModelUnavailable, RerankError
from reranker.evaluation.calibration import Recommendation, recommend_for_report
from reranker.evaluation.evaluate import (
    EXIT_INTERRUPTED,
    EvaluationReport,
    QueryResult,
    _method,
    format_report,
    load_evaluation_set,
    rank_queries,
)
from reranker.evaluation.replay import format_replay, replay, replay_picks
from reranker.knowledge.bases import DEFAULT_TOP_K, KnowledgeBase, load_faq
from reranker.knowledge.labelled import LabelledQuery, load_queries
from reranker.retrieval.dense import DenseIndex, Embedder
from reranker.retrieval.first_stage import Retrieval, index_base
from reranker.store import LEGACY_FILE, open_store
from reranker.store.database import DATABASE_FILE

logger = logging.getLogger(__name__)


DESCRIPTION = "Measure how often the first stage (and reranking) puts the right FAQ answer first."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``evaluate`` command's flags (the engine's and the first stage's are shared with ``serve``)."""
    parser.add_argument("--faq", type=Path, required=True, help="FAQ CSV (id, question, answer, ...)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--queries", type=Path, help="labelled queries CSV (query, relevant_ids)")
    source.add_argument("--picks", metavar="BASE", help="the agents' picks recorded in the desk's base "
                        "named BASE (as GET /v1/faq/bases names it), from the team database")  # fmt: skip
    parser.add_argument("--min-caught", type=float, default=0.9, dest="min_caught",
                        help='threshold goal: share of "none of these" questions sent to a human, at least (0.9)')  # fmt: skip
    parser.add_argument("--max-escalated", type=float, default=0.1, dest="max_escalated",
                        help="threshold goal: share of answerable questions escalated, at most (0.1)")  # fmt: skip
    parser.add_argument(
        "--top-k", type=int, default=DEFAULT_TOP_K, help="first-stage candidates per query (default 20)"
    )
    parser.add_argument(
        "--rerank",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="rerank the first stage's candidates (default); --no-rerank evaluates the first stage alone",
    )
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N queries")
    parser.add_argument(
        "--instruction", default=None, help="reranker instruction (default: the built-in one)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--replay-picks", type=float, default=None, dest="replay_picks", metavar="SHARE",
                        help="replay the first SHARE of the queries as agents' picks (each query becomes a "
                        "phrasing of its first relevant entry), then report the first stage on the rest "
                        "before and after: keyword, and hybrid when an embedding model loads")  # fmt: skip
    parser.add_argument("--learn-from", type=Path, default=None, dest="learn_from", metavar="QUERIES_CSV",
                        help="replay this labelled set as the picks (instead of a share of --queries) and "
                        "report on all of --queries (e.g. last month's picks, this month's questions)")  # fmt: skip
    add_database_arguments(parser)
    add_engine_arguments(parser)
    add_retrieval_arguments(parser)


def run_replay(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """``evaluate --replay-picks``: what learning phrasings from picks is worth, before -> after."""
    engine = engine_config(parser, args)
    stage = retrieval_config(parser, args)
    try:
        kb, queries = load_evaluation_set(args.faq, args.queries or _picks(database_config(parser, args), args.picks, args.faq))
        check_top_k(args.top_k)
        with stdout_to_stderr():
            embedder = _replay_embedder(stage, engine)
        index_for = None if embedder is None else (lambda base: index_base(embedder, base))
        retrievals: list[Retrieval] = ["keyword"] if embedder is None else ["keyword", "hybrid"]
        if args.learn_from is not None:
            picks = load_queries(args.learn_from, known_ids={entry.id for entry in kb.entries})
            results = replay(kb, picks, queries, retrievals, args.top_k, index_for)
        else:
            results = replay_picks(kb, queries, args.replay_picks, retrievals, args.top_k, index_for)
    except RerankError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"replay": [result.row() for result in results]}, ensure_ascii=False))
    else:
        source = f"the picks of {args.learn_from}" if args.learn_from else f"the first {args.replay_picks:.0%} as picks"
        print(format_replay(results, f"FAQ: {args.faq} ({len(kb)} entries)   queries: {args.queries}   replaying {source}"))
    return 0


def _replay_embedder(stage: RetrievalConfig, engine: EngineConfig) -> Embedder | None:
    """The embedding model for the hybrid replay; None (keyword only, with a warning) when it cannot load."""
    try:
        return stage.load_embedder(engine.backend, engine.dtype)
    except ModelUnavailable as exc:
        logger.warning("Replaying keyword search only: the embedding model is not available. %s", exc)
        return None


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """``evaluate``: the report (or ``--json``) on stdout; 2 on bad input, 130 when interrupted."""
    if args.replay_picks is not None or args.learn_from is not None:
        return run_replay(parser, args)
    engine = engine_config(parser, args)
    stage = retrieval_config(parser, args)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    scorer = None
    try:
        kb, queries = load_evaluation_set(args.faq, args.queries or _picks(database_config(parser, args), args.picks, args.faq))
        check_top_k(args.top_k)
        if args.limit is not None:
            if args.limit < 1:
                raise InvalidInput(f"--limit must be at least 1, got {args.limit}.")
            queries = queries[: args.limit]
        if not args.rerank and args.instruction is not None:
            logger.warning("--instruction is ignored with --no-rerank: the first stage takes no instruction.")
        with stdout_to_stderr():  # engines' log lines must not mix with the report
            retrieval, index = _dense_index(stage, engine, kb)
            if args.rerank:
                scorer = engine.load_scorer()
            try:
                results, interrupted = _rank_until_interrupted(
                    kb, queries, scorer, args.top_k, args.instruction, retrieval, index
                )
            finally:
                if scorer is not None:
                    scorer.close()
    except RerankError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = EvaluationReport(_method(scorer, retrieval), args.top_k, tuple(results), total=len(queries),
                              retrieval=retrieval)  # fmt: skip
    model = {} if scorer is None else {"model": scorer.model, "backend": scorer.backend_name}
    if index is not None and index.embedder is not None:
        model["embedding_model"] = index.embedder.name
    recommendation = _recommendation(report, args.min_caught, args.max_escalated)
    if args.json:
        extra = {} if recommendation is None else {"recommended_threshold": recommendation.threshold,
                                                    "recommendation": recommendation.sentence}  # fmt: skip
        print(json.dumps({**report.to_dict(), **model, **extra}, ensure_ascii=False))
    else:
        title = (
            f"FAQ: {args.faq} ({len(kb)} entries)   queries: {args.queries or repr(args.picks) + ' picks'}"
        )
        if scorer is not None:
            title += f"\nmodel: {scorer.model}   backend: {scorer.backend_name}"
        print(format_report(report, title))
        if recommendation is not None:
            print(f"\nThreshold for your goal: {recommendation.sentence}")
    return EXIT_INTERRUPTED if interrupted else 0


def _rank_until_interrupted(
    kb: KnowledgeBase,
    queries: Sequence[LabelledQuery],
    scorer: Scorer | None,
    top_k: int,
    instruction: str | None,
    retrieval: Retrieval,
    index: DenseIndex | None,
) -> tuple[list[QueryResult], bool]:
    """The results so far, with a progress bar on stderr; Ctrl-C stops early (True: interrupted)."""
    results: list[QueryResult] = []
    with tqdm(total=len(queries), desc="queries", unit="query", file=sys.stderr, disable=None) as bar:
        try:
            for result in rank_queries(
                kb, queries, scorer, top_k, instruction, retrieval=retrieval, index=index
            ):
                results.append(result)
                bar.update()
        except KeyboardInterrupt:
            return results, True
    return results, False


def _dense_index(
    stage: RetrievalConfig, engine: EngineConfig, kb: KnowledgeBase
) -> tuple[Retrieval, DenseIndex | None]:
    """The first stage to evaluate and the base's dense index (embedded now, or read from the cache).

    When ``--retrieval`` was left to its default and the embedding model cannot be loaded, the
    evaluation falls back to keyword search with a warning; an explicit ``--retrieval`` exits 2.
    """
    try:
        embedder = stage.load_embedder(engine.backend, engine.dtype)
    except ModelUnavailable as exc:
        if not stage.retrieval_default:
            raise
        logger.warning("Evaluating keyword search: the embedding model is not available. %s", exc)
        return "keyword", None
    if embedder is None:
        return "keyword", None
    with tqdm(total=len(kb), desc="embedding the base", unit="row", file=sys.stderr, disable=None) as bar:
        index = index_base(embedder, kb, progress=lambda done, _total: bar.update(done - bar.n))
    return stage.retrieval or "keyword", index


def _picks(database: DatabaseConfig, base: str, faq: Path) -> bytes:
    """The agents' picks in ``base`` as a labelled queries CSV (ids the FAQ still has)."""
    folder = database.data_dir
    if database.database_url is None and not any((folder / name).exists() for name in (DATABASE_FILE, LEGACY_FILE)):
        raise InvalidInput(
            f"No picks are stored in {folder}: pass the app's --data-dir (or --database-url), or record picks first."
        )
    known = {entry.id for entry in load_faq(faq).entries}
    store = open_store(folder, database.url)
    try:
        return store.export_labels(base, known_ids=known).encode()
    finally:
        store.close()


def _recommendation(
    report: EvaluationReport, min_caught: float, max_escalated: float
) -> Recommendation | None:
    """The threshold for the goal, when the report can give one (reranked, both kinds of query)."""
    if report.method != "rerank" or not report.in_scope or not report.out_of_scope:
        return None
    return recommend_for_report(report, min_caught, max_escalated)
