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


def test_pem_keys_load_and_the_wrong_kind_is_refused(key, tmp_path):
    from cryptography.hazmat.primitives import serialization as s

    private_file, public_file = tmp_path / "k.pem", tmp_path / "k.pub.pem"
    private_file.write_bytes(key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))
    public_file.write_bytes(key.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo))
    token, _ = tokens.sign(tokens.load_private_key(private_file), 7, "carol")
    assert tokens.verify(tokens.load_public_key(public_file), token).username == "carol"
    with pytest.raises(ValueError):
        tokens.load_public_key(private_file)
    assert not (MINI / "keys").exists()  # no keypair is committed: scripts/make-secrets.sh makes one


class CountingKey:
    """A public key that counts the signatures it checks."""

    def __init__(self, public_key):
        self.public_key, self.checks = public_key, 0

    def verify(self, signature, data):
        self.checks += 1
        self.public_key.verify(signature, data)


def test_the_verifier_checks_a_signature_once_and_answers_like_verify(key):
    counting = CountingKey(key.public_key())
    verifier = tokens.Verifier(counting)
    token, _ = tokens.sign(key, 7, "carol", now=NOW)
    first = verifier(token, now=NOW + 1)
    assert verifier(token, now=NOW + 2) == first == tokens.verify(key.public_key(), token, now=NOW)
    assert counting.checks == 1


def test_the_verifier_refuses_a_tampered_copy_of_a_token_it_accepted(key):
    verifier = tokens.Verifier(key.public_key())
    token, _ = tokens.sign(key, 1, "bob", now=NOW)
    verifier(token, now=NOW)
    h, _p, s = token.split(".")
    forged = ".".join([h, _b64({"sub": 2, "name": "mallory", "exp": NOW + 3600}), s])
    for bad in (forged, token + "A", token[:-1]):
        with pytest.raises(tokens.TokenError):
            verifier(bad, now=NOW)
    with pytest.raises(tokens.TokenError, match="signature"):
        tokens.Verifier(Ed25519PrivateKey.generate().public_key())(token, now=NOW)


def test_the_verifier_refuses_and_forgets_a_token_once_it_expired(key):
    counting = CountingKey(key.public_key())
    verifier = tokens.Verifier(counting)
    token, exp = tokens.sign(key, 1, "bob", now=NOW, ttl_s=60)
    verifier(token, now=exp - 1)
    for _ in range(2):
        with pytest.raises(tokens.TokenError, match="expired"):
            verifier(token, now=exp)
    assert counting.checks == 2  # forgotten after the first refusal, so checked again


def test_the_verifier_keeps_at_most_its_capacity(key):
    counting = CountingKey(key.public_key())
    verifier = tokens.Verifier(counting, capacity=3)
    issued = [tokens.sign(key, n, f"user{n}", now=NOW)[0] for n in range(1, 6)]
    for token in issued:
        verifier(token, now=NOW)
    assert len(verifier._verified) == 3 and counting.checks == 5
    verifier(issued[-1], now=NOW)  # still remembered
    verifier(issued[0], now=NOW)  # the oldest went first: checked again
    assert counting.checks == 6


def _flip_unused_bits(part: str) -> str:
    """The same bytes spelled differently: the last character's unused low bits set."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    unused = {2: 4, 3: 2}[len(part) % 4]  # 1 or 2 trailing bytes: 4 or 2 bits encode nothing
    last = alphabet.index(part[-1])
    return part[:-1] + alphabet[last | ((1 << unused) - 1)]


def test_a_part_re_spelt_with_its_unused_bits_set_is_refused(key):
    token, _ = tokens.sign(key, 42, "alice", now=NOW)
    header, payload, sig = token.split(".")
    assert len(sig) % 4 == 2  # 64 bytes: 86 characters, the last carries 4 unused bits
    for i, part in enumerate((header, payload, sig)):
        if len(part) % 4 == 0:
            continue
        spelt = _flip_unused_bits(part)
        # A lenient decoder reads the same bytes from both spellings: that was the hole.
        lenient = base64.urlsafe_b64decode
        assert spelt != part and lenient(spelt + "==") == lenient(part + "==")
        forged = ".".join(spelt if j == i else p for j, p in enumerate((header, payload, sig)))
        with pytest.raises(tokens.TokenError, match="malformed"):
            tokens.verify(key.public_key(), forged, now=NOW)
        with pytest.raises(tokens.TokenError):
            tokens.Verifier(key.public_key())(forged, now=NOW)
    for text in ("QQ==", "QQ=", "Q", "QUJD=", "QR"):  # padding, impossible length, unused bits
        with pytest.raises(tokens.TokenError):
            tokens.b64url_decode(text)
    assert tokens.b64url_decode("QQ") == b"A" and tokens.b64url_decode("QUJD") == b"ABC"
