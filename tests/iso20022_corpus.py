"""Where the shared ISO 20022 sample corpus is: the one place every test asks.

The corpus (real files and the XSDs) stays in the shared folder beside the
checkout, ../shared/iso20022-samples, and is never copied into the project;
DELTRAN_ISO20022_SAMPLES points elsewhere when needed. Without it the tests that
read it skip on a developer's machine, but under CI (CI=true) the run fails:
a CI that silently skipped the golden tests would pass on nothing.

Imported as a plain module (tests/ is on sys.path through its conftest.py), as
test modules need the paths at collection time; fixtures use ``require``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deltran.config import PROJECT_ROOT

SAMPLES = Path(os.environ.get("DELTRAN_ISO20022_SAMPLES") or PROJECT_ROOT.parent / "shared" / "iso20022-samples")
XSD = SAMPLES / "xsd"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing_reason() -> str | None:
    """Why the corpus cannot be used, or None when it is there."""
    if not SAMPLES.is_dir():
        return f"ISO 20022 sample corpus not found at {SAMPLES} (set DELTRAN_ISO20022_SAMPLES)"
    if not XSD.is_dir():
        return f"ISO 20022 schemas not found at {XSD}"
    return None


def require(path: Path | None = None) -> Path:
    """``path`` (default: the corpus folder) if it exists; else skip, or fail under CI."""
    reason = missing_reason()
    if reason is None and path is not None and not path.exists():
        reason = f"{path} not found in the ISO 20022 sample corpus"
    if reason is not None:
        if in_ci():
            pytest.fail(reason + ": CI needs the corpus", pytrace=False)
        pytest.skip(reason)
    return path if path is not None else SAMPLES
