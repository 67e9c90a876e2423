"""The reconciliation page in the Airflow UI: queries (rows), render (HTML/SVG), app (FastAPI, auth)."""
