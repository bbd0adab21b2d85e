"""timeout: a link between two sites swallows data (a Toxiproxy ``timeout`` toxic): nothing gets
through and each connection is closed after ``timeout_ms``, or held open forever when it is 0, the
black hole in which clients wait on their own timeouts. Removing the toxic at the heal closes the
connections it held."""

from __future__ import annotations

from chaos.faults.base import implementation
from chaos.faults.link import ConnectionEndingToxic


@implementation
class Timeout(ConnectionEndingToxic):
    type = "timeout"
    toxic = "timeout"
