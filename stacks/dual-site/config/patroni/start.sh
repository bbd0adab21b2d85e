#!/bin/sh
# Runs as root in the container: give the data volume to postgres, then run Patroni as postgres.
set -e
mkdir -p /var/lib/postgresql/data /var/run/postgresql
chown postgres:postgres /var/run/postgresql
chown postgres:postgres /var/lib/postgresql/data
chmod 0700 /var/lib/postgresql/data
exec runuser -u postgres -- patroni /stack/patroni/patroni.yml
