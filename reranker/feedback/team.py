"""Who is on the team and what each may do: sign-in, roles, API keys.

Agents rank, pick and run Batch; leads also save and replace FAQ bases, apply or remove
thresholds and export picks. The rule lives here, once: :class:`~reranker.feedback.picks.Picks`
checks it for the UI's handlers and the REST routes alike, so hiding a button is never what
keeps an agent out.

A desk has logins when it was started with ``--auth user:password`` (a bootstrap lead account,
as before) or when the team database has users; a desk with neither is open, and everyone may do
everything, as before the team database.

>>> team = Team(store, bootstrap=("admin", "s3cret"))      # doctest: +SKIP
>>> team.sign_in("alice", "her password")                   # doctest: +SKIP
Member(name='alice', role='agent')
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Literal

from reranker.errors import DatabaseUnavailable, Forbidden
from reranker.store import Role, Store

log = logging.getLogger(__name__)

#: What only a lead may do (each has its ``lead_only_<action>`` message).
LeadAction = Literal["threshold", "export", "bases", "knowledge"]


@dataclass(frozen=True)
class Member:
    """Who is asking: a user name (None on an open desk) and a role; ``via`` says how they came in."""

    name: str | None
    role: Role
    via: str = "login"

    @property
    def label(self) -> str:
        """The name the log and ``/metrics`` attribute a request to."""
        return self.name or "anonymous"


#: Everyone on a desk without logins: a lead, as before roles existed.
OPEN = Member(None, "lead", "open")


class Team:
    """The desk's sign-in and roles over the team database (``store`` None: the bootstrap login only).

    Whether the desk has logins is decided once, when it starts (Gradio's login page is set up at
    launch): add the first user before starting the desk.
    """

    def __init__(self, store: Store | None, bootstrap: tuple[str, str] | None = None) -> None:
        self.store = store
        self.bootstrap = bootstrap
        self.logins = bootstrap is not None or (store is not None and bool(store.users()))

    def sign_in(self, name: str, password: str) -> Member | None:
        """The member when the password is theirs (the bootstrap login or a user of the table); None otherwise.

        An unreachable database refuses the sign-in (logged), it does not raise.
        """
        if self.bootstrap is not None and _same(name, self.bootstrap[0]) and _same(password, self.bootstrap[1]):
            return Member(name, "lead")
        if self.store is None:
            return None
        try:
            account = self.store.check_password(name, password)
        except DatabaseUnavailable as exc:
            log.warning("sign-in of %r refused: %s", name, exc)
            return None
        return None if account is None else Member(account.name, account.role)

    def accepts(self, name: str, password: str) -> bool:
        """Gradio's ``launch(auth=...)`` callable."""
        return self.sign_in(name, password) is not None

    def verify_key(self, key: str) -> Member | None:
        """The member an API key of the table acts for (named ``user/integration``); None when unknown."""
        if self.store is None:
            return None
        info = self.store.verify_key(key)
        return None if info is None else Member(f"{info.user}/{info.name}", info.role, "key")

    def member(self, name: str | None) -> Member:
        """The signed-in ``name`` (Gradio's ``request.username``) with their current role.

        An open desk answers :data:`OPEN` (named ``name`` when one is given). :class:`Forbidden`
        when nobody is signed in on a desk with logins, or when the user was disabled (or removed)
        after signing in: they are refused at their next action, not at their next sign-in.
        """
        if not self.logins:
            return OPEN if name is None else Member(name, "lead", "open")
        if name is None:
            raise Forbidden.of("err_sign_in")
        if self.bootstrap is not None and name == self.bootstrap[0]:
            return Member(name, "lead")
        account = None if self.store is None else self.store.user(name)
        if account is None or account.disabled:
            raise Forbidden.of("err_account_off", name=name)
        return Member(name, account.role)


def require_lead(member: Member, action: LeadAction) -> Member:
    """``member`` when they are a lead; :class:`Forbidden` saying only a lead may do ``action``."""
    if member.role != "lead":
        raise Forbidden.of(f"lead_only_{action}")
    return member


def _same(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode(), expected.encode())
