"""Tiers 1 and 2 on a real PostgreSQL: the balance at a moment, partitions, the registry.

Bank messages are real camt.052 / camt.054 files (written by parsers.writers,
loaded by deltran.ingest); levels come from the real Great Expectations suite.
"""

from __future__ import annotations

import itertools
import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from deltran import config, ingest, pipeline
from deltran.recon import tiers
from parsers.records import Balance, Entry, Statement, TransactionDetails
from parsers.writers import write_bank_to_customer

pytestmark = [pytest.mark.db]
UTC = timezone.utc
DAY = date(2026, 11, 20)
START = datetime(2026, 11, 20, tzinfo=UTC)
BIC = "DLTAAEADXXX"


def at(hours: float) -> datetime:
    return START + timedelta(seconds=round(hours * 3600))


def write_report(folder: Path, account: str, created: datetime, opening: Decimal, interim: Decimal) -> Path:
    """A camt.052 with OPBD (start of the day) and ITBD (at its creation)."""
    mid, sid = f"R{created:%H%M}{account[-4:]}", f"R-{created:%H%M%S}-{account}"
    header = Statement("camt.052", mid, sid, account, "USD", BIC, created)
    balances = [
        Balance("camt.052", mid, sid, account, code, abs(v), "USD", "CRDT" if v >= 0 else "DBIT", date=d, date_time=t)
        for code, v, d, t in (("OPBD", opening, DAY, None), ("ITBD", interim, None, created))
    ]
    path = folder / f"camt052_{account}_{created:%H%M%S}.xml"
    write_bank_to_customer(path, "camt.052", mid, created, [(header, balances, [])])
    return path


def write_notification(folder: Path, account: str, created: datetime, entries: list[tuple]) -> Path:
    """A camt.054; entries are (reference, amount, CRDT|DBIT, booked at, uetr)."""
    mid, sid = f"N{created:%H%M%S}{account[-4:]}", f"N-{created:%H%M%S}-{account}"
    header = Statement("camt.054", mid, sid, account, "USD", BIC, created)
    records = [
        Entry(
            "camt.054",
            mid,
            sid,
            account,
            "USD",
            amount,
            "USD",
            side,
            status="BOOK",
            booking_date=booked.date(),
            booking_date_time=booked,
            value_date=booked.date(),
            acct_svcr_ref=ref,
            entry_index=i,
            transactions=[TransactionDetails(uetr=uetr, acct_svcr_ref=ref)],
        )
        for i, (ref, amount, side, booked, uetr) in enumerate(entries)
    ]
    path = folder / f"camt054_{account}_{created:%H%M%S}_{mid}.xml"
    write_bank_to_customer(path, "camt.054", mid, created, [(header, [], records)])
    return path


def load(paths: list[Path]) -> None:
    settings = config.load()
    settings.inbox.mkdir(parents=True, exist_ok=True)
    for path in paths:
        path.rename(settings.inbox / path.name)
    outcomes = ingest.ingest_inbox(settings)
    assert all(o.status == "loaded" for o in outcomes), [(o.file_name, o.error) for o in outcomes]


def write_ledger(folder: Path, account: str, postings: list[tuple]) -> Path:
    """A ledger CSV; postings are (entry id, amount, D|C, booked at, uetr)."""
    from deltran.ledger import FIELDS

    lines = [",".join(FIELDS)]
    for entry_id, amount, side, booked, uetr in postings:
        row = {
            "entry_id": entry_id,
            "journal_id": "J" + entry_id,
            "account": account,
            "amount": str(amount),
            "currency": "USD",
            "side": side,
            "booked_at": booked.isoformat(),
            "value_date": booked.date().isoformat(),
            "kind": "deposit",
            "uetr": uetr or "",
            "end_to_end_id": "",
            "bank_reference": "",
            "description": "",
        }
        lines.append(",".join(row.get(f, "") for f in FIELDS))
        contra = dict(row, entry_id=entry_id + "X", account="LIAB:CLIENT:USD", side="C" if side == "D" else "D")
        lines.append(",".join(contra.get(f, "") for f in FIELDS))  # journals balance
    path = folder / f"ledger_{account}_{len(postings)}.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


_ACCOUNT_NUMBERS = itertools.count(1)
entry_strategy = st.tuples(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(50000), places=2),
    st.sampled_from(["CRDT", "DBIT"]),
    st.floats(min_value=0.1, max_value=23.9),  # booked at (hours)
)


@hsettings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    entries=st.lists(entry_strategy, min_size=1, max_size=12),
    files=st.integers(min_value=1, max_value=4),
    order_seed=st.integers(min_value=0, max_value=10_000),
    cutoff_hours=st.floats(min_value=0.5, max_value=23.95),
)
def test_running_balance_is_the_same_whatever_order_the_notifications_arrive_in(
    warehouse_url, tmp_path_factory, entries, files, order_seed, cutoff_hours
):
    """anchor + credits - debits booked after the anchor and notified by the cut-off, in any load order."""
    folder = tmp_path_factory.mktemp("msgs")
    account = f"ACCPROP{next(_ACCOUNT_NUMBERS):06d}"  # every example its own account, in one database
    opening, anchor_at = Decimal("1000000.00"), at(0.05)
    paths = [write_report(folder, account, anchor_at, opening, opening)]
    rows = [(f"R{account}{i:03d}", amount, side, at(hours)) for i, (amount, side, hours) in enumerate(entries)]
    # split the entries over files, each created when its last entry was booked (or later)
    chunks = [rows[i::files] for i in range(files)]
    notices = []
    for n, chunk in enumerate(c for c in chunks if c):
        created = max(booked for *_, booked in chunk) + timedelta(minutes=n + 1)
        notices.append((created, [(ref, amount, side, booked, None) for ref, amount, side, booked in chunk]))
    written = [write_notification(folder, account, created, chunk) for created, chunk in notices]
    random.Random(order_seed).shuffle(written)
    load(paths)
    for path in written:  # one file at a time, in a random order
        load([path])
    cutoff = at(cutoff_hours)

    with psycopg.connect(warehouse_url) as conn:
        (result,) = tiers.balances_at(conn, [(account, cutoff)])
    known_by = {ref: created for created, chunk in notices for ref, *_ in chunk}
    expected = opening + sum(
        (amount if side == "CRDT" else -amount)
        for ref, amount, side, booked in rows
        if anchor_at < booked <= cutoff and known_by[ref] <= cutoff
    )
    assert result.bank_balance == expected
    assert result.anchor_type == "ITBD" and result.bank_source == "camt.052"


def test_a_notification_sent_twice_counts_once_and_a_later_report_becomes_the_anchor(warehouse_url, tmp_path):
    account = "ACCDUPLICATE01"
    entry = [("REF1", Decimal("100.00"), "CRDT", at(1), None)]
    first = write_notification(tmp_path, account, at(1.5), entry)
    load([write_report(tmp_path, account, at(0.1), Decimal("500.00"), Decimal("500.00")), first])
    again = write_notification(tmp_path, account, at(2), entry)  # another file, the same entry
    load([again])
    with psycopg.connect(warehouse_url) as conn:
        assert tiers.balances_at(conn, [(account, at(3))])[0].bank_balance == Decimal("600.00")
    load([write_report(tmp_path, account, at(4), Decimal("500.00"), Decimal("590.00"))])  # the bank's own figure
    with psycopg.connect(warehouse_url) as conn:
        later = tiers.balances_at(conn, [(account, at(5)), (account, at(3))])
    assert [b.bank_balance for b in sorted(later, key=lambda b: b.cutoff_at)] == [Decimal("600.00"), Decimal("590.00")]


@pytest.mark.slow
def test_cutoff_partitions_rerun_and_backfill_change_no_other_partition(warehouse_url, tmp_path):
    """A rerun of a cut-off, or a backfill of an earlier one, leaves every other cut-off's rows as they were."""
    from deltran.demo.reference import ACCOUNTS

    account = ACCOUNTS[1].iban  # a registry account (USD)
    load(
        [
            write_report(tmp_path, account, at(0.1), Decimal("1000000.00"), Decimal("1000000.00")),
            write_ledger(tmp_path, account, [("L1", Decimal("1000000.00"), "D", at(0), None)]),
            write_notification(tmp_path, account, at(9), [("N1", Decimal("2000.00"), "CRDT", at(8.5), "u1")]),
            # created 13:45, booked 13:40: in the bank balance from the 14:00 cut-off on, not at 13:30
            write_notification(
                tmp_path, account, at(13.75), [("N2", Decimal("5000.00"), "CRDT", at(13 + 2 / 3), "u2")]
            ),
        ]
    )

    def rows(conn) -> dict:
        out = {}
        for row in conn.execute("select * from tiers.intraday_checks order by cutoff_at, account_id").fetchall():
            out.setdefault(row[0], []).append(row[:-2])  # without run_id, checked_at
        return out

    pipeline.check_intraday(at(10), "run-10")
    pipeline.check_intraday(at(14), "run-14")
    with psycopg.connect(warehouse_url) as conn:
        before = rows(conn)
        assert set(before) == {at(10), at(14)}
        mine = conn.execute(
            "select cutoff_at, bank_balance, ledger_balance, drift, level, previous_cutoff_at, day_max_abs_difference"
            " from tiers.intraday_checks where account_id = %s order by cutoff_at",
            (account,),
        ).fetchall()
    assert [r[1] for r in mine] == [Decimal("1002000.00"), Decimal("1007000.00")]
    # drift: since the previous scheduled cut-off (30 minutes before), from the data as of then
    assert [(r[5], r[3]) for r in mine] == [(at(9.5), Decimal("0.00")), (at(13.5), Decimal("5000.00"))]
    assert [r[6] for r in mine] == [Decimal("2000.00"), Decimal("7000.00")]  # the day's max |difference| so far
    assert [r[4] for r in mine] == ["Significant", "Critical"]  # 0.2 %, then 0.7 % (bands 0.05 / 0.5 %)
    pipeline.check_intraday(at(14), "rerun-14")  # a rerun
    pipeline.check_intraday(at(12), "backfill-12")  # a backfill of a cut-off that never ran
    with psycopg.connect(warehouse_url) as conn:
        after = rows(conn)
    assert {k: v for k, v in after.items() if k != at(12)} == before


def test_registry_seed_matches_the_demo_accounts():
    import csv

    from deltran.demo.reference import ACCOUNTS

    with (config.PROJECT_ROOT / "dbt" / "seeds" / "account_registry.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["account_id", "servicing_bank_bic", "currency", "opened_on", "closed_on", "owner"]
    assert {(r["account_id"], r["servicing_bank_bic"], r["currency"], r["owner"]) for r in rows} == {
        (a.iban, a.bank.bic, a.currency, a.owner) for a in ACCOUNTS
    }


CUTOFFS = [at(10), at(12), at(14), at(16)]


# what each cut-off's row says, whatever ran before it: (previous cut-off, drift, day's max |difference|)
EXPECTED_DRIFT = {
    at(10): (at(9.5), Decimal("2000.00"), Decimal("2000.00")),  # N1 (created 09:45) arrived since 09:30
    at(12): (at(11.5), Decimal("0.00"), Decimal("2000.00")),
    at(14): (at(13.5), Decimal("5000.00"), Decimal("7000.00")),  # N2 (created 13:45) arrived since 13:30
    at(16): (at(15.5), Decimal("0.00"), Decimal("7000.00")),
}


@pytest.mark.slow
@hsettings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runs=st.lists(st.sampled_from(CUTOFFS), min_size=2, max_size=4))
def test_any_order_of_cutoff_runs_writes_only_its_own_partition(warehouse_url, tmp_path_factory, runs):
    """Cut-offs run in any order (a backfill of an earlier one, a rerun of one): each run rewrites its own
    cut-off's rows, to the values they had if it ran before, and no row of any other cut-off."""
    from deltran.demo.reference import ACCOUNTS

    folder = tmp_path_factory.mktemp("msgs")
    account = ACCOUNTS[1].iban
    settings = config.load()
    settings.inbox.mkdir(parents=True, exist_ok=True)
    for path in [
        write_report(folder, account, at(0.1), Decimal("1000000.00"), Decimal("1000000.00")),
        write_ledger(folder, account, [("L1", Decimal("1000000.00"), "D", at(0), None)]),
        write_notification(folder, account, at(9.75), [("N1", Decimal("2000.00"), "CRDT", at(9 + 2 / 3), "u1")]),
        write_notification(folder, account, at(13.75), [("N2", Decimal("5000.00"), "CRDT", at(13 + 2 / 3), "u2")]),
    ]:
        path.rename(settings.inbox / path.name)
    # the same files in every example: the later examples' copies are skipped as duplicates
    assert {o.status for o in ingest.ingest_inbox(settings)} <= {"loaded", "duplicate"}

    def rows(conn) -> dict:
        out: dict = {}
        for row in conn.execute(
            "select xmin::text, * from tiers.intraday_checks order by cutoff_at, account_id"
        ).fetchall():
            out.setdefault(row[1], {})[row[2]] = row
        return out

    for cutoff in runs:
        with psycopg.connect(warehouse_url) as conn:
            before = rows(conn)
        pipeline.check_intraday(cutoff, f"run-{cutoff.isoformat()}")
        with psycopg.connect(warehouse_url) as conn:
            after = rows(conn)
        # every other cut-off: the very same row versions (not rewritten)
        assert {k: v for k, v in after.items() if k != cutoff} == {k: v for k, v in before.items() if k != cutoff}
        if cutoff in before:  # a rerun: the same figures (all but xmin, run_id and checked_at)
            assert {a: r[1:-2] for a, r in after[cutoff].items()} == {a: r[1:-2] for a, r in before[cutoff].items()}
        with psycopg.connect(warehouse_url) as conn:
            drift = conn.execute(
                "select previous_cutoff_at, drift, day_max_abs_difference from tiers.intraday_checks"
                " where cutoff_at = %s and account_id = %s",
                (cutoff, account),
            ).fetchone()
        assert drift == EXPECTED_DRIFT[cutoff]  # what it gives in order, whatever ran before
