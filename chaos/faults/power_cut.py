"""power_cut: every container of a site is SIGKILLed at the same instant; disks (volumes) survive.
Power returns after ``power_returns_after_s`` (every container of the site started again), or at
the end of the run when it is null ("never" within the experiment)."""

from __future__ import annotations

from chaos.faults.base import Fault, cut_power, names_of, restart
from chaos.faults.params import FaultDecl, Param


class PowerCut(Fault):
    decl = FaultDecl(
        type="power_cut", targets=("site",),
        params=(
            Param("power_returns_after_s", "duration",
                doc="Seconds until power returns and the site's containers start again; omit or null: never.",
            ),
        ),
        duration="power_returns_after_s",
        doc="Every container of a site is SIGKILLed at the same instant, its databases and consensus members "
        "as well as its apps; disks survive. Without power_returns_after_s (or with null) the site stays "
        "dark until the load ends, and only then is every container started again.",
    )

    def inject(self) -> str:
        victims = cut_power(self.targets())
        return f"killed {len(victims)} containers: {names_of(victims)}"

    def heal(self) -> str:
        return restart(self.targets(), "power not restored everywhere")
