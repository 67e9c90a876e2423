"""The tamper-evident audit trail: a hash chain over breaker, suspension, case and match-decision events.

Creates control.audit_trail and its append trigger on each history table,
chains the events written before it (oldest first), guards match_decisions
against TRUNCATE and makes every history guard ENABLE ALWAYS.

Revision ID: 0002
Revises: 0001
"""

from deltran.warehouse.schema import run_script

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_script("60_audit_trail.sql")


def downgrade() -> None:
    raise NotImplementedError("the warehouse moves forward only: write a new revision")
