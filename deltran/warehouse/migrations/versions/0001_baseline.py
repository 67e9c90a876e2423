"""Baseline: the raw, control, clearing and tiers schemas, guards and roles as the SQL scripts made them.

These scripts are idempotent (create if not exists), so the baseline also
adopts a warehouse set up before migrations existed: it converges it and stamps
it. From here on a change of an existing object is a new revision.

Revision ID: 0001
Revises:
"""

from deltran.warehouse.schema import run_script

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCRIPTS = (
    "10_raw.sql",
    "20_control.sql",
    "30_clearing.sql",
    "40_discrepancy_cases.sql",
    "50_control_guards.sql",
    "50_match_decisions.sql",
    "50_tiers.sql",
    "90_roles.sql",
)


def upgrade() -> None:
    for script in SCRIPTS:
        run_script(script)


def downgrade() -> None:
    raise NotImplementedError("the warehouse moves forward only: write a new revision")
