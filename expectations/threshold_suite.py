"""The threshold suite: one expectation per band boundary of DOMAIN.md's Thresholds.

Each expectation runs on the batch of one business date of
``marts.account_reconciliation`` (one row per EMI account). An account's level is
decided by which of these expectations its row fails, and each expectation
carries in its ``meta`` the level a failure means, so the mapping is part of the
suite (it shows in Data Docs and in every stored validation result):

=============================  =================================  ================
check (meta ``deltran_check``)  expectation                       failing row means
=============================  =================================  ================
difference_within_ok           difference_pct <= ok_pct           Minor
difference_within_minor        difference_pct <= minor_pct        Significant
difference_within_significant  difference_pct <= significant_pct  Critical
under_backing_within_ok        under_backing_pct <= ok_pct        Critical
bank_balance_known             bank_closing_balance is not null   Significant
ledger_balance_known           ledger_balance is not null         Significant
difference_known               difference_pct is not null         Significant
under_backing_known            under_backing_pct is not null      Significant
one_row_per_account            account_id unique in the batch     (no level)
=============================  =================================  ================

A row failing none is OK; otherwise the worst level among its failures. The
last check is about the whole batch (it lists no rows): it only makes the
checkpoint fail; a duplicated account takes the worst level of its rows. The
bands are inclusive at the top (exactly ok_pct is OK), as DOMAIN.md writes them.

Why the not-null checks: GX skips nulls in ``between``, so a row whose
percentages are missing would otherwise fail nothing and look OK; and a
percentage can look fine while a balance it was computed from is missing (a
``coalesce(..., 0)`` upstream turns "unknown" into 0 %). Unknown backing is not
evidence of under-backing, so it suspends payouts (Significant, lifted by the
next complete check) instead of opening a breaker that only a person can close.

Thresholds come from :class:`deltran.config.Thresholds` only.
"""

from __future__ import annotations

from decimal import Decimal

import great_expectations as gx
from great_expectations import expectations as gxe

from deltran import config

SUITE_NAME = "account_reconciliation_thresholds"

#: keys of each expectation's ``meta``
META_CHECK = "deltran_check"
META_LEVEL = "level_on_failure"

#: the column that identifies a failing row in every result
INDEX_COLUMN = "account_id"


def _pct(value: Decimal, name: str) -> float:
    """GX types bounds as float: refuse a threshold a float would not carry exactly.

    GX binds the bound as a float8 parameter, so PostgreSQL compares
    ``difference_pct::float8 > 0.01::float8``. The shortest repr of a float
    round-trips every decimal of up to 15 significant digits, so a configured
    bound is the same number on both sides and a value exactly on it stays in
    the lower band (tested). A value could only be misplaced if it differed from
    the bound by less than one part in 10^16, which with amounts of at most 5
    decimals takes balances above 10^15; suite parameters do not help, GX
    coerces them to float as well.
    """
    as_float = float(value)
    if Decimal(repr(as_float)) != value:
        raise ValueError(f"threshold {name}={value} has more precision than GX can carry exactly")
    return as_float


#: what a failing account's level means for operations, said in each expectation's description
CONSEQUENCE = {
    "Minor": "a discrepancy is logged and payouts go on",
    "Significant": "payouts on that account are suspended",
    "Critical": "its circuit breaker opens and payouts halt until a person resets it",
}


def _at_most(
    check: str, column: str, bound: Decimal, bound_name: str, level: str, text: str
) -> gxe.ExpectColumnValuesToBeBetween:
    return gxe.ExpectColumnValuesToBeBetween(
        column=column,
        max_value=_pct(bound, bound_name),
        description=f"{text} at most {bound} % ({column} <= {bound_name}). An account beyond it is {level}: "
        f"{CONSEQUENCE[level]}.",
        meta={META_CHECK: check, META_LEVEL: level, "threshold_pct": str(bound)},
    )


def _not_null(check: str, column: str, level: str, text: str) -> gxe.ExpectColumnValuesToNotBeNull:
    return gxe.ExpectColumnValuesToNotBeNull(
        column=column,
        description=f"{text} is known ({column} is not empty). An account without it is {level}: "
        f"{CONSEQUENCE[level]} until the figure arrives.",
        meta={META_CHECK: check, META_LEVEL: level},
    )


_DIFFER = "the bank's closing balance and the ledger balance differ by"


def threshold_expectations(thresholds: config.Thresholds) -> list[gxe.Expectation]:
    """The suite's expectations, built from the configured bands."""
    t = thresholds
    return [
        _at_most("difference_within_ok", "difference_pct", t.ok_pct, "ok_pct", "Minor", "OK band: " + _DIFFER),
        _at_most(
            "difference_within_minor",
            "difference_pct",
            t.minor_pct,
            "minor_pct",
            "Significant",
            "Minor band: " + _DIFFER,
        ),
        _at_most(
            "difference_within_significant",
            "difference_pct",
            t.significant_pct,
            "significant_pct",
            "Critical",
            "Significant band: " + _DIFFER,
        ),
        _at_most(
            "under_backing_within_ok",
            "under_backing_pct",
            t.ok_pct,
            "ok_pct",
            "Critical",
            "Backing: the ledger exceeds the bank's closing balance by",
        ),
        _not_null("bank_balance_known", "bank_closing_balance", "Significant", "The bank's closing balance"),
        _not_null("ledger_balance_known", "ledger_balance", "Significant", "The ledger balance"),
        _not_null("difference_known", "difference_pct", "Significant", "The difference between bank and ledger"),
        _not_null("under_backing_known", "under_backing_pct", "Significant", "How far the ledger exceeds the bank"),
        # The grain, as one aggregate (count distinct / count = 1). Not the row-level
        # ExpectColumnValuesToBeUnique: GX lists its duplicate rows with a query that
        # grows with the square of the batch (15 s at 5,000 accounts).
        gxe.ExpectColumnProportionOfUniqueValuesToBeBetween(
            column=INDEX_COLUMN,
            min_value=1.0,
            description="Each account appears once per business date (the table's grain). A duplicate fails the "
            "check as a whole; it decides no account's level.",
            meta={META_CHECK: "one_row_per_account", META_LEVEL: None},
        ),
    ]


def build_suite(thresholds: config.Thresholds) -> gx.ExpectationSuite:
    """A new (unsaved) suite; add it to a context with ``context.suites.add``."""
    return gx.ExpectationSuite(
        name=SUITE_NAME,
        expectations=threshold_expectations(thresholds),
        meta={
            "grain": "marts.account_reconciliation, one business date per batch",
            "thresholds_pct": {
                "ok": str(thresholds.ok_pct),
                "minor": str(thresholds.minor_pct),
                "significant": str(thresholds.significant_pct),
            },
        },
    )
