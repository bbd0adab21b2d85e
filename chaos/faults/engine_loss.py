"""engine_loss: the harness loses a host. Every container on the site's own Docker engine is
SIGKILLed at the same instant (as a power cut), then the engine itself is stopped with the ``stop``
command its stack.yaml gives (``engines.<site>.stop``), so the site stops answering even the
harness. The heal runs the ``start`` command, waits until the engine answers again and starts the
site's containers, after ``returns_after_s`` or at the end of the run.

Only a site on an engine of its own, with both commands, can lose it: the default engine (where the
harness's machine keeps the WAN, the entry point, maybe other work) is never stopped. While the
fault is active, the runner's engine watch expects that engine to be silent; any other silent
engine is a lost engine and makes the run ``unknown``.
"""

from __future__ import annotations

import subprocess
import time

from chaos.faults.base import Fault, cut_power, names_of, restart
from chaos.faults.params import FaultDecl, Param
from chaos.engine import engines_of

COMMAND_TIMEOUT_S = 120  # a stop or start command that takes longer has failed
SETTLE_TIMEOUT_S = 90  # how long the engine may take to stop answering after stop, or to answer after start


class EngineLoss(Fault):
    decl = FaultDecl(
        type="engine_loss", targets=("site",),
        params=(
            Param("returns_after_s", "duration",
                  doc="Seconds until the engine is started again and the site's containers with it; omit or "
                  "null: never (at the end of the run)."),
        ),
        duration="returns_after_s",
        heal_verb="back (its engine started, then its containers)",
        doc="The harness loses a host: every container on the site's own Docker engine is SIGKILLed at the same "
        "instant, then the engine itself is stopped (stack.yaml engines.<site>.stop), so nothing of the site "
        "answers, not even to the harness. Only for a site on an engine of its own with stop and start "
        "commands.",
    )
    silences_engine = True

    @classmethod
    def refuses(cls, spec, stack) -> str | None:
        site = spec.target.site
        engine = (getattr(stack, "engines", None) or {}).get(site)
        if engine is None:
            return (f"engine_loss stops site {site}'s own Docker engine, and stack {stack.name} runs {site} on the "
                    "default engine (which the harness never stops); map the site to an engine of its own in "
                    "stack.yaml engines:, or use power_cut")
        if not engine.stop or not engine.start:
            return (f"engine_loss needs the commands that stop and start site {site}'s engine: give "
                    f"engines.{site}: {{host: {engine.host}, stop: ..., start: ...}} in stack {stack.name}'s stack.yaml")
        return None

    @property
    def engine(self):
        return self.ctx.stack.engines[self.spec.target.site]

    def _command(self, which: str, command: str) -> float:
        """Run the engine's ``which`` command; the seconds it took. RuntimeError if it failed."""
        start = time.monotonic()
        try:
            p = subprocess.run(command, shell=True, cwd=self.ctx.stack.dir, capture_output=True, text=True,
                               timeout=COMMAND_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"{which} command did not finish in {COMMAND_TIMEOUT_S} s: {command}") from None
        if p.returncode != 0:
            raise RuntimeError(f"{which} command failed ({p.returncode}): {command}: "
                               f"{(p.stderr or p.stdout).strip()[-300:]}")
        return time.monotonic() - start

    def _answers(self) -> bool:
        """Whether the site's engine answers a ping now (``Engines.silent``: a short timeout)."""
        return self.spec.target.site not in engines_of(self.ctx.client).silent()

    def _until(self, answering: bool) -> float:
        start = time.monotonic()
        while self._answers() != answering:
            if time.monotonic() - start > SETTLE_TIMEOUT_S:
                state = "still answers" if answering is False else "does not answer"
                raise RuntimeError(f"site {self.spec.target.site}'s engine at {self.engine.host} {state} "
                                   f"{SETTLE_TIMEOUT_S} s later")
            time.sleep(0.5)
        return time.monotonic() - start

    def inject(self) -> str:
        victims = cut_power(self.targets(), "engine loss (power cut)")
        ran = self._command("stop", self.engine.stop)
        took = self._until(answering=False)
        return (f"killed {len(victims)} containers: {names_of(victims)}; engine at {self.engine.host} stopped "
                f"(its stop command took {ran:.1f} s; silent {took:.1f} s after it)")

    def heal(self) -> str:
        if not self._answers():
            ran = self._command("start", self.engine.start)
            took = self._until(answering=True)
            back = (f"engine at {self.engine.host} answers again (its start command took {ran:.1f} s; "
                    f"answering {took:.1f} s after it)")
        else:
            back = f"engine at {self.engine.host} answering"
        return f"{back}; {restart(self.targets(), 'the site did not come back whole')}"
