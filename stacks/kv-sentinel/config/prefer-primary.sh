#!/bin/sh
# prepare of the kv-sentinel stacks (run inside the pangyo sentinel): make pangyo's Redis the
# primary, with a planned SENTINEL FAILOVER if another one is, and wait until every sentinel names
# it and the replica is linked, so every run starts from the same layout.
. /stack/common.sh
want="redis-pangyo.kv 6381"
deadline=$(( $(date +%s) + 90 ))
asked=0
while :; do
  now=$(majority_primary)
  if [ "$now" = "$want" ] && sh /stack/topology-check.sh >/tmp/topo 2>&1; then
    echo "primary at pangyo: $(head -1 /tmp/topo)"; exit 0
  fi
  if [ "$(date +%s)" -gt "$deadline" ]; then
    echo "pangyo did not become the primary within 90 s (majority says '$now'): $(head -1 /tmp/topo 2>/dev/null)" >&2; exit 1
  fi
  if [ -n "$now" ] && [ "$now" != "$want" ] && [ "$asked" = 0 ]; then
    # Only once the replica at pangyo is linked: a failover needs a healthy replica to promote.
    if redis-cli -h redis-pangyo.kv -p 6381 INFO replication 2>/dev/null | tr -d '\r' | grep -q '^master_link_status:up'; then
      echo "primary is $now: SENTINEL FAILOVER kv -> $(redis-cli -p "$PORT" SENTINEL FAILOVER kv)"
      asked=1
    fi
  fi
  sleep 1
done
