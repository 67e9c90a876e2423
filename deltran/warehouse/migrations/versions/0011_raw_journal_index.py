"""Raw: an index on the ledger lines' journal, for daily runs that check only the journals they restate.

Revision ID: 0011
Revises: 0010
"""

from deltran.warehouse.schema import run_script

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_script("72_raw_journal_index.sql")


def downgrade() -> None:
    raise NotImplementedError("the warehouse moves forward only: write a new revision")
