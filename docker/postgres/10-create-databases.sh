#!/usr/bin/env bash
# One PostgreSQL 16 server, two databases, each owned by its own role:
#   airflow  - Airflow's metadata (AIRFLOW__DATABASE__SQL_ALCHEMY_CONN)
#   deltran  - the platform's warehouse (DATABASE_URL)
#
# The postgres image runs this once, on an empty data directory, from
# /docker-entrypoint-initdb.d (docker-compose.yml mounts this folder there).
# Names and passwords come from the container's environment (docker-compose.yml
# passes the same ${VAR:-default}s the Airflow services use). Idempotent: a
# role or database that exists is left alone.
#
# The image may source this file rather than execute it: no `exit` here.
set -euo pipefail

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  --set=airflow_user="${AIRFLOW_DB_USER:-airflow}" \
  --set=airflow_password="${AIRFLOW_DB_PASSWORD:-airflow}" \
  --set=airflow_db="${AIRFLOW_DB_NAME:-airflow}" \
  --set=deltran_user="${DELTRAN_DB_USER:-deltran}" \
  --set=deltran_password="${DELTRAN_DB_PASSWORD:-deltran}" \
  --set=deltran_db="${DELTRAN_DB_NAME:-deltran}" <<'EOSQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'airflow_user', :'airflow_password')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'airflow_user')
\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'airflow_db', :'airflow_user')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'airflow_db')
\gexec
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'deltran_user', :'deltran_password')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'deltran_user')
\gexec
-- the warehouse compares text byte by byte (collation C): faster sorts and indexes, the same order
-- on every server (deltran.db.create_database says why)
SELECT format('CREATE DATABASE %I OWNER %I TEMPLATE template0 LC_COLLATE %L', :'deltran_db', :'deltran_user', 'C')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'deltran_db')
\gexec
-- Each role reaches its own database only (owners and superusers keep access).
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'airflow_db')
\gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'deltran_db')
\gexec
EOSQL
