"""miniapp.tokens: Ed25519 compact tokens (needs only `cryptography`)."""

import base64
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("cryptography")
MINI = Path(__file__).resolve().parents[2] / "stacks" / "mini-system"
sys.path.insert(0, str(MINI / "app"))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from miniapp import tokens  # noqa: E402

NOW = 1_700_000_000


@pytest.fixture(scope="module")
def key():
    return Ed25519PrivateKey.generate()


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_round_trip(key):
    token, exp = tokens.sign(key, 42, "alice", now=NOW)
    assert exp == NOW + 3600
    claims = tokens.verify(key.public_key(), token, now=NOW + 10)
    assert claims == tokens.Claims(user_id=42, username="alice", exp=exp)
    header = json.loads(tokens.b64url_decode(token.split(".")[0]))
    assert header == {"alg": "EdDSA", "typ": "JWT"}
    assert "=" not in token


def test_expired(key):
    token, exp = tokens.sign(key, 1, "bob", now=NOW, ttl_s=60)
    tokens.verify(key.public_key(), token, now=exp - 1)
    for t in (exp, exp + 1):
        with pytest.raises(tokens.TokenError, match="expired"):
            tokens.verify(key.public_key(), token, now=t)


def test_tampered_payload_is_refused(key):
    token, _ = tokens.sign(key, 1, "bob", now=NOW)
    h, _p, s = token.split(".")
    forged = ".".join([h, _b64({"sub": 2, "name": "mallory", "exp": NOW + 3600}), s])
    with pytest.raises(tokens.TokenError, match="signature"):
        tokens.verify(key.public_key(), forged, now=NOW)


def test_tampered_signature_and_other_key(key):
    token, _ = tokens.sign(key, 1, "bob", now=NOW)
    h, p, s = token.split(".")
    flipped = s[:-2] + ("AA" if s[-2:] != "AA" else "BB")
    with pytest.raises(tokens.TokenError):
        tokens.verify(key.public_key(), f"{h}.{p}.{flipped}", now=NOW)
    with pytest.raises(tokens.TokenError, match="signature"):
        tokens.verify(Ed25519PrivateKey.generate().public_key(), token, now=NOW)


def test_alg_none_is_refused(key):
    payload = _b64({"sub": 1, "name": "bob", "exp": NOW + 3600})
    for token in (f"{_b64({'alg': 'none'})}.{payload}.", f"{_b64({'alg': 'none'})}.{payload}.AAAA"):
        with pytest.raises(tokens.TokenError):
            tokens.verify(key.public_key(), token, now=NOW)


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c.d", "a.b.c", "!!.??.**", "x" * 5000,
                                   "eyJ.eyJ.===="])
def test_malformed(key, token):
    with pytest.raises(tokens.TokenError):
        tokens.verify(key.public_key(), token, now=NOW)


def test_bad_claims_even_if_signed(key):
    def signed(payload) -> str:
        h, p = _b64({"alg": "EdDSA", "typ": "JWT"}), _b64(payload)
        return f"{h}.{p}.{tokens.b64url(key.sign(f'{h}.{p}'.encode()))}"
    for payload in ({"sub": "1", "name": "x", "exp": NOW + 9}, {"sub": 1, "name": "", "exp": NOW + 9},
                    {"sub": 1, "name": "x", "exp": "soon"}, {"sub": True, "name": "x", "exp": NOW + 9},
                    {"sub": 0, "name": "x", "exp": NOW + 9}, [1, 2]):
        with pytest.raises(tokens.TokenError):
            tokens.verify(key.public_key(), signed(payload), now=NOW)
    assert tokens.verify(key.public_key(), signed({"sub": 1, "name": "x", "exp": NOW + 9}), now=NOW)


def test_dev_keys_in_repo_are_a_pair():
    private = tokens.load_private_key(MINI / "keys" / "token_ed25519.pem")
    public = tokens.load_public_key(MINI / "keys" / "token_ed25519.pub.pem")
    token, _ = tokens.sign(private, 7, "carol")
    assert tokens.verify(public, token).username == "carol"
    with pytest.raises(ValueError):
        tokens.load_public_key(MINI / "keys" / "token_ed25519.pem")
