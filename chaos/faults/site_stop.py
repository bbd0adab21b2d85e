"""site_stop: a planned evacuation: every container of a site is stopped gracefully (SIGTERM, then
SIGKILL after ``grace_s``), all at once; they start again after ``duration_s``, or at the end of the
run when it is null."""

from __future__ import annotations

from chaos.faults.base import Fault, at_once, implementation, start_if_stopped


@implementation
class SiteStop(Fault):
    type = "site_stop"

    @property
    def heal_after_s(self) -> float | None:
        return self.spec.params.get("duration_s")

    def inject(self) -> str:
        grace = int(self.spec.params.get("grace_s", 10))  # Docker takes whole seconds
        victims = [c for c in self.targets() if c.status in ("running", "paused")]
        errors = at_once(victims, lambda c: c.stop(timeout=grace))
        if errors:
            raise RuntimeError("site stop incomplete: " + "; ".join(errors))
        return f"stopped {len(victims)} containers (grace {grace} s): {', '.join(sorted(c.name for c in victims))}"

    def heal(self) -> str:
        site = self.targets()
        errors = at_once(site, start_if_stopped)
        if errors:
            raise RuntimeError("site not restarted everywhere: " + "; ".join(errors))
        return f"started {len(site)} containers"
