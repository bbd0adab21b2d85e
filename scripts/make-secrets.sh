#!/usr/bin/env bash
# The mini-system's secrets for this checkout, made once and kept (never committed, never a fixed
# default): run by scripts/build-images.sh, so by `make images` and everything that needs it
# (`make demo`, `make test`, `.ci/run`); run it yourself after deleting one.
#
#   token_ed25519.pem       Ed25519 private key that signs tokens (mounted into login only)
#   token_ed25519.pub.pem   its public key (every service verifies tokens with it)
#   readback_token          the read-back token (the services, readback.py, smoke.py)
#   patroni.env             PATRONI_RESTAPI_USERNAME / _PASSWORD: basic auth on Patroni's unsafe
#                           REST endpoints (dual-site's Patroni nodes, and patronictl inside them)
#
# Where: $CHAOS_SECRETS_DIR, default .cache/secrets/ (git-ignored); the folder 0700, files 0600.
# A file that exists is kept (stacks that are up keep working); only missing ones are made.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${CHAOS_SECRETS_DIR:-$PWD/.cache/secrets}
umask 077
mkdir -p "$dir"
chmod 700 "$dir"
log() { printf '[secrets] %s\n' "$*" >&2; }
random_text() { python3 -c 'import secrets; print(secrets.token_urlsafe(32))'; }
# write FILE: stdin into FILE, atomically (a half-written secret is never seen)
write() { cat > "$1.tmp.$$" && chmod 600 "$1.tmp.$$" && mv -f "$1.tmp.$$" "$1"; }

if [ ! -s "$dir/token_ed25519.pem" ] || [ ! -s "$dir/token_ed25519.pub.pem" ]; then
  log "making the token keypair in $dir"
  if command -v openssl >/dev/null && openssl genpkey -algorithm ed25519 -out "$dir/.key.$$" 2>/dev/null; then
    openssl pkey -in "$dir/.key.$$" -pubout 2>/dev/null | write "$dir/token_ed25519.pub.pem"
    write "$dir/token_ed25519.pem" < "$dir/.key.$$"
    rm -f "$dir/.key.$$"
  else  # no OpenSSL with Ed25519: Python's cryptography (the harness's venv has it)
    py=python3; [ -x .venv/bin/python ] && py=.venv/bin/python
    "$py" - "$dir" <<'PY'
import os, sys
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
d, key = sys.argv[1], Ed25519PrivateKey.generate()
for name, data in (("token_ed25519.pub.pem", key.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo)),
                   ("token_ed25519.pem", key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))):
    tmp = os.path.join(d, f".{name}.tmp")
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(data)
    os.replace(tmp, os.path.join(d, name))
PY
  fi
fi
if [ ! -s "$dir/readback_token" ]; then
  log "making the read-back token in $dir"
  random_text | write "$dir/readback_token"
fi
if [ ! -s "$dir/patroni.env" ]; then
  log "making Patroni's REST API credentials in $dir"
  printf 'PATRONI_RESTAPI_USERNAME=patroni\nPATRONI_RESTAPI_PASSWORD=%s\n' "$(random_text)" | write "$dir/patroni.env"
fi
