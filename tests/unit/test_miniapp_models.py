"""miniapp.models: the bounds every request body is validated against (needs only pydantic)."""

import sys
from pathlib import Path

import pytest

pytest.importorskip("pydantic")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "stacks" / "mini-system" / "app"))

from pydantic import ValidationError  # noqa: E402

from miniapp.models import Credentials, NewAccount, NewMessage, NewRoom, NewTransfer, ReadbackQuery  # noqa: E402


def _fields(model, data) -> set[str]:
    with pytest.raises(ValidationError) as e:
        model.model_validate(data)
    return {".".join(str(x) for x in err["loc"]) for err in e.value.errors()}


def test_credentials():
    Credentials.model_validate({"username": "a_b-9", "password": "12345678"})
    Credentials.model_validate({"username": "x" * 40, "password": "p" * 128})
    for name in ("ab", "x" * 41, "Alice", "a b", "é" * 5, "a\x00bc", 123):
        assert _fields(Credentials, {"username": name, "password": "12345678"}) == {"username"}
    for pw in ("1234567", "p" * 129, None):
        assert _fields(Credentials, {"username": "alice", "password": pw}) == {"password"}
    assert _fields(Credentials, {}) == {"username", "password"}


def test_a_new_password_needs_some_strength():
    for pw in ("12345678", "correct-horse-battery", "uuid4hex" + "0123456789abcdef" * 2, "pass word"):
        NewAccount.model_validate({"username": "alice", "password": pw})
    for pw in (" " * 8, "\t \n " * 2, "\u3000" * 8, "aaaaaaaa", "abababab", "abcdabcd", "1234567"):
        assert _fields(NewAccount, {"username": "alice", "password": pw}) == {"password"}, repr(pw)
    # Logging in is not judged: an account made under older rules still logs in.
    Credentials.model_validate({"username": "alice", "password": " " * 8})


def test_message():
    NewMessage.model_validate({"client_msg_id": "0b7c3f4e-6a43-4f7e-9d55-0d3c8f1c2a11", "text": "hi\nthere"})
    assert _fields(NewMessage, {"client_msg_id": "", "text": "x"}) == {"client_msg_id"}
    assert _fields(NewMessage, {"client_msg_id": "a" * 65, "text": "x"}) == {"client_msg_id"}
    assert _fields(NewMessage, {"client_msg_id": "a b", "text": "x"}) == {"client_msg_id"}
    for text in ("", "t" * 2001, "nul\x00inside", 5):
        assert _fields(NewMessage, {"client_msg_id": "m1", "text": text}) == {"text"}


def test_transfer_amount_is_a_strict_bounded_int():
    ok = {"to_user": "bob", "amount": 1, "idempotency_key": "k1"}
    NewTransfer.model_validate(ok)
    NewTransfer.model_validate({**ok, "amount": 100_000_000})
    for amount in (0, -5, 100_000_001, "5", 5.0, 2.5, True, None):
        assert _fields(NewTransfer, {**ok, "amount": amount}) == {"amount"}
    assert _fields(NewTransfer, {**ok, "to_user": "B!"}) == {"to_user"}
    assert _fields(NewTransfer, {**ok, "idempotency_key": "k" * 65}) == {"idempotency_key"}


def test_readback_query():
    ReadbackQuery.model_validate({"ids": ["a"] * 5000})
    assert _fields(ReadbackQuery, {"ids": ["a"] * 5001}) == {"ids"}
    assert _fields(ReadbackQuery, {"ids": ["a" * 201]}) == {"ids.0"}
    assert _fields(ReadbackQuery, {"ids": "abc"}) == {"ids"}


def test_room():
    NewRoom.model_validate({"room": "Lobby_1-a"})
    for room in ("", "x" * 65, "a b", "a/b", "é", 5, None):
        assert _fields(NewRoom, {"room": room}) == {"room"}


def test_transfer_from_user_is_optional_and_bounded():
    ok = {"to_user": "bob", "amount": 1, "idempotency_key": "k1"}
    assert NewTransfer.model_validate(ok).from_user is None
    assert NewTransfer.model_validate({**ok, "from_user": "alice"}).from_user == "alice"
    assert _fields(NewTransfer, {**ok, "from_user": "Alice!"}) == {"from_user"}


def test_unknown_fields_and_unstorable_text_are_refused():
    assert _fields(NewTransfer, {"to_user": "bob", "amount": 1, "idempotency_key": "k",
                                 "from_wallet": "w1"}) == {"from_wallet"}
    assert _fields(NewMessage, {"client_msg_id": "m1", "text": "x\ud800y"}) == {"text"}
    assert _fields(Credentials, {"username": "alice", "password": "\udfff" * 8}) == {"password"}
    assert _fields(ReadbackQuery, {"ids": ["a\ud800"]}) == {"ids.0"}
