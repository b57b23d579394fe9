"""现场考察 routes of a site-plan run: `site_visits`, one row per visited site (team, day, order, city,
host details, the team's core), stamped with the publication when the stage is published from the run.

Revision ID: 0011
Revises: 0010
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("application_id", sa.String(length=100), nullable=False),
        sa.Column("team", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("city", sa.String(length=50), nullable=False),
        sa.Column("halves", sa.Integer(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("contact", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=50), nullable=False),
        sa.Column("core", sa.JSON(), nullable=False),
        sa.Column("publication_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.ForeignKeyConstraint(["publication_id"], ["publications.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "application_id"),
    )
    op.create_index("ix_site_visits_run_id", "site_visits", ["run_id"])
    op.create_index("ix_site_visits_publication_id", "site_visits", ["publication_id"])


def downgrade() -> None:
    op.drop_index("ix_site_visits_publication_id", table_name="site_visits")
    op.drop_index("ix_site_visits_run_id", table_name="site_visits")
    op.drop_table("site_visits")
