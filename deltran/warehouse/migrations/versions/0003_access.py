"""Access: analysts read marts only; operators act through functions, never by direct writes to history.

Revision ID: 0003
Revises: 0002
"""

from deltran.warehouse.schema import run_script

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_script("70_access.sql")


def downgrade() -> None:
    raise NotImplementedError("the warehouse moves forward only: write a new revision")
