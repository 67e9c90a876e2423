#!/usr/bin/env bash
# airflow-init (docker-compose.yml): runs once, as root, before the other Airflow
# services start. It prepares what they share and exits:
#   1. the shared folders on the volumes (logs, the warehouse's var/ tree, the
#      auth folder), owned by AIRFLOW_UID:0 like the rest of the official image;
#   2. the login of SimpleAuthManager (Airflow 3's default auth manager), from
#      _AIRFLOW_WWW_USER_USERNAME / _AIRFLOW_WWW_USER_PASSWORD (dev defaults);
#   3. Airflow's metadata database: `airflow db migrate`;
#   4. the warehouse's raw and control schemas (deltran.db.ensure_schema; dbt
#      builds the rest on the first run).
set -euo pipefail

: "${AIRFLOW_UID:=50000}"
: "${DELTRAN_HOME:=/opt/deltran}"
: "${AIRFLOW_HOME:=/opt/airflow}"
passwords_file="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-$AIRFLOW_HOME/auth/passwords.json}"

echo "airflow-init: folders"
mkdir -p "$AIRFLOW_HOME/logs" "$(dirname "$passwords_file")" \
  "$DELTRAN_HOME"/var/{inbox,archive,quarantine,outbox,reports,dbt}

echo "airflow-init: login for ${_AIRFLOW_WWW_USER_USERNAME:-admin}"
PASSWORDS_FILE="$passwords_file" python - <<'PY'
import json
import os

user = os.environ.get("_AIRFLOW_WWW_USER_USERNAME") or "admin"
password = os.environ.get("_AIRFLOW_WWW_USER_PASSWORD") or "admin"
path = os.environ["PASSWORDS_FILE"]
with open(path, "w") as f:
    json.dump({user: password}, f)
os.chmod(path, 0o660)
PY

echo "airflow-init: airflow db migrate"
airflow db migrate

echo "airflow-init: warehouse schemas"
python -c 'from deltran import db
with db.connect() as conn:
    db.ensure_schema(conn)'

chown -R "${AIRFLOW_UID}:0" "$AIRFLOW_HOME/logs" "$(dirname "$passwords_file")" "$DELTRAN_HOME/var"
chmod -R g+rwX "$AIRFLOW_HOME/logs" "$(dirname "$passwords_file")" "$DELTRAN_HOME/var"
echo "airflow-init: done (Airflow $(airflow version))"
