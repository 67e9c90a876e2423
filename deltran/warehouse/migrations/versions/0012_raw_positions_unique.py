"""Raw: each row's place in its file is unique (ledger line number; a statement movement's position), the grain staging rests on.

Revision ID: 0012
Revises: 0011
"""

from deltran.warehouse.schema import run_script

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_script("73_raw_positions_unique.sql")


def downgrade() -> None:
    raise NotImplementedError("the warehouse moves forward only: write a new revision")
