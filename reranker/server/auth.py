"""Who may call the REST API, and as whom: bearer keys, logins over HTTP Basic, or nobody.

A bearer key is ``--api-key`` (a lead, named ``api-key``) or a key of the team database
(``keys create``: the key's user, named ``user/integration``, with that user's role). HTTP Basic is
the ``--auth`` bootstrap login or a user of the team database. Both schemes are FastAPI's own
(:class:`~fastapi.security.HTTPBearer`, :class:`~fastapi.security.HTTPBasic`), so they show in
the OpenAPI docs; secrets are compared in constant time.

The check leaves the caller (a :class:`~reranker.feedback.team.Member`) in the request's scope:
the routes read it with :func:`caller_of`, and the log and ``/metrics`` attribute the request to it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBasic, HTTPBasicCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from reranker.feedback.team import OPEN, Member, Team

_BEARER = HTTPBearer(auto_error=False, description="--api-key, or a key made with `keys create`.")
_BASIC = HTTPBasic(auto_error=False, description="A desk login: --auth, or a user made with `users add`.")
#: Where the check leaves the caller in the request's scope.
CALLER = "reranker.caller"


@dataclass(frozen=True)
class ApiAccess:
    """Who may call the API: a bearer ``api_key``, the ``login`` over HTTP Basic, the ``team``'s keys
    and users, or any of them.

    ``locked``: nobody (the app is shared and none is set); the routes answer 403 saying how to
    open them.
    """

    api_key: str | None = None
    login: tuple[str, str] | None = None
    locked: bool = False
    team: Team | None = None

    @property
    def open(self) -> bool:
        return not (self.api_key or self.login or self.locked or self.has_team)

    @property
    def has_team(self) -> bool:
        """Whether the team database's users (and their keys) may sign in here."""
        return self.team is not None and self.team.store is not None and self.team.logins


def caller_of(request: Request) -> Member:
    """Who sent ``request`` (:data:`~reranker.feedback.team.OPEN` on an open API)."""
    return request.scope.get(CALLER, OPEN)


def access_check(access: ApiAccess) -> Callable[..., Member]:
    """The dependency that lets a caller in (leaving them in the request's scope) or answers 401/403."""

    def check(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
        basic: Annotated[HTTPBasicCredentials | None, Depends(_BASIC)],
    ) -> Member:
        if access.locked:
            raise HTTPException(
                403, "The REST API is off on this shared app: restart it with --api-key KEY (or --auth "
                "user:password and send that login as HTTP Basic), or with --open-api to open it to everyone.",
            )  # fmt: skip
        member = _identify(access, bearer, basic)
        if member is None:
            _refuse(access, bearer)
        request.scope[CALLER] = member
        return member

    return check


def _identify(access: ApiAccess, bearer: HTTPAuthorizationCredentials | None,
              basic: HTTPBasicCredentials | None) -> Member | None:  # fmt: skip
    if bearer is not None:
        if access.api_key and _same(bearer.credentials, access.api_key):
            return Member("api-key", "lead", "key")
        if access.has_team and access.team is not None:
            return access.team.verify_key(bearer.credentials)
        return None
    if basic is None:
        return None
    if access.login and all(map(_same, (basic.username, basic.password), access.login)):
        return Member(basic.username, "lead")
    if access.has_team and access.team is not None:
        return access.team.sign_in(basic.username, basic.password)
    return None


def _refuse(access: ApiAccess, bearer: HTTPAuthorizationCredentials | None) -> None:
    wrong = "The API key is wrong (or revoked): send a key the server accepts."
    missing = "This API needs a key: send the header Authorization: Bearer <key>."
    logins = access.login or access.has_team
    if logins:
        missing = "This API needs a login: send it as HTTP Basic (or a key as Authorization: Bearer <key>)."
    keys = access.api_key or access.has_team
    schemes = ", ".join(scheme for scheme, on in (("Bearer", keys), ("Basic", logins)) if on)
    raise HTTPException(401, wrong if bearer is not None else missing, headers={"WWW-Authenticate": schemes})


def _same(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode(), expected.encode())
