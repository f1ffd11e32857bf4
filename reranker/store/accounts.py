"""Who may use the desk: user and API key records, and the checks on names, roles and passwords.

The :class:`~reranker.store.Store` keeps users and keys in the database; this module holds what
they look like outside it and the rules a name, a role or a password must follow.

>>> check_role("lead")
'lead'
>>> check_name("ana smith")
Traceback (most recent call last):
...
reranker.errors.InvalidInput: 'ana smith' is not a valid user name: use 1 to 200 characters, no spaces or colons.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from reranker.errors import InvalidInput, NotFound
from reranker.store import models

Role = Literal["lead", "agent"]
ROLES: tuple[str, ...] = get_args(Role)  # also the CHECK constraint on users.role
#: bcrypt hashes only a password's first 72 bytes; bcrypt 5 refuses longer ones.
MAX_PASSWORD_BYTES = 72
KEY_PREFIX = "frd_"
_NAME = re.compile(r"[^\s:]{1,200}")


@dataclass(frozen=True)
class Account:
    """A desk user (the password hash stays in the database)."""

    name: str
    role: Role
    disabled: bool
    created_at: datetime


@dataclass(frozen=True)
class KeyInfo:
    """An API key as listed: never the key itself, only its first characters."""

    id: int
    name: str
    user: str
    role: Role
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def check_role(role: str) -> Role:
    """``role`` when it is one of :data:`ROLES`; :class:`InvalidInput` listing them otherwise."""
    if role not in ROLES:
        raise InvalidInput(f"Unknown role {role!r}; choose one of: {', '.join(ROLES)}.")
    return role  # type: ignore[return-value]


def check_name(name: str, what: str = "user name") -> str:
    """A user or key name: 1-200 characters, no spaces or colons (``--auth user:password``)."""
    if not _NAME.fullmatch(name):
        raise InvalidInput(f"{name!r} is not a valid {what}: use 1 to 200 characters, no spaces or colons.")
    return name


def check_password(password: str) -> bytes:
    """The password's UTF-8 bytes; :class:`InvalidInput` when empty or longer than bcrypt takes."""
    data = password.encode()
    if not password.strip():
        raise InvalidInput("The password is empty: choose one.")
    if len(data) > MAX_PASSWORD_BYTES:
        raise InvalidInput(f"The password is longer than {MAX_PASSWORD_BYTES} bytes: choose a shorter one.")
    return data


def key_hash(key: str) -> str:
    """The SHA-256 kept for an API key (keys are 256 random bits: a fast hash is enough)."""
    return hashlib.sha256(key.encode()).hexdigest()


def user_exists(name: str) -> InvalidInput:
    return InvalidInput(f"There is already a user {name!r}: choose another name, or use users set-role.")


def find_user(session: Session, name: str) -> models.User | None:
    return session.scalars(select(models.User).where(models.User.name == name)).one_or_none()


def require_user(session: Session, name: str) -> models.User:
    user = find_user(session, name)
    if user is None:
        raise NotFound(f"There is no user {name!r}: see `users list`, or add one with `users add`.")
    return user


def account_of(row: models.User) -> Account:
    return Account(row.name, row.role, row.disabled, row.created_at)  # type: ignore[arg-type]


def key_info_of(row: models.ApiKey, owner: models.User) -> KeyInfo:
    return KeyInfo(row.id, row.name, owner.name, owner.role, row.prefix,  # type: ignore[arg-type]
                   row.created_at, row.revoked_at, row.last_used_at)  # fmt: skip

