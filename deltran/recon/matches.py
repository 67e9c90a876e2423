"""A person's decisions on suggested matches (matching pass 3: no shared reference).

A movement and a posting with the same amount, currency, direction and value
date, and no other candidate on either side, are paired as 'suggested'
(marts.transaction_matches). A person confirms or rejects each pair, with a
reason; the decision is appended to control.match_decisions (who, when, why:
never updated or deleted) and the models read the latest decision per pair, so
it holds through every rebuild. A confirmed pair counts as matched; a rejected
one is never suggested again and both sides go back to being breaks. A person
can also pair a lone bank movement with a lone ledger posting of the same
account and currency by hand (`deltran matches pair`, matched_on 'manual');
rejecting that match undoes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from deltran import db

DECISIONS = ("confirm", "reject")


class MatchDecisionError(ValueError):
    pass


@dataclass(frozen=True)
class Decision:
    match_id: str
    bank_entry_id: str
    ledger_entry_id: str
    decision: str
    previous: str  # suggested, confirmed or rejected before this decision
    reason: str
    actor: str


def _pair(conn: psycopg.Connection, match_id: str) -> tuple[str, str, str] | None:
    """(bank_entry_id, ledger_entry_id, current state) of a pass-3 pair, from the mart or from earlier decisions."""
    found = conn.execute(
        "select bank_entry_id, ledger_entry_id, match_status from marts.transaction_matches"
        " where match_id = %s and matched_on in ('amount_date', 'manual')",
        (match_id,),
    ).fetchone()
    latest = conn.execute(
        "select bank_entry_id, ledger_entry_id, decision from control.match_decisions"
        " where md5(concat_ws('|', bank_entry_id, ledger_entry_id)) = %s order by decided_at desc, decision_id desc limit 1",
        (match_id,),
    ).fetchone()
    if latest is not None:  # the decisions are the truth; the mart is as of its last build
        return latest[0], latest[1], "rejected" if latest[2] == "reject" else "confirmed"
    return found


def decide(conn: psycopg.Connection, match_id: str, decision: str, *, reason: str, actor: str) -> Decision:
    """Confirm or reject a suggested match; appended with who and why."""
    if decision not in DECISIONS:
        raise MatchDecisionError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    if not (reason or "").strip():
        raise MatchDecisionError("a reason is required (--reason)")
    if not (actor or "").strip():
        raise MatchDecisionError("an actor is required")
    with conn.transaction():
        pair = _pair(conn, match_id)
        if pair is None:
            raise MatchDecisionError(f"no suggested match {match_id} in marts.transaction_matches")
        bank_entry_id, ledger_entry_id, current = pair
        if current == {"confirm": "confirmed", "reject": "rejected"}[decision]:
            raise MatchDecisionError(f"{match_id} is already {current}")
        conn.execute(  # the function appends it (an operator may not write history directly)
            "select control.record_match_decision(%s, %s, %s, %s, %s)",
            (bank_entry_id, ledger_entry_id, decision, reason.strip(), actor.strip()),
        )
    return Decision(match_id, bank_entry_id, ledger_entry_id, decision, current, reason.strip(), actor.strip())


def pair(conn: psycopg.Connection, bank_entry_id: str, ledger_entry_id: str, *, reason: str, actor: str) -> Decision:
    """Pair a lone bank movement with a lone ledger posting by hand; appended with who and why."""
    if not (reason or "").strip():
        raise MatchDecisionError("a reason is required (--reason)")
    if not (actor or "").strip():
        raise MatchDecisionError("an actor is required")
    with conn.transaction():
        lone: dict[str, str] = dict(
            conn.execute(
                "select coalesce(bank_entry_id, ledger_entry_id), (account_id, currency, match_status)::text"
                " from intermediate.int_bank_entries_matched_to_ledger"
                " where (bank_entry_id = %s and ledger_entry_id is null) or (ledger_entry_id = %s and bank_entry_id is null)",
                (bank_entry_id, ledger_entry_id),
            ).fetchall()
        )
        bank, ledger = lone.get(bank_entry_id, ""), lone.get(ledger_entry_id, "")
        if not bank.endswith(",bank_only)"):
            raise MatchDecisionError(f"bank movement {bank_entry_id} is not alone (bank_only): {bank or 'not found'}")
        if not ledger.endswith(",ledger_only)"):
            raise MatchDecisionError(
                f"ledger posting {ledger_entry_id} is not alone (ledger_only): {ledger or 'not found'}"
            )
        if bank.rsplit(",", 1)[0] != ledger.rsplit(",", 1)[0]:
            raise MatchDecisionError(f"not the same account and currency: {bank} vs {ledger}")
        conn.execute(
            "select control.record_match_decision(%s, %s, 'pair', %s, %s)",
            (bank_entry_id, ledger_entry_id, reason.strip(), actor.strip()),
        )
        match_id = db.one(
            conn.execute("select md5(concat_ws('|', %s::text, %s::text))", (bank_entry_id, ledger_entry_id))
        )[0]
    return Decision(match_id, bank_entry_id, ledger_entry_id, "pair", "unmatched", reason.strip(), actor.strip())


def waiting(conn: psycopg.Connection, account_id: str | None = None) -> list[tuple]:
    """Suggested matches waiting for a person, oldest first."""
    return conn.execute(
        "select match_id, account_id, business_date, currency, bank_amount, ledger_amount, amount_difference,"
        " bank_acct_svcr_ref, ledger_entry_id from marts.transaction_matches"
        " where match_status = 'suggested' and (%s::text is null or account_id = %s)"
        " order by business_date, account_id, match_id",
        (account_id, account_id),
    ).fetchall()


def history(conn: psycopg.Connection, match_id: str) -> list[tuple]:
    return conn.execute(
        "select decided_at, decided_by, decision, reason from control.match_decisions"
        " where md5(concat_ws('|', bank_entry_id, ledger_entry_id)) = %s order by decision_id",
        (match_id,),
    ).fetchall()
