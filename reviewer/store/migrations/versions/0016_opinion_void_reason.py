"""Why a written opinion stopped counting: `void_reason` on `opinions` and `panel_opinions` (issue 16).

An expert replaced on a seat (reviewer.store.replacement) keeps their 评审意见 in the store, void, with
the reason (the replacement and why); a chair replaced likewise for the panel's 专家组综合意见. A later
submission that supersedes an opinion records it there too. Nullable: rows written before stay NULL.

Revision ID: 0016
Revises: 0011
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("opinions") as b:
        b.add_column(sa.Column("void_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("panel_opinions") as b:
        b.add_column(sa.Column("void_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("panel_opinions") as b:
        b.drop_column("void_reason")
    with op.batch_alter_table("opinions") as b:
        b.drop_column("void_reason")
