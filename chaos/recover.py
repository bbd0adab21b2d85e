"""``chaos-harness recover``: heal whatever a harness that died (even by SIGKILL) left behind in a
stack: every toxic removed and proxy enabled (Toxiproxy reset), every container of the compose
project unpaused and started. Acts only on the stack's own project; safe to run any number of times."""

from __future__ import annotations

from chaos.faults.base import at_once, start_if_stopped
from chaos.stack import containers, docker_client, find_stack
from chaos.toxiproxy import Toxiproxy


def recover(stack_name: str) -> list[str]:
    stack = find_stack(stack_name)
    client = docker_client()
    report = []
    found = containers(client, stack)
    down = [c for c in found if c.status != "running"]
    # Toxiproxy first: the other containers may need the WAN to become healthy.
    wan = [c for c in down if c.labels.get("chaos.role") == "wan"]
    errors = at_once(wan, start_if_stopped) + at_once([c for c in down if c not in wan], start_if_stopped)
    report.append(f"containers: {len(found)} in project {stack.project}, {len(down)} restarted or unpaused"
                  + (f", errors: {'; '.join(errors)}" if errors else ""))
    if stack.toxiproxy_url and found:
        try:
            Toxiproxy(stack.toxiproxy_url).reset()
            report.append("toxiproxy: reset (every proxy enabled, every toxic removed)")
        except Exception as e:  # noqa: BLE001
            report.append(f"toxiproxy: reset failed: {e}")
    return report
