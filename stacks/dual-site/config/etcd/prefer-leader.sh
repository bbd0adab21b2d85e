#!/bin/sh
# Run inside an etcd member (docker compose exec): make this member etcd's Raft leader if it is not,
# so every experiment starts from the same layout (etcd's leader at pangyo, beside the primary).
#
# Why it matters: a new etcd leader renews every lease for its full TTL. When the member that leads
# etcd dies with the primary, Patroni's leader key lives 20 s from the election of the next etcd
# leader instead of 20 s from pangyo's last renewal, and a power cut at pangyo measured RTO 23.5 s
# instead of 21 s, depending only on where Raft's leader happened to be (README, "The dual-site
# stack"). Pinned here, a run measures the worse case every time: the consensus leader burns with
# the primary, as it would in a data center that holds everything primary.
#
# The other members are reached at their peer URLs (etcd serves its v3 API there too; the WAN
# carries only peer ports), listed in ETCD_INITIAL_CLUSTER; this member at its own client port (its
# own peer URL through the WAN is refused from inside its site).
set -eu
others=$(echo "$ETCD_INITIAL_CLUSTER" | tr ',' '\n' | grep -v "^$ETCD_NAME=" | cut -d= -f2- | paste -sd, -)
endpoints="http://127.0.0.1:2379,$others"
me_and_leader() { # "<my id> <leader id>" in hex, from this member's own view
  etcdctl --endpoints=http://127.0.0.1:2379 --command-timeout=3s endpoint status -w json |
    python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["Status"]; print("%x %x" % (s["header"]["member_id"], s["leader"]))'
}
i=0
while :; do
  i=$((i+1))
  set -- $(me_and_leader 2>/dev/null || echo "none none")
  if [ "$1" != none ] && [ "$1" = "$2" ]; then
    echo "$ETCD_NAME leads etcd"
    exit 0
  fi
  [ $i -gt 30 ] && { echo "$ETCD_NAME did not become etcd's leader in 30 tries (leader: $2)" >&2; exit 1; }
  if [ "$1" != none ] && [ "$2" != "0" ]; then
    etcdctl --endpoints="$endpoints" --command-timeout=5s move-leader "$1" >/dev/null 2>&1 || true
  fi
  sleep 1
done
