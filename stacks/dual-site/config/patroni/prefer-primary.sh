#!/bin/sh
# Run inside a Patroni node (docker compose exec): make this node the leader if it is not, by a
# planned switchover, so every experiment starts from the same layout (the primary at pangyo).
set -e
cfg=/stack/patroni/patroni.yml
leader_of() { patronictl -c $cfg list -f json 2>/dev/null | python3 -c \
  'import json,sys; print(next((m["Member"] for m in json.load(sys.stdin) if m["Role"]=="Leader"),""))'; }
sync_ok() { patronictl -c $cfg list -f json 2>/dev/null | python3 -c \
  'import json,sys,os; m=[x for x in json.load(sys.stdin) if x["Member"]==os.environ["PATRONI_NAME"]]; sys.exit(0 if m and m[0]["Role"] in ("Leader","Sync Standby") and m[0]["State"] in ("running","streaming") else 1)'; }
i=0
until sync_ok; do i=$((i+1)); [ $i -gt 90 ] && { echo "$PATRONI_NAME is not a running sync standby" >&2; exit 1; }; sleep 1; done
leader=$(leader_of)
if [ "$leader" = "$PATRONI_NAME" ]; then
  echo "$PATRONI_NAME is already the primary"
else
  patronictl -c $cfg switchover --leader "$leader" --candidate "$PATRONI_NAME" --force >/dev/null
  i=0
  until curl -fsS -o /dev/null http://127.0.0.1:8008/primary; do
    i=$((i+1)); [ $i -gt 60 ] && { echo "switchover to $PATRONI_NAME did not complete" >&2; exit 1; }; sleep 1
  done
  echo "switched over: $PATRONI_NAME is the primary"
fi
# An experiment starts only once an acknowledged write is again at both sites.
i=0
until patronictl -c $cfg list -f json 2>/dev/null | python3 -c \
  'import json,sys; sys.exit(0 if any(m["Role"]=="Sync Standby" and m["State"] in ("running","streaming") for m in json.load(sys.stdin)) else 1)'; do
  i=$((i+1)); [ $i -gt 120 ] && { echo "no synchronous standby after 120 s" >&2; exit 1; }; sleep 1
done
echo "a synchronous standby is streaming"
