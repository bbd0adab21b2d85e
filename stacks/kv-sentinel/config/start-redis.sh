#!/bin/sh
# Start one Redis of the kv-sentinel stacks.
#   env: PORT, ANNOUNCE (the name every site reaches this Redis by), INITIAL_PRIMARY ("host port"),
#        SENTINELS (host:port,...), REJOIN_CHECK (yes | no)
# The config lives in the volume (/data/redis.conf) because Sentinel rewrites it (REPLICAOF +
# CONFIG REWRITE). On every start, before serving, it asks the sentinels who the primary is: a
# Redis coming back after a power cut whose primary role was taken over meanwhile starts as a
# replica of the new primary, never as a second primary with stale data. REJOIN_CHECK=no (the
# kv-sentinel-async stack) skips that check on a restart: Redis comes back in the role its config
# last held, as a stock Redis does, and stays a primary until Sentinel converts it.
set -eu
. /stack/common.sh
conf=/data/redis.conf
if [ ! -f "$conf" ]; then
  cat > "$conf" <<CONF
port $PORT
bind 0.0.0.0
protected-mode no
dir /data
appendonly yes
appendfsync everysec
replica-announce-ip $ANNOUNCE
replica-announce-port $PORT
repl-timeout 10
repl-diskless-sync yes
repl-diskless-sync-delay 0
repl-ping-replica-period 1
CONF
  fresh=1
else
  fresh=0
fi
if [ "$fresh" = 0 ] && [ "${REJOIN_CHECK:-yes}" = no ]; then
  echo "start-redis: REJOIN_CHECK=no: starting with the role in $conf"
  exec redis-server "$conf"
fi
primary=$(majority_primary || true)
if [ -z "$primary" ] && [ "$fresh" = 1 ]; then primary=$INITIAL_PRIMARY; fi   # first boot of the stack
if [ -n "$primary" ] && [ "$primary" != "$ANNOUNCE $PORT" ]; then
  echo "start-redis: primary is $primary: starting as its replica"
  exec redis-server "$conf" --replicaof $primary
fi
if [ -n "$primary" ]; then
  echo "start-redis: this Redis is the primary"
  exec redis-server "$conf" --replicaof no one
fi
echo "start-redis: no sentinel majority answers: starting with the role in $conf"
exec redis-server "$conf"
