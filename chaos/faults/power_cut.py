"""power_cut: every container of a site is SIGKILLed at the same instant; disks (volumes) survive.
Power returns after ``power_returns_after_s`` (every container of the site started again), or at
the end of the run when it is null ("never" within the experiment)."""

from __future__ import annotations

from chaos.faults.base import Fault, at_once, cut_power, implementation, names_of, start_if_stopped


@implementation
class PowerCut(Fault):
    type = "power_cut"

    @property
    def heal_after_s(self) -> float | None:
        return self.spec.params.get("power_returns_after_s")

    def inject(self) -> str:
        victims = cut_power(self.targets())
        return f"killed {len(victims)} containers: {names_of(victims)}"

    def heal(self) -> str:
        site = self.targets()
        errors = at_once(site, start_if_stopped)
        if errors:
            raise RuntimeError("power not restored everywhere: " + "; ".join(errors))
        return f"started {len(site)} containers"
