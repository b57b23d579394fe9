"""Registers scoped to the demo round, and the subsidy ledger kept by staff (issue 17, stages17c).

* `scope` on `centre_register`, `tech_centre_register` and `subsidy_ledger`: "" the department's registers,
  "demo" the bundled demo round's own, so its synthetic past centres never occupy a field of a real round.
  Rows written before are the department's ("").
* `document_no` and `reverses_id` on `subsidy_ledger`: the 文号 of a grant staff record, and a reversal of a
  grant (its own row, never an edit; unique, so a grant is reversed once).

Revision ID: 0019
Revises: 0017
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("centre_register", "tech_centre_register"):
        with op.batch_alter_table(table) as b:
            b.add_column(sa.Column("scope", sa.String(20), nullable=False, server_default=""))
    with op.batch_alter_table("subsidy_ledger") as b:
        b.add_column(sa.Column("document_no", sa.String(200), nullable=False, server_default=""))
        b.add_column(sa.Column("reverses_id", sa.Integer(), nullable=True))
        b.add_column(sa.Column("scope", sa.String(20), nullable=False, server_default=""))
        b.create_unique_constraint("uq_subsidy_ledger_reverses_id", ["reverses_id"])
        b.create_foreign_key("fk_subsidy_ledger_reverses_id", "subsidy_ledger", ["reverses_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("subsidy_ledger") as b:
        b.drop_constraint("fk_subsidy_ledger_reverses_id", type_="foreignkey")
        b.drop_constraint("uq_subsidy_ledger_reverses_id", type_="unique")
        b.drop_column("scope")
        b.drop_column("reverses_id")
        b.drop_column("document_no")
    for table in ("tech_centre_register", "centre_register"):
        with op.batch_alter_table(table) as b:
            b.drop_column("scope")
