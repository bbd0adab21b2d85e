#!/usr/bin/env bash
# Build every image chaos-harness stacks use, with or without a container registry.
#
#   online  (a registry answers): bases are public images (python:3.11-slim-bookworm,
#           debian:bookworm-slim, ghcr.io/shopify/toxiproxy:2.12.0).
#   offline (no registry, e.g. these CI machines): the Debian base is made with mmdebstrap +
#           docker import, the Toxiproxy server is built with `go install` (CGO off, static) and
#           imported as a one-binary image, the app's Python dependencies come from a wheelhouse
#           built on the host and installed with --no-index.
#
# Idempotent and fast when nothing changed: each generated base carries the hash of its inputs as
# its tag, and `docker build` reuses its layer cache.
# CHAOS_IMAGES_MODE=online|offline forces a mode; default: probe the registry once.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=$ROOT/.cache
mkdir -p "$CACHE/bin" "$CACHE/wheelhouse"
log() { printf '[images] %s\n' "$*" >&2; }
hash_of() { sha256sum | cut -c1-12; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

TOXIPROXY_VERSION=2.12.0
BASE_PACKAGES="python3 python3-venv ca-certificates curl procps postgresql-15 patroni python3-etcd etcd-server etcd-client haproxy redis-server redis-sentinel"

mode=${CHAOS_IMAGES_MODE:-}
if [ -z "$mode" ]; then
  if [ -f "$CACHE/images-mode" ]; then
    mode=$(cat "$CACHE/images-mode")
  elif timeout 25 docker pull -q debian:bookworm-slim >/dev/null 2>&1; then
    mode=online
  else
    mode=offline
  fi
  echo "$mode" > "$CACHE/images-mode"
fi
log "mode: $mode (CHAOS_IMAGES_MODE=online|offline overrides; rm .cache/images-mode to probe again)"

# 0. The stacks' secrets (token keypair, read-back token, Patroni REST credentials), made once per
#    checkout in .cache/secrets/: no image holds them, the compose files mount them.
bash scripts/make-secrets.sh

if [ "$mode" = online ]; then
  PLATFORM_BASE=debian:bookworm-slim
  APP_BASE=python:3.11-slim-bookworm
  TOXIPROXY_BASE=ghcr.io/shopify/toxiproxy:$TOXIPROXY_VERSION
else
  # 1. Debian base from Debian packages.
  base_tag=$(echo "bookworm $BASE_PACKAGES" | hash_of)
  PLATFORM_BASE=chaos-harness/debian-base:$base_tag
  if ! have_image "$PLATFORM_BASE"; then
    command -v mmdebstrap >/dev/null || {
      log "installing mmdebstrap"; apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null; }
    log "building $PLATFORM_BASE with mmdebstrap (about a minute)"
    tarball=$(mktemp --suffix=.tar)
    trap 'rm -f "$tarball"' EXIT
    mmdebstrap --quiet --variant=apt --include="$(echo $BASE_PACKAGES | tr ' ' ,)" \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      bookworm "$tarball" http://deb.debian.org/debian
    docker import --change 'CMD ["/bin/bash"]' "$tarball" "$PLATFORM_BASE" >/dev/null
    rm -f "$tarball"
  fi
  APP_BASE=$PLATFORM_BASE
  # 2. Toxiproxy server, static, as a one-binary image.
  TOXIPROXY_BASE=chaos-harness/toxiproxy-bin:$TOXIPROXY_VERSION
  if ! have_image "$TOXIPROXY_BASE"; then
    if [ ! -x "$CACHE/bin/server" ] || [ ! -x "$CACHE/bin/cli" ]; then
      log "building the Toxiproxy server and cli v$TOXIPROXY_VERSION with go install (CGO off, static)"
      CGO_ENABLED=0 GOBIN=$CACHE/bin go install -ldflags='-s -w' \
        "github.com/Shopify/toxiproxy/v2/cmd/server@v$TOXIPROXY_VERSION" \
        "github.com/Shopify/toxiproxy/v2/cmd/cli@v$TOXIPROXY_VERSION"
    fi
    dir=$(mktemp -d)
    cp "$CACHE/bin/server" "$dir/toxiproxy"
    cp "$CACHE/bin/cli" "$dir/toxiproxy-cli"
    mkdir -p "$dir/tmp"
    tar -C "$dir" -cf - toxiproxy toxiproxy-cli tmp | docker import \
      --change 'ENTRYPOINT ["/toxiproxy"]' --change 'CMD ["-host=0.0.0.0"]' --change 'EXPOSE 8474' \
      - "$TOXIPROXY_BASE" >/dev/null
    rm -rf "$dir"
  fi
fi

# 3. Wheelhouse for the app image (built on the host, so the image needs no PyPI and no CA bundle).
req=stacks/mini-system/app/requirements.txt
wh_stamp=$CACHE/wheelhouse/.stamp
want=$( (cat "$req"; python3 -c 'import sys; print(sys.version_info[:2])') | hash_of)
if [ "$(cat "$wh_stamp" 2>/dev/null)" != "$want" ]; then
  log "building the wheelhouse from $req"
  rm -rf "$CACHE/wheelhouse"; mkdir -p "$CACHE/wheelhouse"
  python3 -m pip download --quiet --only-binary=:all: --python-version 3.11 \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
    --implementation cp --abi cp311 --abi abi3 --abi none -d "$CACHE/wheelhouse" -r "$req"
  echo "$want" > "$wh_stamp"
fi
rm -rf stacks/mini-system/app/wheelhouse
cp -r "$CACHE/wheelhouse" stacks/mini-system/app/wheelhouse

# 4. Patroni for the platform image, from PyPI as one pure-Python wheel (its dependencies are
#    Debian's, pulled in by the `patroni` package in the base). Debian bookworm's Patroni 3.0.2
#    overwrites the leader key unconditionally in etcd3 after its lease expired (fixed upstream in
#    3.0.3, patroni/patroni#2689): after an isolated site heals, its old primary takes the lock
#    back from the promoted one and both sites run timeline 2 — a split brain that loses
#    acknowledged writes. The harness found it (tests/integration/test_faults.py).
PATRONI_VERSION=4.1.5
pw=$ROOT/stacks/images/platform/wheels
if [ ! -f "$CACHE/platform-wheels/patroni-$PATRONI_VERSION-py3-none-any.whl" ]; then
  log "downloading the Patroni $PATRONI_VERSION wheel"
  rm -rf "$CACHE/platform-wheels"; mkdir -p "$CACHE/platform-wheels"
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$CACHE/platform-wheels" "patroni==$PATRONI_VERSION"
fi
rm -rf "$pw"; cp -r "$CACHE/platform-wheels" "$pw"

build() { # name dockerfile-dir base
  log "docker build $1 (base $3)"
  # The engine's classic builder is used (no buildx plugin here); drop the client's deprecation banner.
  docker build -q --build-arg "BASE=$3" -t "$1" "$2" 2> >(grep -v -E 'DEPRECATED|buildx|docs.docker.com/go/buildx|^\s*$' >&2) >/dev/null
}
build chaos-harness/platform:dev stacks/images/platform "$PLATFORM_BASE"
build chaos-harness/toxiproxy:dev stacks/images/toxiproxy "$TOXIPROXY_BASE"
build chaos-harness/app:dev stacks/mini-system/app "$APP_BASE"
log "images ready: chaos-harness/platform:dev chaos-harness/app:dev chaos-harness/toxiproxy:dev"
