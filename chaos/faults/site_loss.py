"""site_loss: the fire. Every container of a site is SIGKILLed at the same instant (a power cut),
then the site's disks burn: its containers are removed and their named volumes destroyed. The heal
is the rebuild: the site's compose services are recreated, empty, and rejoin from the survivors
(``docker compose up -d --no-deps --wait <services>``), after ``rebuild_after_s``, or at the end of
the run when it is null ("never" within the experiment).

Order matters: a volume cannot be removed while a container (even a stopped one) uses it, so
kill -> remove the containers -> remove the volumes. Only this stack's compose project is touched:
containers are found by ``chaos.engine.containers`` (which filters by project), and a volume is
destroyed only if it carries the project's label too (an external volume a container mounts is left
alone and reported).

The containers are gone after the fire, so the compose services to rebuild (their
``com.docker.compose.service`` labels) are recorded at injection, on the instance and in the detail
the runner writes into the history. Rebuilding is idempotent: ``up -d`` leaves running services as
they are.
"""

from __future__ import annotations

from chaos.faults.base import Fault, all_at_once, cut_power, names_of
from chaos.faults.params import FaultDecl, Param
from chaos.engine import COMPOSE_SERVICE_LABEL, PROJECT_LABEL, Compose, site_client


def named_volumes(container) -> list[str]:
    """The named volumes a container mounts (``Mounts`` entries of type ``volume``; binds are not)."""
    mounts = (getattr(container, "attrs", None) or {}).get("Mounts") or ()
    return [m["Name"] for m in mounts if m.get("Type") == "volume" and m.get("Name")]


class SiteLoss(Fault):
    decl = FaultDecl(
        type="site_loss", targets=("site",),
        params=(
            Param("rebuild_after_s", "duration",
                doc="Seconds until the site is rebuilt: its services recreated empty, rejoining from the "
                "survivors; omit or null: never (rebuilt at the end of the run).",
            ),
        ),
        duration="rebuild_after_s",
        heal_verb="rebuilt (its services recreated empty, rejoining from the survivors)",
        doc="The fire: every container of a site is SIGKILLed at the same instant, then the containers "
        "and their named volumes are destroyed; the site is rebuilt empty from the survivors. Whatever only "
        "that site held is gone for good, whenever the rebuild comes; without rebuild_after_s the site "
        "stays lost until the load ends.",
    )

    def __init__(self, spec, ctx):
        super().__init__(spec, ctx)
        self.services: list[str] = []  # the site's compose services: what the rebuild recreates
        self.destroyed: list[str] = []  # the volumes the fire destroyed

    def inject(self) -> str:
        site = self.targets()
        # Recorded before the act: after it the containers are gone, and a fire stopped half-way must
        # still be rebuilt by the heal.
        labelled = {c.labels.get(COMPOSE_SERVICE_LABEL) for c in site} - {None, ""}
        self.services = sorted(set(self.services) | labelled)
        volumes = sorted({name for c in site for name in named_volumes(c)})
        killed = cut_power(site, "site loss (power cut)")
        all_at_once(site, lambda c: c.remove(v=False, force=True), "site loss: containers not removed, volumes left")
        spared = self._burn(volumes)
        text = (f"killed {len(killed)} containers, removed {len(site)}: {names_of(site)}; "
                f"destroyed {len(self.destroyed)} volumes: {', '.join(self.destroyed) or 'none'}")
        if spared:
            text += f" (left alone, not of project {self.ctx.stack.project}: {', '.join(spared)})"
        return text + f"; rebuild recreates services: {', '.join(self.services)}"

    def _burn(self, volumes: list[str]) -> list[str]:
        """Remove the project's ``volumes``; return the ones spared (another project's, or external)."""
        import docker.errors  # here: validate and plan need no Docker SDK

        client, project = site_client(self.ctx.client, self.spec.target.site), self.ctx.stack.project
        spared: list[str] = []

        def burn(name: str) -> None:
            try:
                volume = client.volumes.get(name)
            except docker.errors.NotFound:  # already gone (an earlier attempt)
                return
            if (volume.attrs.get("Labels") or {}).get(PROJECT_LABEL) != project:
                spared.append(name)
                return
            volume.remove(force=True)
            self.destroyed.append(name)

        try:
            all_at_once(volumes, burn, "site loss: volumes not destroyed")
        finally:
            self.destroyed.sort()
        return sorted(spared)

    def heal(self) -> str:
        if not self.services:
            return "nothing to rebuild: the fire found no container of the site"
        Compose(self.ctx.stack).up_services(self.services)
        return f"rebuilt {len(self.services)} services from the survivors: {', '.join(self.services)}"
