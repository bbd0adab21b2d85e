#!/bin/sh
# The single-site stack's only database: one PostgreSQL at pangyo, no replica anywhere.
set -e
PGDATA=/var/lib/postgresql/data/pg
mkdir -p /var/lib/postgresql/data /var/run/postgresql
chown -R postgres:postgres /var/lib/postgresql/data /var/run/postgresql
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  as_pg initdb -D "$PGDATA" -U postgres --encoding=UTF8 --no-locale --auth-local=trust --auth-host=scram-sha-256 --data-checksums >/dev/null
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  as_pg pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  as_pg psql -h /var/run/postgresql -U postgres -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE app LOGIN PASSWORD 'app'" -c "CREATE DATABASE mini OWNER app" >/dev/null
  as_pg pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
export HOME=/var/lib/postgresql
exec setpriv --reuid=postgres --regid=postgres --init-groups -- \
  postgres -D "$PGDATA" -c listen_addresses='*' -c shared_buffers=32MB -c max_connections=100
