"""Controls worked by people: break fingerprints on cases, alert deliveries (append-only), the operator's reads for a reset.

Revision ID: 0004
Revises: 0003
"""

from deltran.warehouse.schema import run_script

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_script("60_controls_ops.sql")


def downgrade() -> None:
    raise NotImplementedError("the warehouse moves forward only: write a new revision")
