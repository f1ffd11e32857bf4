"""The ``score`` and ``answer`` commands: rank documents for a query; triage a file of questions.

``faq-rerank-desk score --query Q (--doc TEXT ... | --docs-file F) [--json]``: rank documents.

``faq-rerank-desk answer --base FAQ.csv --questions Q.csv (--out OUT.csv | --json)``: triage a file
of questions (best FAQ answer, score, confident / escalate; see :mod:`reranker.desk.batch`).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from reranker.cli.console import stdout_to_stderr
from reranker.config import add_engine_arguments, engine_config
from reranker.desk.batch import BatchRow, answer_questions, read_questions, rows_table
from reranker.desk.pipeline import check_top_k
from reranker.desk.results import write_csv
from reranker.errors import InvalidInput, RerankError
from reranker.knowledge.bases import DEFAULT_TOP_K, load_faq
from reranker.verdict import DEFAULT_THRESHOLD, check_threshold


def read_docs_file(path: Path) -> list[str]:
    """Documents from a text file (one per line) or a ``.jsonl`` file of ``{"text": ...}``."""
    try:
        content = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"Cannot read {path}: {exc}") from exc
    if path.suffix.lower() != ".jsonl":
        return [line for line in content.splitlines() if line.strip()]
    docs = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path}:{number} is not valid JSON ({exc.msg}).") from exc
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise InvalidInput(f'{path}:{number} must be an object like {{"text": "..."}}.')
        docs.append(item["text"])
    return docs


def add_score_arguments(score: argparse.ArgumentParser) -> None:
    score.add_argument("--query", required=True)
    docs = score.add_mutually_exclusive_group(required=True)
    docs.add_argument("--doc", action="append", help="a document (repeat for more)")
    docs.add_argument(
        "--docs-file", type=Path, help='text file, one document per line, or .jsonl of {"text": ...}'
    )
    _add_model_arguments(score)


def add_answer_arguments(answer: argparse.ArgumentParser) -> None:
    answer.add_argument("--base", type=Path, required=True, help="FAQ CSV (id, question, answer, ...)")
    answer.add_argument(
        "--questions", type=Path, required=True, help="CSV with a question column (or one column)"
    )
    answer.add_argument("--out", type=Path, default=None, help="write the answers to this CSV")
    answer.add_argument("--top-k", type=int, default=DEFAULT_TOP_K, help="keyword candidates (default 20)")
    answer.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help=f"escalate below this reranker score (default {DEFAULT_THRESHOLD})",
    )
    _add_model_arguments(answer)


def _add_model_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--instruction", default=None)
    command.add_argument("--json", action="store_true", help="print one JSON object")
    add_engine_arguments(command)


def format_table(ranked, model: str, backend: str) -> str:
    lines = [f"model: {model}   backend: {backend}", f"{'rank':>4}  {'score':>6}  {'index':>5}  document"]
    for rank, doc in enumerate(ranked, start=1):
        text = " ".join(doc.text.split())
        text = text if len(text) <= 80 else text[:77] + "..."
        mark = " [truncated]" if doc.truncated else ""
        lines.append(f"{rank:>4}  {doc.score:6.3f}  {doc.index:>5}  {text}{mark}")
    return "\n".join(lines)


def run_score(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """``score``: the documents ranked for the query, as a table (or ``--json``); 2 on bad input."""
    engine = engine_config(parser, args)
    try:
        with stdout_to_stderr():  # engines' log lines must not mix with the result
            documents = args.doc if args.doc is not None else read_docs_file(args.docs_file)
            if not documents:
                raise InvalidInput("No documents to score: give --doc TEXT or a non-empty --docs-file.")
            scorer = engine.load_scorer()
            try:
                ranked = scorer.rank(args.query, documents, args.instruction)
            finally:
                scorer.close()
    except RerankError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        results = [{"index": d.index, "score": d.score, "truncated": d.truncated} for d in ranked]
        payload = {"model": scorer.model, "backend": scorer.backend_name, "results": results}
        print(json.dumps(payload, ensure_ascii=False))
    else:
        print(format_table(ranked, scorer.model, scorer.backend_name))
    return 0


def run_answer(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """``answer``: every question's best FAQ answer, to ``--out`` and/or stdout; 2 on bad input."""
    engine = engine_config(parser, args)
    scorer = None
    try:
        if args.out is None and not args.json:
            raise InvalidInput("Say where the answers go: --out OUT.csv, --json, or both.")
        if args.out is not None and not args.out.resolve().parent.is_dir():
            raise InvalidInput(
                f"The folder {args.out.resolve().parent} does not exist: create it, or change --out."
            )
        kb = load_faq(args.base)
        questions = read_questions(args.questions)
        check_top_k(args.top_k)
        check_threshold(args.threshold)
        with stdout_to_stderr():
            scorer = engine.load_scorer()
        with tqdm(
            total=len(questions), desc="questions", unit="question", file=sys.stderr, disable=None
        ) as bar:
            triage = answer_questions(
                kb, questions, scorer, args.top_k, threshold=args.threshold,
                instruction=args.instruction, progress=lambda *_: bar.update(),
            )  # fmt: skip
            rows = list(triage)
        if args.out is not None:
            _write_csv(rows, args.out)
    except RerankError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if scorer is not None:
            scorer.close()
    summary = _summary(rows)
    if args.json:
        payload = {"model": scorer.model, "backend": scorer.backend_name, **summary}
        print(json.dumps({**payload, "rows": [asdict(row) for row in rows]}, ensure_ascii=False))
    else:
        print(f"{args.out}: " + ", ".join(f"{count} {name}" for name, count in summary.items()))
    return 0


def _write_csv(rows: list[BatchRow], path: Path) -> None:
    try:
        write_csv(rows_table(rows), path)
    except OSError as exc:
        raise InvalidInput(f"Cannot write {path} ({exc.strerror}). Check that its folder exists.") from None


def _summary(rows: list[BatchRow]) -> dict[str, int]:
    confident = sum(row.confident for row in rows)
    errors = sum(bool(row.error) for row in rows)
    return {
        "questions": len(rows),
        "confident": confident,
        "escalate": len(rows) - confident,
        "errors": errors,
    }

