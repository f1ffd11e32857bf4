"""Who may call the REST API: a bearer key (``--api-key``), the UI's login over HTTP Basic, or nobody.

Both schemes are FastAPI's own (:class:`~fastapi.security.HTTPBearer`, :class:`~fastapi.security.HTTPBasic`),
so they show in the OpenAPI docs; secrets are compared in constant time.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBasic, HTTPBasicCredentials, HTTPBearer
from starlette.exceptions import HTTPException

_BEARER = HTTPBearer(auto_error=False, description="The key the server was started with (--api-key).")
_BASIC = HTTPBasic(auto_error=False, description="The app's login (--auth), when it has one.")


@dataclass(frozen=True)
class ApiAccess:
    """Who may call the API: a bearer ``api_key``, the UI's ``login`` over HTTP Basic, or both.

    ``locked``: nobody (the app is shared and neither is set); the routes answer 403 saying how
    to open them.
    """

    api_key: str | None = None
    login: tuple[str, str] | None = None
    locked: bool = False

    @property
    def open(self) -> bool:
        return not (self.api_key or self.login or self.locked)


def access_check(access: ApiAccess) -> Callable[..., None]:
    def check(
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
        basic: Annotated[HTTPBasicCredentials | None, Depends(_BASIC)],
    ) -> None:
        if access.locked:
            raise HTTPException(
                403, "The REST API is off on this shared app: restart it with --api-key KEY (or --auth "
                "user:password and send that login as HTTP Basic), or with --open-api to open it to everyone.",
            )  # fmt: skip
        if bearer is not None and access.api_key and _same(bearer.credentials, access.api_key):
            return
        if access.login and basic is not None and all(map(_same, (basic.username, basic.password), access.login)):
            return
        wrong = "The API key is wrong: send the key the server was started with."
        missing = "This API needs a key: send the header Authorization: Bearer <key>."
        if access.login:
            missing = "This API needs the app's login: send it as HTTP Basic (or a key as Authorization: Bearer <key>)."
        schemes = ", ".join(
            scheme for scheme, on in (("Bearer", access.api_key), ("Basic", access.login)) if on
        )
        raise HTTPException(
            401, wrong if bearer is not None else missing, headers={"WWW-Authenticate": schemes}
        )

    return check


def _same(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode(), expected.encode())
