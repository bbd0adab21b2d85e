"""kill: one service's containers (optionally at one site) get a signal; healed by starting them."""

from __future__ import annotations

from chaos.faults.base import Fault, at_once, implementation, start_if_stopped


@implementation
class Kill(Fault):
    type = "kill"

    def inject(self) -> str:
        sig = self.spec.params.get("signal", "SIGKILL")
        victims = [c for c in self.targets() if c.status == "running"]
        errors = at_once(victims, lambda c: c.kill(signal=sig))
        if errors:
            raise RuntimeError("kill incomplete: " + "; ".join(errors))
        return f"sent {sig} to {', '.join(sorted(c.name for c in victims))}"

    def heal(self) -> str:
        found = self.targets()
        errors = at_once(found, start_if_stopped)
        if errors:
            raise RuntimeError("; ".join(errors))
        return f"started {len(found)} containers"
