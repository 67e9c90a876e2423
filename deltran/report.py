"""The end-of-day summary a person reads: levels, breaks, breakers, quarantine.

Read from the marts and control tables only (what analysts see too), so the
summary can never disagree with the warehouse.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg
from psycopg.rows import dict_row

from deltran import numbers


def eod_summary(conn: psycopg.Connection, business_date: date) -> dict:
    cur = conn.cursor(row_factory=dict_row)
    accounts = cur.execute(
        "select account_id, currency, servicer_bic, ledger_balance, bank_closing_balance, difference,"
        " difference_pct, threshold_level from marts.account_reconciliation"
        " where business_date = %s order by servicer_bic, currency, account_id",
        (business_date,),
    ).fetchall()
    breaks = cur.execute(
        "select discrepancy_id, discrepancy_type, side, missing_from, ageing_bucket, account_id, currency, difference, severity, state,"
        " coalesce(uetr, end_to_end_id, acct_svcr_ref, ledger_entry_id) as reference"
        " from marts.discrepancies where business_date = %s"
        " order by discrepancy_type, account_id, reference",
        (business_date,),
    ).fetchall()
    matching = cur.execute(
        "select account_id, currency, bank_movement_count, confirmed_movement_count, suggested_count, auto_match_rate,"
        " in_flight_difference, missing_difference, duplicate_difference, amount_difference, unexplained_difference"
        " from marts.account_reconciliation where business_date = %s order by servicer_bic, currency, account_id",
        (business_date,),
    ).fetchall()
    suggested = cur.execute(
        "select match_id, account_id, currency, bank_amount, ledger_amount, amount_difference, bank_acct_svcr_ref,"
        " ledger_entry_id from marts.transaction_matches where match_status = 'suggested' and business_date <= %s"
        " order by business_date, account_id, match_id",
        (business_date,),
    ).fetchall()
    breakers = cur.execute(
        "select account_id, state, since, reason from control.circuit_breakers where state = 'open' order by account_id"
    ).fetchall()
    gate = cur.execute(
        "select account_id, payouts_allowed, reason from control.payout_gate"
        " where not payouts_allowed order by account_id"
    ).fetchall()
    windows = (
        cur.execute(
            "select window_closing, currency, obligation_count, late_count, gross_amount, net_amount,"
            " netting_efficiency_pct, instruction_count, instruction_bound, cap_breach_count"
            " from marts.clearing_windows where (window_closing at time zone 'UTC')::date = %s"
            " order by window_closing, currency",
            (business_date,),
        ).fetchall()
        if _exists(cur, "marts.clearing_windows")
        else []
    )
    quarantined = cur.execute(
        "select file_name, error from raw.quarantined_files order by quarantined_at, file_name"
    ).fetchall()
    return {
        "business_date": business_date.isoformat(),
        "accounts": accounts,
        "discrepancies": breaks,
        "matching": matching,
        "suggested_matches": suggested,
        "open_breakers": breakers,
        "payouts_halted": gate,
        "clearing_windows": windows,
        "quarantined_files": quarantined,
        "threshold_checks": threshold_check_runs(cur, business_date),
    }


def threshold_check_runs(cur: psycopg.Cursor[Any], business_date: date) -> list[Any]:
    """Each threshold check run of the day, with its own Data Docs page (where risk and audit read it)."""
    if not _exists(cur, "control.threshold_check_runs"):
        return []
    return cur.execute(
        "select run_id, checked_at at time zone 'UTC' as checked_at, gx_success,"
        " coalesce(data_docs_page, data_docs_index) as data_docs"
        " from control.threshold_check_runs where business_date = %s order by checked_at, run_id",
        (business_date,),
    ).fetchall()


def format_check_runs(runs: list[Any]) -> list[str]:
    lines = [f"Threshold checks ({len(runs)}), each run's Data Docs page:"]
    for row in runs:
        verdict = "passed" if row["gx_success"] else "failed expectations"
        lines.append(f"  {row['checked_at']:%Y-%m-%d %H:%M} UTC  {row['run_id']}  {verdict}  {row['data_docs']}")
    return lines


def _exists(cur: psycopg.Cursor[Any], table: str) -> bool:
    found = cur.execute("select to_regclass(%s) is not null as found", (table,)).fetchone()
    return bool(found and found["found"])


def format_summary(summary: dict) -> str:
    lines = [f"End-of-day reconciliation for {summary['business_date']}", ""]
    lines.append(f"{'account':<26} {'ccy':<4} {'bank':<12} {'ledger':>20} {'bank closing':>20} {'diff %':>10}  level")
    for row in summary["accounts"]:
        lines.append(
            f"{row['account_id']:<26} {row['currency']:<4} {row['servicer_bic'] or '-':<12}"
            f" {numbers.amount(row['ledger_balance'], row['currency']):>20} {numbers.amount(row['bank_closing_balance'], row['currency']):>20}"
            f" {numbers.percent(row['difference_pct']):>12}  {row['threshold_level']}"
        )
    if not summary["accounts"]:
        lines.append("(no end-of-day statement for this date)")
    lines += ["", "Matching (auto-match rate = confirmed movements / all bank movements of the day):"]
    for row in summary.get("matching", []):
        rate = "-" if row["auto_match_rate"] is None else numbers.percent(row["auto_match_rate"] * 100)
        lines.append(
            f"  {row['account_id']:<26} {row['currency']:<4} {rate:>8}"
            f"  ({row['confirmed_movement_count']}/{row['bank_movement_count']}, {row['suggested_count']} suggested)"
            f"  difference = in flight {numbers.amount(row['in_flight_difference'], row['currency'])} + missing {numbers.amount(row['missing_difference'], row['currency'])}"
            f" + duplicate {numbers.amount(row['duplicate_difference'], row['currency'])} + amount {numbers.amount(row['amount_difference'], row['currency'])}"
            f" + unexplained {numbers.amount(row['unexplained_difference'], row['currency'])}"
        )
    waiting = summary.get("suggested_matches", [])
    lines += [
        "",
        f"Suggested matches waiting for a person ({len(waiting)}): `deltran matches confirm|reject ID --reason ...`",
    ]
    for row in waiting:
        diff = (
            f"  difference {numbers.amount(row['amount_difference'], row['currency'])}"
            if row["amount_difference"]
            else ""
        )
        lines.append(
            f"  {row['match_id']}  {row['account_id']:<26} {row['currency']} bank {numbers.amount(row['bank_amount'], row['currency'])}"
            f" ({row['bank_acct_svcr_ref'] or '-'})  ledger {numbers.amount(row['ledger_amount'], row['currency'])} ({row['ledger_entry_id']}){diff}"
        )
    lines += [
        "",
        (
            f"Discrepancies ({len(summary['discrepancies'])}): the first column is the id to work each by"
            " (`deltran exceptions show|assign|resolve ID ...`)"
        ),
    ]
    for row in summary["discrepancies"]:
        if row.get("missing_from"):
            side = f" (missing from {row['missing_from']})"
        else:
            side = f" ({row['side']} side)" if row["side"] else ""
        age = f"  age {row['ageing_bucket']} d" if row.get("ageing_bucket") else ""
        lines.append(
            f"  {row['discrepancy_id']}  {row['discrepancy_type']:<16}{side:<22} {row['account_id']:<26} {row['currency']}"
            f" {numbers.amount(row['difference'], row['currency']):>16}  {row['severity']:<11} {row['state']:<8} {row['reference'] or ''}{age}"
        )
    lines += ["", f"Open circuit breakers ({len(summary['open_breakers'])}):"]
    for row in summary["open_breakers"]:
        lines.append(f"  {row['account_id']:<26} open since {row['since']:%Y-%m-%d %H:%M} UTC: {row['reason']}")
    lines += ["", f"Payouts halted or suspended ({len(summary['payouts_halted'])}):"]
    for row in summary["payouts_halted"]:
        lines.append(f"  {row['account_id']:<26} {row['reason']}")
    lines += ["", f"Clearing windows ({len(summary['clearing_windows'])} window-currencies):"]
    for row in summary["clearing_windows"]:
        lines.append(
            f"  {row['window_closing']:%Y-%m-%d %H:%M} {row['currency']}  obligations {row['obligation_count']:>4}"
            f" (late {row['late_count']})  gross {numbers.amount(row['gross_amount'], row['currency']):>18}  net {numbers.amount(row['net_amount'], row['currency']):>16}"
            f"  efficiency {numbers.percent(row['netting_efficiency_pct'])}"
            f"  instructions {row['instruction_count']}/{row['instruction_bound']}"
            + (f"  CAP BREACHES {row['cap_breach_count']}" if row["cap_breach_count"] else "")
        )
    lines += ["", f"Quarantined files ({len(summary['quarantined_files'])}):"]
    for row in summary["quarantined_files"]:
        lines.append(f"  {row['file_name']}: {row['error']}")
    lines += ["", *format_check_runs(summary["threshold_checks"])]
    return "\n".join(lines)
