"""Clearing windows: they close at 00:00, 06:00, 12:00 and 18:00 UTC.

The window closing at T clears what was accepted in (T - 6h, T]: an obligation
accepted exactly at 06:00:00 belongs to the 06:00 window, one at
06:00:00.000001 to the 12:00 window, one at 18:00:00.000001 to 00:00 the next
day.

Where each rule lives (docs/design.md):
- ``WINDOW_LENGTH`` here is the one declaration of the length: dbt gets it as
  the var ``clearing_window_hours`` (``Settings.dbt_vars``), the window store's
  SQL as a parameter.
- The warehouse assigns each obligation its window in SQL, in the dbt macro
  ``clearing_window_closing`` (dbt/macros), used by ``int_obligations``.
  ``window_closing`` below is the same rule in Python, for tests and the demo;
  tests/test_clearing_windows_sql.py runs the macro on PostgreSQL and holds the
  two together on generated times.
- Late items (an obligation whose own window was cleared before it arrived goes
  to the next window not yet cleared then) are decided only in SQL, by the
  window store (``deltran.clearing.store``).

Only timezone-aware datetimes are accepted; a naive one raises
``NaiveDatetimeError``, since guessing its zone would move obligations between
windows. Aware datetimes in another zone are converted to UTC (the instant is
unambiguous) and every datetime returned is in UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

WINDOW_LENGTH = timedelta(hours=6)
WINDOW_HOURS = int(WINDOW_LENGTH.total_seconds()) // 3600
CLOSING_HOURS = tuple(range(0, 24, WINDOW_HOURS))  # windows are anchored at midnight UTC


class NaiveDatetimeError(ValueError):
    """A datetime without a timezone was given where a UTC instant is needed."""


def _utc(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(
            f"{what} {value.isoformat()} has no timezone; clearing windows need an aware UTC datetime"
        )
    return value.astimezone(timezone.utc)


def check_closing(closing: datetime) -> datetime:
    """``closing`` in UTC, if it is a window closing time; else ValueError."""
    closing = _utc(closing, "window closing")
    off_the_hour = (closing.minute, closing.second, closing.microsecond) != (0, 0, 0)
    if closing.hour not in CLOSING_HOURS or off_the_hour:
        hours = ", ".join(f"{h:02d}" for h in CLOSING_HOURS)
        raise ValueError(f"{closing.isoformat()} is not a window closing ({hours}:00 UTC)")
    return closing


def window_closing(accepted_at: datetime) -> datetime:
    """The closing time of the window that clears an obligation accepted at ``accepted_at``."""
    t = _utc(accepted_at, "accepted_at")
    midnight = t.replace(hour=0, minute=0, second=0, microsecond=0)
    since, rest = divmod(t - midnight, WINDOW_LENGTH)
    # On a boundary exactly, the window closing at that instant; else the next.
    return midnight + (since if not rest else since + 1) * WINDOW_LENGTH


def window_bounds(closing: datetime) -> tuple[datetime, datetime]:
    """``(start_exclusive, end_inclusive)`` of the window closing at ``closing``."""
    closing = check_closing(closing)
    return closing - WINDOW_LENGTH, closing


def is_in_window(accepted_at: datetime, closing: datetime) -> bool:
    """Whether ``accepted_at`` falls in (closing - 6h, closing]."""
    start, end = window_bounds(closing)
    return start < _utc(accepted_at, "accepted_at") <= end


def window_label(closing: datetime) -> str:
    """A compact, sortable name of a window: ``20250310T1200Z``."""
    return check_closing(closing).strftime("%Y%m%dT%H%MZ")
