"""The environment a run ran in, kept in its ``meta.json``: the harness's and Python's versions,
the host, and the Docker engine's version (None when the engine does not say); for a stack whose
sites have engines of their own, each one's address and version (``engines``)."""

from __future__ import annotations

import platform
import socket

from chaos import __version__
from chaos.engine import engines_of


def environment(client) -> dict:
    """``client``: the run's Docker client (its engine is asked its version; a failure is None)."""
    env = {"harness": __version__, "python": platform.python_version(), "host": socket.gethostname(),
           "platform": platform.platform()}
    try:
        env["docker_engine"] = client.version().get("Version")
    except Exception:  # noqa: BLE001 - the version is a footnote, never a reason to stop
        env["docker_engine"] = None
    engines = engines_of(client)
    if engines.specs:  # sites on engines of their own
        env["engines"] = engines.versions()
    return env
