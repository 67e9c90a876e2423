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
    return os.environ.get(name) or default


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
    # matching: near-equal amounts (|bank - ledger| <= this, in the account's
    # currency) pair without a shared reference as an AmountMismatch; 0 = equal
    match_amount_tolerance: Decimal
    # suggested matches (no shared reference) count as confirmed without a person
    auto_confirm_suggested_matches: bool
    net_debit_caps: dict[tuple[str, str], Decimal]  # (participant BIC, currency) -> cap
    # past this age of its latest check (from the end of that business day) an account's payouts halt
    payout_check_horizon_hours: int = 48
    # the folder holding account_registry.csv, the EMI accounts reconciled (a dbt seed)
    registry_dir: Path = PROJECT_ROOT / "dbt" / "seeds"
    alert_webhook_url: str | None = None  # where task-failure alerts are POSTed; None: log only
    # control alerts (breaker opened, suspension, check failed closed, statement missing) by e-mail
    # through Airflow's SMTP provider: the recipients (none: no e-mail), the Airflow connection, the sender
    alert_email_to: tuple[str, ...] = ()
    alert_smtp_conn_id: str = "smtp_default"
    alert_email_from: str = "deltran-alerts@localhost"
    # where the Airflow UI is, for the link to the run in every alert
    airflow_base_url: str = "http://localhost:8080"
    # tiers 1 and 2 compare bank and ledger as of (cut-off - this): a movement one
    # side booked minutes before the cut-off has had time to reach the other side
    intraday_settling_minutes: int = 15
    # the end-of-day statement of business date D is due by D+1 00:00 UTC + this (the freshness check)
    statement_cutoff_hours: int = 6
    # a check that could not run retries recording its payout suspension for this long (the database may be back)
    fail_closed_wait_seconds: int = 60
    # processes that parse the files of one ingest batch side by side (1: in-process, one by one)
    ingest_workers: int = 1

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
        from deltran.clearing.windows import WINDOW_HOURS  # a constant, declared with the window rule

        return {
            "ok_pct": str(self.thresholds.ok_pct),
            "minor_pct": str(self.thresholds.minor_pct),
            "significant_pct": str(self.thresholds.significant_pct),
            "value_date_tolerance_days": str(self.value_date_tolerance_days),
            "in_flight_grace_days": str(self.in_flight_grace_days),
            "amount_tolerance": str(self.match_amount_tolerance),
            "auto_confirm_suggested": "true" if self.auto_confirm_suggested_matches else "false",
            "clearing_window_hours": str(WINDOW_HOURS),
            "intraday_settling_minutes": str(self.intraday_settling_minutes),
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


def _non_negative(name: str, default: str) -> Decimal:
    text = _env(name, default)
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise ValueError(f"{name}: {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"{name}: {text!r} must be a number >= 0")
    return value


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
        match_amount_tolerance=_non_negative("DELTRAN_MATCH_AMOUNT_TOLERANCE", "0"),
        auto_confirm_suggested_matches=_env("DELTRAN_AUTO_CONFIRM_SUGGESTED_MATCHES", "false").lower()
        in ("1", "true", "yes"),
        net_debit_caps=parse_caps(_env("DELTRAN_NET_DEBIT_CAPS", "")),
        payout_check_horizon_hours=int(_env("DELTRAN_PAYOUT_CHECK_HORIZON_HOURS", "48")),
        registry_dir=Path(_env("DELTRAN_REGISTRY_DIR", str(PROJECT_ROOT / "dbt" / "seeds"))).resolve(),
        alert_webhook_url=os.environ.get("DELTRAN_ALERT_WEBHOOK_URL", "").strip() or None,
        alert_email_to=tuple(
            a.strip() for a in os.environ.get("DELTRAN_ALERT_EMAIL_TO", "").replace(";", ",").split(",") if a.strip()
        ),
        alert_smtp_conn_id=_env("DELTRAN_ALERT_SMTP_CONN_ID", "smtp_default"),
        alert_email_from=_env("DELTRAN_ALERT_EMAIL_FROM", "deltran-alerts@localhost"),
        airflow_base_url=_env("DELTRAN_AIRFLOW_BASE_URL", "http://localhost:8080").rstrip("/"),
        intraday_settling_minutes=int(_env("DELTRAN_INTRADAY_SETTLING_MINUTES", "15")),
        statement_cutoff_hours=int(_env("DELTRAN_STATEMENT_CUTOFF_HOURS", "6")),
        fail_closed_wait_seconds=int(_env("DELTRAN_FAIL_CLOSED_WAIT_SECONDS", "60")),
        ingest_workers=max(1, int(_env("DELTRAN_INGEST_WORKERS", str(min(2, os.cpu_count() or 1))))),
    )
