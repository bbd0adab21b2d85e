# Shared by the start scripts: ask Sentinel who the primary is.
# SENTINELS: every sentinel as host:port (their announced names, reachable from every site).

# The primary ("host port") a majority of the sentinels agree on; empty if no majority answers.
majority_primary() {
  n=0; answers=""
  for s in $(echo "$SENTINELS" | tr ',' ' '); do
    n=$((n + 1))
    a=$(timeout 2 redis-cli -h "${s%:*}" -p "${s#*:}" --raw SENTINEL get-master-addr-by-name kv 2>/dev/null | tr '\n' ' ' | sed 's/ *$//')
    case "$a" in *" "*) answers="$answers$a
" ;; esac
  done
  need=$((n / 2 + 1))
  printf '%s' "$answers" | sort | uniq -c | awk -v need="$need" '$1 >= need {print $2, $3; exit}'
}
