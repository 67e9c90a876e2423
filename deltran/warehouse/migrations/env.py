"""Alembic's entry point for the warehouse migrations (see deltran/warehouse/schema.py).

Only online, on the connection deltran.warehouse.schema.upgrade hands over in
``config.attributes["connection"]``: the warehouse's URL, role and lock are the
caller's. No SQLAlchemy models: revisions are SQL.
"""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the warehouse migrations through `deltran db upgrade` (deltran.warehouse.schema.upgrade)")

# the version table lives with what it versions (owned by deltran_owner like the rest of control)
connection.exec_driver_sql("create schema if not exists control")
context.configure(connection=connection, target_metadata=None, version_table_schema="control")
with context.begin_transaction():
    context.run_migrations()
