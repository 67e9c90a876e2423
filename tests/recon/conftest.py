"""Fixtures for the reconciliation controls: a hand-built account_reconciliation mart.

The mart is dbt's in production; here it is created with the columns the
checks read, and its derived columns are computed the way the model defines
them (difference = bank - ledger; percentages over |ledger|, or |bank| when the
ledger is 0; both 0 -> 0; threshold_level as dbt describes it).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import psycopg
import pytest

from deltran import config

MART_DDL = """
create schema if not exists marts;
create table if not exists marts.account_reconciliation (
    account_id           text,
    business_date        date,
    currency             char(3),
    servicer_bic         text,
    statement_id         text,
    bank_opening_balance numeric,
    bank_closing_balance numeric,
    ledger_balance       numeric,
    difference           numeric,
    difference_pct       numeric,
    under_backing_pct    numeric,
    threshold_level      text,
    is_under_backed      boolean
);
"""

# The derived columns as the dbt model defines them.
INSERT = """
insert into marts.account_reconciliation
    (account_id, business_date, currency, servicer_bic, statement_id,
     bank_opening_balance, bank_closing_balance, ledger_balance,
     difference, difference_pct, under_backing_pct, threshold_level, is_under_backed)
select account_id, business_date, 'USD', 'BANKUS33XXX', 'STMT-' || account_id || '-' || business_date,
       bank, bank, ledger, bank - ledger, difference_pct, under_backing_pct,
       case when difference_pct > %(significant)s or under_backing_pct > %(ok)s then 'Critical'
            when difference_pct > %(minor)s then 'Significant'
            when difference_pct > %(ok)s then 'Minor'
            else 'OK' end,
       ledger > bank
from (
    select *,
           case when denominator = 0 then 0 else abs(bank - ledger) / denominator * 100 end as difference_pct,
           case when denominator = 0 then 0 else greatest(ledger - bank, 0) / denominator * 100 end
               as under_backing_pct
    from (
        select %(account_id)s::text as account_id, %(business_date)s::date as business_date,
               %(bank)s::numeric as bank, %(ledger)s::numeric as ledger,
               case when %(ledger)s::numeric <> 0 then abs(%(ledger)s::numeric)
                    else abs(%(bank)s::numeric) end as denominator
    ) as input
) as derived
"""


class Mart:
    """Rows of marts.account_reconciliation for a test: add(account, day, bank, ledger)."""

    def __init__(self, url: str) -> None:
        self.url = url
        with psycopg.connect(url) as conn:
            conn.execute(MART_DDL)

    def add(self, account_id: str, business_date: date, bank, ledger, label: str | None = None) -> None:
        """One row; ``label`` overrides dbt's threshold_level (to test the cross-check)."""
        t = config.load().thresholds
        with psycopg.connect(self.url) as conn:
            conn.execute(
                INSERT,
                {
                    "account_id": account_id,
                    "business_date": business_date,
                    "bank": None if bank is None else Decimal(str(bank)),
                    "ledger": None if ledger is None else Decimal(str(ledger)),
                    "ok": t.ok_pct,
                    "minor": t.minor_pct,
                    "significant": t.significant_pct,
                },
            )
            if label is not None:
                conn.execute(
                    "update marts.account_reconciliation set threshold_level = %s"
                    " where account_id = %s and business_date = %s",
                    (label, account_id, business_date),
                )

    def replace(self, business_date: date, rows: dict[str, tuple]) -> None:
        """Rebuild one date, as a dbt run would."""
        with psycopg.connect(self.url) as conn:
            conn.execute("delete from marts.account_reconciliation where business_date = %s", (business_date,))
        for account_id, (bank, ledger) in rows.items():
            self.add(account_id, business_date, bank, ledger)


@pytest.fixture
def mart(warehouse_url) -> Mart:
    return Mart(warehouse_url)


@pytest.fixture
def conn(warehouse_url):
    """An autocommit connection (overrides the shared one for these tests).

    The code under test opens its own connections; a test connection left in an
    open transaction would hold locks (a breaker row after ``reset``) that those
    wait for, and would not see their commits. Autocommit makes each helper call
    its own transaction, as a CLI command is.
    """
    with psycopg.connect(warehouse_url, autocommit=True) as connection:
        yield connection
