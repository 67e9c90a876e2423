"""Threshold checks: run the GX checkpoint on one business date, record, apply the breaker.

The four levels of DOMAIN.md are enforced by the Great Expectations checkpoint
(:mod:`expectations`); this module never compares a percentage with a
threshold. It reads the validation result: each expectation names in its
``meta`` the level a failing row means, and GX names every failing row by its
``account_id``. An account's level is the worst level among the expectations
its row failed, OK if it failed none (:func:`levels_from_validation`).

dbt's own ``threshold_level`` column describes the level for analysts; it is
read only to cross-check: every account where it differs from what GX decided
is returned (``level_disagreements``), logged and recorded, and decides nothing.

Then, in one database transaction, it records the run and one row per account
in ``control.threshold_checks`` (history of every run, append-only: a retry
of the same run_id keeps the first record) and applies each level to the account's breaker and
payout suspension (:func:`deltran.recon.breaker.apply_check`). Running it again
on the same date and data adds rows for a new run_id but changes no breaker or
suspension and writes no event.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

import psycopg
from psycopg.rows import dict_row

from deltran import config, db, numbers
from deltran.recon import breaker

log = logging.getLogger(__name__)

MART = "marts.account_reconciliation"
_MART_COLUMNS = (
    "account_id, currency, statement_id, bank_closing_balance, ledger_balance, "
    "difference, difference_pct, under_backing_pct, threshold_level"
)


class ThresholdCheckError(RuntimeError):
    """The check could not decide levels (no data, GX failed, the mart changed meanwhile)."""


class NothingToCheck(ThresholdCheckError):
    """The mart has no row for the business date."""


@dataclass(frozen=True)
class AccountLevel:
    account_id: str
    level: str  # one of deltran.config.LEVELS
    failed_expectations: tuple[str, ...]  # the suite's deltran_check names, sorted
    difference_pct: Decimal | None
    under_backing_pct: Decimal | None


@dataclass(frozen=True)
class ThresholdCheckResult:
    business_date: date
    run_id: str
    check_name: str
    gx_success: bool  # the checkpoint's verdict: False as soon as one account is not OK
    accounts: tuple[AccountLevel, ...]
    failed_batch_checks: tuple[str, ...]  # checks on the whole batch (the grain), no level
    level_disagreements: dict[str, tuple[str, str | None]]  # account -> (GX level, dbt's threshold_level)
    data_docs_index: Path
    data_docs_page: Path | None  # this run's validation page
    events: tuple[breaker.Event, ...] = ()  # breaker/suspension changes this run made
    gx_seconds: float = 0.0  # time spent in the GX checkpoint run
    level_counts: dict[str, int] = field(default_factory=dict)

    @property
    def levels(self) -> dict[str, str]:
        """account_id -> level."""
        return {a.account_id: a.level for a in self.accounts}

    def accounts_at(self, level: str) -> list[str]:
        return [a.account_id for a in self.accounts if a.level == level]

    def summary(self) -> str:
        counts = ", ".join(f"{self.level_counts.get(level, 0)} {level}" for level in config.LEVELS)
        return (
            f"{self.check_name} {self.business_date} (run {self.run_id}): {len(self.accounts)} accounts: "
            f"{counts}; GX success: {self.gx_success}; {len(self.events)} breaker/suspension change(s); "
            + (
                f"dbt's threshold_level differs on {len(self.level_disagreements)} account(s); "
                if self.level_disagreements
                else ""
            )
            + f"Data Docs: {self.data_docs_index}"
        )


def _mart_rows(conn: psycopg.Connection, business_date: date) -> list[dict[str, Any]]:
    try:
        with conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(
                f"select {_MART_COLUMNS} from {MART} where business_date = %s order by account_id",
                (business_date,),
            ).fetchall()
    except psycopg.errors.UndefinedTable as exc:
        raise ThresholdCheckError(f"{MART} does not exist: build the marts (dbt build) first") from exc


def _exception_message(info: Any) -> str | None:
    """GX's exception_info is flat ({raised_exception, exception_message, ...}) or keyed by metric."""
    if not info:
        return None
    if isinstance(info, dict) and "raised_exception" in info:
        return str(info.get("exception_message") or "error") if info["raised_exception"] else None
    if getattr(info, "raised_exception", False):
        return str(getattr(info, "exception_message", None) or "error")
    if isinstance(info, dict):
        for value in info.values():
            message = _exception_message(value)
            if message:
                return message
    return None


def _failing_accounts(unexpected_index_list: list[dict[str, Any]], column: str) -> list[Any]:
    """The index column of every failing row, from either shape GX returns.

    One dict per row (``[{"account_id": "A", "difference_pct": ...}, ...]``), or,
    with ``exclude_unexpected_values``, one dict of lists (``[{"account_id": ["A", ...]}]``).
    """
    accounts: list[Any] = []
    for entry in unexpected_index_list:
        value = entry.get(column)
        accounts.extend(value if isinstance(value, list) else [value])
    return accounts


def levels_from_validation(
    validation: Any, account_ids: Iterable[str], rows: int
) -> tuple[dict[str, tuple[str, tuple[str, ...]]], tuple[str, ...]]:
    """Each account's level and failed expectations, from one GX validation result.

    Returns ``({account_id: (level, failed checks)}, failed batch-level checks)``.

    ``validation`` is GX's ExpectationSuiteValidationResult of the threshold
    suite on one business date; ``account_ids`` the accounts of that batch and
    ``rows`` its row count (both read from the mart, to make sure GX saw the
    same data). Every expectation must have been evaluated and must list all its
    failing rows: anything else raises, because an account missing from a list
    would silently look OK.
    """
    from expectations.threshold_suite import INDEX_COLUMN, META_CHECK, META_LEVEL

    failed: dict[str, set[str]] = {account: set() for account in account_ids}
    batch_failures: list[str] = []
    worst: dict[str, int] = dict.fromkeys(failed, 0)  # index into LEVELS; 0 = OK
    for result in validation.results:
        expectation = result.expectation_config
        meta = expectation.meta or {}
        check = meta.get(META_CHECK)
        if not check:
            raise ThresholdCheckError(f"expectation {expectation.type} has no '{META_CHECK}' in its meta")
        error = _exception_message(result.exception_info)
        if error:
            raise ThresholdCheckError(f"GX could not evaluate {check}: {error}")
        level = meta.get(META_LEVEL)
        if not level:  # a batch-level check: it fails the checkpoint, decides no account's level
            if not result.success:
                batch_failures.append(check)
            continue
        outcome = result.result or {}
        unexpected = outcome.get("unexpected_index_list")
        count = outcome.get("unexpected_count")
        if unexpected is None or count is None:
            raise ThresholdCheckError(f"GX did not list the failing rows of {check}")
        if outcome.get("element_count") != rows:
            raise ThresholdCheckError(
                f"{check} saw {outcome.get('element_count')} rows, the mart has {rows}: "
                f"{MART} changed during the check; run it again"
            )
        accounts = _failing_accounts(unexpected, INDEX_COLUMN)
        if len(accounts) != count:
            raise ThresholdCheckError(f"{check}: GX listed {len(accounts)} of {count} failing rows")
        rank = config.LEVELS.index(level)
        for account in accounts:
            if account not in failed:
                raise ThresholdCheckError(f"{check} failed on {account!r}, which is not in the batch")
            failed[account].add(check)
            worst[account] = max(worst[account], rank)
    levels = {a: (config.LEVELS[worst[a]], tuple(sorted(failed[a]))) for a in failed}
    return levels, tuple(batch_failures)


def _evidence(check_name: str, business_date: date, row: dict[str, Any]) -> str:
    """Fingerprint of the figures a level was decided on (same data -> same fingerprint)."""

    def norm(value: Any) -> str:
        if isinstance(value, Decimal):
            return format(value.normalize(), "f")
        return "" if value is None else str(value)

    fields = [check_name, business_date.isoformat()] + [
        norm(row[c])
        for c in (
            "account_id",
            "currency",
            "statement_id",
            "bank_closing_balance",
            "ledger_balance",
            "difference_pct",
            "under_backing_pct",
        )
    ]
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()


def _pct(value: Decimal | None) -> str:
    return "unknown" if value is None else numbers.percent(value)


def _read_batch(conn: psycopg.Connection, business_date: date) -> list[dict[str, Any]]:
    """Step 1: the mart's rows of the date (the schema first, on a new warehouse)."""
    if db.one(conn.execute("select to_regclass('control.threshold_checks')"))[0] is None:
        db.ensure_schema(conn)  # first run on a new warehouse; not every run (it takes DDL locks)
    rows = _mart_rows(conn, business_date)
    conn.commit()
    if not rows:
        raise NothingToCheck(f"{MART} has no rows for {business_date}: nothing to check")
    if any(r["account_id"] is None for r in rows):
        raise ThresholdCheckError(f"{MART} has rows without account_id on {business_date}")
    return rows


@dataclass(frozen=True)
class _Decision:
    """What the checkpoint decided on one batch (step 2)."""

    accounts: tuple[AccountLevel, ...]
    batch_failures: tuple[str, ...]
    gx_success: bool
    gx_seconds: float
    docs_index: Path
    docs_page: Path | None


def _decide_levels(
    business_date: date,
    run_id: str,
    url: str,
    settings: config.Settings,
    by_account: dict[str, dict[str, Any]],
    rows: int,
) -> _Decision:
    """Step 2: run the GX checkpoint on the date and read each account's level from it."""
    from expectations import checkpoint as gx_checkpoint  # GX takes seconds to import

    started = time.perf_counter()
    checkpoint_result, context = gx_checkpoint.run_checkpoint(
        business_date, run_id, sqlalchemy_url=db.sqlalchemy_url(url), settings=settings, max_rows=rows
    )
    gx_seconds = time.perf_counter() - started
    ((result_id, validation),) = checkpoint_result.run_results.items()
    decided, batch_failures = levels_from_validation(validation, by_account, rows)
    if batch_failures:
        log.warning("%s on %s failed batch checks: %s", MART, business_date, ", ".join(batch_failures))
    docs_index = gx_checkpoint.data_docs_index(settings)
    log.info("threshold checkpoint for %s ran in %.2fs; Data Docs: %s", business_date, gx_seconds, docs_index)
    accounts = tuple(
        AccountLevel(a, level, checks, by_account[a]["difference_pct"], by_account[a]["under_backing_pct"])
        for a, (level, checks) in sorted(decided.items())
    )
    return _Decision(
        accounts=accounts,
        batch_failures=batch_failures,
        gx_success=bool(checkpoint_result.success),
        gx_seconds=gx_seconds,
        docs_index=docs_index,
        docs_page=gx_checkpoint.data_docs_page(context, result_id),
    )


def _record_run(
    conn: psycopg.Connection,
    business_date: date,
    run_id: str,
    check_name: str,
    decision: _Decision,
    counts: dict[str, int],
    by_account: dict[str, dict[str, Any]],
) -> None:
    """Step 3: the run and one row per account in control.

    History is append-only: a retry of the same run id keeps its first record.
    """
    conn.execute(
        """
        insert into control.threshold_check_runs
            (run_id, business_date, check_name, gx_success, accounts, level_counts,
             failed_batch_checks, data_docs_index, data_docs_page)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        on conflict (run_id, business_date) do nothing
        """,
        (
            run_id,
            business_date,
            check_name,
            decision.gx_success,
            len(decision.accounts),
            json.dumps(counts),
            list(decision.batch_failures),
            str(decision.docs_index),
            str(decision.docs_page) if decision.docs_page else None,
        ),
    )
    with conn.cursor() as cur:
        cur.executemany(
            """
            insert into control.threshold_checks
                (run_id, business_date, account_id, check_name, level, failed_expectations,
                 currency, statement_id, bank_closing_balance, ledger_balance, difference,
                 difference_pct, under_backing_pct, mart_threshold_level)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            on conflict (run_id, business_date, account_id) do nothing
            """,
            [
                (
                    run_id,
                    business_date,
                    a.account_id,
                    check_name,
                    a.level,
                    list(a.failed_expectations),
                    r["currency"],
                    r["statement_id"],
                    r["bank_closing_balance"],
                    r["ledger_balance"],
                    r["difference"],
                    r["difference_pct"],
                    r["under_backing_pct"],
                    r["threshold_level"],
                )
                for a in decision.accounts
                for r in [by_account[a.account_id]]
            ],
        )


def _outcomes(
    business_date: date,
    run_id: str,
    check_name: str,
    accounts: tuple[AccountLevel, ...],
    by_account: dict[str, dict[str, Any]],
    row_counts: Counter[str],
) -> list[breaker.CheckOutcome]:
    """Step 4: what each account's level means for its breaker, with the reason and evidence."""
    outcomes = []
    for a in accounts:
        row = by_account[a.account_id]
        reason = (
            f"{a.level} on {business_date}: difference {_pct(a.difference_pct)}, "
            f"under-backing {_pct(a.under_backing_pct)}"
            + (f" (failed {', '.join(a.failed_expectations)})" if a.failed_expectations else "")
            + (
                f"; {row_counts[a.account_id]} rows in {MART}, figures of the first"
                if row_counts[a.account_id] > 1
                else ""
            )
        )
        outcomes.append(
            breaker.CheckOutcome(
                account_id=a.account_id,
                level=a.level,
                business_date=business_date,
                check_name=check_name,
                run_id=run_id,
                reason=reason,
                evidence=_evidence(check_name, business_date, row),
            )
        )
    return outcomes


def run_threshold_checks(
    business_date: date,
    run_id: str,
    *,
    settings: config.Settings | None = None,
) -> ThresholdCheckResult:
    """Run the threshold checkpoint on ``business_date``, record it, apply the breaker.

    The steps: read the mart's batch, let the checkpoint decide the levels,
    then in one transaction record the run and apply each level to the breaker.

    Raises :class:`NothingToCheck` when the mart has no row for the date, and
    :class:`ThresholdCheckError` when GX could not decide every account's level
    (nothing is recorded then).
    """
    from expectations.threshold_suite import SUITE_NAME

    settings = settings or config.load()
    url = db.database_url(settings)
    with db.connect(url) as conn:
        rows = _read_batch(conn, business_date)
        by_account: dict[str, dict[str, Any]] = {}
        for row in rows:
            by_account.setdefault(row["account_id"], row)  # duplicates fail one_row_per_account
        row_counts = Counter(row["account_id"] for row in rows)

        decision = _decide_levels(business_date, run_id, url, settings, by_account, len(rows))
        counts = dict(Counter(a.level for a in decision.accounts))
        disagreements = {
            a.account_id: (a.level, by_account[a.account_id]["threshold_level"])
            for a in decision.accounts
            if a.level != by_account[a.account_id]["threshold_level"]
        }
        if disagreements:
            log.warning("dbt's threshold_level differs from the checkpoint on %s: %s", business_date, disagreements)
        with conn.transaction():
            _record_run(conn, business_date, run_id, SUITE_NAME, decision, counts, by_account)
            outcomes = _outcomes(business_date, run_id, SUITE_NAME, decision.accounts, by_account, row_counts)
            events = breaker.apply_checks(conn, outcomes)
    return ThresholdCheckResult(
        business_date=business_date,
        run_id=run_id,
        check_name=SUITE_NAME,
        gx_success=decision.gx_success,
        accounts=decision.accounts,
        failed_batch_checks=decision.batch_failures,
        level_disagreements=disagreements,
        data_docs_index=decision.docs_index,
        data_docs_page=decision.docs_page,
        events=tuple(events),
        gx_seconds=decision.gx_seconds,
        level_counts=counts,
    )
