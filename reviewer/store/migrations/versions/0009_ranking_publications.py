"""Ranking sign-off (确认发布): `ranking_publications`, one row per freeze of a stage's ranking (the table,
its SHA-256, who, when, reason, the row it supersedes). Rows are written once: triggers refuse UPDATE
and DELETE on SQLite and PostgreSQL, so a published ranking is superseded by a new row, never edited.

Revision ID: 0009
Revises: 0003
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None

MSG = "a published ranking cannot be changed or deleted: freeze it again with a reason (it supersedes)"


def upgrade() -> None:
    op.create_table(
        "ranking_publications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("table_sha256", sa.String(length=64), nullable=False),
        sa.Column("table", sa.JSON(), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("published_by", sa.String(length=100), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"]),
        sa.ForeignKeyConstraint(["supersedes_id"], ["ranking_publications.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("supersedes_id"),
    )
    op.create_index("ix_ranking_publications_round_id", "ranking_publications", ["round_id"])
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for what in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER ranking_publications_no_{what.lower()} BEFORE {what} ON ranking_publications "
                       f"BEGIN SELECT RAISE(ABORT, '{MSG}'); END")
    elif dialect == "postgresql":
        op.execute(f"""
CREATE FUNCTION reviewer_ranking_publication_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '{MSG}'; END $$""")
        op.execute("CREATE TRIGGER ranking_publications_fixed BEFORE UPDATE OR DELETE ON ranking_publications "
                   "FOR EACH ROW EXECUTE FUNCTION reviewer_ranking_publication_fixed()")
        op.execute("CREATE TRIGGER ranking_publications_no_truncate BEFORE TRUNCATE ON ranking_publications "
                   "FOR EACH STATEMENT EXECUTE FUNCTION reviewer_ranking_publication_fixed()")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS ranking_publications_no_update")
        op.execute("DROP TRIGGER IF EXISTS ranking_publications_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ranking_publications_fixed ON ranking_publications")
        op.execute("DROP TRIGGER IF EXISTS ranking_publications_no_truncate ON ranking_publications")
        op.execute("DROP FUNCTION IF EXISTS reviewer_ranking_publication_fixed()")
    op.drop_index("ix_ranking_publications_round_id", table_name="ranking_publications")
    op.drop_table("ranking_publications")
