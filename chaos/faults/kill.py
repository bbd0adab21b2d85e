"""kill: one service's containers (optionally at one site) get a signal; healed by starting them."""

from __future__ import annotations

from chaos.faults.base import Fault, all_at_once, implementation, restart


@implementation
class Kill(Fault):
    type = "kill"

    def inject(self) -> str:
        sig = self.spec.params.get("signal", "SIGKILL")
        victims = [c for c in self.targets() if c.status == "running"]
        all_at_once(victims, lambda c: c.kill(signal=sig), "kill incomplete")
        return f"sent {sig} to {', '.join(sorted(c.name for c in victims))}"

    def heal(self) -> str:
        return restart(self.targets(), "not restarted everywhere")
