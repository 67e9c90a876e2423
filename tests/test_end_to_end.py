"""A whole business day through the platform's own DAGs, on a real PostgreSQL.

The demo generator writes a day of files with faults it knows about (its
manifest); the clearing windows and the end-of-day reconciliation then run
through Airflow (dag.test(), Airflow's own runner) and the test asserts that the
marts found every fault with the right type and level, that the breaker of the
Critical account is open, and that running the same day again changes no row.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from deltran import config
from deltran.demo import generate_day
from deltran.demo.runner import Run, ended_on_breach, replay_day
from deltran.recon import exceptions

pytestmark = [pytest.mark.slow, pytest.mark.db]
DAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def dagbag():
    # Airflow's metadata (SQLite) must exist; `make setup` creates it, this makes sure.
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(config.PROJECT_ROOT / "dags"))
    assert bag.import_errors == {}
    return bag


def manifest_has_breach(manifest) -> bool:
    return any(a.expected_level in ("Significant", "Critical") for a in manifest.accounts)


def run_day(dagbag, manifest, holding) -> None:
    """Every DAG run of DAY, as the scheduler would make them (deltran.demo.runner's replay)."""

    def execute(run: Run, log_name: str) -> bool:
        kwargs = {"run_conf": run.conf}
        if run.logical_date is not None:
            kwargs["logical_date"] = run.logical_date
        dag_run = dagbag.dags[run.dag_id].test(**kwargs)
        if run.dag_id == "eod_reconciliation" and manifest_has_breach(manifest):
            # a day with Significant/Critical accounts ends red: only its breach task fails
            assert dag_run.state == "failed" and ended_on_breach(dag_run), f"{run.label}: {dag_run.state}"
            return True
        assert dag_run.state == "success", f"{run.label}: {dag_run.state}"
        return True

    settings = config.load()
    assert replay_day(DAY, manifest, holding, settings.inbox, execute)


STABLE_TABLES = {
    "marts.account_reconciliation": "account_id, business_date",
    "marts.discrepancies": "discrepancy_id",
    "marts.clearing_windows": "window_closing, currency",
    "marts.clearing_positions": "window_closing, currency, participant",
    "marts.settlement_instructions": "window_closing, currency, instruction_sequence",
    "marts.eod_account_snapshots": "account_id, business_date, dbt_valid_from",  # no new version
    "control.circuit_breakers": "account_id",
    "control.circuit_breaker_events": "event_id",
    "raw.ingested_files": "file_id",
    "raw.quarantined_files": "sha256, file_name",
    "tiers.intraday_checks": "cutoff_at, account_id",
    "tiers.notification_checks": "file_id, account_id",
    "tiers.notification_entries": "file_id, statement_id, entry_index, detail_index",
    "marts.account_findings": "finding_id",
}


def snapshot(conn) -> dict:
    """Every row of the tables a re-run must not change (run bookkeeping excluded)."""
    out = {}
    for table, order in STABLE_TABLES.items():
        rows = conn.execute(f"select * from {table} order by {order}").fetchall()
        columns = [c.name for c in conn.execute(f"select * from {table} limit 0").description]
        drop = {"first_cleared_at", "last_cleared_at", "loaded_at", "quarantined_at", "quarantine_path"}
        drop |= {"run_id", "checked_at"}  # which run wrote a tier partition, and when
        out[table] = [tuple(v for c, v in zip(columns, row, strict=True) if c not in drop) for row in rows]
    return out


@pytest.fixture
def conn(warehouse_url):
    # autocommit: an open read transaction would hold locks on the marts that
    # the next dbt rebuild has to take
    with psycopg.connect(warehouse_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def alert_webhook(monkeypatch):
    from tests.test_plugins import Receiver

    receiver = Receiver()
    monkeypatch.setenv("DELTRAN_ALERT_WEBHOOK_URL", receiver.url())
    yield receiver
    receiver.close()


def test_a_business_day_end_to_end(conn, dagbag, warehouse_url, monkeypatch, alert_webhook):
    # the platform runs as the pipeline role, as the embedded default does: not a
    # superuser, not the owner of the control history (assertions read as the admin)
    parts = conninfo_to_dict(warehouse_url)
    parts["user"] = "pipeline"
    monkeypatch.setenv("DATABASE_URL", make_conninfo(**parts))
    settings = config.load()
    settings.inbox.mkdir(parents=True)
    holding = settings.var / "bank_intraday"
    manifest = generate_day(settings.inbox, DAY, intraday=holding)

    run_day(dagbag, manifest, holding)

    # every account gets its intended level, in the mart and as decided by Great Expectations
    levels = dict(
        conn.execute(
            "select account_id, threshold_level from marts.account_reconciliation where business_date = %s", (DAY,)
        )
    )
    assert levels == {a.iban: a.expected_level for a in manifest.accounts}
    checked = dict(
        conn.execute(
            "select distinct on (account_id) account_id, level from control.threshold_checks"
            " where business_date = %s order by account_id, checked_at desc",
            (DAY,),
        )
    )
    assert checked == levels

    # every injected fault is found, with its type and side
    breaks = conn.execute(
        "select discrepancy_type, side, account_id, difference, uetr, end_to_end_id, acct_svcr_ref"
        " from marts.discrepancies where business_date = %s and discrepancy_type <> 'BalanceMismatch'",
        (DAY,),
    ).fetchall()
    for fault in manifest.faults:
        side = None if fault.type == "AmountMismatch" else fault.side
        found = [
            b
            for b in breaks
            if b[0] == fault.type
            and b[1] == side
            and b[2] == fault.account
            and fault.uetr in (b[4], None)
            and b[3] == fault.difference
        ]
        assert len(found) == 1, f"{fault.type} on {fault.account_key} not found exactly once in {breaks}"
    # the ambiguous pair (two equal deposits, no reference on either side) is never paired: 2 + 2 MissingTxn
    (ambiguous,) = [c for c in manifest.matching_cases if c.case == "no_reference_ambiguous"]
    lone = sorted((b[1], b[3]) for b in breaks if b[2] == ambiguous.account and b[0] == "MissingTxn")
    amount = ambiguous.amounts[0]
    assert lone == [("bank", amount), ("bank", amount), ("ledger", -amount), ("ledger", -amount)]
    assert len(breaks) == len(manifest.faults) + 4, "a break was reported that was not injected"
    # every difference is explained by its movements: no BalanceMismatch, nothing unexplained
    assert not conn.execute("select 1 from marts.discrepancies where discrepancy_type = 'BalanceMismatch'").fetchall()
    explained = conn.execute(
        "select bool_and(unexplained_difference = 0), bool_and(difference = in_flight_difference + missing_difference"
        " + duplicate_difference + amount_difference) from marts.account_reconciliation"
    ).fetchone()
    assert explained == (True, True)

    # the later matching passes: a suggested match, a batch by its sum, instalments by reference and amount
    pairs = conn.execute(
        "select account_id, matched_on, match_status, ledger_amount, amount_difference from marts.transaction_matches"
        " where matched_on in ('amount_date', 'batch_sum') or end_to_end_id = %s",
        (next(c.end_to_end_id for c in manifest.matching_cases if c.case == "instalments"),),
    ).fetchall()
    for case, on, status in (
        ("no_reference_unique", "amount_date", "suggested"),
        ("batch_without_details", "batch_sum", "confirmed"),
        ("instalments", "end_to_end_id", "confirmed"),
    ):
        (c,) = [c for c in manifest.matching_cases if c.case == case]
        found = sorted(p[3] for p in pairs if p[:3] == (c.account, on, status) and p[4] == 0)
        assert found == sorted(c.amounts), case
    rates = dict(conn.execute("select account_id, auto_match_rate from marts.account_reconciliation"))
    assert all(Decimal("0.98") < rate <= 1 for rate in rates.values())

    # Critical opens the breaker; Significant suspends payouts; the others may pay out
    critical = {a.iban for a in manifest.accounts if a.expected_level == "Critical"}
    significant = {a.iban for a in manifest.accounts if a.expected_level == "Significant"}
    open_breakers = {r[0] for r in conn.execute("select account_id from control.circuit_breakers where state = 'open'")}
    assert open_breakers == critical
    gate = dict(conn.execute("select account_id, payouts_allowed from control.payout_gate"))
    for account in manifest.accounts:
        assert gate[account.iban] is (account.iban not in critical | significant), account.key

    # bad files are in quarantine with their reason; nothing else is
    quarantined = dict(conn.execute("select file_name, error from raw.quarantined_files"))
    assert set(quarantined) == set(manifest.bad_files)
    assert all(quarantined.values())

    # clearing: four windows, the reject left clearing, the return is there, invariants hold
    windows = conn.execute(
        "select window_closing, currency, obligation_count, gross_amount, net_amount, netting_efficiency_pct,"
        " instruction_count, instruction_bound from marts.clearing_windows"
    ).fetchall()
    assert {w[0].hour for w in windows} == {0, 6, 12, 18}
    assert sum(w[2] for w in windows) == manifest.counts["payments"] - 1 + 1  # one rejected, one return
    for _, _, _, gross, net, efficiency, count, bound in windows:
        assert gross >= net > 0 and count <= bound
        # one unit everywhere: percent with four decimals (SQL round: half away from zero)
        assert efficiency == ((1 - net / gross) * 100).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    sums = conn.execute(
        "select sum(net_amount) from marts.clearing_positions group by window_closing, currency"
    ).fetchall()
    assert sums and all(total == 0 for (total,) in sums)
    assert list(settings.outbox.rglob("pacs009_*.xml"))

    # tier 2: one row per registry account and cut-off, every 2 hours from 02:00 to 22:00
    cutoffs = conn.execute(
        "select count(distinct cutoff_at), count(*), count(*) filter (where level is null)"
        " from marts.intraday_checks where business_date = %s",
        (DAY,),
    ).fetchone()
    assert cutoffs == (11, 11 * len(manifest.accounts), 0)
    a1, a6 = manifest.account("A1").iban, manifest.account("A6").iban
    timeline = conn.execute(
        "select extract(hour from cutoff_at)::int, level, bank_source, drift from marts.intraday_checks"
        " where account_id = %s order by cutoff_at",
        (a1,),
    ).fetchall()
    by_hour = {hour: level for hour, level, _, _ in timeline}
    # the midday drift (the bank credits at 11:00, the ledger books at 14:00) ...
    assert by_hour[10] in ("OK", "Minor") and by_hour[12] == "Significant"
    assert all(by_hour[h] in ("OK", "Minor") for h in (14, 16, 18, 20, 22))  # ... recovers
    assert {source for _, _, source, _ in timeline} == {"camt.052"}
    # drift: since the scheduled cut-off 30 minutes before (computed, whether it ran or not): on every check
    assert all(d is not None for *_, d in timeline)
    # tier 1: every notification file checked; an afternoon notification found A6 Critical; its breaker was
    # opened during the day (by whichever check of 16:00 ran first), not at the end of the day
    checked = conn.execute("select count(distinct file_id) from marts.notification_checks").fetchone()[0]
    notified = sum(1 for _, name in manifest.intraday_files if name.startswith("camt054"))
    assert checked == notified > 0
    first_critical = conn.execute(
        "select min(cutoff_at) from marts.notification_checks where account_id = %s and level = 'Critical'", (a6,)
    ).fetchone()[0]
    assert first_critical is not None and 14 <= first_critical.hour < 24
    opened_by = conn.execute(
        "select check_name from control.circuit_breaker_events where account_id = %s and to_state = 'open'", (a6,)
    ).fetchall()
    assert len(opened_by) == 1 and opened_by[0][0] in ("tier1_notification", "tier2_intraday")  # before the EOD
    suspended_by_drift = conn.execute(
        "select count(*) from control.circuit_breaker_events where account_id = %s and kind = 'suspension'"
        " and to_state = 'suspended' and check_name in ('tier1_notification', 'tier2_intraday')",
        (a1,),
    ).fetchone()[0]
    assert suspended_by_drift >= 1
    matched = conn.execute(
        "select count(*) filter (where ledger_entry_id is not null), count(*) from marts.notification_entries"
    ).fetchone()
    assert matched[1] > 0 and matched[0] >= matched[1] * 9 // 10

    # the registry: no unknown account, no missing statement in the demo day
    assert conn.execute("select count(*) from marts.account_findings").fetchone()[0] == 0

    # reports were written
    assert (settings.reports / "dbt_docs" / "index.html").exists()
    assert list((settings.reports / "data_docs").rglob("index.html"))
    assert (settings.reports / "eod" / f"{DAY.isoformat()}.txt").exists()

    # the same day again (the same files dropped in again): no row changes
    before = snapshot(conn)
    generate_day(settings.inbox, DAY, intraday=holding)
    run_day(dagbag, manifest, holding)
    assert snapshot(conn) == before

    # issue 10 on the demo day: the Critical account's answer and the reset rules, as a person meets them
    from deltran import cli

    assert cli.main(["breaker", "status", a6]) == 1
    with pytest.raises(SystemExit):  # no --reason
        cli.main(["breaker", "reset", a6, "--by", "alice"])
    assert cli.main(["breaker", "reset", a6, "--reason", "looks fine", "--by", "alice"]) == 2  # still Critical
    allowed = conn.execute("select payouts_allowed from marts.payout_permissions where account_id = %s", (a6,))
    assert allowed.fetchone() == (False,)
    # alerts went out while the day ran (the listener in plugins/), once each: the breaker of A6 among them
    hooks = [r["json"] for r in alert_webhook.requests if r["json"].get("event")]
    assert [h["account_id"] for h in hooks if h["event"] == "breaker_opened"] == [a6]
    assert {h["event"] for h in hooks} >= {"breaker_opened", "suspension_started"}
    assert all(h["link"].startswith("http://localhost:8080/dags/") for h in hooks)
    # an exception resolved by a person is resolved in the marts at once, and in its history
    [lone] = [i for i in exceptions.find(conn) if i.discrepancy_type == "DuplicateTxn"][:1]
    assert cli.main(["exceptions", "resolve", lone.discrepancy_id, "--note", "bank reversed it", "--by", "bob"]) == 0
    state = conn.execute(
        "select d.state, e.actor from marts.discrepancies as d join marts.discrepancy_events as e"
        " using (discrepancy_id) where discrepancy_id = %s",
        (lone.discrepancy_id,),
    ).fetchone()
    assert state == ("resolved", "bob")
    # the day's control history (breakers, suspensions, cases, match decisions) is one intact hash chain ...
    from deltran import audit

    assert cli.main(["audit", "verify"]) == 0
    assert audit.verify(conn).ok
    # ... and an event a superuser alters behind the guards' back is named
    opened = conn.execute(
        "select max(event_id) from control.circuit_breaker_events where account_id = %s and to_state = 'open'", (a6,)
    ).fetchone()[0]
    conn.execute("alter table control.circuit_breaker_events disable trigger user")
    conn.execute("update control.circuit_breaker_events set reason = 'nothing happened' where event_id = %s", (opened,))
    tampered = audit.verify(conn)
    assert not tampered.ok
    first = tampered.findings[0]
    assert (first.what, first.source, first.source_id) == ("altered", "control.circuit_breaker_events", opened)
    assert cli.main(["audit", "verify"]) == 1
