"""Readers: the proprietary bank transaction code and its issuer beside a domain code, on entries and details.

Revision ID: 0008
Revises: 0007
"""

from deltran.warehouse.schema import run_script

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_script("68_bank_tx_code_proprietary.sql")


def downgrade() -> None:
    raise NotImplementedError("the warehouse moves forward only: write a new revision")
