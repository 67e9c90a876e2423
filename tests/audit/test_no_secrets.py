"""No credential in the repository: connections come from the environment or Airflow connections.

Scans every tracked text file outside tests/ for a URL with a password in it and for a
password, secret, token or key given a literal value. Docker Compose's dev
defaults are written ``${VAR:-default}`` (overridable, documented there) and pass.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# a placeholder (user:pass@host in the README) is not a password
URL_WITH_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:(?!\$\{|pass@|password@)[^@\s/'\"{}]+@")
LITERAL_SECRET = re.compile(
    r"(?i)\b(password|passwd|secret|secret_key|api_key|token)\b\s*[:=]\s*[\"']([^\"'$\s{][^\"']{3,})[\"']"
)


def _tracked() -> list[Path]:
    try:
        names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / name for name in names.splitlines() if (ROOT / name).is_file()]


def test_no_credential_is_written_in_the_repository():
    found = []
    for path in _tracked():
        # tests log in to servers of their own with throwaway values
        if path.suffix in {".png", ".jpg", ".gz", ".zip", ".xsd"} or path.relative_to(ROOT).parts[0] == "tests":
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if URL_WITH_PASSWORD.search(line) or LITERAL_SECRET.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert found == [], "credentials in the repository:\n" + "\n".join(found)
