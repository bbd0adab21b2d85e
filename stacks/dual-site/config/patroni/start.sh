#!/bin/sh
# Runs as root in the container: give the data volume to postgres, then run Patroni as postgres.
set -e
mkdir -p /var/lib/postgresql/data /var/run/postgresql
chown postgres:postgres /var/run/postgresql
# -R: the postgres uid can change when the image is rebuilt (Debian assigns system uids in install order).
chown -R postgres:postgres /var/lib/postgresql/data
chmod 0700 /var/lib/postgresql/data
export HOME=/var/lib/postgresql
# exec, not runuser: Patroni must be PID 1, where it reaps the postmaster it daemonizes.
exec setpriv --reuid=postgres --regid=postgres --init-groups -- patroni /stack/patroni/patroni.yml
