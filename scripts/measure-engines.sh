#!/usr/bin/env bash
# What the extra engines of scripts/engines.sh cost while idle: per site, the RSS and the CPU over
# SECONDS (default 60) of its dockerd + managed containerd, and of its containerd-shims (one per
# running container), from /proc (utime+stime at both ends of the window). The containers' own
# processes (etcd, PostgreSQL, ...) are the system under test, not the engine's cost, and are not
# counted; nor are short-lived processes (healthcheck execs) that start and end inside the window.
#   scripts/measure-engines.sh [SECONDS] [SITE...]      (default sites: pangyo chuncheon witness)
# SITE `default` measures the default engine (/var/run/docker.pid, its containerd and shims), for
# comparison with a stack on one engine.
set -euo pipefail

SECONDS_WINDOW=${1:-60}
[[ "$SECONDS_WINDOW" =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS] [SITE...]" >&2; exit 2; }
[ $# -gt 0 ] && shift
SITES=("$@")
[ ${#SITES[@]} -gt 0 ] || SITES=(pangyo chuncheon witness)
HZ=$(getconf CLK_TCK)

# Pids of SITE's engine (dockerd, containerd) or of its shims: matched on the exec root in their
# command lines, which only this site's processes carry.
pids_of() {
  local site=$1 kind=$2 root="/run/chaos-engines/$1/exec" p cmd
  if [ "$site" = default ]; then
    case $kind in
      engine)
        for p in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
          [ -s "$p" ] && echo "$(cat "$p")"
        done ;;
      shims)
        for p in /proc/[0-9]*; do
          cmd=$( { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null) || continue
          case "$cmd" in *containerd-shim*-address\ /var/run/docker/containerd/containerd.sock*) echo "${p#/proc/}" ;; esac
        done ;;
    esac
    return 0
  fi
  for p in /proc/[0-9]*; do
    cmd=$( { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null) || continue
    case "$kind:$cmd" in
      engine:*dockerd*--exec-root\ "$root"\ *) echo "${p#/proc/}" ;;
      engine:containerd\ --config\ "$root"/containerd/*) echo "${p#/proc/}" ;;
      shims:*containerd-shim*-address\ "$root"/containerd/containerd.sock*) echo "${p#/proc/}" ;;
    esac
  done
}

ticks() { # utime+stime of the given pids (a pid that ended counts 0)
  local sum=0 p t
  for p in "$@"; do
    t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
    sum=$((sum + t))
  done
  echo "$sum"
}

rss_mib() {
  local sum=0 p r
  for p in "$@"; do
    r=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
    sum=$((sum + ${r:-0}))
  done
  echo $((sum / 1024))
}

declare -A ENG SHIM T0E T0S
for s in "${SITES[@]}"; do
  ENG[$s]=$(pids_of "$s" engine | tr '\n' ' ')
  SHIM[$s]=$(pids_of "$s" shims | tr '\n' ' ')
  # shellcheck disable=SC2086
  T0E[$s]=$(ticks ${ENG[$s]})
  # shellcheck disable=SC2086
  T0S[$s]=$(ticks ${SHIM[$s]})
done
sleep "$SECONDS_WINDOW"
echo "$(date -u +%FT%TZ) $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), window ${SECONDS_WINDOW} s"
printf '%-10s %-26s %-22s %-8s %s\n' SITE 'dockerd+containerd RSS' 'dockerd+containerd CPU' SHIMS 'shims RSS / CPU'
for s in "${SITES[@]}"; do
  # shellcheck disable=SC2086
  e=$(( $(ticks ${ENG[$s]}) - T0E[$s] ))
  # shellcheck disable=SC2086
  h=$(( $(ticks ${SHIM[$s]}) - T0S[$s] ))
  # shellcheck disable=SC2086
  printf '%-10s %-26s %-22s %-8s %s\n' "$s" "$(rss_mib ${ENG[$s]}) MiB" \
    "$(awk -v t="$e" -v hz="$HZ" -v w="$SECONDS_WINDOW" 'BEGIN {printf "%.2f%% of one core", 100 * t / hz / w}')" \
    "$(echo ${SHIM[$s]} | wc -w)" \
    "$(rss_mib ${SHIM[$s]}) MiB / $(awk -v t="$h" -v hz="$HZ" -v w="$SECONDS_WINDOW" 'BEGIN {printf "%.2f%%", 100 * t / hz / w}')"
done
