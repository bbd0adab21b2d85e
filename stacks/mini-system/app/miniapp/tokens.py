"""Signed access tokens: a compact JWS (``header.payload.signature``, base64url without padding)
signed with Ed25519 (JWS ``alg: EdDSA``).

Login signs with the private key; messaging and payment verify LOCALLY with the public key and
never call login, so a login outage does not log out users who already hold a token.

Guarantees of :func:`verify`: each part is canonical base64url (it re-encodes to itself, so a
token has one spelling: changing the unused bits of its last character is tampering); the
signature covers the exact header and payload bytes; the header
must say ``EdDSA``; ``exp`` must be in the future; ``sub`` must be a positive int and ``name`` a
string. Anything else raises :class:`TokenError` (never another exception). :class:`Verifier`
gives the same answers and checks a token's signature once, not on every request.

Only needs ``cryptography`` (no web framework), so it can be tested anywhere.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

TOKEN_TTL_S = 3600
MAX_TOKEN_CHARS = 4096
_HEADER = {"alg": "EdDSA", "typ": "JWT"}
_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class TokenError(Exception):
    """The token is missing, malformed, tampered with or expired (the message says which)."""


@dataclass(frozen=True)
class Claims:
    user_id: int
    username: str
    exp: int


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """The bytes ``text`` encodes, if ``text`` is exactly how :func:`b64url` writes them.

    Base64 of n bytes that are not a multiple of 3 ends with a character carrying 2 or 4 bits that
    encode nothing; a lenient decoder ignores them, so one signature would have 4 or 16 spellings.
    A token is only accepted in its one canonical spelling: decoding and re-encoding must give the
    input back (no padding, no unused bits set, no length that is 1 more than a multiple of 4).
    """
    if not text or any(c not in _B64URL for c in text):
        raise TokenError("malformed token")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as e:
        raise TokenError("malformed token") from e
    if b64url(data) != text:
        raise TokenError("malformed token")
    return data


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return key


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(Path(path).read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path}: not an Ed25519 public key")
    return key


def _compact(obj: dict) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def sign(key: Ed25519PrivateKey, user_id: int, username: str, *, ttl_s: int = TOKEN_TTL_S,
         now: float | None = None) -> tuple[str, int]:
    """A token for ``user_id``/``username`` valid ``ttl_s`` seconds; returns ``(token, exp)``."""
    exp = int(time.time() if now is None else now) + ttl_s
    payload = {"sub": user_id, "name": username, "exp": exp}
    signing_input = f"{b64url(_compact(_HEADER))}.{b64url(_compact(payload))}"
    signature = key.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64url(signature)}", exp


def verify(key: Ed25519PublicKey, token: str, *, now: float | None = None) -> Claims:
    """The token's claims if its signature is valid and it has not expired, else TokenError."""
    if not isinstance(token, str) or not token:
        raise TokenError("missing token")
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenError("malformed token")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("malformed token")
    header_b, payload_b, sig = (b64url_decode(p) for p in parts)
    try:
        key.verify(sig, f"{parts[0]}.{parts[1]}".encode("ascii"))
    except InvalidSignature as e:
        raise TokenError("bad token signature") from e
    try:
        header = json.loads(header_b)
        payload = json.loads(payload_b)
    except ValueError as e:  # signed by us, so this does not happen; be safe anyway
        raise TokenError("malformed token") from e
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        raise TokenError("unsupported token algorithm")
    if not isinstance(payload, dict):
        raise TokenError("malformed token")
    sub, name, exp = payload.get("sub"), payload.get("name"), payload.get("exp")
    if (type(sub) is not int or sub <= 0 or not isinstance(name, str) or not name
            or type(exp) is not int):
        raise TokenError("malformed token claims")
    _refuse_if_expired(exp, now)
    return Claims(user_id=sub, username=name, exp=exp)


def _refuse_if_expired(exp: int, now: float | None) -> None:
    if exp <= (time.time() if now is None else now):
        raise TokenError("token expired")


class Verifier:
    """:func:`verify` with a key, remembering the tokens whose signature it has checked.

    A person sends the same token with every request until it expires, and checking an Ed25519
    signature was a tenth of a service's CPU under load. The cache holds only tokens that passed
    the full check, keyed by their exact text: a tampered or re-encoded token is a different key
    and is checked in full. Expiry is checked on every call, and an expired token is forgotten.
    At most ``capacity`` tokens are kept (the oldest goes first), so the memory is bounded.
    """

    def __init__(self, key: Ed25519PublicKey, capacity: int = 10_000):
        self.key, self.capacity = key, capacity
        self._verified: dict[str, Claims] = {}

    def __call__(self, token: str, *, now: float | None = None) -> Claims:
        claims = self._verified.get(token) if isinstance(token, str) else None
        if claims is None:
            claims = verify(self.key, token, now=now)
            if len(self._verified) >= self.capacity:
                self._verified.pop(next(iter(self._verified), None), None)
            self._verified[token] = claims
            return claims
        try:
            _refuse_if_expired(claims.exp, now)
        except TokenError:
            self._verified.pop(token, None)
            raise
        return claims
