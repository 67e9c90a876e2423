"""The threshold rule (DOMAIN.md, Thresholds) in Python: the reference the others are tested against.

The same rule is written once per language and all read the same bands
(:class:`deltran.config.Thresholds`):

* dbt: ``dbt/macros/threshold_level.sql`` (``threshold_pct`` and
  ``threshold_level``), called by every model that computes a level or a
  severity, with the bands passed as vars (``Settings.dbt_vars``);
* Great Expectations: ``expectations/threshold_suite.py`` (one expectation per
  band boundary), which decides the levels the breaker acts on;
* here, for the tier-1/2 percentages, the demo generator and the tests
  (``tests/recon/test_threshold_rule.py`` holds all of them equal).

The rule:

* the base of a percentage is the ledger balance; a zero ledger (a new
  account, first funding) falls back to the bank balance; an amount against no
  base at all (both zero) is 0 % when it is zero and 100 % otherwise (never a
  division by zero);
* difference = bank - ledger; difference_pct = |difference| / |base|;
  under_backing_pct = max(-difference, 0) / |base| (the ledger above the bank);
* level: unknown figures -> Significant (payouts wait for them);
  difference_pct > significant or under_backing_pct > ok -> Critical;
  > minor -> Significant; > ok -> Minor; else OK (bands inclusive at the top).
"""

from __future__ import annotations

from decimal import Decimal

from deltran.config import LEVELS, Thresholds

ZERO = Decimal(0)
HUNDRED = Decimal(100)


def base(bank: Decimal | None, ledger: Decimal | None) -> Decimal | None:
    """|ledger|, else |bank| when the ledger is zero; None when both are zero or unknown."""
    for value in (ledger, bank):
        if value:
            return abs(value)
    return None


def pct(amount: Decimal | None, base_amount: Decimal | None) -> Decimal | None:
    """|amount| as a percentage of ``base_amount``; 0 for no amount, 100 for an amount with no base."""
    if amount is None:
        return None
    if amount == 0:
        return ZERO
    if not base_amount:
        return HUNDRED
    return abs(amount) / abs(base_amount) * 100


def percentages(bank: Decimal | None, ledger: Decimal | None) -> tuple[Decimal | None, Decimal | None]:
    """(difference_pct, under_backing_pct) of one account; (None, None) when a balance is unknown."""
    if bank is None or ledger is None:
        return None, None
    difference = bank - ledger
    denominator = base(bank, ledger)
    return pct(difference, denominator), pct(max(-difference, ZERO), denominator)


def level(difference_pct: Decimal | None, under_backing_pct: Decimal | None, thresholds: Thresholds) -> str:
    """The band of the two percentages."""
    if difference_pct is None or under_backing_pct is None:
        return "Significant"
    if difference_pct > thresholds.significant_pct or under_backing_pct > thresholds.ok_pct:
        return "Critical"
    if difference_pct > thresholds.minor_pct:
        return "Significant"
    if difference_pct > thresholds.ok_pct:
        return "Minor"
    return "OK"


def classify(bank: Decimal | None, ledger: Decimal | None, thresholds: Thresholds) -> str:
    """The level of an account whose bank and ledger balances are these."""
    return level(*percentages(bank, ledger), thresholds)


def worst(*levels: str) -> str:
    return max(levels, key=LEVELS.index)
