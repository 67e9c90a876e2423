"""Two business days through ingest and dbt on a real PostgreSQL (no Airflow).

Day 2 opens where day 1 closed and books yesterday's fixes early in the
morning: the bank's late credit, the bank's reversal of its duplicate, the
ledger booking what the bank had. Rebuilt marts must then match them across
the two days, keep day 1's balances and levels as they were, and check
continuity.
"""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from deltran import config, pipeline
from deltran.demo import generate_days

pytestmark = [pytest.mark.slow, pytest.mark.db]
DAY1, DAY2 = date(2026, 11, 20), date(2026, 11, 21)
# fixes that make the day-1 break itself disappear: the other side now has it,
# or the ledger cancelled its own posting (a burn of tokens minted without money)
RESOLVED_BY_MATCHING = {"BankLateBooking", "BankReversal", "LedgerLateBooking", "LedgerBurn"}


def test_yesterdays_fixes_match_across_days_and_history_stays(warehouse_url):
    settings = config.load()
    settings.inbox.mkdir(parents=True)
    day1, day2 = generate_days(settings.inbox, DAY1, 2)
    pipeline.ingest_files()
    pipeline.build_marts()

    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        levels = {
            (a, d): level
            for a, d, level in conn.execute(
                "select account_id, business_date, threshold_level from marts.account_reconciliation"
            )
        }
        for manifest in (day1, day2):
            for account in manifest.accounts:
                assert levels[(account.iban, manifest.business_date)] == account.expected_level

        continuity = conn.execute(
            "select bool_and(is_opening_continuous), bool_or(has_sequence_gap), bool_or(has_duplicate_statement)"
            " from marts.account_reconciliation where business_date = %s",
            (DAY2,),
        ).fetchone()
        assert continuity == (True, False, False)

        day1_items = {
            (t, side, account)
            for t, side, account in conn.execute(
                "select discrepancy_type, side, account_id from marts.discrepancies"
                " where business_date = %s and discrepancy_type <> 'BalanceMismatch'",
                (DAY1,),
            )
        }
        fixes = {(r.fault_type, r.account): r.action for r in day2.resolutions}
        for fault in day1.faults:
            side = None if fault.type == "AmountMismatch" else fault.side
            still_open = (fault.type, side, fault.account) in day1_items
            assert still_open is (fixes[(fault.type, fault.account)] not in RESOLVED_BY_MATCHING), fault.account_key

        reversed_pairs = conn.execute(
            "select count(*) from intermediate.int_bank_entries_matched_to_ledger where match_status = 'reversed'"
        ).fetchone()[0]
        assert reversed_pairs == 4  # the bank reversal + the duplicate it cancels; the burn + the mint
