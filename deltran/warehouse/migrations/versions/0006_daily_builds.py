"""The daily marts' partitions: tiers.daily_builds (builds and restatements) and the indexes a restatement looks up.

Revision ID: 0006
Revises: 0005
"""

from deltran.warehouse.schema import run_script

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_script("66_daily_builds.sql")


def downgrade() -> None:
    raise NotImplementedError("the warehouse moves forward only: write a new revision")
