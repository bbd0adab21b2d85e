"""A small client of the mini-system through a stack's entry point, shared by the mini-system's
integration tests (imported by name: pytest puts this folder on ``sys.path``).

Every request goes to ``stack.entry_url`` (127.0.0.1) only.
"""

from __future__ import annotations

import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "stacks" / "mini-system"
PASSWORD = "correct-horse-battery"


def secrets_dir() -> Path:
    """The stack's secrets (scripts/make-secrets.sh): ``$CHAOS_SECRETS_DIR`` or .cache/secrets."""
    return Path(os.environ.get("CHAOS_SECRETS_DIR") or ROOT / ".cache" / "secrets")


def readback_token() -> str:
    return os.environ.get("CHAOS_READBACK_TOKEN") or (secrets_dir() / "readback_token").read_text().strip()


def tokens_module():
    """``miniapp.tokens`` (needs only ``cryptography``): to craft tokens with the dev key."""
    app = str(MINI / "app")
    if app not in sys.path:
        sys.path.insert(0, app)
    from miniapp import tokens

    return tokens


@dataclass
class User:
    name: str
    user_id: int
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Mini:
    def __init__(self, base_url: str, timeout_s: float = 15.0):
        self.base = base_url.rstrip("/")
        assert self.base.startswith(("http://127.0.0.1:", "http://localhost:")), self.base
        self.timeout_s = timeout_s
        self.http = requests.Session()

    def call(self, method: str, path: str, user: User | None = None, **kw) -> requests.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if user is not None:
            headers.update(user.headers)
        return self.http.request(method, f"{self.base}{path}", headers=headers,
                                 timeout=self.timeout_s, **kw)

    def user(self, wallet: bool = True, prefix: str = "sec") -> User:
        """A new signed-up, logged-in user (with a wallet of 100000 unless ``wallet=False``)."""
        name = f"{prefix}-{uuid.uuid4().hex[:16]}"
        r = self.call("POST", "/login/signup", json={"username": name, "password": PASSWORD})
        assert r.status_code == 201, r.text
        user_id = r.json()["user_id"]
        r = self.call("POST", "/login/login", json={"username": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
        user = User(name, user_id, r.json()["token"])
        if wallet:
            r = self.call("POST", "/payment/wallets", user)
            assert r.status_code == 201, r.text
        return user

    def balance(self, user: User) -> int:
        r = self.call("GET", "/payment/wallets/me", user)
        assert r.status_code == 200, r.text
        return r.json()["balance"]

    def room(self, creator: User, *members: User) -> str:
        """A new room created by ``creator``, who invites ``members``."""
        room = f"r-{uuid.uuid4().hex[:12]}"
        r = self.call("POST", "/messaging/rooms", creator, json={"room": room})
        assert r.status_code == 201, r.text
        for m in members:
            r = self.call("POST", f"/messaging/rooms/{room}/members", creator, json={"username": m.name})
            assert r.status_code == 201, r.text
        return room

    def readback(self, service: str, ids: list[str]) -> dict[str, int]:
        r = self.call("POST", f"/{service}/readback", headers={"X-Readback-Token": readback_token()},
                      json={"ids": ids})
        assert r.status_code == 200, r.text
        return r.json()["counts"]

    def audit(self) -> dict:
        r = self.call("GET", "/payment/audit", headers={"X-Readback-Token": readback_token()})
        assert r.status_code == 200, r.text
        return r.json()
