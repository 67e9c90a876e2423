"""Exceptions worked by people: the breaks of ``marts.discrepancies`` with their case.

``deltran exceptions list|show|assign|resolve|escalate|reopen`` and the
reconciliation page's actions call these functions. The life of a case:

    open (or expected) --assign--> investigating --resolve--> resolved
                         \\-----------escalate------> escalated --resolve--> resolved
    resolved / escalated --reopen--> open

* assign sets the owner (a case still open moves to investigating: someone works it);
* resolve needs a resolution note, escalate and reopen a note saying why;
* every change is written by :func:`deltran.recon.cases.update` (state row and
  append-only event in one transaction, who and when), so ``marts.discrepancies``
  (a view over the case) and ``marts.discrepancy_events`` show it at once;
* a resolved case whose break comes back in the reconciliation, or comes back
  with other figures, reopens (:func:`reopen_recurred`, actor ``system``); its
  resolution note is kept.

Ids: the one a person types is ``discrepancy_id`` (shown first by the day's
summary, ``list`` and the page). A unique prefix of at least 8 characters is
enough; a payment reference (UETR, EndToEndId, bank reference) is refused with
the ids it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal

import psycopg
from psycopg.rows import class_row

from deltran import db
from deltran.recon import cases
from deltran.recon.breaker import SYSTEM, visible_text

TYPES = ("BalanceMismatch", "MissingTxn", "DuplicateTxn", "AmountMismatch")
AGE_BUCKETS = ("0-1", "2-7", "8-30", ">30")
TO_WORK = ("open", "expected", "investigating", "escalated")  # what `list` shows unless told otherwise
MIN_PREFIX = 8

# action -> (states it applies to, the state it leads to; None: open/expected -> investigating, else unchanged)
ACTIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "assign": (("open", "expected", "investigating", "escalated"), None),
    "resolve": (("open", "expected", "investigating", "escalated"), "resolved"),
    "escalate": (("open", "expected", "investigating"), "escalated"),
    "reopen": (("resolved", "escalated"), "open"),
}


class ExceptionError(cases.CaseError):
    """A refused exception action or an unknown id; the message says why."""


@dataclass(frozen=True)
class Filter:
    """Which exceptions: every field given must match (None: any). ``state`` None: those still to work."""

    account: str | None = None
    type: str | None = None
    age: str | None = None  # ageing bucket: 0-1, 2-7, 8-30, >30 (days)
    owner: str | None = None
    state: str | None = None  # one of cases.STATES, 'expected', or 'all'
    severity: str | None = None
    business_date: date | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))

    def check(self) -> None:
        if self.type is not None and self.type not in TYPES:
            raise ExceptionError(f"type must be one of {', '.join(TYPES)}, not {self.type!r}")
        if self.age is not None and self.age not in AGE_BUCKETS:
            raise ExceptionError(f"age bucket must be one of {', '.join(AGE_BUCKETS)}, not {self.age!r}")
        if self.state is not None and self.state not in (*cases.STATES, "expected", "all"):
            raise ExceptionError(f"state must be one of {', '.join(cases.STATES)}, expected or all")


@dataclass(frozen=True)
class Item:
    discrepancy_id: str
    discrepancy_type: str
    side: str | None
    missing_from: str | None
    account_id: str | None
    currency: str | None
    business_date: date | None
    difference: Decimal | None
    severity: str | None
    state: str
    owner: str
    resolution_note: str | None
    state_updated_at: datetime | None
    age_days: int | None
    ageing_bucket: str | None
    reference: str | None  # UETR, else EndToEndId, else the bank's or the ledger's reference


# marts.discrepancies already reads the current case; joining it again here keeps a mart
# built as a table (a warehouse whose marts predate the view) just as current
_ITEM_COLUMNS = """
    d.discrepancy_id, d.discrepancy_type, d.side, d.missing_from, d.account_id, d.currency::text as currency,
    d.business_date, d.difference, d.severity, coalesce(c.state, d.state) as state,
    coalesce(c.owner, d.owner) as owner, coalesce(c.resolution_note, d.resolution_note) as resolution_note,
    coalesce(c.updated_at, d.state_updated_at) as state_updated_at, d.age_days, d.ageing_bucket,
    coalesce(d.uetr, d.end_to_end_id, d.acct_svcr_ref, d.ledger_entry_id) as reference
"""
_FROM = "marts.discrepancies as d left join control.discrepancy_cases as c using (discrepancy_id)"


def find(conn: psycopg.Connection, wanted: Filter = Filter()) -> list[Item]:
    """The exceptions matching ``wanted``, oldest business date first."""
    wanted.check()
    state = wanted.state
    states = list(TO_WORK) if state is None else None if state == "all" else [state]
    cur = conn.cursor(row_factory=class_row(Item))
    return cur.execute(
        f"""
        select * from (select {_ITEM_COLUMNS} from {_FROM}) as d
        where (%(account)s::text is null or d.account_id = %(account)s)
          and (%(type)s::text is null or d.discrepancy_type = %(type)s)
          and (%(age)s::text is null or d.ageing_bucket = %(age)s)
          and (%(owner)s::text is null or d.owner = %(owner)s)
          and (%(severity)s::text is null or d.severity = %(severity)s)
          and (%(day)s::date is null or d.business_date = %(day)s)
          and (%(states)s::text[] is null or d.state = any(%(states)s))
        order by d.business_date nulls last, d.account_id, d.discrepancy_type, d.discrepancy_id
        """,
        {
            "account": wanted.account,
            "type": wanted.type,
            "age": wanted.age,
            "owner": wanted.owner,
            "severity": wanted.severity,
            "day": wanted.business_date,
            "states": states,
        },
    ).fetchall()


def resolve_id(conn: psycopg.Connection, text: str) -> str:
    """The discrepancy_id a person meant: the id itself, or a unique prefix of it (8 characters or more)."""
    wanted = (text or "").strip()
    if not wanted:
        raise ExceptionError("give an exception id (the first column of `deltran exceptions list`)")
    if db.one(conn.execute("select count(*) from marts.discrepancies where discrepancy_id = %s", (wanted,)))[0]:
        return wanted
    if len(wanted) >= MIN_PREFIX:
        found = conn.execute(
            "select discrepancy_id from marts.discrepancies where discrepancy_id like %s || '%%' limit 2",
            (wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"),),
        ).fetchall()
        if len(found) == 1:
            return str(found[0][0])
        if len(found) > 1:
            raise ExceptionError(f"{wanted!r} is the start of more than one exception id: give more of it")
    by_reference = conn.execute(
        "select discrepancy_id from marts.discrepancies"
        " where %s in (uetr, end_to_end_id, acct_svcr_ref, bank_entry_id, ledger_entry_id, journal_id)"
        " order by discrepancy_id",
        (wanted.lower() if len(wanted) == 36 else wanted,),
    ).fetchall()
    if by_reference:
        ids = ", ".join(r[0] for r in by_reference)
        raise ExceptionError(f"{wanted!r} is a payment reference, not an exception id; its exception id(s): {ids}")
    raise ExceptionError(
        f"no exception {wanted!r} (the id is the first column of `deltran exceptions list` and of the day's summary)"
    )


def show(conn: psycopg.Connection, text: str) -> tuple[Item, list[tuple]]:
    """One exception and its history (at, actor, from, to, owner, note), oldest first."""
    discrepancy_id = resolve_id(conn, text)
    cur = conn.cursor(row_factory=class_row(Item))
    item = db.one(cur.execute(f"select {_ITEM_COLUMNS} from {_FROM} where d.discrepancy_id = %s", (discrepancy_id,)))
    return item, cases.history(conn, discrepancy_id)


@dataclass(frozen=True)
class Outcome:
    """What an action did to each exception it was asked to change."""

    changed: list[cases.CaseChange]
    skipped: list[tuple[str, str]]  # (discrepancy_id, why)


def act(
    conn: psycopg.Connection,
    action: str,
    ids: list[str],
    *,
    actor: str,
    note: str | None = None,
    owner: str | None = None,
) -> Outcome:
    """Apply ``action`` (assign, resolve, escalate, reopen) to each id; one transaction per exception.

    An exception the action does not apply to (e.g. reopening an open one) is
    skipped and said so; a missing note, owner or actor refuses the whole action.
    """
    if action not in ACTIONS:
        raise ExceptionError(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
    if not visible_text(actor) or visible_text(actor).lower() == SYSTEM:
        raise ExceptionError("a person's name is required (--by NAME); 'system' is the platform's")
    if action == "assign" and not visible_text(owner):
        raise ExceptionError("assigning needs the new owner (--owner NAME)")
    if action != "assign" and not visible_text(note):
        what = "a resolution note" if action == "resolve" else "a note saying why"
        raise ExceptionError(f"{action} needs {what} (--note TEXT)")
    if not ids:
        raise ExceptionError(f"{action}: no exception matches")
    allowed, target = ACTIONS[action]
    changed: list[cases.CaseChange] = []
    skipped: list[tuple[str, str]] = []
    for discrepancy_id in ids:
        try:
            with conn.transaction():
                row = conn.execute(
                    f"select coalesce(c.state, d.state) from {_FROM} where d.discrepancy_id = %s", (discrepancy_id,)
                ).fetchone()
                if row is None:
                    raise ExceptionError("not in marts.discrepancies")
                state = row[0]
                if state not in allowed:
                    raise ExceptionError(f"is {state}: {action} applies to {', '.join(allowed)}")
                new_state = target or ("investigating" if state in ("open", "expected") else state)
                changed.append(
                    cases.update(
                        conn,
                        discrepancy_id,
                        actor=actor,
                        state=new_state,
                        owner=owner.strip() if owner and visible_text(owner) else None,
                        note=note.strip() if note and visible_text(note) else None,
                    )
                )
        except cases.CaseError as exc:
            skipped.append((discrepancy_id, str(exc)))
    return Outcome(changed, skipped)


def reopen_recurred(conn: psycopg.Connection) -> list[cases.CaseChange]:
    """Reopen every resolved case whose break is back in the reconciliation (actor ``system``).

    Back: the break is in ``marts.discrepancies`` with other figures than when it
    was resolved or last seen, or again after it had gone. A resolved break
    that is simply still there with the same figures stays resolved. Its
    resolution note is kept; the event says why it reopened. Run after every
    build of the marts (deltran.pipeline.build_marts); idempotent.
    """
    reopened: list[cases.CaseChange] = []
    with conn.transaction():
        rows = conn.execute(
            f"""
            select c.discrepancy_id, c.owner, c.break_fingerprint, {cases.FINGERPRINT} as now_fingerprint,
                   d.business_date, d.difference, d.currency::text
            from control.discrepancy_cases as c
            left join marts.discrepancies as d using (discrepancy_id)
            where c.state = 'resolved'
            for update of c
            """
        ).fetchall()
        for discrepancy_id, owner, before, now, day, difference, currency in rows:
            if now is None:
                if before is not None:  # the break is gone: remember it, so its return is seen
                    conn.execute(
                        "update control.discrepancy_cases set break_fingerprint = null where discrepancy_id = %s",
                        (discrepancy_id,),
                    )
                continue
            if now == before:
                continue
            note = (
                f"recurred: the break is back in the reconciliation (business date {day}, difference "
                f"{difference} {currency or ''}".rstrip()
                + ") after it was resolved"
            )
            conn.execute(
                "update control.discrepancy_cases set state = 'open', updated_at = now(), updated_by = %s,"
                " break_fingerprint = %s where discrepancy_id = %s",
                (SYSTEM, now, discrepancy_id),
            )
            conn.execute(
                "insert into control.discrepancy_case_events (discrepancy_id, from_state, to_state, owner, note, actor)"
                " values (%s, 'resolved', 'open', %s, %s, %s)",
                (discrepancy_id, owner, note, SYSTEM),
            )
            reopened.append(cases.CaseChange(discrepancy_id, "resolved", "open", owner, note))
    return reopened
