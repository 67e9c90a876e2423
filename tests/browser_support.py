"""Debian's Chromium driven by Playwright, for the tests that look at pages as a person would.

Playwright's own browser download cannot work here (no network beyond the
package registries): the tests drive /usr/bin/chromium, which `make test-deps`
installs as root. Outside CI a missing browser skips the test with the reason;
under CI=true it fails it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deltran import config

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = config.PROJECT_ROOT / "var" / "test-artifacts"


def need(what: str, present: bool) -> None:
    if present:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing under CI: the CI set-up (make test-deps) must install it")
    pytest.skip(f"{what} is not installed (make test-deps installs it, as root): the browser test cannot run")


def require_browser() -> None:
    """Skip (or under CI fail) unless Chromium and the playwright package are there."""
    need(f"Chromium ({CHROMIUM})", Path(CHROMIUM).exists())
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        need("The playwright package", False)
