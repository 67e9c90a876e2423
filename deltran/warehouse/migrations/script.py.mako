"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from deltran.warehouse.schema import run_script

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_script("NN_name.sql")  # the SQL file this revision applies (deltran/warehouse/sql/)


def downgrade() -> None:
    raise NotImplementedError("the warehouse moves forward only: write a new revision")
