"""Clearing windows: they close at 00:00, 06:00, 12:00 and 18:00 UTC.

The window closing at T clears what was accepted in (T - 6h, T]: an obligation
accepted exactly at 06:00:00 belongs to the 06:00 window, one at
06:00:00.000001 to the 12:00 window, one at 18:00:00.000001 to 00:00 the next
day. An obligation whose own window was already cleared (a late file) goes to
the next window not yet cleared and is marked late.

Only timezone-aware datetimes are accepted; a naive one raises
``NaiveDatetimeError``, since guessing its zone would move obligations between
windows. Aware datetimes in another zone are converted to UTC (the instant is
unambiguous) and every datetime returned is in UTC.
"""

from __future__ import annotations

from collections.abc import Set
from datetime import datetime, timedelta, timezone

WINDOW_LENGTH = timedelta(hours=6)
CLOSING_HOURS = (0, 6, 12, 18)


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
        raise ValueError(f"{closing.isoformat()} is not a window closing (00, 06, 12 or 18:00 UTC)")
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


def assign_window(accepted_at: datetime, cleared_windows: Set[datetime]) -> tuple[datetime, bool]:
    """``(closing, is_late)``: the window that will clear this obligation.

    Its own window if that one is not in ``cleared_windows``; otherwise the
    first later window not yet cleared, with ``is_late`` True.
    """
    own = window_closing(accepted_at)
    cleared = {check_closing(c) for c in cleared_windows}
    closing = own
    while closing in cleared:
        closing += WINDOW_LENGTH
    return closing, closing != own


def window_label(closing: datetime) -> str:
    """A compact, sortable name of a window: ``20250310T1200Z``."""
    return check_closing(closing).strftime("%Y%m%dT%H%MZ")
