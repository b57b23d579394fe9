"""Seat responses (issue 16): the expert's answer to each published seat — invited, confirmed,
declined, recusal requested / recused, no reply, replaced (reviewer.store.seat_responses).

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seat_responses",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("round_id", sa.Integer(), sa.ForeignKey("rounds.id"), nullable=False),
        sa.Column("assignment_id", sa.Integer(), sa.ForeignKey("assignments.id"), nullable=False, unique=True),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("application_id", sa.String(100), nullable=False),
        sa.Column("expert_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("relation", sa.String(20), nullable=False),
        sa.Column("invited_at", sa.DateTime(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("answered_by", sa.String(100), nullable=False),
        sa.Column("refill_note", sa.Text(), nullable=False),
        sa.Column("last_answer", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_seat_responses_round_id", "seat_responses", ["round_id"])
    op.create_index("ix_seat_responses_expert_id", "seat_responses", ["expert_id"])


def downgrade() -> None:
    op.drop_index("ix_seat_responses_expert_id", "seat_responses")
    op.drop_index("ix_seat_responses_round_id", "seat_responses")
    op.drop_table("seat_responses")
