"""``faq-rerank-desk`` (also ``python -m reranker``): one command line, a thin layer over the package.

``serve`` (the default; what ``python app.py`` runs) serves the desk; ``score`` and ``answer``
rank from the terminal (:mod:`reranker.cli.rank`); ``evaluate`` measures a labelled query set
(:mod:`reranker.cli.evaluate`); ``db``, ``users``, ``keys`` and ``picks`` look after the team's
database (:mod:`reranker.cli.team`). Every command takes the same engine flags (and ``serve`` and
``evaluate`` the same first-stage flags), each with its ``RERANKER_*`` environment variable.
Exit code 2 with a one-line message on bad input or an unloadable model; logs go to stderr,
``--json`` prints one JSON document on stdout.

>>> build_parser().parse_args(["score", "--query", "Q", "--doc", "D"]).command
'score'
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from reranker.cli import evaluate, rank, team
from reranker.config import add_app_arguments, app_config

Command = Callable[[argparse.ArgumentParser, argparse.Namespace], int]


def run_serve(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """``serve``: the desk (UI and REST API) until interrupted; 2 when a flag or ``--kb`` is unusable."""
    from reranker.server.serve import serve  # Gradio and the engines load only for this command

    config = app_config(parser, args)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # else a line per Gradio start-up probe
    return serve(config)


COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Command, dict[str, object]]] = {
    "serve": ("serve the desk: the web UI and the REST API (the default command)", add_app_arguments, run_serve,
              {"argument_default": argparse.SUPPRESS}),
    "score": ("score documents against a query", rank.add_score_arguments, rank.run_score, {}),
    "answer": ("answer a CSV of questions from an FAQ base, or escalate", rank.add_answer_arguments,
               rank.run_answer, {}),
    "evaluate": (evaluate.DESCRIPTION, evaluate.add_arguments, evaluate.run, {}),
    "db": ("the team database: db upgrade", team.add_db_arguments, team.run, {}),
    "users": ("who may sign in to the desk, and as what (lead or agent)", team.add_users_arguments, team.run, {}),
    "keys": ("API keys, one per integration", team.add_keys_arguments, team.run, {}),
    "picks": ("agents' recorded picks: picks purge", team.add_picks_arguments, team.run, {}),
}  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The one parser: a sub-command each, built from the shared argument groups in :mod:`reranker.config`."""
    return build_parsers()[0]


def build_parsers() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The parser and each command's own (for errors that name the command's usage)."""
    parser = argparse.ArgumentParser(
        prog="faq-rerank-desk",
        description="FAQ Rerank Desk: put the right FAQ answer first (Qwen3-Reranker). "
        "Without a command it serves the desk.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    subparsers = {}
    for name, (summary, add_arguments, _, options) in COMMANDS.items():
        subparsers[name] = commands.add_parser(name, help=summary, description=summary, **options)  # type: ignore[arg-type]
        add_arguments(subparsers[name])
    return parser, subparsers


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["serve", *argv]
    parser, commands = build_parsers()
    args = parser.parse_args(argv)
    if args.command == "serve":  # a server logs what it does; the other commands only what went wrong
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    else:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return COMMANDS[args.command][2](commands[args.command], args)


if __name__ == "__main__":
    sys.exit(main())
