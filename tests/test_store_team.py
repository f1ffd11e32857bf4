"""What the team shares besides picks: uploaded FAQ bases, users with roles, API keys."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from reranker.errors import InvalidInput, NotFound
from reranker.store import Store, open_store
from reranker.store import store as store_module
from reranker.store.models import ApiKey, User

CSV = b"id,question,answer\nen-001,Where is my order?,Track it under My orders.\n"


@pytest.fixture
def store(database_url, tmp_path) -> Store:
    return open_store(tmp_path, database_url, bcrypt_rounds=4)


@pytest.fixture
def other_desk(store, database_url) -> Store:
    """A second desk process's view of the same database."""
    return Store(database_url, bcrypt_rounds=4)


# Uploaded FAQ bases ----------------------------------------------------------------------------


def test_an_uploaded_base_is_seen_byte_for_byte_by_another_desk(store, other_desk):
    info = store.save_base("Returns FAQ", CSV, filename="returns.csv", uploaded_by="lena")
    assert (info.size, info.sha256, info.uploaded_by) == (len(CSV), hashlib.sha256(CSV).hexdigest(), "lena")
    loaded = other_desk.load_base("Returns FAQ")
    assert (loaded.data, loaded.info) == (CSV, info)
    assert other_desk.bases() == [info]


def test_uploading_under_the_same_name_replaces_the_base(store, other_desk):
    store.save_base("Returns FAQ", CSV, uploaded_by="lena")
    newer = CSV + b"en-002,Refund?,Within 14 days.\n"
    info = other_desk.save_base("Returns FAQ", newer, filename="v2.csv", uploaded_by="omar")
    assert store.load_base("Returns FAQ").data == newer
    assert [(b.name, b.filename, b.uploaded_by, b.sha256) for b in store.bases()] == [
        ("Returns FAQ", "v2.csv", "omar", info.sha256)
    ]


def test_bases_are_listed_by_name_and_can_be_removed(store):
    store.save_base("b", CSV)
    store.save_base("a", CSV)
    assert [b.name for b in store.bases()] == ["a", "b"]
    assert store.remove_base("a") is True and store.remove_base("a") is False
    with pytest.raises(NotFound, match="no uploaded FAQ base 'a'; there are: 'b'"):
        store.load_base("a")


@pytest.mark.parametrize(("name", "data", "message"), [(" ", CSV, "Name the FAQ base"), ("x", b"", "empty")])
def test_a_base_needs_a_name_and_content(store, name, data, message):
    with pytest.raises(InvalidInput, match=message):
        store.save_base(name, data)


# Users -------------------------------------------------------------------------------------------


def test_a_user_signs_in_with_their_password_only(store, other_desk):
    account = store.add_user("alice", "correct horse", "lead")
    assert (account.name, account.role, account.disabled) == ("alice", "lead", False)
    assert other_desk.check_password("alice", "correct horse") == account
    assert other_desk.check_password("alice", "wrong") is None
    assert other_desk.check_password("nobody", "correct horse") is None
    assert other_desk.check_password("alice", "x" * 100) is None


def test_only_a_bcrypt_hash_of_the_password_is_stored(store):
    store.add_user("alice", "correct horse", "agent")
    with store._read() as session:
        stored = session.scalars(select(User.password_hash)).one()
    assert stored.startswith("$2b$04$") and "correct horse" not in stored


def test_a_disabled_user_cannot_sign_in_until_enabled_again(store):
    store.add_user("bob", "pw-bob", "agent")
    assert store.disable_user("bob").disabled is True
    assert store.check_password("bob", "pw-bob") is None
    store.disable_user("bob", disabled=False)
    assert store.check_password("bob", "pw-bob").name == "bob"


def test_roles_can_change_and_users_are_listed_by_name(store):
    store.add_user("zoe", "pw", "agent")
    store.add_user("adam", "pw", "agent")
    assert store.set_role("zoe", "lead").role == "lead"
    assert [(u.name, u.role) for u in store.users()] == [("adam", "agent"), ("zoe", "lead")]
    assert store.user("zoe").role == "lead" and store.user("nobody") is None


def test_a_new_password_replaces_the_old_one(store):
    store.add_user("bob", "old password", "agent")
    store.set_password("bob", "new password")
    assert store.check_password("bob", "old password") is None
    assert store.check_password("bob", "new password") is not None


@pytest.mark.parametrize(
    ("name", "password", "role", "message"),
    [
        ("alice", "pw", "admin", "Unknown role 'admin'; choose one of: lead, agent"),
        ("al ice", "pw", "agent", "not a valid user name"),
        ("al:ice", "pw", "agent", "not a valid user name"),
        ("alice", " ", "agent", "password is empty"),
        ("alice", "é" * 37, "agent", "longer than 72 bytes"),
    ],
)
def test_bad_user_details_are_refused_with_what_to_do(store, name, password, role, message):
    with pytest.raises(InvalidInput, match=message):
        store.add_user(name, password, role)
    assert store.users() == []


def test_a_taken_name_or_an_unknown_user_says_so(store):
    store.add_user("alice", "pw", "agent")
    with pytest.raises(InvalidInput, match="already a user 'alice'"):
        store.add_user("alice", "other", "lead")
    for change in (lambda: store.disable_user("bob"), lambda: store.set_role("bob", "lead"),
                   lambda: store.create_key("bob", "zendesk")):  # fmt: skip
        with pytest.raises(NotFound, match="no user 'bob'"):
            change()


# API keys ----------------------------------------------------------------------------------------


def test_a_key_is_shown_once_and_only_its_hash_is_kept(store, other_desk):
    store.add_user("alice", "pw", "lead")
    info, key = store.create_key("alice", "zendesk")
    assert key.startswith("frd_") and len(key) > 40 and key.startswith(info.prefix)
    with store._read() as session:
        stored = session.scalars(select(ApiKey)).one()
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest() and key not in stored.key_hash
    verified = other_desk.verify_key(key)
    assert (verified.id, verified.name, verified.user, verified.role) == (info.id, "zendesk", "alice", "lead")
    assert other_desk.verify_key(key[:-1] + "x") is None


def test_a_revoked_key_or_a_disabled_users_key_stops_working(store):
    store.add_user("alice", "pw", "agent")
    _, zendesk = store.create_key("alice", "zendesk")
    crm, crm_key = store.create_key("alice", "crm")
    revoked = store.revoke_key(crm.id)
    assert revoked.revoked_at is not None and not revoked.active
    assert store.revoke_key(crm.id).revoked_at == revoked.revoked_at
    assert store.verify_key(crm_key) is None and store.verify_key(zendesk) is not None
    store.disable_user("alice")
    assert store.verify_key(zendesk) is None


def test_keys_are_listed_with_their_owner_and_last_use(store, monkeypatch):
    store.add_user("alice", "pw", "lead")
    store.add_user("bob", "pw", "agent")
    first, key = store.create_key("alice", "zendesk")
    store.create_key("bob", "crm")
    assert first.last_used_at is None
    start = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    for seconds, expected in [(0, 0), (30, 0), (61, 61)]:  # written at most once a minute
        monkeypatch.setattr(store_module, "_now", lambda s=seconds: start + timedelta(seconds=s))
        store.verify_key(key)
        [listed] = store.api_keys("alice")
        assert listed.last_used_at == start + timedelta(seconds=expected)
    assert [(k.user, k.name, k.active) for k in store.api_keys()] == [
        ("alice", "zendesk", True),
        ("bob", "crm", True),
    ]


def test_one_active_key_per_name_and_user(store):
    store.add_user("alice", "pw", "agent")
    info, _ = store.create_key("alice", "zendesk")
    with pytest.raises(InvalidInput, match="already has an active key named 'zendesk'"):
        store.create_key("alice", "zendesk")
    store.revoke_key(info.id)
    assert store.create_key("alice", "zendesk")[0].id != info.id
    with pytest.raises(NotFound, match="no API key 999"):
        store.revoke_key(999)
