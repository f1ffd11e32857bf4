"""The team database's commands: db upgrade, users, keys, picks purge (python -m reranker db|users|keys|picks ...)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reranker.cli import main as cli_main
from reranker.cli import team as cli
from reranker.store import Store, open_store
from reranker.store import store as store_module

ROOT = Path(__file__).resolve().parent.parent


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    """bcrypt at cost 4 instead of 12: the same checks, a hundred times faster."""
    monkeypatch.setattr(store_module, "DEFAULT_BCRYPT_ROUNDS", 4)


@pytest.fixture
def command(database_url, tmp_path, capsys, monkeypatch):
    """Run ``python -m reranker ARGS`` in-process on the test database: (exit code, stdout, stderr)."""

    def run(*args: str, stdin: str = "", tty: bool = False) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", (Terminal if tty else io.StringIO)(stdin))
        code = cli_main.main([*args, "--data-dir", str(tmp_path), "--database-url", database_url])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def store(database_url, tmp_path) -> Store:
    return open_store(tmp_path, database_url)


def test_db_upgrade_creates_the_database_and_says_what_it_holds(command, database_url):
    code, out, _ = command("db", "upgrade")
    assert code == 0
    assert out.strip().endswith(
        "is at revision 0002: 0 picks, 0 thresholds, 0 uploaded bases, 0 users, 0 API keys, 0 bases edited in the desk"
    )
    if database_url.startswith("sqlite"):
        assert out.startswith(database_url)


def test_users_add_reads_one_line_of_stdin(command, store):
    code, out, _ = command(
        "users", "add", "alice", "--role", "lead", "--password-stdin", stdin="pass word:1\nnext"
    )
    assert (code, out) == (0, "added alice (lead)\n")
    assert store.check_password("alice", "pass word:1").role == "lead"


def test_users_add_asks_twice_at_a_terminal(command, store, monkeypatch):
    answers = iter(["typed secret", "typed secret"])
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt: next(answers))
    assert command("users", "add", "bob", "--role", "agent", tty=True)[0] == 0
    assert store.check_password("bob", "typed secret").role == "agent"


def test_two_different_passwords_at_the_terminal_add_nobody(command, store, monkeypatch):
    answers = iter(["one", "two"])
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt: next(answers))
    code, _, err = command("users", "add", "bob", "--role", "agent", tty=True)
    assert (code, err) == (2, "error: The two passwords differ: run the command again.\n")
    assert store.users() == []


def test_without_a_terminal_the_password_must_come_on_stdin(command):
    code, _, err = command("users", "add", "bob", "--role", "agent")
    assert code == 2 and "add --password-stdin" in err


def test_users_list_disable_enable_and_set_role(command, store):
    store.add_user("alice", "pw", "lead")
    store.add_user("bob", "pw", "agent")
    assert command("users", "disable", "bob")[1] == (
        "disabled bob: they cannot sign in, and their API keys stop working\n"
    )
    assert command("users", "set-role", "alice", "agent")[1] == "alice is now agent\n"
    lines = command("users", "list")[1].splitlines()
    assert [line.split()[:3] for line in lines] == [
        ["name", "role", "status"], ["alice", "agent", "active"], ["bob", "agent", "disabled"]
    ]  # fmt: skip
    assert command("users", "enable", "bob")[0] == 0
    assert store.check_password("bob", "pw") is not None


def test_users_set_password(command, store):
    store.add_user("alice", "old", "lead")
    assert command("users", "set-password", "alice", "--password-stdin", stdin="new\n")[0] == 0
    assert store.check_password("alice", "new") is not None and store.check_password("alice", "old") is None


def test_an_unknown_user_or_role_is_exit_2_with_a_message(command):
    code, _, err = command("users", "disable", "nobody")
    assert code == 2 and err.startswith("error: There is no user 'nobody'")
    with pytest.raises(SystemExit) as exit_info:  # argparse: unknown choice
        command("users", "add", "x", "--role", "admin")
    assert exit_info.value.code == 2


def test_keys_create_prints_the_key_alone_on_the_last_line(command, store):
    store.add_user("alice", "pw", "lead")
    code, out, _ = command("keys", "create", "--user", "alice", "--name", "zendesk")
    key = out.splitlines()[-1]
    assert code == 0 and key.startswith("frd_") and " " not in key
    assert store.verify_key(key).name == "zendesk"


def test_keys_list_never_shows_a_key_and_revoke_stops_it(command, store):
    store.add_user("alice", "pw", "lead")
    info, key = store.create_key("alice", "zendesk")
    listing = command("keys", "list")[1]
    assert key not in listing and info.prefix + "…" in listing and "active" in listing
    assert command("keys", "revoke", str(info.id))[1] == "revoked API key 1 (alice's 'zendesk')\n"
    assert store.verify_key(key) is None
    assert "revoked 20" in command("keys", "list", "--user", "alice")[1]
    assert command("keys", "list", "--user", "bob")[1].startswith("no API keys yet")


def test_picks_purge_before_a_date_of_one_base(command, store, monkeypatch):
    for day, base in [(1, "en"), (1, "fr"), (5, "en")]:
        monkeypatch.setattr(store_module, "_now", lambda d=day: datetime(2026, 2, d, 12, tzinfo=UTC))
        store.record(base=base, base_version="v", question=f"{base} {day}", chosen_id=None)
    monkeypatch.undo()
    assert command("picks", "purge", "--before", "2026-02-03", "--base", "en")[1] == (
        "deleted 1 picks in 'en' made before 2026-02-03\n"
    )
    assert command("picks", "purge", "--before", "2026-02-05T12:00:01+00:00")[0] == 0
    assert store.records() == []


@pytest.mark.parametrize("before", ["yesterday", "2026-02-03T10:00"])
def test_picks_purge_needs_a_date_or_a_zoned_time(command, before):
    with pytest.raises(SystemExit):
        command("picks", "purge", "--before", before)


def test_a_script_captures_a_new_key_from_the_module_command(tmp_path):
    open_store(tmp_path).add_user("bot", "pw", "agent")
    created = subprocess.run(
        [sys.executable, "-m", "reranker", "keys", "create", "--user", "bot", "--name", "crm"],
        env=os.environ | {"RERANKER_DATA_DIR": str(tmp_path)}, capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    key = created.stdout.splitlines()[-1]
    assert open_store(tmp_path).verify_key(key).user == "bot"
