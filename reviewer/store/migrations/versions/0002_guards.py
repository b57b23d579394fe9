"""Database guards: the audit log is append-only; published seats and submitted scores are never
deleted or re-pointed (a published seat may only go active -> replaced, a score only valid -> void).

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

AUDIT_MSG = "audit_log is append-only: entries cannot be changed or deleted"
SEAT_MSG = "published assignments are immutable: record a repair (replacement) instead"
SCORE_MSG = "submitted scores are kept as submitted: submit a correction instead (the old score becomes void)"
PUB_MSG = "a publication cannot be changed or deleted"

SEAT_FIXED = ["panel_id", "stage", "application_id", "expert_id", "role", "origin", "replaces_id", "created_at"]
SCORE_FIXED = ["round_id", "stage", "application_id", "expert_id", "criterion", "family", "score", "confidence",
               "submitted_by", "submitted_at", "source"]


def _sqlite_changed(cols: list[str]) -> str:
    return " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in cols)


def _pg_changed(cols: list[str]) -> str:
    return " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in cols)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table, msg in (("audit_log", AUDIT_MSG), ("publications", PUB_MSG)):
            op.execute(f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{msg}'); END")
            op.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{msg}'); END")
        op.execute(f"CREATE TRIGGER assignments_no_delete BEFORE DELETE ON assignments "
                   f"BEGIN SELECT RAISE(ABORT, '{SEAT_MSG}'); END")
        op.execute(f"CREATE TRIGGER assignments_fixed BEFORE UPDATE ON assignments WHEN "
                   f"{_sqlite_changed(SEAT_FIXED)} OR NOT (NEW.status = OLD.status OR "
                   f"(OLD.status = 'active' AND NEW.status = 'replaced')) "
                   f"BEGIN SELECT RAISE(ABORT, '{SEAT_MSG}'); END")
        op.execute(f"CREATE TRIGGER scores_no_delete BEFORE DELETE ON scores "
                   f"BEGIN SELECT RAISE(ABORT, '{SCORE_MSG}'); END")
        op.execute(f"CREATE TRIGGER scores_fixed BEFORE UPDATE ON scores WHEN "
                   f"{_sqlite_changed(SCORE_FIXED)} OR (OLD.void AND NOT NEW.void) "
                   f"BEGIN SELECT RAISE(ABORT, '{SCORE_MSG}'); END")
    elif dialect == "postgresql":
        op.execute(f"""
CREATE FUNCTION reviewer_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '{AUDIT_MSG}'; END $$""")
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION reviewer_audit_append_only()")
        op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION reviewer_audit_append_only()")
        op.execute(f"""
CREATE FUNCTION reviewer_publication_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '{PUB_MSG}'; END $$""")
        op.execute("CREATE TRIGGER publications_fixed BEFORE UPDATE OR DELETE ON publications "
                   "FOR EACH ROW EXECUTE FUNCTION reviewer_publication_fixed()")
        op.execute(f"""
CREATE FUNCTION reviewer_assignment_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN RAISE EXCEPTION '{SEAT_MSG}'; END IF;
  IF {_pg_changed(SEAT_FIXED)} OR NOT (NEW.status = OLD.status OR (OLD.status = 'active' AND NEW.status = 'replaced'))
  THEN RAISE EXCEPTION '{SEAT_MSG}'; END IF;
  RETURN NEW;
END $$""")
        op.execute("CREATE TRIGGER assignments_guard BEFORE UPDATE OR DELETE ON assignments "
                   "FOR EACH ROW EXECUTE FUNCTION reviewer_assignment_guard()")
        op.execute(f"""
CREATE FUNCTION reviewer_score_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN RAISE EXCEPTION '{SCORE_MSG}'; END IF;
  IF {_pg_changed(SCORE_FIXED)} OR (OLD.void AND NOT NEW.void) THEN RAISE EXCEPTION '{SCORE_MSG}'; END IF;
  RETURN NEW;
END $$""")
        op.execute("CREATE TRIGGER scores_guard BEFORE UPDATE OR DELETE ON scores "
                   "FOR EACH ROW EXECUTE FUNCTION reviewer_score_guard()")
    # other backends: the repository guards alone (reviewer.store.repo never updates these rows)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("audit_log_no_update", "audit_log_no_delete", "publications_no_update", "publications_no_delete",
                     "assignments_no_delete", "assignments_fixed", "scores_no_delete", "scores_fixed"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif dialect == "postgresql":
        for trig, table in (("audit_log_append_only", "audit_log"), ("audit_log_no_truncate", "audit_log"),
                            ("publications_fixed", "publications"), ("assignments_guard", "assignments"),
                            ("scores_guard", "scores")):
            op.execute(f"DROP TRIGGER IF EXISTS {trig} ON {table}")
        for fn in ("reviewer_audit_append_only", "reviewer_publication_fixed", "reviewer_assignment_guard",
                   "reviewer_score_guard"):
            op.execute(f"DROP FUNCTION IF EXISTS {fn}()")
