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

A decision names the bank movement by its content key (bank_movement_key:
account, currency, direction, amount, booking date, the bank's references), not
by its position in a statement, so it holds when the same statement is
delivered again; match_id is built from that key and the ledger's entry_id.
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


def _pair(conn: psycopg.Connection, match_id: str) -> tuple[str, str, str, str] | None:
    """(bank_entry_id, bank_movement_key, ledger_entry_id, current state) of a pass-3 pair.

    From the mart (its current bank_entry_id) or from earlier decisions (a rejected
    pair is in no mart); the latest decision says its state.
    """
    found = conn.execute(
        "select m.bank_entry_id, b.bank_movement_key, m.ledger_entry_id, m.match_status"
        " from marts.transaction_matches as m"
        " join intermediate.int_bank_movements_numbered as b using (bank_entry_id)"
        " where m.match_id = %s and m.matched_on in ('amount_date', 'manual')",
        (match_id,),
    ).fetchone()
    latest = conn.execute(
        "select bank_entry_id, bank_movement_key, ledger_entry_id, decision from control.match_decisions"
        " where md5(concat_ws('|', bank_movement_key, ledger_entry_id)) = %s"
        " order by decided_at desc, decision_id desc limit 1",
        (match_id,),
    ).fetchone()
    if latest is not None:  # the decisions are the truth; the mart is as of its last build
        bank_entry_id = found[0] if found else latest[0]
        return bank_entry_id, latest[1], latest[2], "rejected" if latest[3] == "reject" else "confirmed"
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
        bank_entry_id, key, ledger_entry_id, current = pair
        if current == {"confirm": "confirmed", "reject": "rejected"}[decision]:
            raise MatchDecisionError(f"{match_id} is already {current}")
        _record(conn, bank_entry_id, key, ledger_entry_id, decision, reason, actor)
    return Decision(match_id, bank_entry_id, ledger_entry_id, decision, current, reason.strip(), actor.strip())


def _record(
    conn: psycopg.Connection, bank_entry_id: str, key: str, ledger_entry_id: str, decision: str, reason: str, actor: str
) -> str:
    """Append the decision, keyed by the movement's content key; returns the match_id."""
    conn.execute(  # the function appends it (an operator may not write history directly)
        "select control.record_match_decision(%s, %s, %s, %s, %s, %s)",
        (bank_entry_id, key, ledger_entry_id, decision, reason.strip(), actor.strip()),
    )
    return str(db.one(conn.execute("select md5(concat_ws('|', %s::text, %s::text))", (key, ledger_entry_id)))[0])


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
        key = db.one(
            conn.execute(
                "select bank_movement_key from intermediate.int_bank_movements_numbered where bank_entry_id = %s",
                (bank_entry_id,),
            )
        )[0]
        match_id = _record(conn, bank_entry_id, key, ledger_entry_id, "pair", reason, actor)
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
        " where md5(concat_ws('|', bank_movement_key, ledger_entry_id)) = %s order by decision_id",
        (match_id,),
    ).fetchall()
