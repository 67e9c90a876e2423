"""The environment Airflow runs in for this project, set in one place.

`deltran airflow ...`, `deltran demo` and the tests all start Airflow through
this, so its home, DAG folder and plugins folder never drift apart. Airflow's
own metadata stays on its default SQLite inside the project (.airflow/);
production points AIRFLOW__DATABASE__SQL_ALCHEMY_CONN at PostgreSQL instead
(see docker-compose.yml). Variables already set in the environment win.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from deltran import config


def airflow_environment(settings: config.Settings | None = None) -> dict[str, str]:
    settings = settings or config.load()
    env = dict(os.environ)
    defaults = {
        "AIRFLOW_HOME": str(settings.home / ".airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(config.PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(config.PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # the API server must not take the log server's port (8793)
        "AIRFLOW__API__PORT": "8080",
        # left at its default (32) the LocalExecutor starts 32 workers (~5.7 GiB):
        # four task slots, sized for the 2-core machines this runs on (docker-compose.yml too)
        "AIRFLOW__CORE__PARALLELISM": "4",
    }
    for key, value in defaults.items():
        env.setdefault(key, value)
    # `airflow standalone` starts its parts as `airflow` subprocesses: the
    # virtualenv's bin must be on PATH for them to be found.
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in env.get("PATH", "").split(os.pathsep):
        env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    return env
