"""Returns carry their own agents (instructing/instructed agent, agents' names) in raw.payment_returns.

Revision ID: 0005
Revises: 0004
"""

from deltran.warehouse.schema import run_script

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_script("65_raw_return_agents.sql")


def downgrade() -> None:
    raise NotImplementedError("the warehouse moves forward only: write a new revision")
