"""Fixtures for the reconciliation page: Airflow's auth manager and tokens of real users."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def airflow_metadata() -> None:
    """Airflow's metadata database of this test session (tokens are checked against its revoked list)."""
    home = Path(os.environ["AIRFLOW_HOME"])
    if not (home / ".deltran-migrated").exists():
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
        (home / ".deltran-migrated").touch()


@pytest.fixture(scope="session")
def token_for(airflow_metadata):
    """token_for(name, role): a JWT the Airflow API server would have issued at login (SimpleAuthManager)."""
    from airflow.api_fastapi.app import init_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    manager = init_auth_manager()

    def make(name: str, role: str) -> str:
        return manager.generate_jwt(SimpleAuthManagerUser(username=name, role=role))

    return make
