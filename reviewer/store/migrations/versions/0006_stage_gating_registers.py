"""Stage gating and registers (issue 17): advancement decisions per stage, the centre register, the
Guangxi technology innovation centre register and the subsidy ledger. Round settings (meetings, the
site-visit window, the 答辩 schedule) stay in `rounds.settings` (JSON), typed by
reviewer.store.round_settings.

Revision ID: 0006
Revises: 0003
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stage_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), sa.ForeignKey("rounds.id"), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("application_id", sa.String(100), nullable=False),
        sa.Column("advanced", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(30), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id"), nullable=True),
        sa.Column("decided_by", sa.String(100), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("round_id", "stage", "application_id"),
    )
    op.create_index("ix_stage_decisions_round_id", "stage_decisions", ["round_id"])
    op.create_table(
        "centre_register",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.String(100), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("field", sa.String(100), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("since", sa.String(10), nullable=False),
        sa.Column("document_no", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_centre_register_centre_id", "centre_register", ["centre_id"])
    op.create_table(
        "tech_centre_register",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("field", sa.String(100), nullable=False),
        sa.Column("document_no", sa.String(200), nullable=False),
        sa.Column("date", sa.String(10), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "subsidy_ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.String(100), nullable=False),
        sa.Column("field", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("cap", sa.Float(), nullable=False),
        sa.Column("date", sa.String(10), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("granted_key", sa.String(140), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("granted_key"),
    )
    op.create_index("ix_subsidy_ledger_centre_id", "subsidy_ledger", ["centre_id"])


def downgrade() -> None:
    op.drop_table("subsidy_ledger")
    op.drop_table("tech_centre_register")
    op.drop_table("centre_register")
    op.drop_table("stage_decisions")
