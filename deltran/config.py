"""All configuration in one place: environment variables with sensible defaults.

Nothing else in the project reads os.environ for settings; DAGs, the command
line, dbt (through ``dbt_vars``) and Great Expectations all take them from here,
so a threshold is written once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]

LEVELS = ("OK", "Minor", "Significant", "Critical")


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Thresholds:
    """Bands on |bank - ledger| / |ledger|, in percent (DOMAIN.md, Thresholds).

    OK <= ok_pct < Minor <= minor_pct < Significant <= significant_pct < Critical.
    Ledger exceeding bank by more than ok_pct is Critical whatever the size.
    """

    ok_pct: Decimal
    minor_pct: Decimal
    significant_pct: Decimal

    def __post_init__(self) -> None:
        if not (Decimal(0) <= self.ok_pct <= self.minor_pct <= self.significant_pct):
            raise ValueError(f"thresholds must be ordered 0 <= ok <= minor <= significant: {self}")


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str | None  # None: the embedded PostgreSQL
    database_name: str  # database created on the embedded server
    thresholds: Thresholds
    value_date_tolerance_days: int
    in_flight_grace_days: int
    net_debit_caps: dict[tuple[str, str], Decimal]  # (participant BIC, currency) -> cap
    # tiers 1 and 2 compare bank and ledger as of (cut-off - this): a movement one
    # side booked minutes before the cut-off has had time to reach the other side
    intraday_settling_minutes: int = 15

    @property
    def var(self) -> Path:
        return self.home / "var"

    @property
    def inbox(self) -> Path:
        return self.var / "inbox"

    @property
    def archive(self) -> Path:
        return self.var / "archive"

    @property
    def quarantine(self) -> Path:
        return self.var / "quarantine"

    @property
    def outbox(self) -> Path:
        return self.var / "outbox"

    @property
    def reports(self) -> Path:
        return self.var / "reports"

    @property
    def pgdata(self) -> Path:
        return self.home / ".pgdata"

    @property
    def dbt_project_dir(self) -> Path:
        return PROJECT_ROOT / "dbt"

    def dbt_vars(self) -> dict[str, str]:
        """The settings dbt models read with var(); strings keep decimals exact."""
        return {
            "ok_pct": str(self.thresholds.ok_pct),
            "minor_pct": str(self.thresholds.minor_pct),
            "significant_pct": str(self.thresholds.significant_pct),
            "value_date_tolerance_days": str(self.value_date_tolerance_days),
            "in_flight_grace_days": str(self.in_flight_grace_days),
        }


def parse_caps(text: str) -> dict[tuple[str, str], Decimal]:
    """'BIC:CCY=amount;BIC:CCY=amount' -> {(BIC, CCY): Decimal(amount)}."""
    caps: dict[tuple[str, str], Decimal] = {}
    for item in filter(None, (part.strip() for part in text.split(";"))):
        try:
            key, amount = item.split("=")
            participant, currency = key.split(":")
            caps[(participant.strip(), currency.strip())] = Decimal(amount.strip())
        except ValueError:
            raise ValueError(f"DELTRAN_NET_DEBIT_CAPS: {item!r} is not BIC:CCY=amount") from None
    return caps


def load() -> Settings:
    """Read the settings from the environment (cheap; call it where needed)."""
    return Settings(
        home=Path(_env("DELTRAN_HOME", str(PROJECT_ROOT))).resolve(),
        database_url=os.environ.get("DATABASE_URL") or None,
        database_name=_env("DELTRAN_DATABASE", "deltran"),
        thresholds=Thresholds(
            ok_pct=Decimal(_env("DELTRAN_THRESHOLD_OK_PCT", "0.01")),
            minor_pct=Decimal(_env("DELTRAN_THRESHOLD_MINOR_PCT", "0.05")),
            significant_pct=Decimal(_env("DELTRAN_THRESHOLD_SIGNIFICANT_PCT", "0.5")),
        ),
        value_date_tolerance_days=int(_env("DELTRAN_VALUE_DATE_TOLERANCE_DAYS", "2")),
        in_flight_grace_days=int(_env("DELTRAN_IN_FLIGHT_GRACE_DAYS", "0")),
        net_debit_caps=parse_caps(_env("DELTRAN_NET_DEBIT_CAPS", "")),
        intraday_settling_minutes=int(_env("DELTRAN_INTRADAY_SETTLING_MINUTES", "15")),
    )
