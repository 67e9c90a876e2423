"""A small reconciled business day in a real warehouse, for the reconciliation page's tests.

The marts are dbt's in production; here they are created with the columns the
page reads (the types of the dbt contracts) and a few rows a person can check by
eye. Breakers, suspensions and discrepancy cases are written by the platform's
own functions (deltran.recon.breaker, cases), as a check run would.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import psycopg

from deltran.recon import breaker

DAY = date(2026, 11, 20)
WINDOW = datetime(2026, 11, 20, 12, tzinfo=UTC)

# account, currency, bank (BIC), bank balance, ledger balance, level
ACCOUNTS = [
    ("AE070331234567890123456", "AED", "EBILAEADXXX", Decimal("1000000.00"), Decimal("1000000.00"), "OK"),
    ("GB29NWBK60161331926819", "USD", "NWBKGB2LXXX", Decimal("2500300.00"), Decimal("2500000.00"), "Minor"),
    ("IL620108000000099999999", "ILS", "LUMIILITXXX", Decimal("803000.00"), Decimal("800000.00"), "Significant"),
    ("DE89370400440532013000", "USD", "COBADEFFXXX", Decimal("496031.75"), Decimal("500000.00"), "Critical"),
    ("JP1234567", "JPY", "MHCBJPJTXXX", Decimal(125000000), Decimal(125000000), "OK"),
]

DDL = """
create schema if not exists marts;
create table marts.account_reconciliation (
    account_id text, business_date date, currency text, servicer_bic text, statement_id text,
    bank_closing_balance numeric, ledger_balance numeric, difference numeric, difference_pct numeric,
    under_backing_pct numeric, threshold_level text
);
create table marts.discrepancies (
    discrepancy_id text primary key, discrepancy_type text, side text, account_id text, currency text,
    business_date date, bank_amount numeric, ledger_amount numeric, difference numeric, severity text,
    state text, owner text
);
create table marts.clearing_windows (
    window_closing timestamptz, window_opening timestamptz, currency text, obligation_count bigint,
    late_count bigint, participant_count integer, gross_amount numeric, bilateral_net_amount numeric,
    net_amount numeric, netting_efficiency_pct numeric, bilateral_efficiency_pct numeric, cycle_component_count integer,
    simple_cycle_count integer, instruction_count integer, instruction_bound integer, cap_breach_count integer,
    is_settlement_held boolean, pacs009_file text, first_cleared_at timestamptz, last_cleared_at timestamptz
);
create table marts.clearing_positions (
    window_closing timestamptz, currency text, participant text, paid_amount numeric, received_amount numeric,
    net_amount numeric, is_net_payer boolean
);
create table marts.settlement_instructions (
    window_closing timestamptz, currency text, instruction_sequence integer, payer text, payee text, amount numeric
);
"""


def _pct(bank: Decimal, ledger: Decimal) -> tuple[Decimal, Decimal]:
    denominator = abs(ledger) or abs(bank)
    if not denominator:
        return Decimal(0), Decimal(0)
    return abs(bank - ledger) / denominator * 100, max(ledger - bank, Decimal(0)) / denominator * 100


def build(url: str, docs_page: str | None = None) -> None:
    """The day: five accounts, one breaker open, one suspension, three discrepancies, one clearing window."""
    with psycopg.connect(url) as conn:
        conn.execute(DDL)
        for account, ccy, bic, bank, ledger, level in ACCOUNTS:
            diff_pct, under_pct = _pct(bank, ledger)
            conn.execute(
                "insert into marts.account_reconciliation values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (account, DAY, ccy, bic, f"STMT-{account}", bank, ledger, bank - ledger, diff_pct, under_pct, level),
            )
        conn.execute(
            """
            insert into marts.discrepancies values
            ('D-MISSING-1', 'MissingTxn', 'bank', 'GB29NWBK60161331926819', 'USD', '2026-11-19', 300.00, null,
             300.00, 'Minor', 'open', 'operations'),
            ('D-AMOUNT-1', 'AmountMismatch', null, 'DE89370400440532013000', 'USD', '2026-11-20', 100.00, 103.25,
             -3.25, 'Critical', 'open', 'operations'),
            ('D-INFLIGHT-1', 'MissingTxn', 'ledger', 'AE070331234567890123456', 'AED', '2026-11-20', null, 50.00,
             -50.00, 'Minor', 'expected', 'operations')
            """
        )
        gross = [
            ("BANKAAAA", "BANKBBBB", "700.00"),
            ("BANKBBBB", "BANKAAAA", "200.00"),
            ("BANKBBBB", "BANKCCCC", "300.00"),
            ("BANKCCCC", "BANKAAAA", "100.00"),
        ]
        for a, b, amount in gross:
            low, high = sorted((a, b))
            a_to_b = Decimal(amount) if a == low else Decimal(0)
            b_to_a = Decimal(amount) if a == high else Decimal(0)
            conn.execute(
                """
                insert into clearing.bilateral_nets
                    (window_closing, currency, party_a, party_b, a_to_b_amount, b_to_a_amount, net_amount)
                values (%s, 'USD', %s, %s, %s, %s, 0)
                on conflict (window_closing, currency, party_a, party_b) do update
                set a_to_b_amount = clearing.bilateral_nets.a_to_b_amount + excluded.a_to_b_amount,
                    b_to_a_amount = clearing.bilateral_nets.b_to_a_amount + excluded.b_to_a_amount
                """,
                (WINDOW, low, high, a_to_b, b_to_a),
            )
        # net: A receives 200+100-700 = -400, B 700-200-300 = +200, C 300-100 = +200
        for statement in (
            """
            insert into marts.clearing_positions values
            (%(w)s, 'USD', 'BANKAAAA', 700.00, 300.00, -400.00, true),
            (%(w)s, 'USD', 'BANKBBBB', 500.00, 700.00, 200.00, false),
            (%(w)s, 'USD', 'BANKCCCC', 100.00, 300.00, 200.00, false)
            """,
            """
            insert into marts.settlement_instructions values
            (%(w)s, 'USD', 1, 'BANKAAAA', 'BANKBBBB', 200.00),
            (%(w)s, 'USD', 2, 'BANKAAAA', 'BANKCCCC', 200.00)
            """,
            """
            insert into marts.clearing_windows values
            (%(w)s, %(w)s - interval '6 hours', 'USD', 4, 0, 3, 1300.00, 900.00, 400.00,
             69.2308, 30.7692, 1, 1, 2, 2, 0, false,
             'window_20261120T1200Z/pacs009_USD.xml', now(), now())
            """,
        ):
            conn.execute(statement, {"w": WINDOW})
        outcomes = []
        for account, _ccy, _bic, bank, ledger, level in ACCOUNTS:
            diff_pct, under_pct = _pct(bank, ledger)
            outcomes.append(
                breaker.CheckOutcome(
                    account_id=account,
                    level=level,
                    business_date=DAY,
                    check_name="account_reconciliation_thresholds",
                    run_id="scheduled__2026-11-20",
                    reason=f"{level} on {DAY}: difference {diff_pct:.4f} %, under-backing {under_pct:.4f} %",
                    evidence=f"{account}-{DAY}",
                )
            )
        conn.execute(
            """
            insert into control.threshold_check_runs
                (run_id, business_date, check_name, gx_success, accounts, level_counts, failed_batch_checks,
                 data_docs_index, data_docs_page)
            values ('scheduled__2026-11-20', %s, 'account_reconciliation_thresholds', false, 5,
                    '{"OK": 2, "Minor": 1, "Significant": 1, "Critical": 1}', '{}', 'index.html', %s)
            """,
            (DAY, docs_page),
        )
        conn.cursor().executemany(
            "insert into control.threshold_checks (run_id, business_date, account_id, check_name, level,"
            " failed_expectations) values ('scheduled__2026-11-20', %s, %s, 'account_reconciliation_thresholds',"
            " %s, '{}')",
            [(DAY, a[0], a[5]) for a in ACCOUNTS],
        )
        conn.commit()
        breaker.apply_checks(conn, outcomes)
