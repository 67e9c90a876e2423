"""Generated demo days, shared by the demo tests (generation takes about a second a day)."""

from __future__ import annotations

import pytest

from deltran.demo import generate_day, generate_days

from demo_files import DAY


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """One business date, seed 42: (inbox, manifest)."""
    inbox = tmp_path_factory.mktemp("inbox")
    return inbox, generate_day(inbox, DAY)


@pytest.fixture(scope="session")
def demo_days(tmp_path_factory):
    """Three consecutive business dates in one inbox: (inbox, manifests)."""
    inbox = tmp_path_factory.mktemp("inbox3")
    return inbox, generate_days(inbox, DAY, 3)
