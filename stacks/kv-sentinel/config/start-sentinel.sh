#!/bin/sh
# Start one Sentinel of the kv-sentinel stacks.
#   env: PORT, ANNOUNCE (the name every site reaches this sentinel by), INITIAL_PRIMARY, SENTINELS
# Sentinel rewrites its config (epochs, known replicas and sentinels), so it lives in the volume.
# A sentinel starting with no config (first boot, or rebuilt after a site_loss) monitors the
# primary the other sentinels agree on, else the initial one.
set -eu
. /stack/common.sh
conf=/data/sentinel.conf
if [ ! -f "$conf" ]; then
  primary=$(majority_primary || true)
  [ -n "$primary" ] || primary=$INITIAL_PRIMARY
  cat > "$conf" <<CONF
port $PORT
bind 0.0.0.0
protected-mode no
dir /data
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip $ANNOUNCE
sentinel announce-port $PORT
sentinel monitor kv $primary 2
sentinel down-after-milliseconds kv 3000
sentinel failover-timeout kv 10000
sentinel parallel-syncs kv 1
CONF
fi
exec redis-sentinel "$conf"
