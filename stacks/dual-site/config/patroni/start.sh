#!/bin/sh
# Runs as root in the container: give the data volume to postgres, then run Patroni as postgres.
set -e
mkdir -p /var/lib/postgresql/data /var/run/postgresql
chown postgres:postgres /var/run/postgresql
# -R: the postgres uid can change when the image is rebuilt (Debian assigns system uids in install order).
chown -R postgres:postgres /var/lib/postgresql/data
chmod 0700 /var/lib/postgresql/data
export HOME=/var/lib/postgresql
# No REST API without its credentials (patroni.env from scripts/make-secrets.sh, via compose).
: "${PATRONI_RESTAPI_USERNAME:?no Patroni REST credentials: run scripts/make-secrets.sh}"
: "${PATRONI_RESTAPI_PASSWORD:?no Patroni REST credentials: run scripts/make-secrets.sh}"
etcd() { etcdctl --endpoints="http://${PATRONI_ETCD3_HOSTS:?}" --dial-timeout=2s --command-timeout=2s "$@"; }
# wait_until SECONDS WHAT CMD...: run CMD every second until it succeeds or SECONDS have passed,
# saying every 10 s what is awaited; then go on either way (Patroni itself reports what is missing).
wait_until() {
    limit=$1 what=$2 waited=0
    shift 2
    until "$@"; do
        if [ "$waited" -ge "$limit" ]; then
            echo "start: gave up waiting for $what after ${limit} s" >&2
            return 0
        fi
        [ $((waited % 10)) -eq 0 ] && echo "start: waiting for $what, ${waited} s" >&2
        sleep 1
        waited=$((waited + 1))
    done
}
etcd_healthy() { etcd endpoint health >/dev/null 2>&1; }
bootstrapped() { [ -n "$(etcd get "/service/${PATRONI_SCOPE:?}/initialize" --print-value-only 2>/dev/null)" ]; }
# Patroni exits at once if its etcd member does not answer when it starts: give the member (started
# at the same time on a new stack or after a power cut) up to 60 s to be healthy.
wait_until 60 "etcd at $PATRONI_ETCD3_HOSTS" etcd_healthy
# WAIT_FOR_BOOTSTRAP (pg-chuncheon): with no data yet, let another node bootstrap the cluster first,
# so that pangyo is the primary of a new stack. Patroni's initialize key holds the system id once the
# bootstrap is done. A node rebuilt empty later (a site_loss) finds the key set and goes on at once;
# if no other node bootstraps within 120 s, this one may.
if [ -n "${WAIT_FOR_BOOTSTRAP:-}" ] && [ ! -s /var/lib/postgresql/data/pg/PG_VERSION ]; then
    wait_until 120 "another node to bootstrap the cluster" bootstrapped
fi
# exec, not runuser: Patroni must be PID 1, where it reaps the postmaster it daemonizes.
exec setpriv --reuid=postgres --regid=postgres --init-groups -- patroni /stack/patroni/patroni.yml
