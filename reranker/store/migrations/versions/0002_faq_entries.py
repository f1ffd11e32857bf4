"""FAQ bases edited in the desk: entry versions, phrasing suggestions, dismissed gap questions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TIME = sa.DateTime(timezone=False)  # naive UTC, see models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "faq_entry_versions",
        sa.Column("revision", BIG_ID, autoincrement=True),
        sa.Column("base", sa.String(300), nullable=False),
        sa.Column("entry_id", sa.String(300), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("category", sa.String(300), nullable=False),
        sa.Column("phrasings", sa.JSON(), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("author", sa.String(200)),
        sa.Column("time", UTC_TIME, nullable=False),
        sa.Column("note", sa.String(300), nullable=False),
        sa.PrimaryKeyConstraint("revision", name="pk_faq_entry_versions"),
        sa.UniqueConstraint("base", "entry_id", "version", name="uq_faq_entry_versions_base_entry_version"),
    )
    op.create_index("ix_faq_entry_versions_base_revision", "faq_entry_versions", ["base", "revision"])
    op.create_table(
        "phrasing_suggestions",
        sa.Column("id", BIG_ID, autoincrement=True),
        sa.Column("base", sa.String(300), nullable=False),
        sa.Column("entry_id", sa.String(300), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("key", sa.String(500), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("picks", sa.Integer(), nullable=False),
        sa.Column("users", sa.JSON(), nullable=False),
        sa.Column("first_seen", UTC_TIME, nullable=False),
        sa.Column("last_seen", UTC_TIME, nullable=False),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("decided_at", UTC_TIME),
        sa.PrimaryKeyConstraint("id", name="pk_phrasing_suggestions"),
        sa.UniqueConstraint("base", "entry_id", "key", name="uq_phrasing_suggestions_base_entry_key"),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="ck_phrasing_suggestions_status"),
    )
    op.create_table(
        "dismissed_gap_questions",
        sa.Column("base", sa.String(300), nullable=False),
        sa.Column("key", sa.String(500), nullable=False),
        sa.Column("dismissed_by", sa.String(200)),
        sa.Column("dismissed_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("base", "key", name="pk_dismissed_gap_questions"),
    )


def downgrade() -> None:
    for table in ("dismissed_gap_questions", "phrasing_suggestions", "faq_entry_versions"):
        op.drop_table(table)
