"""Tiers 1 and 2: the bank balance as known at a moment, against the ledger at the same moment.

Tier 1 (:func:`check_notification_file`) runs per camt.054 file: for every
account the file touches, the running bank balance at the file's creation time
and the ledger balance at that time; each notified entry is matched to the
ledger. Tier 2 (:func:`check_cutoff`) runs per cut-off (every 30 minutes): the
same for every registry account open that day.

**The bank balance at T** (one SQL rule for both tiers, the dbt macro ``balances_at_cutoffs``):
the latest booked balance the bank had reported by T, the *anchor* (a camt.052
ITBD, else ITAV, at its time; an OPBD/PRCD at the start of its date; a camt.053
CLBD at the end of its date), plus the credits and minus the debits of every
camt.054 entry booked after the anchor and up to T. An entry notified twice
(the same AcctSvcrRef in two files) counts once. Only messages the bank had
created by T count (their CreDtTm, not when the platform loaded them), so a
backfilled cut-off gives what it gave live, and notifications in any order give
the same balance. The source is ``camt.052`` when the anchor is an interim
balance of the day, else ``camt.054`` (the tier-1 running balance on the last
statement), else ``none``.

**The ledger balance at T**: every ledger posting on the account booked up to T
(a re-exported entry counts once, the latest export winning).

**Levels**: the Great Expectations threshold suite (``expectations``) decides,
on exactly these rows, as it does for the end of day; the levels and the
figures go to the breaker through :func:`deltran.recon.breaker.apply_checks`,
so a Significant or Critical notification acts at once. An older cut-off than
one already applied to an account does not move its payout suspension (a rerun
or a backfill of the morning does not undo the afternoon); a Critical always
reaches the breaker, which opens once per evidence.

**Drift** (tier 2): the change of the difference since the previous scheduled
cut-off (T - 30 minutes, the DAG's schedule; none for the day's first, 00:00),
and the day's maximum |difference| over the scheduled cut-offs from 00:00 to T,
all computed by the same rule from the raw data as of each moment, never read
from the stored checks: a cut-off's row depends only on the data as of that
cut-off, whatever ran before it (in order, a backfill after a later cut-off, a
rerun).

Each run replaces its own partition (the file's rows, the cut-off's rows) in
one transaction and touches no other.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from deltran import config, db, numbers
from deltran.recon import breaker, levels

log = logging.getLogger(__name__)

REGISTRY = "reference.account_registry"
TIER1_CHECK = "tier1_notification"
TIER2_CHECK = "tier2_intraday"
# Tier 2's schedule (dags/intraday_reconciliation.py: every 30 minutes from 00:00 UTC). A cut-off's drift is
# the change since the scheduled cut-off before it, computed from the raw data as of then (run or not).
CUTOFF_INTERVAL = timedelta(minutes=30)

# The bank balance and the ledger balance of each (account_id, cutoff_at) in
# ``targets``. Parameters: %(accounts)s, %(cutoffs)s (arrays of equal length).
# The rule's one home is the dbt macro dbt/macros/balances_at_cutoffs.sql (dbt unit
# tests hold it); rendered here with the raw tables and the targets as parameters:
# %(accounts)s, %(cutoffs)s (arrays of equal length) and %(settling)s.
_TARGETS = "select * from unnest(%(accounts)s::text[], %(cutoffs)s::timestamptz[]) as t (account_id, cutoff_at)"


@functools.cache
def _balances_sql(macro_path: Path) -> str:
    import jinja2

    template = jinja2.Environment(autoescape=False).from_string(
        macro_path.read_text()
        + "{{ balances_at_cutoffs(targets, settling, accounts, 'raw.bank_statements', 'raw.bank_balances',"
        " 'raw.bank_entries', 'raw.ledger_lines') }}"
    )
    return (
        template.render(targets=_TARGETS, settling="%(settling)s::interval", accounts="%(accounts)s::text[]")
        + "\norder by 1, 2"
    )


@dataclass(frozen=True)
class Balances:
    """What the rule (``balances_at_cutoffs``) says about one account at one cut-off."""

    account_id: str
    cutoff_at: datetime
    as_of: datetime  # cut-off - settling time: both sides are compared as of then
    anchor_type: str | None
    anchor_at: datetime | None
    anchor_balance: Decimal | None
    notified_credits: Decimal
    notified_debits: Decimal
    notified_entries: int
    bank_source: str
    bank_balance: Decimal | None
    ledger_balance: Decimal | None
    ledger_postings: int

    @property
    def difference(self) -> Decimal | None:
        if self.bank_balance is None or self.ledger_balance is None:
            return None
        return self.bank_balance - self.ledger_balance

    def percentages(self) -> tuple[Decimal, Decimal]:
        """(difference_pct, under_backing_pct), as marts.account_reconciliation defines them.

        The denominator is the ledger; a zero ledger falls back to the bank, and
        zero against zero is 0 %. An unknown side gives 0 here: the suite's
        not-null checks on the balances decide such a row (Significant).
        """
        difference_pct, under_backing_pct = levels.percentages(self.bank_balance, self.ledger_balance)
        if difference_pct is None or under_backing_pct is None:
            return Decimal(0), Decimal(0)
        return difference_pct, under_backing_pct


def balances_at(
    conn: psycopg.Connection, targets: Sequence[tuple[str, datetime]], settling: timedelta = timedelta()
) -> list[Balances]:
    """The bank and ledger balances of each (account, cut-off), both as of cut-off - ``settling``."""
    if not targets:
        return []
    with conn.cursor(row_factory=dict_row) as cur:
        # The planner takes the notified entries for a row or two (its estimate of the filters on
        # raw.bank_entries) and loops over all of them for every target: with a day's cut-offs as
        # targets (tier 2's drift) that is targets x entries rows. Hash joins on the account halve it.
        # (A failed query rolls the setting back with its transaction.)
        cur.execute("set enable_nestloop = off")
        rows = cur.execute(
            _balances_sql(config.load().dbt_project_dir / "macros" / "balances_at_cutoffs.sql"),
            {"accounts": [a for a, _ in targets], "cutoffs": [t for _, t in targets], "settling": settling},
        ).fetchall()
        cur.execute("reset enable_nestloop")
    return [Balances(**row) for row in rows]


def registry_accounts(conn: psycopg.Connection, business_date: date) -> dict[str, str]:
    """account_id -> currency of the registry accounts open on ``business_date``."""
    try:
        rows = conn.execute(
            f"select account_id, currency from {REGISTRY}"
            " where opened_on <= %s and (closed_on is null or closed_on >= %s) order by account_id",
            (business_date, business_date),
        ).fetchall()
    except psycopg.errors.UndefinedTable:
        conn.rollback()
        raise TierCheckError(f"{REGISTRY} does not exist: run `deltran dbt seed` (or any dbt build) first") from None
    return {a: c.strip() for a, c in rows}


def _settling(settings: config.Settings) -> timedelta:
    return timedelta(minutes=settings.intraday_settling_minutes)


class TierCheckError(RuntimeError):
    """The check could not run (no registry, GX failed)."""


# --- levels: the threshold suite decides, the breaker acts ------------------------------------------------


def _evidence(check: str, cutoff_at: datetime, row: dict[str, Any]) -> str:
    fields = [check, cutoff_at.isoformat(), row["account_id"]] + [
        "" if row[c] is None else format(Decimal(row[c]).normalize(), "f")
        for c in ("bank_balance", "ledger_balance", "difference_pct", "under_backing_pct")
    ]
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()


def _decide_levels(
    table: str, where: str, params: dict[str, Any], run_id: str, settings: config.Settings, rows: int
) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Run the threshold suite on ``table`` rows matching ``where``; account -> (level, failed checks)."""
    from psycopg import sql

    from deltran.recon.checks import levels_from_validation
    from expectations import checkpoint as gx_checkpoint

    url = db.database_url(settings)
    with db.connect(url) as conn:
        where_sql = sql.SQL(where).format(**{k: sql.Literal(v) for k, v in params.items()}).as_string(conn)
        accounts = [r[0] for r in conn.execute(f"select account_id from {table} where {where_sql}")]
    query = (
        "select account_id, bank_balance as bank_closing_balance, ledger_balance, difference_pct, under_backing_pct"
        f" from {table} where {where_sql}"
    )
    result = gx_checkpoint.run_query_checkpoint(
        query,
        table.replace(".", "_"),
        run_id,
        sqlalchemy_url=db.sqlalchemy_url(url),
        settings=settings,
        max_rows=max(rows, 1),
    )
    ((_, validation),) = result.run_results.items()
    decided, batch_failures = levels_from_validation(validation, accounts, len(accounts))
    if batch_failures:
        log.warning("%s %s failed batch checks: %s", table, params, ", ".join(batch_failures))
    return decided


def _latest_applied(conn: psycopg.Connection, account_ids: Iterable[str]) -> dict[str, datetime]:
    """Per account, the latest cut-off of any tier-1 or tier-2 check that has a level."""
    rows = conn.execute(
        """
        select account_id, max(cutoff_at) from (
            select account_id, cutoff_at from tiers.notification_checks where level is not null
            union all
            select account_id, cutoff_at from tiers.intraday_checks where level is not null
        ) as checks
        where account_id = any(%s)
        group by account_id
        """,
        (list(account_ids),),
    ).fetchall()
    return dict(rows)


def _apply(
    conn: psycopg.Connection,
    check: str,
    run_id: str,
    cutoff_at: datetime,
    rows: dict[str, dict[str, Any]],
    decided: dict[str, tuple[str, tuple[str, ...]]],
) -> list[breaker.Event]:
    """The decided levels to the breaker (a stale cut-off only ever opens a breaker)."""
    latest = _latest_applied(conn, decided)
    outcomes = []
    for account, (level, failed) in sorted(decided.items()):
        row = rows[account]
        stale = latest.get(account) is not None and latest[account] > cutoff_at
        if stale and level != "Critical":
            continue
        pct = row["difference_pct"]
        reason = (
            f"{level} at {cutoff_at:%Y-%m-%d %H:%M} UTC ({check}): bank {numbers.amount(row['bank_balance'], row.get('currency'))}"
            f" vs ledger {numbers.amount(row['ledger_balance'], row.get('currency'))}, difference {numbers.percent(Decimal(pct))}"
            + (f" (failed {', '.join(failed)})" if failed else "")
        )
        outcomes.append(
            breaker.CheckOutcome(
                account_id=account,
                level=level,
                business_date=cutoff_at.astimezone(timezone.utc).date(),
                check_name=check,
                run_id=run_id,
                reason=reason,
                evidence=_evidence(check, cutoff_at, row),
            )
        )
    return breaker.apply_checks(conn, outcomes)


# --- tier 1 -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TierResult:
    partition: str  # "file <id> <name>" or "cut-off <T>"
    cutoff_at: datetime | None
    levels: dict[str, str]
    unknown_accounts: tuple[str, ...] = ()
    events: tuple[breaker.Event, ...] = ()
    matched: int = 0
    entries: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "partition": self.partition,
            "cutoff_at": self.cutoff_at.isoformat() if self.cutoff_at else None,
            "levels": self.levels,
            "unknown_accounts": list(self.unknown_accounts),
            "breaker_changes": [str(e) for e in self.events],
            "entries_matched": f"{self.matched}/{self.entries}",
        }


_MATCH_ENTRIES = """
with entries as (
    select e.file_id, e.statement_id, e.entry_index, e.detail_index, e.account as account_id,
        e.amount,
        e.currency, e.credit_debit,
        coalesce(e.booking_date_time, e.booking_date::timestamp at time zone 'UTC') as booked_at,
        coalesce(e.tx_acct_svcr_ref, e.acct_svcr_ref) as acct_svcr_ref,
        lower(nullif(e.uetr, '')) as uetr,
        nullif(nullif(e.end_to_end_id, ''), 'NOTPROVIDED') as end_to_end_id
    from raw.bank_entries as e
    where e.file_id = %(file_id)s and e.account = any(%(accounts)s::text[])
),

ledger as (
    select distinct on (entry_id) entry_id, account as account_id, amount, currency,
        case side when 'D' then 'CRDT' else 'DBIT' end as bank_direction,
        lower(nullif(uetr, '')) as uetr, nullif(nullif(end_to_end_id, ''), 'NOTPROVIDED') as end_to_end_id,
        nullif(bank_reference, '') as bank_reference
    from raw.ledger_lines
    where account = any(%(accounts)s::text[])
    order by entry_id, file_id desc, line_number desc
)

select e.*, m.entry_id as ledger_entry_id, m.matched_on
from entries as e
left join lateral (
    select l.entry_id,
        case when l.uetr = e.uetr then 'uetr' when l.end_to_end_id = e.end_to_end_id then 'end_to_end_id'
             else 'acct_svcr_ref' end as matched_on
    from ledger as l
    where l.account_id = e.account_id and l.currency = e.currency and l.bank_direction = e.credit_debit
        and l.amount = e.amount
        and (l.uetr = e.uetr or l.end_to_end_id = e.end_to_end_id or l.bank_reference = e.acct_svcr_ref)
    order by (l.uetr = e.uetr) desc nulls last, (l.end_to_end_id = e.end_to_end_id) desc nulls last, l.entry_id
    limit 1
) as m on true
order by e.statement_id, e.entry_index, e.detail_index
"""


def notification_files(conn: psycopg.Connection, pending_only: bool = True) -> list[tuple[int, str]]:
    """Loaded camt.054 files (file_id, name), oldest first; pending = no tier-1 result yet."""
    return conn.execute(
        "select f.file_id, f.file_name from raw.ingested_files as f where f.file_kind = 'camt.054'"
        + (
            " and not exists (select 1 from tiers.notification_checks c where c.file_id = f.file_id)"
            " and not exists (select 1 from tiers.notification_entries n where n.file_id = f.file_id)"
            if pending_only
            else ""
        )
        + " order by f.file_id"
    ).fetchall()


@dataclass
class _FilePartition:
    file_id: int
    name: str
    cutoff_at: datetime
    rows: dict[str, dict[str, Any]]
    unknown: tuple[str, ...]
    matched: int
    entries: int


def _write_notification_partition(file_id: int, run_id: str, settings: config.Settings) -> _FilePartition:
    """One camt.054 file's tier-1 rows (no level yet), replacing its partition in one transaction."""
    with db.connect(db.database_url(settings)) as conn:
        name, kind = conn.execute(
            "select file_name, file_kind from raw.ingested_files where file_id = %s", (file_id,)
        ).fetchone() or (None, None)
        if kind != "camt.054":
            raise TierCheckError(f"file {file_id} ({name}) is not a loaded camt.054 notification")
        headers = conn.execute(
            "select account, max(created_at) from raw.bank_statements where file_id = %s group by account",
            (file_id,),
        ).fetchall()
        cutoff_at = max((c for _, c in headers if c is not None), default=None)
        if cutoff_at is None:
            raise TierCheckError(f"{name}: no creation time (CreDtTm) in the notification")
        business_date = cutoff_at.astimezone(timezone.utc).date()
        registry = registry_accounts(conn, business_date)
        touched = sorted({a for a, _ in headers if a is not None})
        known = [a for a in touched if a in registry]
        unknown = tuple(a for a in touched if a not in registry) + (
            ("(none)",) if None in {a for a, _ in headers} else ()
        )
        if unknown:  # a finding (marts.account_findings), never a reconciliation row
            log.warning("%s: notification for account(s) not in the registry: %s", name, ", ".join(unknown))

        balances = {b.account_id: b for b in balances_at(conn, [(a, cutoff_at) for a in known], _settling(settings))}
        with conn.cursor(row_factory=dict_row) as cur:
            entries = cur.execute(_MATCH_ENTRIES, {"file_id": file_id, "accounts": known}).fetchall()
        rows: dict[str, dict[str, Any]] = {}
        for account in known:
            b = balances[account]
            pct, under = b.percentages()
            mine = [e for e in entries if e["account_id"] == account]
            rows[account] = {
                "file_id": file_id,
                "account_id": account,
                "cutoff_at": cutoff_at,
                "as_of": b.as_of,
                "business_date": business_date,
                "currency": registry[account],
                "anchor_type": b.anchor_type,
                "anchor_at": b.anchor_at,
                "anchor_balance": b.anchor_balance,
                "notified_credits": b.notified_credits,
                "notified_debits": b.notified_debits,
                "notified_entries": b.notified_entries,
                "bank_balance": b.bank_balance,
                "ledger_balance": b.ledger_balance,
                "difference": b.difference,
                "difference_pct": pct,
                "under_backing_pct": under,
                "file_entries": len(mine),
                "file_matched": sum(1 for e in mine if e["ledger_entry_id"]),
                "run_id": run_id,
            }
        with conn.transaction():  # the file's partition, replaced whole
            conn.execute("delete from tiers.notification_checks where file_id = %s", (file_id,))
            conn.execute("delete from tiers.notification_entries where file_id = %s", (file_id,))
            _insert(conn, "tiers.notification_checks", list(rows.values()))
            _insert(
                conn,
                "tiers.notification_entries",
                [{k: e[k] for k in _ENTRY_COLUMNS} for e in entries],
            )
    return _FilePartition(
        file_id, name, cutoff_at, rows, unknown, sum(1 for e in entries if e["ledger_entry_id"]), len(entries)
    )


def check_notification_files(
    file_ids: Sequence[int], run_id: str, settings: config.Settings | None = None
) -> list[TierResult]:
    """Tier 1 for loaded camt.054 files: each file's partition replaced, then levels decided and applied.

    Files whose accounts do not overlap (the banks' notifications of one
    moment) are validated by the threshold suite together, one checkpoint run
    for the group; each file keeps its own cut-off for the breaker.
    """
    settings = settings or config.load()
    parts = [_write_notification_partition(file_id, run_id, settings) for file_id in dict.fromkeys(file_ids)]
    groups: list[list[_FilePartition]] = []
    for part in (p for p in parts if p.rows):
        group = next((g for g in groups if not any(set(part.rows) & set(other.rows) for other in g)), None)
        if group is None:
            groups.append([part])
        else:
            group.append(part)
    results: dict[int, TierResult] = {
        p.file_id: TierResult(f"file {p.file_id} {p.name}", p.cutoff_at, {}, p.unknown, (), p.matched, p.entries)
        for p in parts
    }
    for group in groups:
        ids = [p.file_id for p in group]
        decided = _decide_levels(
            "tiers.notification_checks",
            "file_id = any({file_ids})",
            {"file_ids": ids},
            run_id,
            settings,
            sum(len(p.rows) for p in group),
        )
        with db.connect(db.database_url(settings)) as conn, conn.transaction():
            for part in group:
                mine = {a: decided[a] for a in part.rows}
                _record_levels(conn, "tiers.notification_checks", "file_id", part.file_id, mine)
                events = _apply(conn, TIER1_CHECK, run_id, part.cutoff_at, part.rows, mine)
                results[part.file_id] = dataclasses.replace(
                    results[part.file_id], levels={a: level for a, (level, _) in mine.items()}, events=tuple(events)
                )
    return [results[p.file_id] for p in parts]


def check_notification_file(file_id: int, run_id: str, settings: config.Settings | None = None) -> TierResult:
    """Tier 1 for one loaded camt.054 file."""
    return check_notification_files([file_id], run_id, settings)[0]


_ENTRY_COLUMNS = (
    "file_id",
    "statement_id",
    "entry_index",
    "detail_index",
    "account_id",
    "amount",
    "currency",
    "credit_debit",
    "booked_at",
    "acct_svcr_ref",
    "uetr",
    "end_to_end_id",
    "ledger_entry_id",
    "matched_on",
)


def _insert(conn: psycopg.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    with conn.cursor() as cur:
        cur.executemany(
            f"insert into {table} ({', '.join(columns)}) values ({', '.join(['%s'] * len(columns))})",
            [tuple(r[c] for c in columns) for r in rows],
        )


def _record_levels(
    conn: psycopg.Connection, table: str, key: str, value: Any, decided: dict[str, tuple[str, tuple[str, ...]]]
) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            f"update {table} set level = %s, failed_expectations = %s where {key} = %s and account_id = %s",
            [(level, list(failed), value, account) for account, (level, failed) in decided.items()],
        )


def check_pending_notifications(run_id: str, settings: config.Settings | None = None) -> list[dict[str, Any]]:
    """Tier 1 for every loaded camt.054 file that has no result yet, oldest first."""
    settings = settings or config.load()
    with db.connect(db.database_url(settings)) as conn:
        pending = notification_files(conn)
    return [r.summary() for r in check_notification_files([file_id for file_id, _ in pending], run_id, settings)]


# --- tier 2 -----------------------------------------------------------------------------------------------


def day_cutoffs(cutoff_at: datetime) -> list[datetime]:
    """The scheduled cut-offs of T's business date (UTC) before T, every :data:`CUTOFF_INTERVAL` from 00:00, then T.

    The previous check of T is the last scheduled cut-off before it (none for the
    day's first); its drift and the day's maximum are taken over these moments.
    """
    cutoff_at = cutoff_at.astimezone(timezone.utc)
    moment = datetime(cutoff_at.year, cutoff_at.month, cutoff_at.day, tzinfo=timezone.utc)
    moments = []
    while moment < cutoff_at:
        moments.append(moment)
        moment += CUTOFF_INTERVAL
    return moments + [cutoff_at]


def check_cutoff(cutoff_at: datetime, run_id: str, settings: config.Settings | None = None) -> TierResult:
    """Tier 2 at ``cutoff_at``: every registry account, its partition of tiers.intraday_checks replaced."""
    settings = settings or config.load()
    cutoff_at = cutoff_at.astimezone(timezone.utc)
    business_date = cutoff_at.date()
    schedule = day_cutoffs(cutoff_at)  # the day's scheduled cut-offs before T, then T
    previous_at = schedule[-2] if len(schedule) > 1 else None
    with db.connect(db.database_url(settings)) as conn:
        registry = registry_accounts(conn, business_date)
        # Drift and the day's maximum from the raw data as of each cut-off, by the same rule, never from
        # the stored checks: a cut-off's row is the same whatever ran before it (a backfill of 10:00 after
        # 14:00, a rerun), and writing it changes no other cut-off's row.
        computed = balances_at(conn, [(a, t) for a in registry for t in schedule], _settling(settings))
        differences = {(b.account_id, b.cutoff_at): b.difference for b in computed}
        balances = [b for b in computed if b.cutoff_at == cutoff_at]
        rows: dict[str, dict[str, Any]] = {}
        for b in balances:
            pct, under = b.percentages()
            difference = b.difference
            prev_diff = None if previous_at is None else differences.get((b.account_id, previous_at))
            drift = None if difference is None or prev_diff is None else difference - prev_diff
            peaks = [abs(d) for t in schedule if (d := differences.get((b.account_id, t))) is not None]
            rows[b.account_id] = {
                "cutoff_at": cutoff_at,
                "account_id": b.account_id,
                "as_of": b.as_of,
                "business_date": business_date,
                "currency": registry[b.account_id],
                "bank_source": b.bank_source,
                "anchor_type": b.anchor_type,
                "anchor_at": b.anchor_at,
                "anchor_balance": b.anchor_balance,
                "notified_credits": b.notified_credits,
                "notified_debits": b.notified_debits,
                "notified_entries": b.notified_entries,
                "bank_balance": b.bank_balance,
                "ledger_balance": b.ledger_balance,
                "ledger_postings": b.ledger_postings,
                "difference": difference,
                "difference_pct": pct,
                "under_backing_pct": under,
                "previous_cutoff_at": previous_at,
                "drift": drift,
                "day_max_abs_difference": max(peaks) if peaks else None,
                "run_id": run_id,
            }
        with conn.transaction():  # the cut-off's partition, replaced whole
            conn.execute("delete from tiers.intraday_checks where cutoff_at = %s", (cutoff_at,))
            _insert(conn, "tiers.intraday_checks", list(rows.values()))
    if not rows:
        return TierResult(f"cut-off {cutoff_at.isoformat()}", cutoff_at, {})
    decided = _decide_levels(
        "tiers.intraday_checks", "cutoff_at = {cutoff}", {"cutoff": cutoff_at}, run_id, settings, len(rows)
    )
    with db.connect(db.database_url(settings)) as conn, conn.transaction():
        _record_levels(conn, "tiers.intraday_checks", "cutoff_at", cutoff_at, decided)
        events = _apply(conn, TIER2_CHECK, run_id, cutoff_at, rows, decided)
    return TierResult(
        f"cut-off {cutoff_at.isoformat()}", cutoff_at, {a: lvl for a, (lvl, _) in decided.items()}, (), tuple(events)
    )


def intraday_timeline(conn: psycopg.Connection, account_id: str, business_date: date) -> list[dict[str, Any]]:
    """One account's tier-2 checks of a day, in order (for the demo summary and operators)."""
    start = datetime(business_date.year, business_date.month, business_date.day, tzinfo=timezone.utc)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            select cutoff_at, bank_source, bank_balance, ledger_balance, difference, difference_pct, drift,
                day_max_abs_difference, level
            from tiers.intraday_checks
            where account_id = %s and cutoff_at >= %s and cutoff_at < %s
            order by cutoff_at
            """,
            (account_id, start, start + timedelta(days=1)),
        ).fetchall()
