"""Tier 2: the drift columns described by the rule they now follow (the previous scheduled cut-off).

Revision ID: 0009
Revises: 0008
"""

from deltran.warehouse.schema import run_script

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_script("69_intraday_drift_rule.sql")


def downgrade() -> None:
    raise NotImplementedError("the warehouse moves forward only: write a new revision")
