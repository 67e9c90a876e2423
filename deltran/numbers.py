"""How numbers are shown to people: one rule for the summary, the command line, the page and breaker reasons.

Amounts in their currency's minor units (ISO 4217: EUR 2, JPY 0, KWD 3), with
thousands separated; percentages with four decimals; netting efficiency always
as a percentage. The stored values stay exact (NUMERIC, Decimal): only their
text is rounded, half to even, and only here.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import overload

from parsers.currencies import UnknownCurrency, minor_units

PERCENT_PLACES = Decimal("0.0001")


def amount(value: Decimal | int | None, currency: str | None) -> str:
    """``1,234,567.80 USD``: the currency's minor units, thousands separated; '-' when unknown."""
    if value is None:
        return "-"
    value = Decimal(value)
    code = (currency or "").strip()
    try:
        digits = minor_units(code)
        text = f"{value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN):,.{digits}f}"
    except (UnknownCurrency, ArithmeticError):  # no currency known: every digit there is
        text = f"{value.normalize():,f}"
    return f"{text} {code}".strip()


@overload
def percent_value(value: Decimal | int) -> Decimal: ...
@overload
def percent_value(value: None) -> None: ...
def percent_value(value: Decimal | int | None) -> Decimal | None:
    """A percentage rounded to four decimals (half to even)."""
    return None if value is None else Decimal(value).quantize(PERCENT_PLACES, rounding=ROUND_HALF_EVEN)


def percent(value: Decimal | int | None) -> str:
    """``0.7937 %``: a percentage with four decimals; '-' when unknown."""
    rounded = percent_value(value)
    return "-" if rounded is None else f"{rounded:,.4f} %"


@overload
def efficiency_pct(fraction: Decimal) -> Decimal: ...
@overload
def efficiency_pct(fraction: None) -> None: ...
def efficiency_pct(fraction: Decimal | None) -> Decimal | None:
    """Netting efficiency (1 - net / gross, a fraction) as a percentage with four decimals."""
    return None if fraction is None else percent_value(fraction * 100)
