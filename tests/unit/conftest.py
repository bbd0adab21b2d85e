"""Unit tests never reach a Docker engine: the SDK and the docker CLI are pointed at a socket that
does not exist, so a test that forgot to stand in for Docker fails at once instead of acting on a
real stack. Nor do they take the machine's stack locks: each test has its own lock folder, so a unit
test never waits for (or is refused by) a real run on the same stack, and never blocks one."""

import pytest


@pytest.fixture(autouse=True)
def no_docker_engine(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/chaos-unit-tests.sock")


@pytest.fixture(autouse=True)
def own_stack_locks(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("CHAOS_LOCK_DIR", str(tmp_path_factory.mktemp("locks")))
