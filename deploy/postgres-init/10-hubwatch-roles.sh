#!/bin/sh
# hubwatch's roles and database on a new PostgreSQL data folder, as docs/deploying.md
# "Database roles" asks: the application role owns its database and schema and has no
# superuser right; analysts get the group role that migration 0003 grants the views to.
#
# The postgres image runs this once, on an empty data folder (docker-entrypoint-initdb.d),
# as its superuser. It also runs by hand against any server:
#   PGHOST=... PGUSER=<administrator> HUBWATCH_DB_PASSWORD=... sh 10-hubwatch-roles.sh
#
# HUBWATCH_DB_PASSWORD (required): the application role's password.
# HUBWATCH_DB_USER, HUBWATCH_DB_NAME: its name and its database's [hubwatch, hubwatch].
set -eu
: "${HUBWATCH_DB_PASSWORD:?set HUBWATCH_DB_PASSWORD (the hubwatch role's password)}"
user="${HUBWATCH_DB_USER:-hubwatch}"
name="${HUBWATCH_DB_NAME:-hubwatch}"
admin_db="${POSTGRES_DB:-postgres}"

# Values go in as psql variables (:'x' quotes a literal, :"x" an identifier): a password
# with quotes in it stays a password.
psql -v ON_ERROR_STOP=1 -X -q -d "$admin_db" -v user="$user" -v name="$name" \
     -v password="$HUBWATCH_DB_PASSWORD" <<'SQL'
CREATE ROLE :"user" LOGIN PASSWORD :'password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hubwatch_analyst') AS no_analyst_role \gset
\if :no_analyst_role
CREATE ROLE hubwatch_analyst NOLOGIN;
\endif
-- UTF-8 with a real locale: pg_trgm finds no trigrams in Chinese under the C locale.
CREATE DATABASE :"name" OWNER :"user" TEMPLATE template0 ENCODING 'UTF8'
    LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8';
\connect :"name"
ALTER SCHEMA public OWNER TO :"user";
SQL
