"""site_stop: a planned evacuation: every container of a site is stopped gracefully (SIGTERM, then
SIGKILL after ``grace_s``), all at once; they start again after ``duration_s``, or at the end of the
run when it is null."""

from __future__ import annotations

from chaos.faults.base import Fault, all_at_once, names_of, restart
from chaos.faults.params import FaultDecl, Param


class SiteStop(Fault):
    decl = FaultDecl(
        type="site_stop", targets=("site",),
        params=(
            Param("grace_s", "int",
                default=10,
                min=0,
                max=600,
                doc="Seconds each container has to shut down after SIGTERM before it is killed.",
            ),
            Param("duration_s", "duration",
                above=0,
                doc="Seconds until the site's containers start again; omit or null: at the end of the run.",
            ),
        ),
        duration="duration_s",
        doc="A planned evacuation: every container of a site is stopped gracefully (SIGTERM, then SIGKILL after "
        "grace_s), all at once, databases and consensus members too; unlike a power cut, each process may "
        "hand over first. Without duration_s the site stays stopped until the load ends.",
    )

    def inject(self) -> str:
        grace = int(self.spec.params.get("grace_s", 10))  # Docker takes whole seconds
        victims = [c for c in self.targets() if c.status in ("running", "paused")]
        all_at_once(victims, lambda c: c.stop(timeout=grace), "site stop incomplete")
        return f"stopped {len(victims)} containers (grace {grace} s): {names_of(victims)}"

    def heal(self) -> str:
        return restart(self.targets(), "site not restarted everywhere")
