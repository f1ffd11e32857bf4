"""The team's tables: picks, thresholds, uploaded FAQ bases, users, API keys, legacy imports.

Revision ID: 0001
Revises:
Create Date: 2026-12-06

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported from models.py: a revision must not change when the models do.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TIME = sa.DateTime(timezone=False)  # naive UTC, see models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "picks",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("time", UTC_TIME, nullable=False),
        sa.Column("request_id", sa.String(200)),
        sa.Column("base", sa.String(300), nullable=False),
        sa.Column("base_version", sa.String(100), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("instruction", sa.Text()),
        sa.Column("chosen_id", sa.String(300)),
        sa.Column("shown", sa.JSON(), nullable=False),
        sa.Column("first_stage", sa.String(50)),
        sa.Column("user", sa.String(200)),
        sa.PrimaryKeyConstraint("id", name="pk_picks"),
    )
    op.create_index("ix_picks_base_id", "picks", ["base", "id"])
    op.create_index("ix_picks_time", "picks", ["time"])
    op.create_table(
        "thresholds",
        sa.Column("base", sa.String(300), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("set_by", sa.String(200)),
        sa.Column("set_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("base", name="pk_thresholds"),
        sa.CheckConstraint("value >= 0 AND value <= 1", name="ck_thresholds_value_range"),
    )
    op.create_table(
        "faq_bases",
        sa.Column("id", BIG_ID, autoincrement=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("filename", sa.String(300)),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("uploaded_by", sa.String(200)),
        sa.Column("uploaded_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_faq_bases"),
        sa.UniqueConstraint("name", name="uq_faq_bases_name"),
    )
    op.create_table(
        "users",
        sa.Column("id", BIG_ID, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("name", name="uq_users_name"),
        sa.CheckConstraint("role IN ('lead', 'agent')", name="ck_users_role"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", BIG_ID, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(20), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("revoked_at", UTC_TIME),
        sa.Column("last_used_at", UTC_TIME),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_api_keys_user_id_users"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_index("ix_api_keys_user_id", "api_keys", ["user_id"])
    op.create_table(
        "legacy_imports",
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("picks", sa.Integer(), nullable=False),
        sa.Column("thresholds", sa.Integer(), nullable=False),
        sa.Column("imported_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", name="pk_legacy_imports"),
    )


def downgrade() -> None:
    for table in ("legacy_imports", "api_keys", "users", "faq_bases", "thresholds", "picks"):
        op.drop_table(table)
