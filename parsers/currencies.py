"""ISO 4217: the currency codes in use and their minor units (digits after the decimal point).

One table for every place that checks or writes an amount: the readers (an amount
may not carry more fraction digits than its currency has), the ledger export
reader, the XML writers' amount formatter and `deltran net`. Funds codes and
precious metals that carry no minor unit ("N.A." in the standard) are left out:
no payment on this network is in them, so an amount in one is refused.
"""

from __future__ import annotations

from decimal import Decimal

# Active codes of ISO 4217 (list one, published by SIX) with their minor units.
MINOR_UNITS: dict[str, int] = {
    # three decimals
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    # four decimals (units of account)
    **dict.fromkeys(["CLF", "UYW"], 4),
    # no decimals
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    # two decimals: every other active code
    **dict.fromkeys(
        """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF
        CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD
        HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU
        MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG
        SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST
        XCD XCG YER ZAR ZMW ZWG""".split(),
        2,
    ),
}


class UnknownCurrency(ValueError):
    """A code that is not an active ISO 4217 currency with minor units."""


def minor_units(currency: str) -> int:
    """Digits after the decimal point in ``currency`` (EUR 2, JPY 0, KWD 3); UnknownCurrency otherwise."""
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise UnknownCurrency(f"{currency!r} is not an ISO 4217 currency code in use") from None


def is_currency(code: str) -> bool:
    return code in MINOR_UNITS


def quantum(currency: str) -> Decimal:
    """The smallest amount of ``currency``: Decimal('0.01') for EUR, Decimal('1') for JPY."""
    return Decimal(1).scaleb(-minor_units(currency))
