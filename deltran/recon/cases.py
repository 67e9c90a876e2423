"""The workflow of a discrepancy: owner, state, resolution note, history.

A break found by the reconciliation (marts.discrepancies) starts 'open' with
the default owner; a person moves it to investigating, escalated or resolved
(a resolution note is required), and every change is kept in
control.discrepancy_case_events. The marts read the current case through a view,
so a change shows at once and survives every rebuild. The commands people use
(`deltran exceptions ...`, the reconciliation page) are in
:mod:`deltran.recon.exceptions`; :func:`update` is the one write they all go through.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from deltran.recon.breaker import SYSTEM, visible_text

STATES = ("open", "investigating", "resolved", "escalated")
DEFAULT_OWNER = "operations"
# the break's figures (marts.discrepancies as d): a resolved case whose break comes back changed reopens
FINGERPRINT = (
    "case when d.discrepancy_id is not null"
    " then md5(concat_ws('|', d.business_date, d.bank_amount, d.ledger_amount, d.difference)) end"
)


class CaseError(ValueError):
    pass


@dataclass(frozen=True)
class CaseChange:
    discrepancy_id: str
    from_state: str
    to_state: str
    owner: str
    note: str | None


def update(
    conn: psycopg.Connection,
    discrepancy_id: str,
    *,
    actor: str,
    state: str | None = None,
    owner: str | None = None,
    note: str | None = None,
) -> CaseChange:
    """Change a discrepancy's state and/or owner, with a note; recorded with who did it."""
    if state is not None and state not in STATES:
        raise CaseError(f"state must be one of {', '.join(STATES)}, not {state!r}")
    if not visible_text(actor):
        raise CaseError("an actor is required (visible text)")
    if visible_text(actor).lower() == SYSTEM:
        raise CaseError(f"'{SYSTEM}' is reserved for the platform; give a person's name")
    if owner is not None and not visible_text(owner):
        raise CaseError("an owner must be visible text")
    with conn.transaction():
        found = conn.execute(
            # the case table is the truth; the mart's copy is as of its last build
            f"select coalesce(c.state, d.state), c.owner, c.resolution_note, {FINGERPRINT}"
            " from marts.discrepancies as d"
            " left join control.discrepancy_cases as c using (discrepancy_id)"
            " where d.discrepancy_id = %s",
            (discrepancy_id,),
        ).fetchone()
        if found is None:
            raise CaseError(f"no discrepancy {discrepancy_id} in marts.discrepancies")
        current_state, current_owner, current_note, fingerprint = found
        new_state = state or current_state
        new_owner = owner or current_owner or DEFAULT_OWNER
        if new_state == "resolved" and current_state != "resolved" and not visible_text(note):
            raise CaseError("resolving a discrepancy needs a resolution note (--note)")
        # the resolution note is the one given when resolving; it is never erased (a reopened
        # case keeps its last one, and every note stays in the history)
        new_note = (note or current_note) if new_state == "resolved" else current_note
        if (new_state, new_owner, note) == (current_state, current_owner or DEFAULT_OWNER, None):
            raise CaseError(f"{discrepancy_id} is already {current_state}, owned by {new_owner}: nothing to change")
        conn.execute(  # the case and its event together (an operator may not write either directly)
            "select control.record_case_change(%s, %s, %s, %s, %s, %s, %s, %s)",
            (discrepancy_id, current_state, new_state, new_owner, note, new_note, actor, fingerprint),
        )
    return CaseChange(discrepancy_id, current_state, new_state, new_owner, note)


def history(conn: psycopg.Connection, discrepancy_id: str) -> list[tuple]:
    return conn.execute(
        "select at, actor, from_state, to_state, owner, note from control.discrepancy_case_events"
        " where discrepancy_id = %s order by event_id",
        (discrepancy_id,),
    ).fetchall()
