"""The demo day: deterministic, balanced, exact, and with exactly the faults it claims."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from lxml import etree

from deltran.demo import INTENDED_LEVELS, generate_day
from deltran.demo.reference import ACCOUNTS, iban_is_valid
from deltran.ledger import FIELDS as LEDGER_FIELDS

from demo_files import DAY, ledger_balances, read_ledger, read_statements, schema

UUID4 = re.compile(r"[a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-[89ab][a-f0-9]{3}-[a-f0-9]{12}")
AMOUNT = re.compile(r"\d+\.\d{2}")
BY_IBAN = {a.iban: a for a in ACCOUNTS}


def expected_level(bank: Decimal, ledger: Decimal) -> str:
    """DOMAIN.md's bands, restated here so the test does not trust the generator's copy."""
    ratio = abs(bank - ledger) / ledger
    if ratio > Decimal("0.005") or (ledger > bank and ratio > Decimal("0.0001")):
        return "Critical"
    if ratio > Decimal("0.0005"):
        return "Significant"
    return "Minor" if ratio > Decimal("0.0001") else "OK"


def statements(inbox, day=DAY):
    return {s.iban: s for path in sorted(inbox.glob(f"camt053_*_{day.isoformat()}.xml")) for s in read_statements(path)}


def test_same_seed_and_date_give_identical_bytes(demo, tmp_path):
    inbox, manifest = demo
    again = generate_day(tmp_path / "again", DAY)
    assert again.to_json() == manifest.to_json()
    assert sorted(p.name for p in (tmp_path / "again").iterdir()) == manifest.files
    for name in manifest.files:
        assert (tmp_path / "again" / name).read_bytes() == (inbox / name).read_bytes(), name


def test_another_seed_gives_other_data(demo, tmp_path):
    inbox, manifest = demo
    other = generate_day(tmp_path, DAY, seed=7)
    assert len(other.files) == len(manifest.files)
    ledger = f"ledger_{DAY.isoformat()}.csv"
    assert (tmp_path / ledger).read_bytes() != (inbox / ledger).read_bytes()
    assert [a.expected_level for a in other.accounts] == [a.expected_level for a in manifest.accounts]


def test_inbox_holds_exactly_the_listed_files_and_no_manifest(demo, tmp_path):
    inbox, manifest = demo
    assert sorted(p.name for p in inbox.iterdir()) == manifest.files
    assert set(manifest.bad_files) <= set(manifest.files)
    written = manifest.write_manifest(tmp_path / "manifest.json")
    data = json.loads(written.read_text())
    assert data["business_date"] == "2026-11-20"
    assert data["accounts"][5]["expected_level"] == "Critical"
    assert Decimal(data["faults"][0]["amount"]) == manifest.faults[0].amount


def test_opening_journal_refused_after_the_first_day(demo, tmp_path):
    with pytest.raises(ValueError, match="opening"):
        generate_day(tmp_path, DAY, opening=True, previous=demo[1])


def test_accounts_have_valid_ibans_one_per_bank_and_currency():
    assert len({(a.bank.bic, a.currency) for a in ACCOUNTS}) == 6
    assert Counter(a.bank.bic for a in ACCOUNTS) == {"DLTAAEADXXX": 2, "DLTBGB2LXXX": 2, "DLTCILITXXX": 2}
    assert {a.currency for a in ACCOUNTS} == {"USD", "AED", "ILS"}
    for a in ACCOUNTS:
        assert iban_is_valid(a.iban)
        assert len(a.iban) == {"AE": 23, "GB": 22, "IL": 23}[a.iban[:2]]


def test_ledger_format(demo):
    inbox, _ = demo
    path = inbox / f"ledger_{DAY.isoformat()}.csv"
    assert path.read_text().splitlines()[0] == ",".join(LEDGER_FIELDS)
    rows = read_ledger(path)
    assert len({r["entry_id"] for r in rows}) == len(rows)
    for r in rows:
        assert AMOUNT.fullmatch(r["amount"]) and Decimal(r["amount"]) > 0, r
        assert r["side"] in ("D", "C")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["booked_at"]), r
        assert r["kind"] in {"opening", "deposit", "withdrawal", "fee", "transfer", "fx", "mint", "burn"}
        assert not r["uetr"] or UUID4.fullmatch(r["uetr"])
        assert r["currency"] in ("USD", "AED", "ILS")


def test_every_journal_balances_per_currency(demo):
    inbox, _ = demo
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in read_ledger(inbox / f"ledger_{DAY.isoformat()}.csv"):
        totals[(r["journal_id"], r["currency"])] += Decimal(r["amount"]) * (1 if r["side"] == "D" else -1)
    assert totals and not [key for key, total in totals.items() if total]


def test_ledger_file_loads_with_the_project_reader(demo):
    from deltran import ledger

    inbox, manifest = demo
    rows = list(ledger.read_ledger(inbox / f"ledger_{DAY.isoformat()}.csv"))
    assert len(rows) == manifest.counts["ledger_lines"]


def test_opening_journal_equals_the_statement_opening_balance(demo):
    inbox, manifest = demo
    stmts = statements(inbox)
    opening = [r for r in read_ledger(inbox / f"ledger_{DAY.isoformat()}.csv") if r["kind"] == "opening"]
    on_ibans = {r["account"]: Decimal(r["amount"]) for r in opening if r["account"] in BY_IBAN}
    assert on_ibans == {iban: s.opening for iban, s in stmts.items()}
    assert {r["booked_at"] for r in opening} == {f"{(DAY - timedelta(days=1)).isoformat()}T23:59:59Z"}
    assert all(r["side"] == "D" for r in opening if r["account"] in BY_IBAN)


def test_statements_are_valid_camt053(demo):
    inbox, _ = demo
    xsd = schema("camt.053.001.08")
    for path in sorted(inbox.glob("camt053_*.xml")):
        if "truncated" not in path.name:
            xsd.assertValid(etree.parse(str(path)))


def test_statement_arithmetic_is_exact(demo):
    inbox, manifest = demo
    stmts = statements(inbox)
    assert set(stmts) == set(BY_IBAN)
    for iban, s in stmts.items():
        credits = sum(e["amount"] for e in s.entries if e["cdi"] == "CRDT")
        debits = sum(e["amount"] for e in s.entries if e["cdi"] == "DBIT")
        assert s.opening + credits - debits == s.closing, iban
        assert (s.summary["count"], s.summary["credits"], s.summary["debits"]) == (len(s.entries), credits, debits)
        assert s.opening_date == s.closing_date == DAY.isoformat()
        assert s.servicer == BY_IBAN[iban].bank.bic and s.currency == BY_IBAN[iban].currency
        expected = manifest.account(BY_IBAN[iban].key)
        assert (s.opening, s.closing, s.seq) == (
            expected.bank_opening,
            expected.bank_closing,
            expected.electronic_seq_nb,
        )
        batches = {c.account for c in manifest.matching_cases if c.case == "batch_without_details"}
        for e in s.entries:
            # every entry has its one TxDtls, except the payout batch booked without details
            if e["details"] == 0:
                assert iban in batches and e["tx_ref"] is None
            else:
                assert e["details"] == 1 and e["tx_ref"] == e["ref"]
            assert e["status"] == "BOOK"
            assert e["currency"] == s.currency and e["booked"].startswith(DAY.isoformat())


def test_matching_cases_are_on_both_books(demo):
    """The cases only the later matching passes pair: no shared reference, a batch
    without details, instalments under one EndToEndId; each balanced on both books."""
    inbox, manifest = demo
    cases = {c.case: c for c in manifest.matching_cases}
    assert set(cases) == {"no_reference_unique", "no_reference_ambiguous", "batch_without_details", "instalments"}
    stmts = statements(inbox)
    ledger = read_ledger(inbox / f"ledger_{DAY.isoformat()}.csv")
    for case in cases.values():
        entries = stmts[case.account].entries
        postings = [r for r in ledger if r["account"] == case.account]
        if case.case == "batch_without_details":
            batch = [e for e in entries if e["details"] == 0]
            assert [e["amount"] for e in batch] == [sum(case.amounts)]
        for amount in case.amounts:
            assert any(Decimal(r["amount"]) == amount for r in postings)
    unique = cases["no_reference_unique"]
    named = [r for r in ledger if r["account"] == unique.account and Decimal(r["amount"]) == unique.amounts[0]]
    assert len(named) == 1 and named[0]["counterparty_name"] and not named[0]["uetr"] and not named[0]["end_to_end_id"]
    instalments_iban = cases["instalments"].account
    instalments = [
        r
        for r in ledger
        if r["end_to_end_id"] == cases["instalments"].end_to_end_id and r["account"] == instalments_iban
    ]
    assert sorted(Decimal(r["amount"]) for r in instalments) == cases["instalments"].amounts
    assert len(set(cases["instalments"].amounts)) == 2


def test_bank_references_are_unique_per_bank(demo):
    inbox, _ = demo
    for path in sorted(inbox.glob(f"camt053_*_{DAY.isoformat()}.xml")):
        refs = [e["ref"] for s in read_statements(path) for e in s.entries]
        assert all(refs) and len(set(refs)) == len(refs), path.name


def test_volumes(demo):
    inbox, manifest = demo
    assert 3_000 <= manifest.counts["ledger_lines"] <= 6_000
    assert 1_800 <= manifest.counts["statement_entries"] <= 2_600
    for s in statements(inbox).values():
        assert 300 <= len(s.entries) <= 420
        assert s.closing > 10_000_000  # tens of millions


def test_intended_level_per_account_from_the_files(demo):
    """Bank closing from the XML, ledger balance summed from the CSV: the levels hold."""
    inbox, manifest = demo
    ledger = ledger_balances(read_ledger(inbox / f"ledger_{DAY.isoformat()}.csv"))
    for iban, s in statements(inbox).items():
        key = BY_IBAN[iban].key
        assert expected_level(s.closing, ledger[iban]) == INTENDED_LEVELS[key], key
        account = manifest.account(key)
        assert (account.bank_closing, account.ledger_balance, account.expected_level) == (
            s.closing,
            ledger[iban],
            INTENDED_LEVELS[key],
        )
        differences = sum((f.difference for f in manifest.faults if f.account == iban), Decimal(0))
        assert s.closing - ledger[iban] == differences, key
    ratios = {a.key: a.ratio for a in manifest.accounts}
    assert ratios["A1"] <= Decimal("0.00005") and ratios["A2"] <= Decimal("0.00005")
    assert Decimal("0.00025") <= ratios["A4"] <= Decimal("0.00035")
    assert Decimal("0.0015") <= ratios["A5"] <= Decimal("0.0025")
    assert ratios["A6"] > Decimal("0.0075")


def _side_keys(inbox, day=DAY):
    """Per IBAN, each side's transactions as (id, amount, direction): id = UETR, else
    EndToEndId, else bank reference; direction CRDT for money in (ledger D)."""
    bank: dict[str, Counter] = defaultdict(Counter)
    for iban, s in statements(inbox, day).items():
        for e in s.entries:
            bank[iban][(e["uetr"] or e["e2e"] or e["ref"], e["amount"], e["cdi"])] += 1
    ledger: dict[str, Counter] = defaultdict(Counter)
    for r in read_ledger(inbox / f"ledger_{day.isoformat()}.csv"):
        if r["account"] in BY_IBAN and r["kind"] != "opening":
            key = r["uetr"] or r["end_to_end_id"] or r["bank_reference"]
            ledger[r["account"]][(key, Decimal(r["amount"]), "CRDT" if r["side"] == "D" else "DBIT")] += 1
    return bank, ledger


def test_only_the_injected_faults_differ(demo):
    """A naive match of both sides leaves exactly the manifest's faults unmatched."""
    inbox, manifest = demo
    bank, ledger = _side_keys(inbox)
    for account in ACCOUNTS:
        only_bank = bank[account.iban] - ledger[account.iban]
        only_ledger = ledger[account.iban] - bank[account.iban]
        # movements with no shared reference are the later matching passes' (not faults)
        for case in (c for c in manifest.matching_cases if c.account == account.iban and c.case != "instalments"):
            amounts = set(case.amounts) | {sum(case.amounts)}
            only_bank = Counter({k: n for k, n in only_bank.items() if k[1] not in amounts})
            only_ledger = Counter({k: n for k, n in only_ledger.items() if not (k[0] == "" and k[1] in amounts)})
        (fault,) = [f for f in manifest.faults if f.account_key == account.key]
        key = fault.uetr or fault.acct_svcr_ref
        if fault.type == "AmountMismatch":
            assert only_bank == Counter({(key, fault.amount - Decimal("12.34"), "CRDT"): 1})
            assert only_ledger == Counter({(key, fault.amount, "CRDT"): 1})
        elif fault.side == "bank":  # the duplicate: one of the two bookings stays over
            assert only_bank == Counter({(key, fault.amount, "CRDT"): 1}) and not only_ledger
        else:
            assert only_ledger == Counter({(key, fault.amount, "CRDT"): 1}) and not only_bank


def test_fault_details(demo):
    inbox, manifest = demo
    faults = {f.account_key: f for f in manifest.faults}
    assert [(faults[k].type, faults[k].side) for k in sorted(faults)] == [
        ("MissingTxn", "ledger"),
        ("DuplicateTxn", "bank"),
        ("AmountMismatch", "both"),
        ("MissingTxn", "bank"),
        ("MissingTxn", "bank"),
        ("MissingTxn", "ledger"),
    ]
    stmts = statements(inbox)
    duplicate = [e for e in stmts[faults["A2"].account].entries if e["uetr"] == faults["A2"].uetr]
    assert len(duplicate) == 2 and len({e["ref"] for e in duplicate}) == 2
    assert faults["A2"].acct_svcr_ref in {e["ref"] for e in duplicate}
    (interest,) = [e for e in stmts[faults["A4"].account].entries if e["ref"] == faults["A4"].acct_svcr_ref]
    assert interest["uetr"] is None and interest["e2e"] is None
    mint = [r for r in read_ledger(inbox / f"ledger_{DAY.isoformat()}.csv") if r["kind"] == "mint"]
    assert {r["account"] for r in mint} == {faults["A6"].account, "LIAB:CLIENT:AED"}
    assert faults["A3"].difference == Decimal("-12.34")


def test_days_chain_and_keep_their_levels(demo_days):
    inbox, manifests = demo_days
    assert [m.business_date for m in manifests] == [DAY + timedelta(days=k) for k in range(3)]
    rows = []
    previous = None
    for m in manifests:
        day_rows = read_ledger(inbox / f"ledger_{m.business_date.isoformat()}.csv")
        assert any(r["kind"] == "opening" for r in day_rows) == (previous is None)
        rows += day_rows
        ledger = ledger_balances(rows)
        stmts = statements(inbox, m.business_date)
        for iban, s in stmts.items():
            key = BY_IBAN[iban].key
            assert s.opening + sum(e["amount"] if e["cdi"] == "CRDT" else -e["amount"] for e in s.entries) == s.closing
            assert expected_level(s.closing, ledger[iban]) == INTENDED_LEVELS[key], (m.business_date, key)
            if previous is not None:
                assert s.opening == previous[iban].closing
                assert s.seq == previous[iban].seq + 1
        previous = stmts
    assert len({r["entry_id"] for r in rows}) == len(rows)


def test_next_day_resolves_the_previous_faults(demo_days):
    inbox, (first, second, _) = demo_days
    assert {r.account_key: r.action for r in second.resolutions} == {
        "A1": "BankLateBooking",
        "A2": "BankReversal",
        "A3": "LedgerAdjustment",
        "A4": "LedgerLateBooking",
        "A5": "LedgerLateBooking",
        "A6": "LedgerBurn",
    }
    stmts = statements(inbox, second.business_date)
    faults = {f.account_key: f for f in first.faults}
    (late,) = [e for e in stmts[faults["A1"].account].entries if e["uetr"] == faults["A1"].uetr]
    assert late["value_date"] == first.business_date.isoformat() and late["amount"] == faults["A1"].amount
    (reversal,) = [e for e in stmts[faults["A2"].account].entries if e["uetr"] == faults["A2"].uetr]
    assert reversal["reversal"] and reversal["cdi"] == "DBIT"
    ledger = read_ledger(inbox / f"ledger_{second.business_date.isoformat()}.csv")
    assert {r["bank_reference"] for r in ledger if r["account"] == faults["A4"].account} >= {faults["A4"].acct_svcr_ref}
    assert any(r["kind"] == "burn" and r["uetr"] == faults["A6"].uetr for r in ledger)


def test_identical_in_another_process_and_from_the_command_line(demo, tmp_path):
    """No dependence on hash randomisation or process state."""
    inbox, manifest = demo
    out = tmp_path / "inbox"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "deltran.demo",
            str(out),
            "--date",
            DAY.isoformat(),
            "--manifest",
            str(tmp_path / "manifest.json"),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "A6=Critical" in result.stdout
    assert json.loads((tmp_path / "manifest.json").read_text()) == json.loads(manifest.to_json())
    for name in manifest.files:
        assert (out / name).read_bytes() == (inbox / name).read_bytes(), name
