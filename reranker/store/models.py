"""The tables, as SQLAlchemy 2 declarative models. Alembic's revisions in ``migrations/versions``
create and change them; these classes describe the schema at the newest revision.

Times are stored as UTC without a zone (:class:`UTCDateTime`) so SQLite and PostgreSQL compare
them the same way, and come back as aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Names for constraints and indexes, so every migration names them the same on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
#: An id column: BIGINT on PostgreSQL, INTEGER on SQLite (its only auto-incrementing type).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime in, stored as naive UTC, an aware UTC datetime out."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give times in UTC with tzinfo")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Pick(Base):
    """One agent's pick: which FAQ answer (``chosen_id``; None: "none of these") answered a question."""

    __tablename__ = "picks"
    __table_args__ = (Index("ix_picks_base_id", "base", "id"), Index("ix_picks_time", "time"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    request_id: Mapped[str | None] = mapped_column(String(200))
    base: Mapped[str] = mapped_column(String(300))
    base_version: Mapped[str] = mapped_column(String(100))
    question: Mapped[str] = mapped_column(Text)
    instruction: Mapped[str | None] = mapped_column(Text)
    chosen_id: Mapped[str | None] = mapped_column(String(300))
    #: What the agent saw: ``[{"id": ..., "score": ..., "rank": ...}, ...]``.
    shown: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    first_stage: Mapped[str | None] = mapped_column(String(50))
    #: Who picked: the signed-in agent, or the user an API key belongs to.
    user: Mapped[str | None] = mapped_column(String(200))


class Threshold(Base):
    """A base's confidence threshold, chosen by a lead."""

    __tablename__ = "thresholds"
    __table_args__ = (CheckConstraint("value >= 0 AND value <= 1", name="value_range"),)

    base: Mapped[str] = mapped_column(String(300), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    set_by: Mapped[str | None] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FaqBase(Base):
    """An uploaded FAQ base: the CSV file exactly as uploaded (read again with the desk's loader)."""

    __tablename__ = "faq_bases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    filename: Mapped[str | None] = mapped_column(String(300))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str | None] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class User(Base):
    """A person who signs in to the desk; ``password_hash`` is bcrypt's."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('lead', 'agent')", name="role"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiKey(Base):
    """An integration's API key: only the SHA-256 of the key is kept, and its first characters."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LegacyImport(Base):
    """A feedback.sqlite3 file already copied in (by a fingerprint of its rows): imported once."""

    __tablename__ = "legacy_imports"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    picks: Mapped[int] = mapped_column(Integer)
    thresholds: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EntryVersion(Base):
    """One saved version of one FAQ entry of a base edited in the desk (rows are never changed).

    An entry's current version is its highest ``version``; ``retired`` hides it from searches;
    a rollback is a new version with an old one's fields. ``revision`` (the row id) orders every
    save in a base, so a desk sees that a base changed by its highest revision.
    """

    __tablename__ = "faq_entry_versions"
    __table_args__ = (
        UniqueConstraint("base", "entry_id", "version", name="uq_faq_entry_versions_base_entry_version"),
        Index("ix_faq_entry_versions_base_revision", "base", "revision"),
    )

    revision: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    base: Mapped[str] = mapped_column(String(300))
    entry_id: Mapped[str] = mapped_column(String(300))
    version: Mapped[int] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(300))
    #: Other phrasings of the question ("similar questions"), in order.
    phrasings: Mapped[list[str]] = mapped_column(JSON)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    author: Mapped[str | None] = mapped_column(String(200))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Why this version exists: "edit", "import", "rollback to 2", "learned", "gap", ...
    note: Mapped[str] = mapped_column(String(300))


class PhrasingSuggestion(Base):
    """A customer's question that agents answered with an entry: a candidate phrasing of it.

    ``status``: pending (a lead decides), approved (added to the entry) or rejected (never
    suggested again). ``users`` lists who picked it, so suggestions many agents made come first.
    """

    __tablename__ = "phrasing_suggestions"
    __table_args__ = (
        UniqueConstraint("base", "entry_id", "key", name="uq_phrasing_suggestions_base_entry_key"),
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    base: Mapped[str] = mapped_column(String(300))
    entry_id: Mapped[str] = mapped_column(String(300))
    question: Mapped[str] = mapped_column(Text)
    #: The question as compared (NFKC, case and spacing ignored; ``store.question_key``).
    key: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20))
    picks: Mapped[int] = mapped_column(Integer)
    users: Mapped[list[str]] = mapped_column(JSON)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DismissedGap(Base):
    """A gap question a lead dismissed (or turned into an entry): left out of the Gaps view."""

    __tablename__ = "dismissed_gap_questions"

    base: Mapped[str] = mapped_column(String(300), primary_key=True)
    key: Mapped[str] = mapped_column(String(500), primary_key=True)
    dismissed_by: Mapped[str | None] = mapped_column(String(200))
    dismissed_at: Mapped[datetime] = mapped_column(UTCDateTime)
