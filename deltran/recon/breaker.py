"""Circuit breakers and payout suspensions (DOMAIN.md, Thresholds and Circuit breaker).

State lives in the ``control`` schema (``warehouse/sql/20_control.sql``):

* ``control.circuit_breakers``: one row per known account plus the network
  switch ``'*'``; ``closed`` (payouts allowed) or ``open`` (halted).
* ``control.payout_suspensions``: per account, whether a Significant check has
  suspended payouts.
* ``control.circuit_breaker_events``: every change of either, append-only.
* ``control.payout_gate``: the view consumers read before paying out.

Rules, applied per account by :func:`apply_check` from the level a threshold
check decided:

* Critical opens the account's breaker (actor ``system``, with the check, run,
  business date and level). It stays open whatever later checks say; only
  :func:`reset` (a person, with a reason) closes it. The same evidence (the same
  mart figures for the same check and date) opens a breaker at most once, so a
  rerun after a reset does not undo the reset; new evidence opens it again.
* Significant suspends payouts; a check of the same or a later business date
  that is OK or Minor lifts the suspension. A check of an older date than the
  latest one applied changes no suspension (backfills do not resurrect the past).
* Minor and OK change nothing else (Minor is recorded as a discrepancy by the
  check itself).

Transactions: every function that changes state runs in ``conn.transaction()``:
on a connection with no transaction open it commits when it returns; inside a
caller's transaction it is a savepoint of it (a check run applies all accounts
and records its results in one transaction). A state change and its event are
always written together, under a row lock on the scope.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Iterable

import psycopg
from psycopg.rows import class_row

from deltran import db
from deltran.config import LEVELS

NETWORK = "*"  # account_id of the network-wide switch
SYSTEM = "system"  # actor of automatic changes


class BreakerError(Exception):
    """A breaker operation that is refused; the message says why, for the person at the CLI."""


@dataclass(frozen=True)
class Event:
    event_id: int
    account_id: str
    kind: str  # 'breaker' | 'suspension'
    from_state: str
    to_state: str
    at: datetime
    actor: str
    reason: str
    check_name: str | None
    run_id: str | None
    business_date: date | None
    level: str | None

    def __str__(self) -> str:
        origin = f" [{self.check_name} run {self.run_id} {self.business_date} {self.level}]" if self.check_name else ""
        return (
            f"#{self.event_id} {_ts(self.at)} {_scope(self.account_id)} {self.kind} "
            f"{self.from_state} -> {self.to_state} by {self.actor}: {self.reason}{origin}"
        )


@dataclass(frozen=True)
class CheckOutcome:
    """What one threshold check decided about one account, as the breaker needs it."""

    account_id: str
    level: str  # one of deltran.config.LEVELS
    business_date: date
    check_name: str
    run_id: str
    reason: str  # what the event will say, e.g. the figures and failed expectations
    evidence: str  # fingerprint of the figures the level was decided on


_EVENT_COLUMNS = (
    "event_id, account_id, kind, from_state, to_state, at, actor, reason, check_name, run_id, business_date, level"
)


def _ts(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


def _scope(account_id: str) -> str:
    return "network switch '*'" if account_id == NETWORK else f"account {account_id}"


def visible_text(value: str | None) -> str:
    """``value`` without spaces, control and invisible format characters (zero-width space, BOM, ...)."""
    return "".join(
        ch
        for ch in (value or "")
        if not ch.isspace() and unicodedata.category(ch) not in ("Cc", "Cf", "Zs", "Zl", "Zp")
    )


def _required(value: str | None, what: str, action: str) -> str:
    text = (value or "").strip()
    if not visible_text(text):
        raise BreakerError(f"{action} needs a non-empty {what} (visible text)")
    return text


def _person(actor: str | None, action: str) -> str:
    """A person's name: visible, and not the platform's reserved name."""
    actor = _required(actor, "actor", action)
    if visible_text(actor).lower() == SYSTEM:
        raise BreakerError(f"{action}: '{SYSTEM}' is reserved for the platform; give a person's name")
    return actor


def _change(
    conn: psycopg.Connection,
    account_id: str,
    kind: str,
    from_state: str,
    to_state: str,
    actor: str,
    reason: str,
    outcome: CheckOutcome | None = None,
) -> Event:
    """Append the event and apply it, through the database function that is the only way to do
    either (control.change_breaker / control.change_suspension; a plain UPDATE of state is refused)."""
    function = "control.change_breaker" if kind == "breaker" else "control.change_suspension"
    cur = conn.cursor(row_factory=class_row(Event))
    cur.execute(
        f"select {_EVENT_COLUMNS} from {function}(%s, %s, %s, %s, %s, %s, %s, %s::date, %s, %s)",
        (
            account_id,
            from_state,
            to_state,
            actor,
            reason,
            outcome.check_name if outcome else None,
            outcome.run_id if outcome else None,
            outcome.business_date if outcome else None,
            outcome.level if outcome else None,
            outcome.evidence if outcome else None,
        ),
    )
    return db.one(cur)


def _lock_breaker(conn: psycopg.Connection, account_id: str) -> tuple[str, datetime, str] | None:
    return conn.execute(
        "select state, since, reason from control.circuit_breakers where account_id = %s for update",
        (account_id,),
    ).fetchone()


def register_accounts(conn: psycopg.Connection, account_ids: Iterable[str]) -> None:
    """Make accounts known (closed breaker, no suspension); known ones are left as they are."""
    ids = sorted(set(account_ids))
    if NETWORK in ids:
        raise BreakerError("'*' is the network switch, not an account")
    with conn.transaction():
        with conn.cursor() as cur:
            cur.executemany("select control.register_account(%s)", [(a,) for a in ids])


def apply_check(conn: psycopg.Connection, outcome: CheckOutcome) -> list[Event]:
    """Apply one account's threshold level to its breaker and suspension; returns new events.

    Idempotent: applying the same outcome twice changes nothing the second time.
    """
    return apply_checks(conn, [outcome])


def apply_checks(conn: psycopg.Connection, outcomes: Iterable[CheckOutcome]) -> list[Event]:
    """:func:`apply_check` for many accounts, in one transaction."""
    outcomes = list(outcomes)
    for outcome in outcomes:
        if outcome.level not in LEVELS:
            raise ValueError(f"unknown level {outcome.level!r}; expected one of {LEVELS}")
    events: list[Event] = []
    with conn.transaction():
        register_accounts(conn, [o.account_id for o in outcomes])
        for outcome in sorted(outcomes, key=lambda o: o.account_id):  # one lock order for all
            events += _apply(conn, outcome)
    return events


def _apply(conn: psycopg.Connection, outcome: CheckOutcome) -> list[Event]:
    events: list[Event] = []
    current = conn.execute(
        """
        select b.state, s.is_suspended, s.as_of_date
        from control.circuit_breakers as b
        join control.payout_suspensions as s on s.account_id = b.account_id
        where b.account_id = %s
        for update
        """,
        (outcome.account_id,),
    )
    state, is_suspended, as_of_date = db.one(current)

    if outcome.level == "Critical" and state == "closed":
        already_acted_on = conn.execute(
            """
            select 1 from control.circuit_breaker_events
            where account_id = %s and kind = 'breaker' and to_state = 'open' and evidence = %s
            limit 1
            """,
            (outcome.account_id, outcome.evidence),
        ).fetchone()
        if not already_acted_on:
            events.append(
                _change(conn, outcome.account_id, "breaker", "closed", "open", SYSTEM, outcome.reason, outcome)
            )

    if as_of_date is not None and outcome.business_date < as_of_date:
        return events  # a newer date has already decided the suspension
    change = None
    if outcome.level == "Significant" and not is_suspended:
        change = ("allowed", "suspended")
    elif outcome.level in ("OK", "Minor") and is_suspended:
        change = ("suspended", "allowed")
    if change:
        reason = outcome.reason if change[1] == "suspended" else f"lifted: {outcome.reason}"
        events.append(_change(conn, outcome.account_id, "suspension", *change, SYSTEM, reason, outcome))
    elif as_of_date is None or as_of_date < outcome.business_date:
        conn.execute("select control.mark_checked(%s, %s)", (outcome.account_id, outcome.business_date))
    return events


def _open(conn: psycopg.Connection, account_id: str, reason: str, actor: str) -> Event:
    reason = _required(reason, "reason", f"opening the breaker of {_scope(account_id)}")
    actor = _person(actor, f"opening the breaker of {_scope(account_id)}")
    with conn.transaction():
        if account_id != NETWORK:
            register_accounts(conn, [account_id])
        current = _lock_breaker(conn, account_id)
        if current is None:
            raise BreakerError(f"no circuit breaker for {_scope(account_id)} (is the control schema set up?)")
        state, since, why = current
        if state == "open":
            raise BreakerError(f"the breaker of {_scope(account_id)} is already open (since {_ts(since)}: {why})")
        event = _change(conn, account_id, "breaker", "closed", "open", actor, reason)
    return event


def open_account(conn: psycopg.Connection, account_id: str, reason: str, actor: str) -> Event:
    """Halt payouts on one account by hand (a person's decision, with a reason)."""
    if account_id == NETWORK:
        return open_network(conn, reason, actor)
    return _open(conn, account_id, reason, actor)


def open_network(conn: psycopg.Connection, reason: str, actor: str) -> Event:
    """Open the network-wide switch: no account may pay out until it is reset."""
    return _open(conn, NETWORK, reason, actor)


def latest_check(conn: psycopg.Connection, account_id: str) -> tuple[str, date, str] | None:
    """(level, business date, run id) of the account's latest check, None when none ran.

    Latest = the check whose figures are the most recent, whatever its tier: an
    end-of-day check describes the end of its business date, a tier-1 or tier-2
    check its cut-off; among equals, the one recorded last.
    """
    tiers = [
        f"select level, business_date, run_id, cutoff_at as as_of, checked_at from tiers.{table}"
        " where account_id = %(a)s and level is not null"
        for table in ("intraday_checks", "notification_checks")
        # (a role that may not read a tier's table, e.g. on a warehouse whose DBA manages the grants, skips it)
        if db.one(
            conn.execute(
                "select to_regclass(%s) is not null and has_table_privilege(to_regclass(%s), 'select')",
                (f"tiers.{table}", f"tiers.{table}"),
            )
        )[0]
    ]
    union = "".join(f" union all {q}" for q in tiers)
    return conn.execute(
        "select level, business_date, run_id from ("
        " select level, business_date, run_id, (business_date + 1)::timestamp at time zone 'UTC' as as_of, checked_at"
        f" from control.threshold_checks where account_id = %(a)s{union}"
        ") as checks order by as_of desc, checked_at desc limit 1",
        {"a": account_id},
    ).fetchone()


FORCED = "forced reset"  # how a forced reset's event starts (the append-only history keeps it)


def reset(conn: psycopg.Connection, account_id: str, reason: str, actor: str, *, force: bool = False) -> Event:
    """Close an open breaker (``'*'``: the network switch): the only way a breaker closes.

    Raises :class:`BreakerError` when the reason or actor is empty, the account is
    unknown, or its breaker is not open, and while the account's latest threshold
    check is still Critical: the break is still there. ``force=True`` closes it
    anyway; the event then says so (its reason starts with ``forced reset``).
    Payout suspensions are not touched: see :func:`resume`.
    """
    reason = _required(reason, "reason", f"resetting the breaker of {_scope(account_id)}")
    actor = _person(actor, f"resetting the breaker of {_scope(account_id)}")
    with conn.transaction():
        current = _lock_breaker(conn, account_id)
        if current is None:
            raise BreakerError(f"no circuit breaker for {_scope(account_id)}: no check has seen this account")
        state, since, _ = current
        if state != "open":
            raise BreakerError(
                f"the breaker of {_scope(account_id)} is already closed (since {_ts(since)}); nothing to reset"
            )
        check = latest_check(conn, account_id) if account_id != NETWORK else None
        if check is not None and check[0] == "Critical":
            level, day, run_id = check
            if not force:
                raise BreakerError(
                    f"the latest check of {_scope(account_id)} is still Critical ({day}, run {run_id}): "
                    "fix the break and let a new check run, or reset with --force (recorded as forced)"
                )
            reason = f"{FORCED} while the latest check ({day}, run {run_id}) is Critical: {reason}"
        event = _change(conn, account_id, "breaker", "open", "closed", actor, reason)
    return event


def resume(conn: psycopg.Connection, account_id: str, reason: str, actor: str) -> Event:
    """Lift an account's payout suspension by a person's decision (recorded like every change).

    A suspension also lifts by itself with a later OK or Minor check (:func:`apply_check`).
    An open breaker is not touched: it needs :func:`reset`.
    """
    reason = _required(reason, "reason", f"resuming payouts of {_scope(account_id)}")
    actor = _person(actor, f"resuming payouts of {_scope(account_id)}")
    if account_id == NETWORK:
        raise BreakerError("the network switch has no suspension: reset it with `deltran breaker reset '*'`")
    with conn.transaction():
        row = conn.execute(
            "select is_suspended, since from control.payout_suspensions where account_id = %s for update",
            (account_id,),
        ).fetchone()
        if row is None:
            raise BreakerError(f"no payout suspension row for {_scope(account_id)}: no check has seen this account")
        if not row[0]:
            raise BreakerError(f"payouts of {_scope(account_id)} are not suspended; nothing to resume")
        event = _change(conn, account_id, "suspension", "suspended", "allowed", actor, f"resumed by hand: {reason}")
    return event


def reset_network(conn: psycopg.Connection, reason: str, actor: str) -> Event:
    """Close the network-wide switch."""
    return reset(conn, NETWORK, reason, actor)


def payouts_allowed(conn: psycopg.Connection, account_id: str) -> tuple[bool, str | None]:
    """What ``control.payout_gate`` says for one account; unknown accounts are not allowed."""
    row = conn.execute(
        "select payouts_allowed, reason from control.payout_gate where account_id = %s", (account_id,)
    ).fetchone()
    if row is None:
        return False, f"unknown account {account_id}: no threshold check has seen it"
    return bool(row[0]), row[1]


def history(conn: psycopg.Connection, account_id: str | None = None, limit: int | None = 100) -> list[Event]:
    """The latest events, newest first (all scopes, or one account or '*')."""
    cur = conn.cursor(row_factory=class_row(Event))
    return cur.execute(
        f"""
        select {_EVENT_COLUMNS} from control.circuit_breaker_events
        where %(account)s::text is null or account_id = %(account)s::text
        order by event_id desc
        limit %(limit)s
        """,
        {"account": account_id, "limit": limit},
    ).fetchall()


@dataclass(frozen=True)
class ScopeStatus:
    account_id: str
    breaker: str  # 'open' | 'closed'
    since: datetime
    reason: str
    last_event_id: int | None
    suspended: bool
    suspended_since: datetime | None
    suspension_reason: str | None
    payouts_allowed: bool
    gate_reason: str | None  # why payouts are not allowed (None when allowed)


@dataclass(frozen=True)
class BreakerStatus:
    """Current breakers and suspensions; ``str()`` is the CLI's table."""

    network: ScopeStatus | None
    accounts: tuple[ScopeStatus, ...]

    @property
    def open_breakers(self) -> list[ScopeStatus]:
        return [s for s in self.accounts if s.breaker == "open"]

    @property
    def suspended(self) -> list[ScopeStatus]:
        return [s for s in self.accounts if s.suspended]

    def __str__(self) -> str:
        net = self.network
        lines = [
            "network switch '*': "
            + (f"{net.breaker.upper()} since {_ts(net.since)}: {net.reason}" if net else "MISSING (counts as open)"),
            (
                f"{len(self.accounts)} accounts: {len(self.open_breakers)} breaker(s) open, "
                f"{len(self.suspended)} payout suspension(s), "
                f"{sum(not s.payouts_allowed for s in self.accounts)} not allowed to pay out"
            ),
        ]
        if self.accounts:
            width = max(len("ACCOUNT"), *(len(s.account_id) for s in self.accounts))
            lines.append(f"{'ACCOUNT':<{width}}  BREAKER  SUSPENDED  PAYOUTS  SINCE                    WHY")
            for s in self.accounts:
                since = s.since if s.breaker == "open" or not s.suspended else s.suspended_since
                lines.append(
                    f"{s.account_id:<{width}}  {s.breaker:<7}  {'yes' if s.suspended else 'no':<9}  "
                    f"{'allowed' if s.payouts_allowed else 'halted':<7}  {_ts(since):<23}  {s.gate_reason or '-'}"
                )
        return "\n".join(lines)


def format_status(current: BreakerStatus) -> str:
    """The CLI's table of :func:`status` (the same as ``str(current)``)."""
    return str(current)


def status(conn: psycopg.Connection) -> BreakerStatus:
    """Every scope's breaker, suspension and gate answer (for ``deltran breaker status``)."""
    cur = conn.cursor(row_factory=class_row(ScopeStatus))
    rows = cur.execute(
        """
        select b.account_id, b.state as breaker, b.since, b.reason, b.last_event_id,
               coalesce(s.is_suspended, false) as suspended,
               case when s.is_suspended then s.since end as suspended_since,
               case when s.is_suspended then s.reason end as suspension_reason,
               coalesce(g.payouts_allowed, b.state = 'closed') as payouts_allowed,
               coalesce(g.reason, case when b.state = 'open' then b.reason end) as gate_reason
        from control.circuit_breakers as b
        left join control.payout_suspensions as s on s.account_id = b.account_id
        left join control.payout_gate as g on g.account_id = b.account_id
        order by b.account_id = '*' desc, b.account_id
        """
    ).fetchall()
    network = next((r for r in rows if r.account_id == NETWORK), None)
    return BreakerStatus(network=network, accounts=tuple(r for r in rows if r.account_id != NETWORK))


def account_status(conn: psycopg.Connection, account_id: str) -> tuple[bool, str]:
    """Whether ``account_id`` may be paid out now, and a few lines saying why (``deltran breaker status ACCOUNT``).

    The answer is the payout gate's (network switch, breaker, suspension, age of
    the latest check); an account the gate does not know is not allowed.
    """
    allowed, why = payouts_allowed(conn, account_id)
    scope = next((s for s in status(conn).accounts if s.account_id == account_id), None)
    lines = [f"account {account_id}: payouts {'ALLOWED' if allowed else 'HALTED'}"]
    if scope is None:
        lines.append(f"  why: {why}")
        return allowed, "\n".join(lines)
    lines.append(
        f"  breaker: {scope.breaker} since {_ts(scope.since)}"
        + (f": {scope.reason}" if scope.breaker == "open" else "")
    )
    lines.append(
        f"  suspension: suspended since {_ts(scope.suspended_since)}: {scope.suspension_reason}"
        if scope.suspended
        else "  suspension: none"
    )
    check = latest_check(conn, account_id)
    lines.append(f"  latest check: {check[0]} on {check[1]} (run {check[2]})" if check else "  latest check: none yet")
    if not allowed:
        lines.append(f"  why not: {why}")
    return allowed, "\n".join(lines)
