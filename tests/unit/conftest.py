"""Unit tests never reach a Docker engine: the SDK and the docker CLI are pointed at a socket that
does not exist, so a test that forgot to stand in for Docker fails at once instead of acting on a
real stack."""

import pytest


@pytest.fixture(autouse=True)
def no_docker_engine(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/chaos-unit-tests.sock")
