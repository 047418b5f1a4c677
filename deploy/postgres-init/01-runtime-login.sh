#!/usr/bin/env bash
# Runs once, when the postgres container initialises an empty data directory.
# Creates the login the API runs as: no superuser, no RLS bypass, no privileges of its
# own. `sentinai db upgrade` later grants it the application roles (WITH INHERIT FALSE).
set -Eeo pipefail

: "${SENTINAI_API_DB_PASSWORD:?SENTINAI_API_DB_PASSWORD must be set for the postgres service}"

psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-sentinai}" \
    --set=api_password="$SENTINAI_API_DB_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE sentinai_api LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD %L', :'api_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sentinai_api')
\gexec
SQL
