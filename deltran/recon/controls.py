"""Fail closed, and make breaches visible: what the end-of-day checks do when they cannot decide.

The rules (issue 10, "Fail closed"):

* A check that could not run (the database unreachable mid-checkpoint, a mart
  missing, GX unable to evaluate) suspends payouts on every account it covers,
  raises an alert and fails its task (:class:`CheckCouldNotRun`): it is never
  read as "all clear". The suspension is retried for
  ``fail_closed_wait_seconds`` while the database is unreachable; if it still
  cannot be written the alert says so (a payout system then cannot read
  ``control.payout_gate`` either, so it cannot pay out on a stale "allowed").
* A registry account without its end-of-day statement by the cut-off
  (``statement_cutoff_hours`` after the business day) is a freshness finding
  that names the bank and the account; its payouts are suspended (there is no
  level to go by). When no account has its statement there is nothing to check:
  :class:`StatementsMissing`, one clear message, no retries.
* A run whose checks found Significant or Critical, or integrity findings,
  ends not green: :func:`breach_summary` is the message of its final task,
  which fails after the breaker and the suspensions have acted.

Plain logic: the DAGs turn :class:`ControlFailure` into a task failure without
retries (``AirflowFailException``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from datetime import time as clock
from typing import Any

import psycopg

from deltran import alerts, config, db
from deltran.recon import breaker

log = logging.getLogger(__name__)

EOD_CHECK = "eod_checks"  # check_name of fail-closed suspensions


class ControlFailure(RuntimeError):
    """A control that ends its task failed, with a message meant for people (no traceback needed)."""


class CheckCouldNotRun(ControlFailure):
    """The check did not run; payouts on what it covers are suspended."""


class StatementsMissing(ControlFailure):
    """No registry account has its end-of-day statement: nothing to check."""


@dataclass(frozen=True)
class Account:
    account_id: str
    bank_bic: str
    currency: str


def statement_cutoff(business_date: date, settings: config.Settings) -> datetime:
    """When the statements of ``business_date`` are due (UTC)."""
    end_of_day = datetime.combine(business_date + timedelta(days=1), clock(0), timezone.utc)
    return end_of_day + timedelta(hours=settings.statement_cutoff_hours)


def day_windows(business_date: date) -> list[datetime]:
    """The clearing windows that close within the business day (06:00, 12:00, 18:00, 24:00 UTC)."""
    from deltran.clearing.windows import WINDOW_HOURS

    start = datetime.combine(business_date, clock(0), timezone.utc)
    return [start + timedelta(hours=h) for h in range(WINDOW_HOURS, 25, WINDOW_HOURS)]


def registry_scope(conn: psycopg.Connection, business_date: date) -> dict[str, Account]:
    """The registry accounts open on ``business_date``: what the day's checks cover."""
    from deltran.recon.tiers import REGISTRY

    rows = conn.execute(
        f"select account_id, servicing_bank_bic, currency from {REGISTRY}"
        " where opened_on <= %s and (closed_on is null or closed_on >= %s) order by account_id",
        (business_date, business_date),
    ).fetchall()
    return {a: Account(a, b, c.strip()) for a, b, c in rows}


def suspend(
    accounts: Iterable[str],
    business_date: date,
    run_id: str,
    reason: str,
    settings: config.Settings,
    check_name: str = EOD_CHECK,
) -> tuple[list[breaker.Event], str | None]:
    """Suspend payouts on ``accounts`` (a Significant outcome: the next OK/Minor check lifts it).

    Returns (events, None), or ([], why) when the database stayed unreachable
    for ``settings.fail_closed_wait_seconds``.
    """
    outcomes = [
        breaker.CheckOutcome(a, "Significant", business_date, check_name, run_id, reason, f"{check_name}:{run_id}:{a}")
        for a in sorted(set(accounts))
    ]
    if not outcomes:
        return [], None
    deadline = time.monotonic() + settings.fail_closed_wait_seconds
    while True:
        try:
            with db.connect(db.database_url(settings), connect_timeout=5) as conn:
                return breaker.apply_checks(conn, outcomes), None
        except psycopg.OperationalError as exc:
            if time.monotonic() >= deadline:
                return [], f"{type(exc).__name__}: {str(exc).strip()}"
            time.sleep(1)


def _names(accounts: Iterable[Account]) -> str:
    return "; ".join(f"bank {a.bank_bic} account {a.account_id} ({a.currency})" for a in accounts)


def alert(message: str, run_id: str | None, dag_id: str | None, task_id: str | None) -> None:
    """One operations alert (log, and the configured channels: deltran.alerts)."""
    alerts.alert_task_failure(dag_id=dag_id, run_id=run_id, task_id=task_id, try_number=None, error=message)


def fail_closed(
    check: str,
    business_date: date,
    run_id: str,
    scope: Mapping[str, Account],
    error: BaseException | str,
    settings: config.Settings,
    *,
    dag_id: str | None = None,
    task_id: str | None = None,
) -> CheckCouldNotRun:
    """Suspend payouts on ``scope``, alert, and return the error for the task to raise."""
    cause = alerts.error_text(error)
    events, not_recorded = suspend(
        scope, business_date, run_id, f"{check} for {business_date} could not run: {cause}", settings
    )
    if not scope:
        outcome = "no account is known to suspend (the registry could not be read)"
    elif not_recorded:
        outcome = (
            f"payouts on {len(scope)} account(s) must be treated as suspended, but the suspension could not be "
            f"recorded ({not_recorded}); control.payout_gate is unreachable to payout systems as well"
        )
    else:
        outcome = f"payouts suspended on {len(scope)} account(s) ({len(events)} change(s))"
    message = f"FAILED CLOSED: {check} for {business_date} could not run ({cause}); {outcome}"
    log.error("%s", message)
    alert(message, run_id, dag_id, task_id)
    return CheckCouldNotRun(message)


def run_eod_checks(
    business_date: date,
    run_id: str,
    settings: config.Settings | None = None,
    *,
    dag_id: str | None = None,
    task_id: str | None = None,
) -> dict[str, Any]:
    """Freshness, then the threshold checkpoint; fails closed on anything that could not run.

    Returns the threshold result's summary, levels and the freshness findings
    (lines naming bank and account). Raises :class:`CheckCouldNotRun` or
    :class:`StatementsMissing` (after suspending and alerting).
    """
    from deltran.recon.checks import NothingToCheck, run_threshold_checks
    from expectations import integrity_checkpoint

    settings = settings or config.load()
    url = db.database_url(settings)
    cutoff = statement_cutoff(business_date, settings)
    check = "threshold check"
    scope: dict[str, Account] = {}
    try:
        with db.connect(url) as conn:
            scope = registry_scope(conn, business_date)
        findings = integrity_checkpoint.run_integrity_checks(
            business_date,
            cutoff,
            [],
            run_id,
            sqlalchemy_url=db.sqlalchemy_url(url),
            settings=settings,
            include=("statement_freshness",),
        )
        late: dict[str, Account] = {}
        missing: dict[str, Account] = {}
        for finding in findings:
            for row in finding.rows:
                account = scope.get(str(row.get("account_id"))) or Account(
                    str(row.get("account_id")), str(row.get("bank_bic")), str(row.get("currency"))
                )
                (missing if row.get("status") == "missing" else late)[account.account_id] = account
        result = None
        if len(missing) < len(scope):
            try:
                result = run_threshold_checks(business_date, run_id, settings=settings)
            except NothingToCheck:
                result = None  # statements but no ledger for any account: every account unchecked below
    except Exception as exc:  # whatever stopped the check (the database gone, GX, a mart missing): fail closed
        raise fail_closed(check, business_date, run_id, scope, exc, settings, dag_id=dag_id, task_id=task_id) from exc

    levels = result.levels if result else {}
    unchecked = {a: scope[a] for a in scope if a not in levels and a not in missing}
    lines = [
        f"missing statement: no camt.053 for {business_date} by {cutoff:%Y-%m-%d %H:%M} UTC: {_names([a])}"
        for a in missing.values()
    ]
    lines += [
        f"late statement: created after the cut-off {cutoff:%Y-%m-%d %H:%M} UTC: {_names([a])}" for a in late.values()
    ]
    lines += [
        f"unchecked: statement but no ledger balance for {business_date}: {_names([a])}" for a in unchecked.values()
    ]
    held = {**missing, **unchecked}
    if held:
        reason = f"no level for {business_date}: the statement or the ledger balance is missing (freshness check)"
        events, not_recorded = suspend(held, business_date, run_id, reason, settings)
        note = (
            f"payouts suspended on {len(held)} account(s)"
            if not not_recorded
            else f"the suspension of {len(held)} account(s) could not be recorded: {not_recorded}"
        )
        message = f"FRESHNESS {business_date}: {note}\n" + "\n".join(lines)
        log.error("%s", message)
        alert(message, run_id, dag_id, task_id)
    if result is None:
        raise StatementsMissing(
            f"no end-of-day statement to check for {business_date} (cut-off {cutoff:%Y-%m-%d %H:%M} UTC): "
            f"payouts suspended until it arrives; load it and run the day again.\n" + "\n".join(lines)
        )
    return {
        "summary": result.summary(),
        "levels": result.levels,
        "gx_success": result.gx_success,
        "breaker_changes": len(result.events),
        "data_docs": str(result.data_docs_index),
        "freshness": lines,
    }


def run_integrity(
    business_date: date,
    run_id: str,
    settings: config.Settings | None = None,
    *,
    dag_id: str | None = None,
    task_id: str | None = None,
) -> dict[str, Any]:
    """Statement continuity, ledger consistency and the day's clearing invariants; fails closed."""
    from expectations import integrity_checkpoint

    settings = settings or config.load()
    url = db.database_url(settings)
    scope: dict[str, Account] = {}
    try:
        with db.connect(url) as conn:
            scope = registry_scope(conn, business_date)
        findings = integrity_checkpoint.run_integrity_checks(
            business_date,
            statement_cutoff(business_date, settings),
            day_windows(business_date),
            run_id,
            sqlalchemy_url=db.sqlalchemy_url(url),
            settings=settings,
            include=("statement_continuity", "ledger_consistency", "clearing"),
        )
    except Exception as exc:  # the check did not run: fail closed
        raise fail_closed(
            "integrity checks", business_date, run_id, scope, exc, settings, dag_id=dag_id, task_id=task_id
        ) from exc
    return {"findings": [line for f in findings for line in f.lines()]}


def breach_summary(business_date: date, checked: Mapping[str, Any], integrity: Mapping[str, Any] | None) -> str | None:
    """The final task's message when the day's checks found something people must act on; None if not.

    ``checked`` and ``integrity`` are what :func:`run_eod_checks` and
    :func:`run_integrity` returned (a DAG passes them through XCom).
    """
    levels: Mapping[str, str] = checked.get("levels") or {}
    by_level = {level: sorted(a for a, lv in levels.items() if lv == level) for level in ("Critical", "Significant")}
    lines = []
    for level, action in (
        ("Critical", "circuit breaker open, payouts halted until a person resets it"),
        ("Significant", "payouts suspended"),
    ):
        lines += [f"{level}: {account}: {action}" for account in by_level[level]]
    lines += list(checked.get("freshness") or [])
    lines += list((integrity or {}).get("findings") or [])
    if not lines:
        return None
    counts = ", ".join(f"{len(v)} {k}" for k, v in by_level.items())
    return f"BREACH on {business_date}: {counts}; {len(lines)} finding(s)\n" + "\n".join(lines)
