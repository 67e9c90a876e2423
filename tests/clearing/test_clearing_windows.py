"""Clearing windows close at 00, 06, 12, 18 UTC and clear (T - 6h, T]."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deltran.clearing.windows import (
    NaiveDatetimeError,
    is_in_window,
    window_bounds,
    window_closing,
    window_label,
)

UTC = timezone.utc


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    "accepted, closing",
    [
        (utc(2025, 3, 10, 6, 0, 0), utc(2025, 3, 10, 6)),  # exactly at T: that window
        (utc(2025, 3, 10, 6, 0, 0, 1), utc(2025, 3, 10, 12)),  # a microsecond after: the next
        (utc(2025, 3, 10, 0, 0, 0, 1), utc(2025, 3, 10, 6)),
        (utc(2025, 3, 10, 11, 59, 59, 999999), utc(2025, 3, 10, 12)),
        (utc(2025, 3, 10, 12, 0, 0), utc(2025, 3, 10, 12)),
        (utc(2025, 3, 10, 17, 30), utc(2025, 3, 10, 18)),
        (utc(2025, 3, 10, 18, 0, 0, 1), utc(2025, 3, 11, 0)),  # midnight wrap
        (utc(2025, 3, 10, 23, 59, 59, 999999), utc(2025, 3, 11, 0)),
        (utc(2025, 3, 11, 0, 0, 0), utc(2025, 3, 11, 0)),  # midnight itself closes the 18-24 window
        (utc(2025, 12, 31, 20), utc(2026, 1, 1, 0)),  # year wrap
        (utc(2024, 2, 28, 19), utc(2024, 2, 29, 0)),  # leap day
    ],
)
def test_window_closing(accepted, closing):
    assert window_closing(accepted) == closing
    start, end = window_bounds(closing)
    assert start < accepted <= end
    assert is_in_window(accepted, closing)


def test_other_zones_are_converted_to_utc():
    dubai = timezone(timedelta(hours=4))
    # 10:00+04:00 is 06:00Z: exactly a closing
    closing = window_closing(datetime(2025, 3, 10, 10, 0, tzinfo=dubai))
    assert closing == utc(2025, 3, 10, 6) and closing.tzinfo == UTC
    assert window_closing(datetime(2025, 3, 10, 10, 0, 0, 1, tzinfo=dubai)) == utc(2025, 3, 10, 12)


def test_naive_datetimes_are_rejected():
    with pytest.raises(NaiveDatetimeError, match="no timezone"):
        window_closing(datetime(2025, 3, 10, 6))
    with pytest.raises(NaiveDatetimeError):
        window_bounds(datetime(2025, 3, 10, 6))
    with pytest.raises(NaiveDatetimeError):
        is_in_window(datetime(2025, 3, 10, 5), utc(2025, 3, 10, 6))


def test_bounds_and_label():
    assert window_bounds(utc(2025, 3, 11, 0)) == (utc(2025, 3, 10, 18), utc(2025, 3, 11, 0))
    assert window_label(utc(2025, 3, 10, 12)) == "20250310T1200Z"
    for not_a_closing in (utc(2025, 3, 10, 7), utc(2025, 3, 10, 6, 0, 0, 1), utc(2025, 3, 10, 6, 30)):
        with pytest.raises(ValueError, match="not a window closing"):
            window_bounds(not_a_closing)


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=4)), timezone(timedelta(hours=-5, minutes=-30))]),
    )
)
def test_every_instant_is_in_exactly_its_window(t):
    closing = window_closing(t)
    assert closing.tzinfo == UTC
    assert closing.hour in (0, 6, 12, 18) and (closing.minute, closing.second, closing.microsecond) == (0, 0, 0)
    start, end = window_bounds(closing)
    assert start < t <= end
    assert not is_in_window(t, closing + timedelta(hours=6))
    assert not is_in_window(t, closing - timedelta(hours=6))
