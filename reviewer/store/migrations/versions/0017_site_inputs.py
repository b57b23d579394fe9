"""现场考察 inputs in the store: `site_inputs`, one row per imported file of a round (专家不可用日期, 考察点,
专家出行限制, 节假日) with its validated content as JSON and the content's hash; a re-import stamps the
previous row `replaced_at` (rows are never deleted, so a run is reproduced from the rows it used).

Revision ID: 0017
Revises: 0016
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_inputs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("replaced_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_site_inputs_round_id", "site_inputs", ["round_id"])


def downgrade() -> None:
    op.drop_index("ix_site_inputs_round_id", table_name="site_inputs")
    op.drop_table("site_inputs")
