#!/usr/bin/env bash
# Make a Docker engine and the Compose v2 plugin answer on this machine, idempotently.
#  - If an engine already answers (`docker info`), it is left alone: nothing is installed over it.
#  - Otherwise (Debian, root, no systemd): install Debian's docker.io, start dockerd in the
#    background and wait for its socket.
#  - If `docker compose version` does not answer, install the v2 plugin from Debian's `docker-compose`
#    package of the trixie suite (pinned at priority 100 so nothing else comes from trixie).
set -euo pipefail

log() { printf '[bootstrap] %s\n' "$*" >&2; }
need_root() {
  if [ "$(id -u)" != 0 ]; then
    log "not root: cannot install '$1'. Install it yourself, then re-run: $2"
    exit 3
  fi
}

apt_updated=0
apt_update() {
  if [ "$apt_updated" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
}

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

if engine_answers; then
  log "a Docker engine already answers; leaving it alone"
else
  if ! command -v dockerd >/dev/null 2>&1; then
    need_root docker.io "apt-get install docker.io"
    log "installing Debian's docker.io"
    apt_update
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      docker.io iptables ca-certificates >/dev/null
  fi
  if [ -S /var/run/docker.sock ] && ! engine_answers; then
    rm -f /var/run/docker.sock
  fi
  need_root dockerd "dockerd &"
  log "starting dockerd (log: /var/log/dockerd.log)"
  # setsid: the daemon must outlive this script and a Ctrl-C in the terminal that started it.
  setsid nohup dockerd >/var/log/dockerd.log 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    engine_answers && break
    sleep 1
  done
  if ! engine_answers; then
    log "dockerd did not answer within 60 s; last lines of /var/log/dockerd.log:"
    tail -n 20 /var/log/dockerd.log >&2 || true
    exit 3
  fi
  log "dockerd answers"
fi

if timeout 10 docker compose version >/dev/null 2>&1; then
  log "compose plugin: $(docker compose version --short)"
else
  need_root docker-compose "apt-get install -t trixie docker-compose"
  log "installing the Compose v2 plugin from Debian trixie (pinned, priority 100)"
  cat > /etc/apt/sources.list.d/chaos-harness-trixie.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  cat > /etc/apt/preferences.d/chaos-harness-trixie <<'PIN'
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
  apt_updated=0
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t trixie --no-install-recommends docker-compose >/dev/null
  timeout 10 docker compose version >/dev/null 2>&1 || { log "docker compose still does not answer"; exit 3; }
  log "compose plugin: $(docker compose version --short)"
fi
