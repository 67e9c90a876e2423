"""What the reconciliation page reads, as plain rows (no Airflow, no HTML).

Every query reads the warehouse as it is: the marts dbt builds, the control
schema the breaker and the discrepancy workflow write, the clearing schema the
clearing DAG writes. A relation that does not exist yet (a fresh warehouse, a
mart another part of the platform has not built) gives no rows and a note, not
an error: the page must open on any warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from deltran import config, db
from deltran.recon import breaker

LEVEL_RANK = {level: rank for rank, level in enumerate(config.LEVELS)}


def _exists(conn: psycopg.Connection, relation: str) -> bool:
    return db.one(conn.execute("select to_regclass(%s) is not null", (relation,)))[0]


def _rows(conn: psycopg.Connection, query: str, params: Any = None) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


def business_dates(conn: psycopg.Connection, limit: int = 60) -> list[date]:
    """Business dates with an end-of-day reconciliation, newest first."""
    if not _exists(conn, "marts.account_reconciliation"):
        return []
    rows = conn.execute(
        "select distinct business_date from marts.account_reconciliation order by business_date desc limit %s",
        (limit,),
    ).fetchall()
    return [r[0] for r in rows]


@dataclass(frozen=True)
class AccountRow:
    account_id: str
    currency: str | None
    servicer_bic: str | None
    level: str | None  # None: no end-of-day reconciliation of this account on the date
    bank_balance: Decimal | None
    ledger_balance: Decimal | None
    difference: Decimal | None
    difference_pct: Decimal | None
    under_backing_pct: Decimal | None
    payouts_allowed: bool
    gate_reason: str | None
    level_source: str  # 'threshold check' (what GX decided) or 'mart' (dbt's description)

    @property
    def sort_key(self) -> tuple:
        """Worst first: halted, then level, then the size of the difference."""
        rank = LEVEL_RANK.get(self.level or "", len(config.LEVELS))  # unknown level ranks worst of all
        return (self.payouts_allowed, -rank, -(self.difference_pct or Decimal(0)), self.account_id)


def accounts(conn: psycopg.Connection, business_date: date) -> list[AccountRow]:
    """Every account of the registry open on the date (and any in the mart or known to the breaker), worst first.

    The level is the latest threshold check's for the date (what decided the
    breaker); dbt's threshold_level only where no check has run yet.
    """
    has_mart = _exists(conn, "marts.account_reconciliation")
    # every account of the registry (open on the date), also those without their statement yet
    has_registry = _exists(conn, "reference.account_registry")
    registry = (
        "\n            union\n            select account_id from reference.account_registry"
        " where opened_on <= %(d)s and (closed_on is null or closed_on >= %(d)s)"
        if has_registry
        else ""
    )
    registry_table = (
        "reference.account_registry"
        if has_registry
        else "(select null::text as account_id, null::text as currency, null::text as servicing_bank_bic)"
    )
    mart = (
        """
        select account_id, currency::text as currency, servicer_bic, bank_closing_balance, ledger_balance,
               difference, difference_pct, under_backing_pct, threshold_level
        from marts.account_reconciliation where business_date = %(d)s
        """
        if has_mart
        else """
        select null::text as account_id, null::text as currency, null::text as servicer_bic,
               null::numeric as bank_closing_balance, null::numeric as ledger_balance, null::numeric as difference,
               null::numeric as difference_pct, null::numeric as under_backing_pct, null::text as threshold_level
        where false
        """
    )
    rows = _rows(
        conn,
        f"""
        with mart as ({mart}),
        checked as (
            select distinct on (account_id) account_id, level
            from control.threshold_checks
            where business_date = %(d)s
            order by account_id, checked_at desc
        ),
        known as (
            select account_id from mart
            union
            select account_id from control.circuit_breakers where account_id <> '*'{registry}
        )
        select k.account_id, coalesce(m.currency, r.currency) as currency,
               coalesce(m.servicer_bic, r.servicing_bank_bic) as servicer_bic, coalesce(c.level, m.threshold_level) as level,
               m.bank_closing_balance as bank_balance, m.ledger_balance, m.difference, m.difference_pct,
               m.under_backing_pct, coalesce(g.payouts_allowed, false) as payouts_allowed,
               case when g.account_id is null then 'unknown to the payout gate: no threshold check has seen it'
                    else g.reason end as gate_reason,
               case when c.level is not null then 'threshold check' else 'mart' end as level_source
        from known as k
        left join mart as m using (account_id)
        left join {registry_table} as r using (account_id)
        left join checked as c using (account_id)
        left join control.payout_gate as g using (account_id)
        """,
        {"d": business_date},
    )
    return sorted((AccountRow(**r) for r in rows), key=lambda a: a.sort_key)


@dataclass(frozen=True)
class BreakerBoard:
    status: breaker.BreakerStatus
    history: list[breaker.Event]


def breaker_board(conn: psycopg.Connection, history_limit: int = 50) -> BreakerBoard:
    return BreakerBoard(breaker.status(conn), breaker.history(conn, limit=history_limit))


@dataclass(frozen=True)
class ChartPoint:
    at: datetime | date
    difference_pct: Decimal | None
    under_backing_pct: Decimal | None
    level: str | None
    difference: Decimal | None


@dataclass(frozen=True)
class AccountChart:
    account_id: str
    currency: str | None
    source: str  # 'intraday' or 'end of day'
    note: str | None  # said on the page when the intraday mart is not there
    points: list[ChartPoint] = field(default_factory=list)


def account_chart(conn: psycopg.Connection, account_id: str, business_date: date, eod_days: int = 14) -> AccountChart:
    """One account's checks over the day (marts.intraday_checks), else its end-of-day figures.

    The intraday mart has one row per account and cut-off (tier 2). Until it
    exists, or when it has nothing for the day, the chart shows the account's
    end-of-day figures over the last ``eod_days`` business dates, and says so.
    """
    currency = None
    if _exists(conn, "marts.intraday_checks"):
        rows = _rows(
            conn,
            """
            select cutoff_at as at, difference_pct, under_backing_pct, level, difference, currency
            from marts.intraday_checks
            where account_id = %s and business_date = %s
            order by cutoff_at
            """,
            (account_id, business_date),
        )
        if rows:
            currency = rows[0].pop("currency")
            points = [ChartPoint(**{k: v for k, v in r.items() if k != "currency"}) for r in rows]
            return AccountChart(account_id, currency, "intraday", None, points)
        note = f"marts.intraday_checks has no check of {account_id} on {business_date}"
    else:
        note = "marts.intraday_checks does not exist yet (no intraday checks)"
    if not _exists(conn, "marts.account_reconciliation"):
        return AccountChart(account_id, None, "end of day", note + "; no end-of-day figures either", [])
    rows = _rows(
        conn,
        """
        select business_date as at, difference_pct, under_backing_pct, threshold_level as level, difference,
               currency::text as currency
        from marts.account_reconciliation
        where account_id = %s and business_date <= %s
        order by business_date desc
        limit %s
        """,
        (account_id, business_date, eod_days),
    )
    if rows:
        currency = rows[0]["currency"]
    points = [ChartPoint(**{k: v for k, v in r.items() if k != "currency"}) for r in reversed(rows)]
    return AccountChart(
        account_id, currency, "end of day", note + f": end-of-day figures of the last {eod_days} business dates", points
    )


@dataclass(frozen=True)
class ClearingPicture:
    window_closing: datetime
    currency: str
    figures: dict[str, Any]  # the marts.clearing_windows row
    positions: list[dict[str, Any]]  # participant, paid_amount, received_amount, net_amount
    gross: list[dict[str, Any]]  # payer, payee, amount: what each owes each (gross)
    instructions: list[dict[str, Any]]  # payer, payee, amount


def clearing_windows_of(conn: psycopg.Connection, business_date: date) -> list[datetime]:
    """Windows that closed on the business date (00, 06, 12, 18 UTC) and were cleared."""
    if not _exists(conn, "marts.clearing_windows"):
        return []
    start = datetime(business_date.year, business_date.month, business_date.day, tzinfo=UTC)
    rows = conn.execute(
        "select distinct window_closing from marts.clearing_windows"
        " where window_closing >= %s and window_closing < %s order by window_closing",
        (start, start + timedelta(days=1)),
    ).fetchall()
    return [r[0] for r in rows]


def clearing_pictures(conn: psycopg.Connection, window_closing: datetime) -> list[ClearingPicture]:
    """One picture per currency of a window: participants, gross obligations, net positions, instructions."""
    if not _exists(conn, "marts.clearing_windows"):
        return []
    windows = _rows(
        conn,
        "select * from marts.clearing_windows where window_closing = %s order by currency",
        (window_closing,),
    )
    pictures = []
    for w in windows:
        key = (window_closing, w["currency"])
        positions = _rows(
            conn,
            "select participant, paid_amount, received_amount, net_amount from marts.clearing_positions"
            " where window_closing = %s and currency = %s order by net_amount, participant",
            key,
        )
        gross = _rows(
            conn,
            # each pair's two directions as the clearing run recorded them (gross, before netting)
            """
            select party_a as payer, party_b as payee, a_to_b_amount as amount from clearing.bilateral_nets
            where window_closing = %(w)s and currency = %(c)s and a_to_b_amount > 0
            union all
            select party_b, party_a, b_to_a_amount from clearing.bilateral_nets
            where window_closing = %(w)s and currency = %(c)s and b_to_a_amount > 0
            order by 1, 2
            """,
            {"w": window_closing, "c": w["currency"]},
        )
        instructions = _rows(
            conn,
            "select payer, payee, amount from marts.settlement_instructions"
            " where window_closing = %s and currency = %s order by instruction_sequence",
            key,
        )
        pictures.append(ClearingPicture(window_closing, w["currency"].strip(), w, positions, gross, instructions))
    return pictures


@dataclass(frozen=True)
class OpenDiscrepancy:
    discrepancy_id: str
    discrepancy_type: str
    side: str | None
    account_id: str | None
    currency: str | None
    business_date: date | None
    difference: Decimal | None
    severity: str | None
    state: str
    owner: str
    age_days: int | None  # days from its business date to the page's date


def open_discrepancies(conn: psycopg.Connection, business_date: date) -> tuple[list[OpenDiscrepancy], int]:
    """Breaks not resolved up to the date, oldest first; and how many in-flight items are expected.

    State and owner come from the case table first (a person's change since the
    last mart build), as ``deltran discrepancy`` reads them.
    """
    if not _exists(conn, "marts.discrepancies"):
        return [], 0
    rows = _rows(
        conn,
        """
        select d.discrepancy_id, d.discrepancy_type, d.side, d.account_id, d.currency::text as currency,
               d.business_date, d.difference, d.severity,
               coalesce(c.state, d.state) as state, coalesce(c.owner, d.owner, 'operations') as owner,
               %(d)s::date - d.business_date as age_days
        from marts.discrepancies as d
        left join control.discrepancy_cases as c using (discrepancy_id)
        where (d.business_date <= %(d)s or d.business_date is null)
          and coalesce(c.state, d.state) not in ('resolved', 'expected')
        order by d.business_date nulls last, d.discrepancy_id
        """,
        {"d": business_date},
    )
    expected = db.one(
        conn.execute(
            """
        select count(*) from marts.discrepancies as d
        left join control.discrepancy_cases as c using (discrepancy_id)
        where d.business_date <= %s and coalesce(c.state, d.state) = 'expected'
        """,
            (business_date,),
        )
    )[0]
    return [OpenDiscrepancy(**r) for r in rows], expected


@dataclass(frozen=True)
class CheckRun:
    run_id: str
    checked_at: datetime
    gx_success: bool
    level_counts: dict[str, int]
    data_docs_page: Path | None


def check_runs(conn: psycopg.Connection, business_date: date) -> list[CheckRun]:
    """The threshold check runs of the date, newest first, with their Data Docs page."""
    rows = _rows(
        conn,
        "select run_id, checked_at, gx_success, level_counts, data_docs_page from control.threshold_check_runs"
        " where business_date = %s order by checked_at desc",
        (business_date,),
    )
    return [
        CheckRun(
            r["run_id"],
            r["checked_at"],
            r["gx_success"],
            r["level_counts"],
            Path(r["data_docs_page"]) if r["data_docs_page"] else None,
        )
        for r in rows
    ]
