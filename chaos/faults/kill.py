"""kill: one service's containers (optionally at one site) get a signal; healed by starting them."""

from __future__ import annotations

from chaos.faults.base import Fault, all_at_once, restart
from chaos.faults.params import FaultDecl, Param

# The signals a kill fault may send: those a service is expected to handle or die of.
SIGNALS = ("SIGKILL", "SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGABRT", "SIGUSR1", "SIGUSR2")


class Kill(Fault):
    decl = FaultDecl(
        type="kill", targets=("service",),
        params=(Param("signal", "str", default="SIGKILL", choices=SIGNALS,
                      doc="The signal sent to the service's containers."),),
        doc="One service's containers receive a signal (SIGKILL by default), at every site unless the target "
        "names one ({service: orders, site: pangyo}). They stay down until the load ends: kill has no "
        "duration, its heal (starting them) comes only then; for a bounded outage use pause, or a "
        "site fault with its own duration.",
    )

    def inject(self) -> str:
        sig = self.spec.params.get("signal", "SIGKILL")
        victims = [c for c in self.targets() if c.status == "running"]
        all_at_once(victims, lambda c: c.kill(signal=sig), "kill incomplete")
        return f"sent {sig} to {', '.join(sorted(c.name for c in victims))}"

    def heal(self) -> str:
        return restart(self.targets(), "not restarted everywhere")
