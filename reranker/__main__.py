"""Command line: ``python -m reranker score --query Q (--doc TEXT ... | --docs-file F) [--json]``.

A thin layer over :class:`reranker.config.EngineConfig` and :meth:`reranker.Scorer.rank`. Exit code 2 with a one-line message on bad
input or an unloadable model. Only the result goes to stdout; logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from reranker.config import add_engine_arguments, engine_config
from reranker.console import stdout_to_stderr
from reranker.errors import InvalidInput, RerankError


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m reranker", description="Rerank documents with Qwen3-Reranker."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    score = commands.add_parser("score", help="score documents against a query")
    score.add_argument("--query", required=True)
    score.add_argument("--instruction", default=None)
    add_engine_arguments(score)
    docs = score.add_mutually_exclusive_group(required=True)
    docs.add_argument("--doc", action="append", help="a document (repeat for more)")
    docs.add_argument(
        "--docs-file", type=Path, help='text file, one document per line, or .jsonl of {"text": ...}'
    )
    score.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def format_table(ranked, model: str, backend: str) -> str:
    lines = [f"model: {model}   backend: {backend}", f"{'rank':>4}  {'score':>6}  {'index':>5}  document"]
    for rank, doc in enumerate(ranked, start=1):
        text = " ".join(doc.text.split())
        text = text if len(text) <= 80 else text[:77] + "..."
        mark = " [truncated]" if doc.truncated else ""
        lines.append(f"{rank:>4}  {doc.score:6.3f}  {doc.index:>5}  {text}{mark}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    engine = engine_config(parser, args)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
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


if __name__ == "__main__":
    sys.exit(main())
