"""The end-of-day summary a person reads: levels, breaks, breakers, quarantine.

Read from the marts and control tables only (what analysts see too), so the
summary can never disagree with the warehouse.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import psycopg
from psycopg.rows import dict_row


def eod_summary(conn: psycopg.Connection, business_date: date) -> dict:
    cur = conn.cursor(row_factory=dict_row)
    accounts = cur.execute(
        "select account_id, currency, servicer_bic, ledger_balance, bank_closing_balance, difference,"
        " difference_pct, threshold_level from marts.account_reconciliation"
        " where business_date = %s order by servicer_bic, currency, account_id",
        (business_date,),
    ).fetchall()
    breaks = cur.execute(
        "select discrepancy_type, side, account_id, currency, difference, severity, state,"
        " coalesce(uetr, end_to_end_id, acct_svcr_ref, ledger_entry_id) as reference"
        " from marts.discrepancies where business_date = %s"
        " order by discrepancy_type, account_id, reference",
        (business_date,),
    ).fetchall()
    breakers = cur.execute(
        "select account_id, state, since, reason from control.circuit_breakers where state = 'open' order by account_id"
    ).fetchall()
    gate = cur.execute(
        "select account_id, payouts_allowed, reason from control.payout_gate where not payouts_allowed order by account_id"
    ).fetchall()
    quarantined = cur.execute(
        "select file_name, error from raw.quarantined_files order by quarantined_at, file_name"
    ).fetchall()
    return {
        "business_date": business_date.isoformat(),
        "accounts": accounts,
        "discrepancies": breaks,
        "open_breakers": breakers,
        "payouts_halted": gate,
        "quarantined_files": quarantined,
    }


def _money(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:,}"


def format_summary(summary: dict) -> str:
    lines = [f"End-of-day reconciliation for {summary['business_date']}", ""]
    lines.append(f"{'account':<26} {'ccy':<4} {'bank':<12} {'ledger':>20} {'bank closing':>20} {'diff %':>10}  level")
    for row in summary["accounts"]:
        lines.append(
            f"{row['account_id']:<26} {row['currency']:<4} {row['servicer_bic'] or '-':<12}"
            f" {_money(row['ledger_balance']):>20} {_money(row['bank_closing_balance']):>20}"
            f" {row['difference_pct']:>10.4f}  {row['threshold_level']}"
        )
    if not summary["accounts"]:
        lines.append("(no end-of-day statement for this date)")
    lines += ["", f"Discrepancies ({len(summary['discrepancies'])}):"]
    for row in summary["discrepancies"]:
        side = f" ({row['side']} side)" if row["side"] else ""
        lines.append(
            f"  {row['discrepancy_type']:<16}{side:<13} {row['account_id']:<26} {row['currency']}"
            f" {_money(row['difference']):>16}  {row['severity']:<11} {row['state']:<8} {row['reference'] or ''}"
        )
    lines += ["", f"Open circuit breakers ({len(summary['open_breakers'])}):"]
    for row in summary["open_breakers"]:
        lines.append(f"  {row['account_id']:<26} open since {row['since']:%Y-%m-%d %H:%M} UTC: {row['reason']}")
    lines += ["", f"Payouts halted or suspended ({len(summary['payouts_halted'])}):"]
    for row in summary["payouts_halted"]:
        lines.append(f"  {row['account_id']:<26} {row['reason']}")
    lines += ["", f"Quarantined files ({len(summary['quarantined_files'])}):"]
    for row in summary["quarantined_files"]:
        lines.append(f"  {row['file_name']}: {row['error']}")
    return "\n".join(lines)
