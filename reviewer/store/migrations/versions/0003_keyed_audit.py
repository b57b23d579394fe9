"""Keyed audit chain: each entry carries an HMAC of its hash under a key kept outside the database
(`mac`) and the public id of that key (`key_id`). Entries written before this revision keep NULL in
both and are verified as legacy entries (hash chain only); the program's first keyed entry records a
baseline of the facts then in the tables (see reviewer.store.facts).

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both SQLite and PostgreSQL: the table is not rebuilt, so the append-only
    # triggers of 0002 stay in place (and do not fire: no row is updated).
    op.add_column("audit_log", sa.Column("mac", sa.String(64), nullable=True))
    op.add_column("audit_log", sa.Column("key_id", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as b:
        b.drop_column("key_id")
        b.drop_column("mac")
