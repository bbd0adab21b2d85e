"""The mini-system's secrets: made per checkout by scripts/make-secrets.sh (run by
scripts/build-images.sh), never committed, never a fixed default, and each mounted only where it is
needed (the token private key into login alone). No Docker: the compose files are read as YAML."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MINI_STACKS = ("dual-site", "single-site")


def compose(name: str) -> dict:
    return yaml.safe_load((ROOT / "stacks" / name / "compose.yaml").read_text())


def _secrets_of(spec: dict) -> set[str]:
    return {s if isinstance(s, str) else s["source"] for s in spec.get("secrets") or []}


def _mounts(spec: dict) -> list[str]:
    return [v if isinstance(v, str) else v.get("source", "") for v in spec.get("volumes") or []]


@pytest.mark.parametrize("name", MINI_STACKS)
def test_the_token_private_key_is_mounted_into_login_only(name):
    doc = compose(name)
    private = [k for k, v in doc.get("secrets", {}).items() if v["file"].endswith("/token_ed25519.pem")]
    assert private == ["token_private"], doc.get("secrets")
    apps = {svc: spec for svc, spec in doc["services"].items() if spec["labels"].get("chaos.role") == "app"}
    assert apps
    for svc, spec in apps.items():
        is_login = spec["labels"]["chaos.service"] == "login"
        env = spec.get("environment") or {}
        assert ("token_private" in _secrets_of(spec)) == is_login, svc
        assert ("TOKEN_PRIVATE_KEY_FILE" in env) == is_login, svc
        assert {"token_public", "readback_token"} <= _secrets_of(spec), svc
        assert not any("keys" in m for m in _mounts(spec)), (svc, "no key folder is mounted")
    for svc, spec in doc["services"].items():
        if svc not in apps:
            assert not _secrets_of(spec) & {"token_private", "token_public", "readback_token"}, svc


@pytest.mark.parametrize("name", MINI_STACKS)
def test_no_secret_has_a_fixed_default(name):
    text = (ROOT / "stacks" / name / "compose.yaml").read_text()
    assert "dev-readback-token" not in text and "READBACK_TOKEN:" not in text
    for secret in compose(name)["secrets"].values():
        assert ".cache/secrets" in secret["file"], secret


def test_no_secret_is_committed():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    assert not [f for f in tracked if f.endswith((".pem", "readback_token", "patroni.env"))]
    for f in ("stacks/mini-system/readback.py", "stacks/mini-system/smoke.py",
              "stacks/mini-system/app/miniapp/web.py", "tests/integration/mini_system.py"):
        assert "dev-readback-token" not in (ROOT / f).read_text(), f


def test_build_images_makes_the_secrets():
    script = (ROOT / "scripts" / "build-images.sh").read_text()
    assert "make-secrets.sh" in script


def test_make_secrets_makes_each_once_private_and_random(tmp_path):
    env = {**os.environ, "CHAOS_SECRETS_DIR": str(tmp_path / "s")}
    run = lambda: subprocess.run(["bash", str(ROOT / "scripts" / "make-secrets.sh")], env=env,  # noqa: E731
                                 capture_output=True, text=True, timeout=60, check=True)
    run()
    d = tmp_path / "s"
    names = {"token_ed25519.pem", "token_ed25519.pub.pem", "readback_token", "patroni.env"}
    assert {p.name for p in d.iterdir()} == names
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert {stat.S_IMODE((d / n).stat().st_mode) for n in names} == {0o600}
    first = {n: (d / n).read_bytes() for n in names}
    run()  # kept, not replaced: a running stack keeps working
    assert {n: (d / n).read_bytes() for n in names} == first
    token = first["readback_token"].decode().strip()
    assert len(token) >= 40
    env_lines = dict(line.split("=", 1) for line in first["patroni.env"].decode().split())
    assert set(env_lines) == {"PATRONI_RESTAPI_USERNAME", "PATRONI_RESTAPI_PASSWORD"}
    assert len(env_lines["PATRONI_RESTAPI_PASSWORD"]) >= 40
    # the keys are an Ed25519 pair
    crypto = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    private = crypto.load_pem_private_key(first["token_ed25519.pem"], password=None)
    public = crypto.load_pem_public_key(first["token_ed25519.pub.pem"])
    public.verify(private.sign(b"x"), b"x")
    # another folder gets other secrets
    env["CHAOS_SECRETS_DIR"] = str(tmp_path / "t")
    run()
    assert (tmp_path / "t" / "readback_token").read_bytes() != first["readback_token"]
    assert (tmp_path / "t" / "token_ed25519.pem").read_bytes() != first["token_ed25519.pem"]


def test_doctor_names_a_missing_secret_file(tmp_path):
    from chaos.doctor import missing_secret_files

    present = tmp_path / "readback_token"
    present.write_text("x")
    config = {"secrets": {"readback_token": {"name": "p_readback_token", "file": str(present)},
                          "token_private": {"name": "p_token_private", "file": str(tmp_path / "gone.pem")}}}
    assert missing_secret_files(config) == [str(tmp_path / "gone.pem")]
    assert missing_secret_files({}) == []
