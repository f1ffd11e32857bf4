"""The team's shared state behind one typed facade: picks, thresholds, uploaded bases, users, API keys.

Every desk process opens the same database (see :mod:`reranker.store.database`) through a
:class:`Store`; each method is one short transaction, so any number of threads and processes
can use it at once. Plain data in, frozen dataclasses out.

A database that cannot be reached (PostgreSQL restarting, SQLite locked beyond its busy timeout)
is retried with back-off for ``retry_s`` seconds, logging "database unavailable, retrying"; after
that the call raises :class:`~reranker.errors.DatabaseUnavailable`, which the UI and API show as
a message (503), never a traceback. Other database errors are bugs and propagate.

>>> store = Store(default_url(tmp_path))                                    # doctest: +SKIP
>>> store.record(base="en", base_version="3f2a", question="where is my parcel", chosen_id="en-004", user="ana")  # doctest: +SKIP
1
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
import secrets
import unicodedata
from collections.abc import Sequence, Set
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

import bcrypt
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reranker.errors import InvalidInput, NotFound
from reranker.store import models
from reranker.store.accounts import (
    KEY_PREFIX,
    MAX_PASSWORD_BYTES,
    Account,
    KeyInfo,
    account_of,
    check_name,
    check_password,
    check_role,
    find_user,
    key_hash,
    key_info_of,
    require_user,
    user_exists,
)
from reranker.store.database import WRITE_LOCK, make_engine
from reranker.store.retrying import retrying
from reranker.text import clean as normalise
from reranker.verdict import check_threshold

log = logging.getLogger(__name__)

DEFAULT_RETRY_S = 10.0
DEFAULT_BCRYPT_ROUNDS = 12
#: How stale ``last_used_at`` may get before a successful check writes it again (one write a minute).
LAST_USED_RESOLUTION = timedelta(seconds=60)


class HasShownFields(Protocol):
    """What :meth:`Store.record` reads of each shown answer (``ShownAnswer`` of either store)."""

    @property
    def id(self) -> str: ...
    @property
    def score(self) -> float | None: ...
    @property
    def rank(self) -> int: ...


@dataclass(frozen=True)
class ShownAnswer:
    """One row the agent saw: the FAQ id, its score (None: not scored) and its rank (from 1)."""

    id: str
    score: float | None
    rank: int


@dataclass(frozen=True)
class PickRecord:
    """One stored pick (the fields of ``FeedbackRecord``). ``chosen_id`` None: "none of these"."""

    id: int
    time: str
    request_id: str | None
    base: str
    base_version: str
    question: str
    instruction: str | None
    chosen_id: str | None
    shown: tuple[ShownAnswer, ...]
    first_stage: str | None
    user: str | None


@dataclass(frozen=True)
class ThresholdSetting:
    """A base's stored confidence threshold, who set it (None: not known) and when."""

    base: str
    value: float
    set_by: str | None
    set_at: datetime


@dataclass(frozen=True)
class BaseInfo:
    """An uploaded FAQ base without its bytes: enough to list it and to see whether it changed."""

    name: str
    filename: str | None
    size: int
    sha256: str
    uploaded_by: str | None
    uploaded_at: datetime


@dataclass(frozen=True)
class StoredBase:
    """An uploaded FAQ base: the CSV bytes exactly as uploaded, and who uploaded them when."""

    info: BaseInfo
    data: bytes


def question_key(question: str) -> str:
    """What makes two questions "the same" for the export: NFKC, case and spacing ignored.

    >>> question_key("  Where is my  ORDER? ") == question_key("where is my order?")
    True
    """
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", question)).strip().casefold()


def as_utc(moment: datetime | date) -> datetime:
    """An aware UTC datetime; a date is its midnight UTC; a naive datetime is an error."""
    if not isinstance(moment, datetime):
        return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    if moment.tzinfo is None:
        raise InvalidInput(f"Give {moment.isoformat()} with a time zone (for example +00:00).")
    return moment.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


class Store:
    """The team's database: open one per process (it holds a connection pool) and share it.

    ``url`` is a database URL or an :class:`~sqlalchemy.Engine`; the schema must be migrated
    (:func:`reranker.store.database.upgrade`, or open with :func:`reranker.store.open_store`).
    ``bcrypt_rounds`` (default :data:`DEFAULT_BCRYPT_ROUNDS`) is the cost of new password hashes.
    """

    def __init__(
        self,
        url: str | Engine,
        *,
        retry_s: float = DEFAULT_RETRY_S,
        bcrypt_rounds: int | None = None,
    ) -> None:
        self.engine = url if isinstance(url, Engine) else make_engine(url)
        self.retry_s = retry_s
        self.bcrypt_rounds = bcrypt_rounds or DEFAULT_BCRYPT_ROUNDS
        self._decoy: bytes | None = None
        # Writes take SQLite's write lock when they begin (no-op on PostgreSQL).
        self._writer = self.engine.execution_options(**{WRITE_LOCK: True})

    def close(self) -> None:
        """Close the pool's connections (the store can still be used; it reconnects)."""
        self.engine.dispose()

    def _read(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def _write(self) -> Session:
        return Session(self._writer, expire_on_commit=False)

    # Picks -------------------------------------------------------------------------------------

    @retrying
    def record(
        self,
        *,
        base: str,
        base_version: str,
        question: str,
        chosen_id: str | None,
        shown: Sequence[HasShownFields] = (),
        instruction: str | None = None,
        first_stage: str | None = None,
        request_id: str | None = None,
        user: str | None = None,
    ) -> int:
        """Store one pick and return its id once it is committed. ``chosen_id=None``: none of these.

        ``user`` is who picked (the signed-in agent, or the owner of the API key).
        """
        question = normalise(question)
        if not question:
            raise InvalidInput("The question is empty: record a pick for the question that was asked.")
        if not base.strip():
            raise InvalidInput("Name the FAQ base the pick was made in.")
        if chosen_id is not None and not chosen_id.strip():
            raise InvalidInput('The chosen FAQ id is empty: send null for "none of these".')
        pick = models.Pick(
            time=_now(),
            request_id=request_id,
            base=base,
            base_version=base_version,
            question=question,
            instruction=instruction,
            chosen_id=chosen_id,
            shown=[{"id": a.id, "score": a.score, "rank": a.rank} for a in shown],
            first_stage=first_stage,
            user=user,
        )
        with self._write() as session, session.begin():
            session.add(pick)
            session.flush()
            return pick.id

    @retrying
    def undo(self, record_id: int) -> bool:
        """Delete a pick (the agent clicked by mistake). False when there is no such record."""
        with self._write() as session, session.begin():
            return session.execute(delete(models.Pick).where(models.Pick.id == record_id)).rowcount > 0

    @retrying
    def pick(self, record_id: int) -> PickRecord | None:
        """One stored pick; None when there is none with that id."""
        with self._read() as session:
            row = session.get(models.Pick, record_id)
            return None if row is None else _pick_record(row)

    @retrying
    def records(self, base: str | None = None) -> list[PickRecord]:
        """Every pick (of one base, when given), oldest first."""
        query = select(models.Pick).order_by(models.Pick.id)
        if base is not None:
            query = query.where(models.Pick.base == base)
        with self._read() as session:
            return [_pick_record(pick) for pick in session.scalars(query)]

    def export_labels(self, base: str, known_ids: Set[str] | None = None) -> str:
        """The base's picks as a labelled query set: CSV ``query,relevant_ids``.

        The same question (see :func:`question_key`) asked again keeps only its latest pick, so
        an agent's correction replaces the earlier answer; "none of these" exports an empty
        ``relevant_ids`` (out of scope). Rows follow the order of those latest picks. With
        ``known_ids``, picks of FAQ ids no longer in the base are left out.
        """
        latest: dict[str, PickRecord] = {}
        for record in self.records(base):
            if known_ids is None or record.chosen_id is None or record.chosen_id in known_ids:
                key = question_key(record.question)
                latest.pop(key, None)  # re-inserted last: the file follows the latest picks' order
                latest[key] = record
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["query", "relevant_ids"])
        writer.writerows([r.question, r.chosen_id or ""] for r in latest.values())
        return out.getvalue()

    @retrying
    def purge_picks(self, before: datetime | date, base: str | None = None) -> int:
        """Delete the picks made before ``before`` (a date: its midnight UTC), of one base when
        given; returns how many. Picks hold customers' questions: this is the retention tool."""
        statement = delete(models.Pick).where(models.Pick.time < as_utc(before))
        if base is not None:
            statement = statement.where(models.Pick.base == base)
        with self._write() as session, session.begin():
            count = session.execute(statement).rowcount
        log.info("purged %d picks made before %s%s", count, before, f" in {base!r}" if base else "")
        return count

    def purge_older_than(self, days: int) -> int:
        """Delete the picks older than ``days`` days (``--retain-days``); returns how many."""
        if days < 0:
            raise InvalidInput(f"Keep picks for 0 days or more, not {days}.")
        return self.purge_picks(_now() - timedelta(days=days))

    # Thresholds --------------------------------------------------------------------------------

    def set_threshold(self, base: str, value: float | None, *, set_by: str | None = None) -> None:
        """Store the confidence threshold for ``base`` (None: remove it, back to the default)."""
        if value is None:
            self.remove_threshold(base)
        else:
            self._save_threshold(base, check_threshold(value), set_by)

    @retrying
    def _save_threshold(self, base: str, value: float, set_by: str | None) -> None:
        with self._write() as session, session.begin():
            session.merge(models.Threshold(base=base, value=value, set_by=set_by, set_at=_now()))

    @retrying
    def remove_threshold(self, base: str) -> bool:
        """Remove the base's threshold (the desk's default applies again); False when none was set."""
        with self._write() as session, session.begin():
            statement = delete(models.Threshold).where(models.Threshold.base == base)
            return session.execute(statement).rowcount > 0

    def threshold(self, base: str) -> float | None:
        """The stored confidence threshold for ``base``; None when none was set."""
        setting = self.threshold_setting(base)
        return None if setting is None else setting.value

    @retrying
    def threshold_setting(self, base: str) -> ThresholdSetting | None:
        """The base's threshold with who set it and when; None when none was set."""
        with self._read() as session:
            row = session.get(models.Threshold, base)
            return None if row is None else _threshold(row)

    @retrying
    def thresholds(self) -> list[ThresholdSetting]:
        """Every stored threshold, by base name."""
        with self._read() as session:
            rows = session.scalars(select(models.Threshold).order_by(models.Threshold.base))
            return [_threshold(row) for row in rows]

    # Uploaded FAQ bases ------------------------------------------------------------------------

    @retrying
    def save_base(
        self, name: str, data: bytes, *, filename: str | None = None, uploaded_by: str | None = None
    ) -> BaseInfo:
        """Store an uploaded base's CSV bytes under ``name``, replacing a base of that name."""
        if not name.strip():
            raise InvalidInput("Name the FAQ base.")
        if not data:
            raise InvalidInput(f"The file for {name!r} is empty: upload the FAQ CSV.")
        with self._write() as session, session.begin():
            row = session.scalars(select(models.FaqBase).where(models.FaqBase.name == name)).one_or_none()
            if row is None:
                row = models.FaqBase(name=name)
                session.add(row)
            row.filename, row.data, row.size = filename, data, len(data)
            row.sha256 = hashlib.sha256(data).hexdigest()
            row.uploaded_by, row.uploaded_at = uploaded_by, _now()
            return _base_info(row)

    @retrying
    def bases(self) -> list[BaseInfo]:
        """The uploaded bases (without their bytes), by name."""
        columns = [getattr(models.FaqBase, name) for name in BaseInfo.__dataclass_fields__]
        with self._read() as session:
            rows = session.execute(select(*columns).order_by(models.FaqBase.name))
            return [BaseInfo(*row) for row in rows]

    @retrying
    def load_base(self, name: str) -> StoredBase:
        """An uploaded base's bytes and details; :class:`NotFound` listing the others."""
        with self._read() as session:
            row = session.scalars(select(models.FaqBase).where(models.FaqBase.name == name)).one_or_none()
            if row is None:
                known = ", ".join(repr(n) for n in session.scalars(select(models.FaqBase.name))) or "none"
                raise NotFound(f"There is no uploaded FAQ base {name!r}; there are: {known}.")
            return StoredBase(_base_info(row), row.data)

    @retrying
    def remove_base(self, name: str) -> bool:
        """Delete an uploaded base; False when there is none of that name."""
        with self._write() as session, session.begin():
            return session.execute(delete(models.FaqBase).where(models.FaqBase.name == name)).rowcount > 0

    # Users -------------------------------------------------------------------------------------

    @retrying
    def add_user(self, name: str, password: str, role: str) -> Account:
        """Add a user with a bcrypt hash of ``password``; :class:`InvalidInput` if the name is taken."""
        check_name(name)
        role = check_role(role)
        hashed = bcrypt.hashpw(check_password(password), bcrypt.gensalt(self.bcrypt_rounds)).decode()
        user = models.User(name=name, password_hash=hashed, role=role, disabled=False, created_at=_now())
        try:
            with self._write() as session, session.begin():
                if session.scalars(select(models.User.id).where(models.User.name == name)).first():
                    raise user_exists(name)
                session.add(user)
        except IntegrityError:  # added by someone else between the check and the insert
            raise user_exists(name) from None
        return account_of(user)

    @retrying
    def users(self) -> list[Account]:
        """Every user, by name."""
        with self._read() as session:
            return [
                account_of(user) for user in session.scalars(select(models.User).order_by(models.User.name))
            ]

    @retrying
    def user(self, name: str) -> Account | None:
        """One user; None when there is none of that name."""
        with self._read() as session:
            row = find_user(session, name)
            return None if row is None else account_of(row)

    @retrying
    def disable_user(self, name: str, disabled: bool = True) -> Account:
        """Stop (or, with ``disabled=False``, allow again) a user's sign-in and API keys."""
        with self._write() as session, session.begin():
            user = require_user(session, name)
            user.disabled = disabled
            return account_of(user)

    @retrying
    def set_role(self, name: str, role: str) -> Account:
        """Make a user a lead or an agent."""
        role = check_role(role)
        with self._write() as session, session.begin():
            user = require_user(session, name)
            user.role = role
            return account_of(user)

    @retrying
    def set_password(self, name: str, password: str) -> None:
        """Replace a user's password."""
        hashed = bcrypt.hashpw(check_password(password), bcrypt.gensalt(self.bcrypt_rounds)).decode()
        with self._write() as session, session.begin():
            require_user(session, name).password_hash = hashed

    @retrying
    def check_password(self, name: str, password: str) -> Account | None:
        """The user when ``password`` is theirs and they are not disabled; None otherwise.

        Takes as long for an unknown name as for a wrong password (no probing for names).
        """
        with self._read() as session:
            row = find_user(session, name)
        # An unknown name is checked against a decoy hash: it costs as long as a wrong password.
        stored = row.password_hash.encode() if row is not None else self._decoy_hash()
        given = password.encode()
        matches = len(given) <= MAX_PASSWORD_BYTES and bcrypt.checkpw(given, stored)
        if row is None or not matches or row.disabled:
            return None
        return account_of(row)

    def _decoy_hash(self) -> bytes:
        if self._decoy is None:
            self._decoy = bcrypt.hashpw(b"decoy", bcrypt.gensalt(self.bcrypt_rounds))
        return self._decoy

    # API keys ----------------------------------------------------------------------------------

    @retrying
    def create_key(self, user: str, name: str) -> tuple[KeyInfo, str]:
        """A new API key for ``user``'s integration ``name``: its details and the key itself.

        The key is shown only here; the database keeps its SHA-256. A user cannot have two
        active keys of the same name.
        """
        check_name(name, "key name")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self._write() as session, session.begin():
            owner = require_user(session, user)
            taken = select(models.ApiKey.id).where(
                models.ApiKey.user_id == owner.id,
                models.ApiKey.name == name,
                models.ApiKey.revoked_at.is_(None),
            )
            if session.scalars(taken).first() is not None:
                raise InvalidInput(
                    f"{user!r} already has an active key named {name!r}: revoke it first "
                    "(keys list, keys revoke ID) or choose another name."
                )
            row = models.ApiKey(name=name, user_id=owner.id, key_hash=key_hash(key),
                                prefix=key[: len(KEY_PREFIX) + 4], created_at=_now())  # fmt: skip
            session.add(row)
            session.flush()
            return key_info_of(row, owner), key

    @retrying
    def api_keys(self, user: str | None = None) -> list[KeyInfo]:
        """Every API key (of one user, when given), revoked ones included, oldest first."""
        query = select(models.ApiKey, models.User).join(models.User).order_by(models.ApiKey.id)
        if user is not None:
            query = query.where(models.User.name == user)
        with self._read() as session:
            return [key_info_of(key, owner) for key, owner in session.execute(query)]

    @retrying
    def revoke_key(self, key_id: int) -> KeyInfo:
        """Revoke a key (it stops working at once); revoking a revoked key keeps its first date."""
        with self._write() as session, session.begin():
            row = session.get(models.ApiKey, key_id)
            if row is None:
                raise NotFound(f"There is no API key {key_id}: see `keys list` for the ids.")
            if row.revoked_at is None:
                row.revoked_at = _now()
            return key_info_of(row, session.get_one(models.User, row.user_id))

    @retrying
    def verify_key(self, key: str) -> KeyInfo | None:
        """The key's details when it is active and its user is not disabled; None otherwise.

        Notes when it was last used (at most one write a minute per key).
        """
        query = (
            select(models.ApiKey, models.User)
            .join(models.User)
            .where(models.ApiKey.key_hash == key_hash(key))
        )
        with self._read() as session:
            found = session.execute(query).first()
        if found is None:
            return None
        row, owner = found
        if row.revoked_at is not None or owner.disabled:
            return None
        now = _now()
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            with self._write() as session, session.begin():
                session.get_one(models.ApiKey, row.id).last_used_at = now
            row.last_used_at = now
        return key_info_of(row, owner)

    # Counts, for /metrics and the import ---------------------------------------------------------

    @retrying
    def pick_count(self, base: str | None = None) -> int:
        """How many picks are stored (of one base, when given)."""
        query = select(func.count()).select_from(models.Pick)
        if base is not None:
            query = query.where(models.Pick.base == base)
        with self._read() as session:
            return session.scalar(query) or 0


def _pick_record(pick: models.Pick) -> PickRecord:
    return PickRecord(
        id=pick.id,
        time=pick.time.isoformat(timespec="milliseconds"),
        request_id=pick.request_id,
        base=pick.base,
        base_version=pick.base_version,
        question=pick.question,
        instruction=pick.instruction,
        chosen_id=pick.chosen_id,
        shown=tuple(ShownAnswer(**answer) for answer in pick.shown),
        first_stage=pick.first_stage,
        user=pick.user,
    )


def _threshold(row: models.Threshold) -> ThresholdSetting:
    return ThresholdSetting(row.base, row.value, row.set_by, row.set_at)


def _base_info(row: models.FaqBase) -> BaseInfo:
    return BaseInfo(row.name, row.filename, row.size, row.sha256, row.uploaded_by, row.uploaded_at)


