#!/usr/bin/env bash
# Simulated hosts: one extra Docker engine per site on this machine, as a real host would have one
# (issue 17; docs/hosts.md draws the layout).
#
#   scripts/engines.sh start       [SITE...]   start each site's engine (idempotent), wait until it answers
#   scripts/engines.sh stop        [SITE...]   stop each engine by its own pidfile (its data stays);
#                                              with no SITE, also remove the bridges this script made
#   scripts/engines.sh status      [SITE...]   address, pid, answering, containers running, memory
#   scripts/engines.sh load-images [SITE...]   copy the stack's images from the default engine into
#                                              each engine that lacks them (or has another image id)
# SITE defaults to: pangyo chuncheon witness.
#
# Each engine has what a host's engine has: its own socket, data root, exec root (with its own managed
# containerd), pid file, log, bridge (br-ce-SITE) and default address pool; and a `docker context`
# named chaos-SITE. Each site also gets its LAN: a Linux bridge br-cs-SITE (no address) that the
# stack's Docker macvlan networks use as parent, so the site's containers and the WAN's Toxiproxy
# (on the default engine) meet there as hosts on one LAN would.
#
# The default engine (scripts/bootstrap-docker.sh, /var/run/docker.sock) is never touched: the extra
# engines run with --iptables=false --ip-masq=false (a second dockerd managing iptables rewrites the
# chains the first one relies on), never with --bridge none (that deleted the first engine's docker0),
# and only interfaces named br-ce-*/br-cs-* that this script created are ever removed.
set -euo pipefail

DEFAULT_SITES=(pangyo chuncheon witness)
IMAGES=(chaos-harness/platform:dev chaos-harness/app:dev chaos-harness/toxiproxy:dev)
RUN_ROOT=/run/chaos-engines
DATA_ROOT=/var/lib/chaos-engines
LOG_ROOT=/var/log/chaos-engines
START_TIMEOUT_S=60
STOP_TIMEOUT_S=45

# The addresses, one index per site (docs/hosts.md): engine bridge br-ce-SITE 10.200.N.1/24; the
# engine's default address pool 10.20N.0.0/16 in /24s (networks Compose creates on it, e.g. `edge`);
# the site LAN (a subnet the stack declares, not this script) 10.210.N.0/24. The default engine uses
# 172.17.0.0/16 (docker0) and its built-in pools 172.17-31.x and 192.168.x, none of these.
site_index() {
  case "$1" in
    pangyo) echo 1 ;;
    chuncheon) echo 2 ;;
    witness) echo 3 ;;
    *) return 1 ;;
  esac
}

log() { printf '[engines] %s\n' "$*" >&2; }
die() { log "$*"; exit 3; }

sock_path() { echo "$RUN_ROOT/$1/docker.sock"; }
host_url() { echo "unix://$(sock_path "$1")"; }
pidfile() { echo "$RUN_ROOT/$1/docker.pid"; }
exec_root() { echo "$RUN_ROOT/$1/exec"; }
engine_bridge() { echo "br-ce-$1"; }
lan_bridge() { echo "br-cs-$1"; }
engine_cidr() { echo "10.200.$(site_index "$1").1/24"; }
engine_pool() { echo "10.20$(site_index "$1").0.0/16"; }

dk() { local site=$1; shift; docker --host "$(host_url "$site")" "$@"; }
answers() { timeout 10 docker --host "$(host_url "$1")" info >/dev/null 2>&1; }

# The pid in FILE if that process is alive and its command line contains MARK, else nothing: never
# signal a process that is not ours.
pid_if_ours() {
  local f=$1 mark=$2 pid
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  [ -r "/proc/$pid/cmdline" ] || return 0
  if tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$mark"; then
    echo "$pid"
  fi
}

# SITE's dockerd (its command line names this site's exec root).
engine_pid() { pid_if_ours "$(pidfile "$1")" "--exec-root $(exec_root "$1") "; }

# The managed containerd that SITE's dockerd started (its own pidfile under the exec root).
containerd_pid() { pid_if_ours "$(exec_root "$1")/containerd/containerd.pid" "$(exec_root "$1")/containerd/"; }

check_sites() {
  local s
  for s in "$@"; do
    site_index "$s" >/dev/null || die "unknown site '$s': this script knows ${DEFAULT_SITES[*]} (add it to site_index with its own addresses)"
  done
}

# An IPv4 /24 that some interface other than IFACE already uses (address or route), or nothing.
cidr_in_use() {
  local cidr=$1 iface=$2 net
  net=${cidr%.*}.
  ip -4 -o addr show | awk -v i="$iface" '$2 != i {print $4}' | grep -q "^${net//./\\.}" && return 0
  ip -4 route show | grep -v " dev $iface " | grep -q "^${net//./\\.}" && return 0
  return 1
}

ensure_engine_bridge() {
  local site=$1 br cidr
  br=$(engine_bridge "$site")
  cidr=$(engine_cidr "$site")
  if ! ip link show "$br" >/dev/null 2>&1; then
    if cidr_in_use "$cidr" "$br"; then
      die "$cidr is already used on this machine (ip -4 addr / ip route): change engine_cidr in $0"
    fi
    log "$site: creating bridge $br ($cidr)"
    ip link add "$br" type bridge
  fi
  ip -4 addr show dev "$br" | grep -q "inet ${cidr%/*}/" || ip addr add "$cidr" dev "$br"
  ip link set "$br" up
}

# The site LAN: a bridge with no address and no ports, up (on this kernel a bridge without ports
# reports carrier, so the macvlan links on it are up too; checked on 2026-11-30).
ensure_lan_bridge() {
  local site=$1 br
  br=$(lan_bridge "$site")
  if ! ip link show "$br" >/dev/null 2>&1; then
    log "$site: creating site LAN bridge $br (no address)"
    ip link add "$br" type bridge
  fi
  ip link set "$br" up
}

ensure_context() {
  local site=$1 name="chaos-$1" url
  url=$(host_url "$site")
  if docker context inspect "$name" >/dev/null 2>&1; then
    docker context update --docker "host=$url" "$name" >/dev/null 2>&1
  else
    docker context create "$name" --description "chaos-harness simulated host: site $site" \
      --docker "host=$url" >/dev/null 2>&1
  fi
}

start_one() {
  local site=$1 pid log_file
  mkdir -p "$RUN_ROOT/$site" "$DATA_ROOT/$site" "$LOG_ROOT"
  log_file="$LOG_ROOT/$site.log"
  ensure_lan_bridge "$site"
  ensure_context "$site"
  if answers "$site"; then
    log "$site: engine answers at $(host_url "$site"); leaving it alone"
    return 0
  fi
  pid=$(engine_pid "$site")
  if [ -z "$pid" ]; then
    ensure_engine_bridge "$site"
    # A socket or pidfile left by an engine that died would stop the new one from starting.
    rm -f "$(sock_path "$site")" "$(pidfile "$site")"
    # Its own daemon.json: the default engine's /etc/docker/daemon.json, if a user has one, is not
    # this host's configuration. deprecated-key-path (20.10 has no flag for it): its own key, so its
    # engine ID (`docker info`) is its own as a host's is, not the default engine's
    # (/etc/docker/key.json).
    printf '{"deprecated-key-path": "%s"}\n' "$DATA_ROOT/$site/key.json" >"$RUN_ROOT/$site/daemon.json"
    log "$site: starting dockerd (socket $(sock_path "$site"), log $log_file)"
    # setsid nohup: the engine outlives this script and a Ctrl-C in the terminal that started it.
    # --live-restore: without it, dockerd 20.10 restarted with a default address pool deletes the
    # interface named docker0 (moby daemon_unix.go: "Clear stale bridge network" ... if
    # DefaultAddressPools && !LiveRestoreEnabled { removeDefaultBridgeInterface() }), which is the
    # default engine's bridge, not its own: every start of an extra engine after its first took
    # docker0 away (seen here 2026-11-30: `docker run` on the default engine then fails, "could not
    # find bridge docker0"). With it, this engine's containers also outlive its daemon, as on a host
    # whose engine crashed; engine_loss kills them before it stops the daemon.
    setsid nohup /usr/sbin/dockerd \
      --config-file "$RUN_ROOT/$site/daemon.json" \
      --host "$(host_url "$site")" \
      --data-root "$DATA_ROOT/$site" \
      --exec-root "$(exec_root "$site")" \
      --pidfile "$(pidfile "$site")" \
      --bridge "$(engine_bridge "$site")" \
      --default-address-pool "base=$(engine_pool "$site"),size=24" \
      --iptables=false --ip-masq=false \
      --live-restore \
      --label "chaos.site=$site" \
      >>"$log_file" 2>&1 </dev/null &
    STARTED[$site]=$!
  else
    log "$site: dockerd pid $pid is running but does not answer yet; waiting for it"
  fi
}

wait_one() {
  local site=$1 waited=0
  until answers "$site"; do
    if [ -n "${STARTED[$site]:-}" ] && ! kill -0 "${STARTED[$site]}" 2>/dev/null; then
      log "$site: dockerd exited at start; last lines of $LOG_ROOT/$site.log:"
      tail -n 5 "$LOG_ROOT/$site.log" >&2 || true
      return 1
    fi
    if [ "$waited" -ge "$START_TIMEOUT_S" ]; then
      log "$site: the engine did not answer within ${START_TIMEOUT_S} s; last lines of $LOG_ROOT/$site.log:"
      tail -n 20 "$LOG_ROOT/$site.log" >&2 || true
      return 1
    fi
    if [ $((waited % 5)) = 0 ]; then log "$site: waiting for the engine (${waited} s)"; fi
    sleep 1
    waited=$((waited + 1))
  done
  log "$site: engine answers at $(host_url "$site") (pid $(engine_pid "$site"))"
}

declare -A STARTED  # site -> pid of the dockerd this run started

cmd_start() {
  local s failed=0
  [ "$(id -u)" = 0 ] || die "start needs root (it runs dockerd and creates bridges)"
  [ -x /usr/sbin/dockerd ] || die "no /usr/sbin/dockerd: run scripts/bootstrap-docker.sh first"
  timeout 10 docker info >/dev/null 2>&1 || die "the default engine does not answer: run scripts/bootstrap-docker.sh first"
  for s in "$@"; do start_one "$s"; done
  for s in "$@"; do wait_one "$s" || failed=1; done
  [ "$failed" = 0 ] || exit 3
}

stop_one() {
  local site=$1 pid cpid waited=0
  pid=$(engine_pid "$site")
  cpid=$(containerd_pid "$site")
  if [ -z "$pid" ]; then
    log "$site: no engine running (pidfile $(pidfile "$site"))"
  else
    local running
    running=$(timeout 10 docker --host "$(host_url "$site")" ps -q 2>/dev/null | wc -l || echo 0)
    if [ "$running" -gt 0 ]; then
      log "$site: $running containers keep running after their engine stops (--live-restore, as on a host whose engine crashed); take their stack down first to stop them"
    fi
    log "$site: stopping dockerd pid $pid (SIGTERM; its data stays)"
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do
      if [ "$waited" -ge "$STOP_TIMEOUT_S" ]; then
        log "$site: dockerd pid $pid still running after ${STOP_TIMEOUT_S} s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 1
      waited=$((waited + 1))
    done
  fi
  # dockerd stops its managed containerd on a clean exit; after a SIGKILL it may be left.
  if [ -n "$cpid" ] && kill -0 "$cpid" 2>/dev/null; then
    sleep 2
    if kill -0 "$cpid" 2>/dev/null; then
      log "$site: stopping its containerd pid $cpid"
      kill -TERM "$cpid" 2>/dev/null || true
      sleep 3
      kill -0 "$cpid" 2>/dev/null && kill -KILL "$cpid" 2>/dev/null || true
    fi
  fi
  rm -f "$(sock_path "$site")"
  [ -z "$pid" ] || log "$site: stopped"
}

# Parents of the default engine's macvlan networks: a site LAN bridge still used there is kept
# (removing it would take the default engine's containers off that LAN).
default_engine_parents() {
  local n
  for n in $(timeout 20 docker network ls -q --filter driver=macvlan 2>/dev/null); do
    timeout 10 docker network inspect -f '{{index .Options "parent"}}' "$n" 2>/dev/null || true
  done
}

remove_bridges() {
  local site br parents
  parents=$(default_engine_parents)
  for site in "$@"; do
    br=$(engine_bridge "$site")
    if ip link show "$br" >/dev/null 2>&1; then
      log "removing bridge $br"
      ip link del "$br"
    fi
    br=$(lan_bridge "$site")
    if ip link show "$br" >/dev/null 2>&1; then
      if printf '%s\n' "$parents" | grep -qx "$br"; then
        log "keeping $br: a macvlan network of the default engine still uses it (bring that stack down first)"
      else
        log "removing site LAN bridge $br"
        ip link del "$br"
      fi
    fi
  done
}

cmd_stop() {
  local s
  [ "$(id -u)" = 0 ] || die "stop needs root"
  for s in "$@"; do stop_one "$s"; done
  if [ "$ALL_SITES" = 1 ]; then remove_bridges "$@"; fi
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

cmd_status() {
  local s pid cpid ans running rss
  printf '%-10s %-50s %-8s %-8s %-11s %s\n' SITE ADDRESS PID ANSWERS CONTAINERS 'RSS dockerd+containerd'
  for s in "$@"; do
    pid=$(engine_pid "$s")
    cpid=$(containerd_pid "$s")
    if answers "$s"; then
      ans=yes
      running=$(dk "$s" ps -q | wc -l)
    else
      ans=no
      running=-
    fi
    rss=0
    [ -z "$pid" ] || rss=$((rss + $(rss_kib "$pid")))
    [ -z "$cpid" ] || rss=$((rss + $(rss_kib "$cpid")))
    printf '%-10s %-50s %-8s %-8s %-11s %s\n' "$s" "$(host_url "$s")" "${pid:--}" "$ans" "$running" \
      "$((rss / 1024)) MiB"
  done
}

cmd_load_images() {
  local s img want have missing t0 t1
  for img in "${IMAGES[@]}"; do
    timeout 20 docker image inspect "$img" >/dev/null 2>&1 ||
      die "the default engine has no image $img: build it first (make images)"
  done
  for s in "$@"; do
    answers "$s" || die "$s: the engine at $(host_url "$s") does not answer (scripts/engines.sh start $s)"
    missing=()
    for img in "${IMAGES[@]}"; do
      want=$(docker image inspect -f '{{.Id}}' "$img")
      have=$(dk "$s" image inspect -f '{{.Id}}' "$img" 2>/dev/null || true)
      [ "$want" = "$have" ] || missing+=("$img")
    done
    if [ "${#missing[@]}" = 0 ]; then
      log "$s: has every image (${IMAGES[*]})"
      continue
    fi
    # One save of all missing images: the layers they share travel once.
    log "$s: loading ${missing[*]}"
    t0=$(date +%s.%N)
    docker save "${missing[@]}" | dk "$s" load >/dev/null
    t1=$(date +%s.%N)
    log "$s: loaded in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s"
  done
}

main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  ALL_SITES=0
  local sites=("$@")
  if [ ${#sites[@]} = 0 ]; then
    sites=("${DEFAULT_SITES[@]}")
    ALL_SITES=1
  fi
  case "$cmd" in
    start) check_sites "${sites[@]}"; cmd_start "${sites[@]}" ;;
    stop) check_sites "${sites[@]}"; cmd_stop "${sites[@]}" ;;
    status) check_sites "${sites[@]}"; cmd_status "${sites[@]}" ;;
    load-images) check_sites "${sites[@]}"; cmd_load_images "${sites[@]}" ;;
    *)
      echo "usage: $0 start|stop|status|load-images [SITE...]   (default sites: ${DEFAULT_SITES[*]})" >&2
      exit 2
      ;;
  esac
}

main "$@"
