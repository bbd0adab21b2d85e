#!/bin/sh
# Steady state of the kv-sentinel stacks (run inside a container with redis-cli, e.g. the witness
# sentinel): every sentinel names the same primary, exactly one Redis is a primary, and the other
# is its replica with the link up. Exit 0 = holds; the first output line says why.
. /stack/common.sh
views=""
for s in $(echo "$SENTINELS" | tr ',' ' '); do
  a=$(timeout 2 redis-cli -h "${s%:*}" -p "${s#*:}" --raw SENTINEL get-master-addr-by-name kv 2>/dev/null | tr '\n' ' ' | sed 's/ *$//')
  views="$views ${s%%.*}=${a:-none}"
done
distinct=$(echo "$views" | tr ' ' '\n' | sed -n 's/^[^=]*=//p' | sort -u)
if [ "$(echo "$distinct" | wc -l)" != 1 ] || [ "$distinct" = none ]; then
  echo "does not hold: the sentinels disagree on the primary:$views"; exit 1
fi
primaries=""; linked=""
for r in $(echo "$REDISES" | tr ',' ' '); do
  info=$(timeout 2 redis-cli -h "${r%:*}" -p "${r#*:}" INFO replication 2>/dev/null | tr -d '\r')
  role=$(echo "$info" | sed -n 's/^role://p')
  case "$role" in
    master) primaries="$primaries ${r%%.*}" ;;
    slave) [ "$(echo "$info" | sed -n 's/^master_link_status://p')" = up ] && linked="$linked ${r%%.*}" ;;
  esac
done
n_primaries=$(echo $primaries | wc -w); n_linked=$(echo $linked | wc -w)
if [ "$n_primaries" != 1 ] || [ "$n_linked" -lt 1 ]; then
  echo "does not hold: primaries [$primaries ], linked replicas [$linked ]; sentinels:$views"; exit 1
fi
echo "holds: one primary ($primaries ) named by every sentinel, replica linked ($linked )"
