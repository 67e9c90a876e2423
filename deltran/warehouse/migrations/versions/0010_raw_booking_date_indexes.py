"""Raw: indexes on the booking dates the staging views compute, for daily runs that read only the dates they restate.

Revision ID: 0010
Revises: 0009
"""

from deltran.warehouse.schema import run_script

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_script("71_raw_booking_date_indexes.sql")


def downgrade() -> None:
    raise NotImplementedError("the warehouse moves forward only: write a new revision")
