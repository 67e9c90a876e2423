"""The threshold checkpoint end to end: real PostgreSQL, real GX runs, real breaker state."""

from __future__ import annotations

from datetime import date

import pytest
from psycopg.rows import dict_row

from deltran import config
from deltran.recon import breaker
from deltran.recon.checks import NothingToCheck, run_threshold_checks

pytestmark = [pytest.mark.slow, pytest.mark.db]

DAY1 = date(2024, 3, 1)
DAY2 = date(2024, 3, 2)
DAY3 = date(2024, 3, 3)
RUN = "scheduled__2024-03-01T00:00:00+00:00"  # an Airflow run id, as the DAG passes it

# account -> (bank, ledger, level the checkpoint must decide)
BANDS = {
    "OK-ZERO-DIFF": (1_000_000, 1_000_000, "OK"),
    "OK-BOUNDARY": ("1000100.00", "1000000.00", "OK"),  # exactly 0.01 %
    "MINOR-JUST-ABOVE": (1_000_101, 1_000_000, "Minor"),  # 0.0101 %
    "MINOR-BOUNDARY": (1_000_500, 1_000_000, "Minor"),  # exactly 0.05 %
    "SIGNIFICANT": (1_003_000, 1_000_000, "Significant"),  # 0.3 %
    "SIGNIFICANT-BOUNDARY": (1_005_000, 1_000_000, "Significant"),  # exactly 0.5 %
    "CRITICAL-OVER-BACKED": (1_007_000, 1_000_000, "Critical"),  # 0.7 %, bank above ledger
    "CRITICAL-UNDER-BACKED": (999_800, 1_000_000, "Critical"),  # ledger above bank by 0.02 %
    "UNDER-WITHIN-OK": (999_900, 1_000_000, "OK"),  # ledger above bank by exactly 0.01 %
    "ZERO-BOTH": (0, 0, "OK"),  # ledger 0 and bank 0: no division by zero
    "NO-STATEMENT": (None, 1_000_000, "Significant"),  # figures unknown: payouts wait
}


def seed_bands(mart, day=DAY1):
    for account, (bank, ledger, _) in BANDS.items():
        mart.add(account, day, bank, ledger)


def events(conn, **where):
    clause = " and ".join(f"{k} = %({k})s" for k in where) or "true"
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"select * from control.circuit_breaker_events where {clause} order by event_id", where
        ).fetchall()


def gate(conn) -> dict[str, bool]:
    return dict(conn.execute("select account_id, payouts_allowed from control.payout_gate").fetchall())


def test_each_band_gets_its_level_from_the_checkpoint(mart, conn):
    seed_bands(mart)
    mart.add("OTHER-DAY-CRITICAL", DAY2, 2_000_000, 1_000_000)  # not in DAY1's batch

    result = run_threshold_checks(DAY1, RUN)

    assert result.levels == {account: level for account, (_, _, level) in BANDS.items()}
    assert result.gx_success is False
    assert result.level_counts == {"OK": 4, "Minor": 2, "Significant": 3, "Critical": 2}
    by_account = {a.account_id: a for a in result.accounts}
    assert by_account["MINOR-JUST-ABOVE"].failed_expectations == ("difference_within_ok",)
    assert by_account["CRITICAL-UNDER-BACKED"].failed_expectations == (
        "difference_within_ok",
        "under_backing_within_ok",
    )
    assert by_account["CRITICAL-OVER-BACKED"].failed_expectations == (
        "difference_within_minor",
        "difference_within_ok",
        "difference_within_significant",
    )
    # no closing balance: every figure that needs it is unknown in the model (never 0 %, which reads as all clear)
    assert by_account["NO-STATEMENT"].failed_expectations == (
        "bank_balance_known",
        "difference_known",
        "under_backing_known",
    )
    # dbt's label agrees (a missing figure is Significant there too); a disagreement is tested below
    assert result.level_disagreements == {}

    # Data Docs built into settings.reports / data_docs, with this run's page.
    settings = config.load()
    assert result.data_docs_index == settings.reports / "data_docs" / "index.html"
    assert result.data_docs_index.is_file()
    assert result.data_docs_page is not None and result.data_docs_page.is_file()
    assert "account_reconciliation_thresholds" in result.data_docs_index.read_text()

    recorded = dict(
        conn.execute(
            "select account_id, level from control.threshold_checks where run_id = %s and business_date = %s",
            (RUN, DAY1),
        ).fetchall()
    )
    assert recorded == result.levels
    run = conn.execute(
        "select gx_success, accounts, level_counts, data_docs_index from control.threshold_check_runs"
    ).fetchone()
    assert run == (False, len(BANDS), result.level_counts, str(result.data_docs_index))


def test_critical_opens_the_breaker_and_a_rerun_changes_nothing(mart, conn):
    seed_bands(mart)
    first = run_threshold_checks(DAY1, RUN)

    opened = events(conn, kind="breaker", to_state="open")
    assert {e["account_id"] for e in opened} == {"CRITICAL-OVER-BACKED", "CRITICAL-UNDER-BACKED"}
    for e in opened:
        assert (e["actor"], e["check_name"], e["run_id"], e["business_date"], e["level"]) == (
            "system",
            "account_reconciliation_thresholds",
            RUN,
            DAY1,
            "Critical",
        )
        assert e["from_state"] == "closed" and e["reason"].startswith("Critical on 2024-03-01")
    states = dict(conn.execute("select account_id, state from control.circuit_breakers").fetchall())
    assert states["CRITICAL-UNDER-BACKED"] == "open" and states["OK-BOUNDARY"] == "closed"
    assert states["*"] == "closed"
    suspended = {e["account_id"] for e in events(conn, kind="suspension", to_state="suspended")}
    assert suspended == {"SIGNIFICANT", "SIGNIFICANT-BOUNDARY", "NO-STATEMENT"}
    assert {e.event_id for e in first.events} == {e["event_id"] for e in events(conn)}

    allowed = gate(conn)
    assert allowed == {account: level in ("OK", "Minor") for account, (_, _, level) in BANDS.items()}

    before = events(conn)
    again = run_threshold_checks(DAY1, RUN)  # an Airflow retry: same run id
    other_run = run_threshold_checks(DAY1, "manual__rerun")  # a manual rerun: new run id
    assert again.events == () and other_run.events == ()
    assert events(conn) == before
    assert gate(conn) == allowed
    counts = dict(conn.execute("select run_id, count(*) from control.threshold_checks group by run_id").fetchall())
    assert counts == {RUN: len(BANDS), "manual__rerun": len(BANDS)}  # history kept, a retry keeps the first record


def test_reset_closes_only_with_a_reason_and_new_evidence_reopens(mart, conn):
    mart.add("ACC-CRIT", DAY1, 990_000, 1_000_000)  # under-backed by 1 %
    run_threshold_checks(DAY1, "run-1")
    assert gate(conn) == {"ACC-CRIT": False}

    for reason in ("", "   ", None):
        with pytest.raises(breaker.BreakerError, match="non-empty reason"):
            breaker.reset(conn, "ACC-CRIT", reason, "alice")
    with pytest.raises(breaker.BreakerError, match="still Critical"):  # the latest check is still Critical
        breaker.reset(conn, "ACC-CRIT", "bank confirmed a booking error, ledger corrected", "alice")
    event = breaker.reset(conn, "ACC-CRIT", "bank confirmed a booking error, ledger corrected", "alice", force=True)
    forced = "forced reset while the latest check (2024-03-01, run run-1) is Critical: "
    assert (event.actor, event.reason, event.from_state, event.to_state) == (
        "alice",
        forced + "bank confirmed a booking error, ledger corrected",
        "open",
        "closed",
    )
    assert gate(conn) == {"ACC-CRIT": True}

    # The reset acknowledged that evidence: rerunning the same date and data does not reopen.
    assert run_threshold_checks(DAY1, "run-1-again").events == ()
    with pytest.raises(breaker.BreakerError, match="already closed"):
        breaker.reset(conn, "ACC-CRIT", "again", "alice")

    # New evidence (a later date still Critical) opens it again, whatever came before.
    mart.add("ACC-CRIT", DAY2, 990_000, 1_000_000)
    reopened = run_threshold_checks(DAY2, "run-2").events
    assert [(e.kind, e.to_state, e.business_date) for e in reopened] == [("breaker", "open", DAY2)]
    # And it stays open whatever later checks say.
    mart.add("ACC-CRIT", DAY3, 1_000_000, 1_000_000)
    assert run_threshold_checks(DAY3, "run-3").levels == {"ACC-CRIT": "OK"}
    assert gate(conn) == {"ACC-CRIT": False}


def test_significant_suspends_and_a_later_ok_lifts(mart, conn):
    mart.add("ACC-SIG", DAY1, 1_002_000, 1_000_000)  # 0.2 %
    mart.add("ACC-SIG", DAY2, 1_000_050, 1_000_000)  # 0.005 %: OK
    run_threshold_checks(DAY1, "run-1")
    allowed, reason = breaker.payouts_allowed(conn, "ACC-SIG")
    assert not allowed and reason.startswith("payouts suspended: Significant on 2024-03-01")

    lifted = run_threshold_checks(DAY2, "run-2").events
    assert [(e.kind, e.from_state, e.to_state, e.level, e.actor) for e in lifted] == [
        ("suspension", "suspended", "allowed", "OK", "system"),
    ]
    assert breaker.payouts_allowed(conn, "ACC-SIG") == (True, None)

    # Re-running the older date does not resurrect the suspension the newer one lifted.
    assert run_threshold_checks(DAY1, "run-1-backfill").events == ()
    assert breaker.payouts_allowed(conn, "ACC-SIG") == (True, None)


def test_minor_only_is_recorded_and_payouts_go_on(mart, conn):
    mart.add("ACC-MINOR", DAY1, 1_000_300, 1_000_000)  # 0.03 %
    mart.add("ACC-OK", DAY1, 1_000_000, 1_000_000)
    result = run_threshold_checks(DAY1, "run-1")
    assert result.levels == {"ACC-MINOR": "Minor", "ACC-OK": "OK"}
    assert result.events == ()
    assert gate(conn) == {"ACC-MINOR": True, "ACC-OK": True}


def test_all_ok_is_a_gx_success(mart):
    mart.add("ACC-1", DAY1, 500, 500)
    mart.add("ACC-2", DAY1, 0, 0)
    result = run_threshold_checks(DAY1, "run-1")
    assert result.gx_success is True
    assert result.failed_batch_checks == ()
    assert result.levels == {"ACC-1": "OK", "ACC-2": "OK"}


def test_thresholds_come_from_the_configuration(mart, monkeypatch):
    mart.add("ACC-0.03", DAY1, 1_000_300, 1_000_000)
    assert run_threshold_checks(DAY1, "run-1").levels == {"ACC-0.03": "Minor"}
    monkeypatch.setenv("DELTRAN_THRESHOLD_OK_PCT", "0.04")
    assert run_threshold_checks(DAY1, "run-2").levels == {"ACC-0.03": "OK"}


@pytest.mark.parametrize("with_values", [True, False], ids=["values-in-docs", "account-ids-only"])
def test_every_failing_account_is_named_beyond_gx_default_list_of_20(mart, monkeypatch, with_values):
    # GX's SQL path lists at most partial_unexpected_count failing rows (20 by default);
    # without values (large batches) it returns the accounts in another shape.
    from expectations import checkpoint

    monkeypatch.setattr(checkpoint, "DOCS_VALUES_MAX_ROWS", 100 if with_values else 10)
    for i in range(45):
        mart.add(f"ACC-{i:02d}", DAY1, 1_000_300, 1_000_000)  # Minor
    mart.add("ACC-ZZ-OK", DAY1, 1, 1)
    levels = run_threshold_checks(DAY1, "run-1").levels
    assert sum(level == "Minor" for level in levels.values()) == 45
    assert levels["ACC-ZZ-OK"] == "OK"


def test_a_date_without_rows_is_an_error(mart):
    mart.add("ACC-1", DAY1, 1, 1)
    with pytest.raises(NothingToCheck, match="2024-03-02"):
        run_threshold_checks(DAY2, "run-1")


def test_a_duplicated_account_fails_the_suite_and_takes_its_worst_row(mart):
    # the models keep one statement per account and day and the contract's primary key refuses a second
    # row: the checkpoint's own check is the defence behind those, tested on a mart broken by hand
    mart.add("ACC-DUP", DAY1, 1_000_000, 1_000_000)
    mart.add("ACC-DUP-COPY", DAY1, 1_003_000, 1_000_000)
    mart.tamper(  # the contract's primary key, whatever dbt named it
        "do $$ declare pk text; begin"
        " select conname into pk from pg_constraint"
        " where conrelid = 'marts.account_reconciliation'::regclass and contype = 'p';"
        " if pk is not null then"
        " execute format('alter table marts.account_reconciliation drop constraint %%I', pk); end if; end $$"
    )
    mart.tamper("update marts.account_reconciliation set account_id = 'ACC-DUP' where account_id = 'ACC-DUP-COPY'")
    result = run_threshold_checks(DAY1, "run-1")
    assert result.gx_success is False
    assert result.levels == {"ACC-DUP": "Significant"}
    assert result.failed_batch_checks == ("one_row_per_account",)
    assert result.accounts[0].failed_expectations == ("difference_within_minor", "difference_within_ok")


def test_dbt_label_is_cross_checked_and_decides_nothing(mart, conn):
    mart.add("ACC-LABELLED-OK", DAY1, 990_000, 1_000_000, label="OK")  # under-backed by 1 %
    result = run_threshold_checks(DAY1, "run-1")
    assert result.levels == {"ACC-LABELLED-OK": "Critical"}
    assert result.level_disagreements == {"ACC-LABELLED-OK": ("Critical", "OK")}
    assert "dbt's threshold_level differs on 1 account(s)" in result.summary()
    assert conn.execute("select level, mart_threshold_level from control.threshold_checks").fetchone() == (
        "Critical",
        "OK",
    )
    assert gate(conn) == {"ACC-LABELLED-OK": False}
