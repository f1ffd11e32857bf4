"""The team database's commands: ``db upgrade``, ``users ...``, ``keys ...``, ``picks purge``.

:mod:`reranker.cli.main` registers them as ``faq-rerank-desk db|users|keys|picks`` (also
``python -m reranker ...``). Each command opens the database that ``--database-url``
(``RERANKER_DATABASE_URL``) names, default ``desk.db`` in ``--data-dir`` (``RERANKER_DATA_DIR``),
migrating it first. A user-fixable problem prints ``error: ...`` on standard error and exits 2.

``python -m reranker users add alice --role lead`` asks the password twice at a terminal;
``--password-stdin`` reads one line instead. ``keys create`` prints the new key alone on the last
line of standard output, so a script can take it with ``| tail -n 1``.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Callable
from datetime import date, datetime
from typing import TextIO

from sqlalchemy import make_url

from reranker.config import add_database_arguments, database_config
from reranker.errors import InvalidInput, RerankError
from reranker.store import ROLES, Store, current_revision, open_store
from reranker.store.entries import EntryStore

Handler = Callable[[argparse.Namespace, Store, TextIO], int]


def add_db_arguments(parser: argparse.ArgumentParser) -> None:
    """``db upgrade``."""
    db = _group(parser, "db")
    _leaf(db, "upgrade", "create the database or migrate it to this version (and copy feedback.sqlite3 in)",
          _db_upgrade)  # fmt: skip


def add_users_arguments(parser: argparse.ArgumentParser) -> None:
    """``users add|list|disable|enable|set-role|set-password``."""
    users = _group(parser, "users")
    add = _leaf(users, "add", "add a user (the password is asked twice, or read from stdin)", _users_add)
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES, help="agents rank, pick and run Batch; "
                     "leads also manage bases and thresholds and export picks")  # fmt: skip
    _password_argument(add)
    _leaf(users, "list", "list the users, their roles and whether they are disabled", _users_list)
    for name, help_text, handler in [("disable", "stop a user signing in or using their keys", _users_disable),
                                     ("enable", "let a disabled user sign in again", _users_enable)]:  # fmt: skip
        _leaf(users, name, help_text, handler).add_argument("name")
    set_role = _leaf(users, "set-role", "make a user a lead or an agent", _users_set_role)
    set_role.add_argument("name")
    set_role.add_argument("role", choices=ROLES)
    set_password = _leaf(users, "set-password", "replace a user's password", _users_set_password)
    set_password.add_argument("name")
    _password_argument(set_password)


def add_keys_arguments(parser: argparse.ArgumentParser) -> None:
    """``keys create|list|revoke``."""
    keys = _group(parser, "keys")
    create = _leaf(keys, "create", "create a key: printed once, alone on the last line", _keys_create)
    create.add_argument("--user", required=True, help="the user the integration acts as")
    create.add_argument("--name", required=True, help="the integration, e.g. zendesk")
    list_keys = _leaf(keys, "list", "list the keys (never the keys themselves)", _keys_list)
    list_keys.add_argument("--user", default=None, help="only this user's keys")
    _leaf(keys, "revoke", "revoke a key by its id (see keys list)", _keys_revoke).add_argument("id", type=int)


def add_picks_arguments(parser: argparse.ArgumentParser) -> None:
    """``picks purge --before DATE [--base B]``."""
    picks = _group(parser, "picks")
    purge = _leaf(
        picks, "purge", "delete picks made before a date (they hold customers' questions)", _picks_purge
    )
    purge.add_argument("--before", required=True, type=parse_moment, metavar="DATE",
                       help="YYYY-MM-DD (midnight UTC) or an ISO time with a zone")  # fmt: skip
    purge.add_argument("--base", default=None, help="only this FAQ base's picks")


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Run a parsed team command; 0 when done, 2 (with ``error: ...`` on stderr) for a fixable problem."""
    config = database_config(parser, args)
    logging.getLogger("reranker.store.legacy").setLevel(logging.INFO)  # say what an old file gave
    try:
        store = open_store(config.data_dir, config.url)
        try:
            return args.handler(args, store, sys.stdout)
        finally:
            store.close()
    except RerankError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def parse_moment(text: str) -> date | datetime:
    """``2026-01-31`` -> a date; ``2026-01-31T12:00+02:00`` -> an aware datetime.

    >>> parse_moment("2026-01-31"), parse_moment("2026-01-31T12:00:00+00:00").hour
    (datetime.date(2026, 1, 31), 12)
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: give YYYY-MM-DD") from None
    if len(text) == 10:
        return moment.date()
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone: add one (+00:00) or give a date")
    return moment


def read_password(from_stdin: bool, stdin: TextIO | None = None) -> str:
    """One line of standard input with ``from_stdin``; else asked twice at the terminal."""
    source = stdin or sys.stdin
    if from_stdin:
        return source.readline().removesuffix("\n").removesuffix("\r")
    if not source.isatty():
        raise InvalidInput(
            "No terminal to ask the password at: add --password-stdin and send it on standard input."
        )
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != password:
        raise InvalidInput("The two passwords differ: run the command again.")
    return password


def _group(parser: argparse.ArgumentParser, name: str) -> argparse._SubParsersAction:
    return parser.add_subparsers(dest=f"{name}_command", required=True, metavar="ACTION")


def _leaf(
    group: argparse._SubParsersAction, name: str, help_text: str, handler: Handler
) -> argparse.ArgumentParser:
    parser = group.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(handler=handler)
    add_database_arguments(parser)
    return parser


def _password_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password from one line of standard input")  # fmt: skip


def _shown_url(store: Store) -> str:
    return make_url(store.engine.url).render_as_string(hide_password=True)


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def _table(rows: list[list[str]], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip(), file=out)


def _db_upgrade(args: argparse.Namespace, store: Store, out: TextIO) -> int:
    print(f"{_shown_url(store)} is at revision {current_revision(store.engine)}: {store.pick_count()} picks, "
          f"{len(store.thresholds())} thresholds, {len(store.bases())} uploaded bases, {len(store.users())} users, "
          f"{len(store.api_keys())} API keys, {len(EntryStore(store).revisions())} bases edited in the desk",
          file=out)  # fmt: skip
    return 0


def _users_add(args: argparse.Namespace, store: Store, out: TextIO) -> int:
    account = store.add_user(args.name, read_password(args.password_stdin), args.role)
    print(f"added {account.name} ({account.role})", file=out)
    return 0


def _users_list(args: argparse.Namespace, store: Store, out: TextIO) -> int:
    rows = [
        [u.name, u.role, "disabled" if u.disabled else "active", _when(u.created_at)] for u in store.users()
    ]
    if rows:
        _table([["name", "role", "status", "created"], *rows], out)
    else:
        print("no users yet: add one with `users add NAME --role lead`", file=out)
    return 0


def _users_disable(args: argparse.Namespace, store: Store, out: TextIO) -> int:
    store.disable_user(args.name)
    print(f"disabled {args.name}: they cannot sign in, and their API keys stop working", file=out)
    return 0


def _users_enable(args: argparse.Namespace, store: Store, out: TextIO) -> int:
    store.disable_user(args.name, disabled=False)
    print(f"enabled {args.name}", file=out)
    return 0


def _users_set_role(args: argparse.Namespace, store: Store, out: TextIO) -> int:
    account = store.set_role(args.name, args.role)
    print(f"{account.name} is now {account.role}", file=out)
    return 0


def _users_set_password(args: argparse.Namespace, store: Store, out: TextIO) -> int:
    store.set_password(args.name, read_password(args.password_stdin))
    print(f"changed {args.name}'s password", file=out)
    return 0


def _keys_create(args: argparse.Namespace, store: Store, out: TextIO) -> int:
    info, key = store.create_key(args.user, args.name)
    print(f"API key {info.id} for {info.user}'s integration {info.name!r}. It is shown only now: "
          "put it in the integration's secret settings.", file=out)  # fmt: skip
    print(key, file=out)
    return 0


def _keys_list(args: argparse.Namespace, store: Store, out: TextIO) -> int:
    keys = store.api_keys(args.user)
    if not keys:
        print("no API keys yet: create one with `keys create --user NAME --name INTEGRATION`", file=out)
        return 0
    rows = [[str(k.id), k.name, k.user, k.prefix + "…", _when(k.created_at), _when(k.last_used_at),
             "active" if k.active else f"revoked {_when(k.revoked_at)}"] for k in keys]  # fmt: skip
    _table([["id", "name", "user", "key", "created", "last used", "status"], *rows], out)
    return 0


def _keys_revoke(args: argparse.Namespace, store: Store, out: TextIO) -> int:
    info = store.revoke_key(args.id)
    print(f"revoked API key {info.id} ({info.user}'s {info.name!r})", file=out)
    return 0


def _picks_purge(args: argparse.Namespace, store: Store, out: TextIO) -> int:
    count = store.purge_picks(args.before, args.base)
    where = f" in {args.base!r}" if args.base else ""
    print(f"deleted {count} picks{where} made before {args.before.isoformat()}", file=out)
    return 0
