"""Airflow plugin: the "Reconciliation" page in the Airflow UI's navigation.

Airflow 3.1+ plugin interface: a FastAPI app served by the API server under
``/deltran/reconciliation/`` and an external view that shows it in the UI (a
nav entry, rendered in the UI's frame at ``/plugin/reconciliation``). The app,
its queries and its authorisation live in ``deltran.ui``; this file only
registers them.
"""

from __future__ import annotations

from typing import ClassVar

from airflow.plugins_manager import AirflowPlugin

from deltran.ui.app import create_app

URL_PREFIX = "/deltran/reconciliation"


class DeltranReconciliationPlugin(AirflowPlugin):
    name = "deltran_reconciliation"
    fastapi_apps: ClassVar[list[dict]] = [
        {"app": create_app(), "url_prefix": URL_PREFIX, "name": "DelTran reconciliation"}
    ]
    external_views: ClassVar[list[dict]] = [
        {
            "name": "Reconciliation",
            "href": URL_PREFIX.lstrip("/") + "/",  # relative: works behind a proxy's base URL
            "destination": "nav",
            "url_route": "reconciliation",
            "nav_top_level": True,  # its own entry in the side bar, not under "Plugins"
        }
    ]
