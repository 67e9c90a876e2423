"""The integrity suites: statement continuity, ledger consistency, clearing invariants, freshness.

Each validates a mart (or the registry) that already computes the facts, one
partition per run; it does not repeat the mart's SQL. Every expectation is an
``UnexpectedRowsExpectation`` whose query returns the rows that break the rule,
each naming what a person must look at (account and bank, journal, window and
currency), so a failure is a list of findings, never a bare "false". Each
carries in its ``meta`` the check's name (``deltran_check``) and the finding
text (``finding``) the run summary prints.

=====================  ================================  ==============================  =================
suite                  asset (table)                     batch (partition)               checks
=====================  ================================  ==============================  =================
statement_continuity   marts.statement_checks            daily on business_date          opening = previous
                                                                                          closing; no gap or
                                                                                          repeat in
                                                                                          ElctrncSeqNb;
                                                                                          opening + credits -
                                                                                          debits = closing
ledger_consistency     marts.ledger_consistency          daily on business_date          every journal
                                                                                          balances
clearing_invariants    marts.clearing_positions          column value window_closing     net positions sum
                                                                                          to zero per
                                                                                          currency
statement_freshness    reference.account_registry        whole registry; the business    a statement for
                                                         date and cut-off are the        every open account,
                                                         expectation's parameters        created by the
                                                                                          cut-off
=====================  ================================  ==============================  =================

Freshness validates the registry, not the statements: a missing statement has
no row to fail, so the registry's accounts are the rows, and an account whose
statement for the date is absent (or created after the cut-off) is returned
with its servicing bank.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import great_expectations as gx
from great_expectations import expectations as gxe

META_CHECK = "deltran_check"
META_FINDING = "finding"

REGISTRY_TABLE = ("reference", "account_registry")


@dataclass(frozen=True)
class SuiteSpec:
    """One suite: its asset and how a run picks its partition."""

    name: str
    schema: str
    table: str
    partition: str  # 'daily:<column>' | 'value:<column>' | 'whole'


def _rows(check: str, finding: str, description: str, query: str) -> gxe.UnexpectedRowsExpectation:
    return gxe.UnexpectedRowsExpectation(
        unexpected_rows_query=query,
        description=description,
        meta={META_CHECK: check, META_FINDING: finding},
    )


STATEMENT_CONTINUITY = SuiteSpec("statement_continuity", "marts", "statement_checks", "daily:business_date")
LEDGER_CONSISTENCY = SuiteSpec("ledger_consistency", "marts", "ledger_consistency", "daily:business_date")
CLEARING_INVARIANTS = SuiteSpec("clearing_invariants", "marts", "clearing_positions", "value:window_closing")
STATEMENT_FRESHNESS = SuiteSpec("statement_freshness", *REGISTRY_TABLE, "whole")


def statement_continuity() -> gx.ExpectationSuite:
    columns = "account_id, statement_id, electronic_seq_nb, previous_statement_id, previous_electronic_seq_nb"
    return gx.ExpectationSuite(
        name=STATEMENT_CONTINUITY.name,
        expectations=[
            _rows(
                "opening_equals_previous_closing",
                "opening balance differs from the previous statement's closing balance",
                "Each statement opens with the previous statement's closing balance (today's opening = "
                "yesterday's closing). A row is a statement that does not.",
                f"select {columns}, opening_balance, previous_closing_balance from {{batch}}"
                " where is_opening_continuous = false",
            ),
            _rows(
                "no_sequence_gap",
                "ElctrncSeqNb skips a number (a statement is missing)",
                "ElctrncSeqNb rises by one from one statement to the next. A row is a statement after a gap.",
                f"select {columns} from {{batch}} where has_sequence_gap",
            ),
            _rows(
                "no_sequence_repeat",
                "ElctrncSeqNb repeats (two different statements with one number)",
                "Each ElctrncSeqNb belongs to one statement. A row is a statement sharing its number.",
                f"select {columns} from {{batch}} where has_sequence_repeat",
            ),
            _rows(
                "entries_sum_to_movement",
                "opening + credits - debits differs from the closing balance",
                "A statement's booked entries explain its balance movement (opening + credits - debits = closing).",
                f"select {columns}, opening_balance, credits, debits, closing_balance, computed_closing_balance"
                " from {batch} where not is_arithmetic_ok",
            ),
        ],
        meta={"grain": "marts.statement_checks, one business date per batch"},
    )


def ledger_consistency() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name=LEDGER_CONSISTENCY.name,
        expectations=[
            _rows(
                "journals_balance",
                "journal does not balance (debits <> credits)",
                "Every ledger journal balances: its debits equal its credits, per currency. A row is a journal "
                "that does not (marts.ledger_consistency lists them).",
                "select journal_id, currency, debits, credits, imbalance from {batch}",
            )
        ],
        meta={"grain": "marts.ledger_consistency, one business date per batch"},
    )


def clearing_invariants() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name=CLEARING_INVARIANTS.name,
        expectations=[
            _rows(
                "net_positions_sum_to_zero",
                "net positions do not sum to zero",
                "Per clearing window and currency the participants' net positions sum to exactly zero. A row is "
                "a currency whose positions do not.",
                "select window_closing, currency, sum(net_amount) as total from {batch}"
                " group by window_closing, currency having sum(net_amount) <> 0",
            )
        ],
        meta={"grain": "marts.clearing_positions, one clearing window per batch"},
    )


def statement_freshness(business_date: date, cutoff_at: datetime) -> gx.ExpectationSuite:
    """Built per run: the business date and the cut-off are the check's own parameters."""
    day = business_date.isoformat()
    cutoff = cutoff_at.isoformat()
    return gx.ExpectationSuite(
        name=STATEMENT_FRESHNESS.name,
        expectations=[
            _rows(
                "statement_by_cutoff",
                "no end-of-day statement by the cut-off",
                f"Every registry account open on {day} has its end-of-day statement (camt.053), created by the "
                f"cut-off {cutoff}. A row is an account without one, with its servicing bank.",
                f"""
                select r.account_id, r.servicing_bank_bic as bank_bic, r.currency::text as currency,
                       s.statement_id, s.created_at,
                       case when s.account_id is null then 'missing' else 'late' end as status
                from {{batch}} as r
                left join (
                    select c.account_id, min(c.statement_id) as statement_id, min(b.created_at) as created_at
                    from marts.statement_checks as c
                    left join raw.bank_statements as b
                        on b.statement_id = c.statement_id and b.account = c.account_id
                        and b.message_type = 'camt.053'
                    where c.business_date = date '{day}'
                    group by c.account_id
                ) as s on s.account_id = r.account_id
                where r.opened_on <= date '{day}' and (r.closed_on is null or r.closed_on >= date '{day}')
                    and (s.account_id is null or s.created_at > timestamptz '{cutoff}')
                """,
            )
        ],
        meta={"grain": "reference.account_registry, the accounts open on the business date"},
    )
