"""Matching: the ledger's creditor reference; match decisions keyed by the movement's content (bank_movement_key).

Revision ID: 0007
Revises: 0006
"""

from deltran.warehouse.schema import run_script

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_script("67_match_decision_keys.sql")


def downgrade() -> None:
    raise NotImplementedError("the warehouse moves forward only: write a new revision")
