"""The expert pool across rounds (issue 16 item 6): pool_experts (the merged pool record), pool_changes
(its history, one row per change an import made), pool_penalties (credit penalties with dates; withdrawn,
never deleted), pool_ratings (staff ratings after a round) and pool_flags (deviation flags kept as evidence).

Revision ID: 0010
Revises: 0009
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _who() -> list:
    return [sa.Column("created_by", sa.String(length=100), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "pool_experts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("expert_id"),
    )
    op.create_table(
        "pool_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.String(length=100), nullable=False),
        sa.Column("change", sa.String(length=20), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=1000), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        *_who(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pool_changes_expert_id", "pool_changes", ["expert_id"])
    op.create_table(
        "pool_penalties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("start", sa.String(length=10), nullable=False),
        sa.Column("end", sa.String(length=10), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        *_who(),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("withdrawn_reason", sa.Text(), nullable=False),
        sa.Column("withdrawn_by", sa.String(length=100), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pool_penalties_expert_id", "pool_penalties", ["expert_id"])
    op.create_table(
        "pool_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.String(length=100), nullable=False),
        sa.Column("round_code", sa.String(length=64), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        *_who(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pool_ratings_expert_id", "pool_ratings", ["expert_id"])
    op.create_table(
        "pool_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.String(length=100), nullable=False),
        sa.Column("round_code", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("flag", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        *_who(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pool_flags_expert_id", "pool_flags", ["expert_id"])


def downgrade() -> None:
    for name in ("pool_flags", "pool_ratings", "pool_penalties", "pool_changes"):
        op.drop_index(f"ix_{name}_expert_id", table_name=name)
    for name in ("pool_flags", "pool_ratings", "pool_penalties", "pool_changes", "pool_experts"):
        op.drop_table(name)
