"""The story of a run in words, from its journal alone: the one-line result at the top of the report
and of the terminal summary, and how an RTO reads (to 0.1 s, or ``± bound`` when the load workers'
clocks are known only more coarsely: the journal's ``clocks``; a service that came back only after
the heal says so, with when, instead of "never").

For example: ``pangyo dark 15.0-46.9 s; services back after 23.0-23.3 s (limit 30 s); 0 of 1,048
acknowledged writes lost (10 timed out: 1 found by the read-back, 9 still unknown)``.

Times "at +X s" are seconds after the run's start (the journal's ``started_at``), as in the
report's fault table. A service's outage comes from the metrics ``outage_began_s`` and ``back_s``
(seconds after the first fault's injection, ``chaos.checks.metrics``); a journal written before
they existed has neither, and its RTOs read as they always did (``never``).
"""

from __future__ import annotations

import re
from datetime import datetime

from chaos.checks.clocks import rto_step

# How a fault's target reads while it lasts, by fault type (others: "<type> <target>").
_STATE = {"power_cut": "dark", "site_loss": "lost (power cut, disks destroyed)", "site_stop": "stopped",
          "isolate": "isolated", "kill": "killed", "pause": "frozen"}
_LIMIT = re.compile(r"^rto_s\s*<=\s*([0-9.eE+-]+)$")


def seconds_text(value: float) -> str:
    """A duration for people: always to 0.1 s (``23.3``)."""
    return f"{value:.1f}"


def clock_step(journal: dict) -> float:
    """The finest step the run's times may be shown to: 0.1 s, or coarser when its load workers'
    clocks (the journal's ``clocks``) are known only within a larger bound (``chaos.checks.clocks``)."""
    bounds = [c.get("bound_s") for c in (journal.get("clocks") or {}).values() if isinstance(c, dict)]
    if not bounds:
        return rto_step(None)
    return rto_step(max(float("inf") if b is None else b for b in bounds))


def time_text(journal: dict, value: float) -> str:
    """A time measured from the load's records: ``23.3``, or ``23.3 ± 0.4`` when the workers' clock
    bound is coarser than the 0.1 s shown."""
    step = clock_step(journal)
    return seconds_text(value) if step <= 0.1 else f"{seconds_text(value)} ± {step:.1f}"


def _since(journal: dict, stamp: str | None) -> float | None:
    try:
        return (datetime.fromisoformat(stamp) - datetime.fromisoformat(journal["started_at"])).total_seconds()
    except (TypeError, ValueError):
        return None


def first_fault_at(journal: dict) -> float | None:
    """The first fault's injection, in seconds after the run's start (None: no fault)."""
    return _since(journal, journal["faults"][0]["injected_at"]) if journal["faults"] else None


def back_at(journal: dict, service: dict) -> float | None:
    """When a service was back from its outage, in seconds after the run's start (None: no figure)."""
    origin, back = first_fault_at(journal), service.get("back_s")
    return None if origin is None or back is None else origin + back


def only_after_heal(journal: dict, service: dict) -> bool:
    """Whether the service never recovered within its fault's window but was back later."""
    return service.get("rto_s") is None and back_at(journal, service) is not None


def rto_text(journal: dict, service: dict) -> str:
    """A service's RTO in words: ``23.3``; ``only after the heal, at +46.2 s``; ``never``; ``n/a``
    (no fault)."""
    rto = service.get("rto_s")
    if rto is not None:
        return time_text(journal, rto)
    if not journal["faults"]:
        return "n/a"
    if "rto_s" in (service.get("missing") or {}):  # a journal that says it could not be measured
        return "unknown"
    if only_after_heal(journal, service):
        return f"only after the heal, at +{seconds_text(back_at(journal, service))} s"
    return "never"


def _target(target: str) -> str:
    return target.split("=", 1)[1] if "=" in target else target


def _fault_text(journal: dict, fault: dict) -> str:
    start, end = _since(journal, fault["injected_at"]), _since(journal, fault["healed_at"])
    state = _STATE.get(fault["type"])
    what = f"{_target(fault['target'])} {state}" if state else f"{fault['type']} {_target(fault['target'])}"
    if start is None:
        return what
    if end is None:
        return f"{what} from {seconds_text(start)} s, never healed"
    return f"{what} {seconds_text(start)}-{seconds_text(end)} s"


def _span(values: list[float], journal: dict | None = None) -> str:
    low, high = seconds_text(min(values)), seconds_text(max(values))
    span = low if low == high else f"{low}-{high}"
    step = clock_step(journal) if journal is not None else 0.1
    return span if step <= 0.1 else f"{span} ± {step:.1f}"


def _who(names: list[str], every: int) -> str:
    return "services" if len(names) == every and every > 1 else ", ".join(names)


def _limit(journal: dict) -> str:
    # The services' own limit: a threshold scoped to an operation or a kind (``rto_s[<service> kind=read]``)
    # is a part's, shown in the per-operation table.
    limits = {c["threshold"] for c in journal["checks"]
              if c["name"].startswith("rto_s[") and " " not in c["name"] and c["threshold"]}
    if len(limits) != 1:
        return ""
    found = _LIMIT.match(limits.pop())
    return f" (limit {float(found.group(1)):g} s)" if found else ""


def _recovery_text(journal: dict) -> str:
    services = journal["services"]
    back, late, never, unmeasured = {}, {}, [], []
    for name, s in services.items():
        if s.get("rto_s") is not None:
            back[name] = s["rto_s"]
        elif rto_text(journal, s) == "unknown":
            unmeasured.append(name)
        elif only_after_heal(journal, s):
            late[name] = back_at(journal, s)
        else:
            never.append(name)
    parts = []
    if back:
        parts.append(f"{_who(list(back), len(services))} back after {_span(list(back.values()), journal)} s{_limit(journal)}")
    if late:
        parts.append(f"{_who(list(late), len(services))} back only after the heal, at +{_span(list(late.values()))} s")
    if never:
        parts.append(f"{_who(never, len(services))} never back")
    if unmeasured:
        parts.append(f"{_who(unmeasured, len(services))}: RTO not measured")
    return "; ".join(parts)


def _writes_text(journal: dict) -> str:
    services = journal["services"].values()
    acked = [s.get("acked_writes") for s in services]
    lost = [s.get("lost_writes") for s in services]
    if not services or any(a is None for a in acked):
        return "writes not measured"
    if any(n is None for n in lost):
        return f"{sum(acked):,} acknowledged writes, lost ones not measured (no read-back)"
    text = f"{sum(lost):,} of {sum(acked):,} acknowledged writes lost"
    unknown = sum(s.get("unknown_writes") or 0 for s in services)
    found = sum(s.get("recovered_writes") or 0 for s in services)
    if unknown + found:
        text += f" ({unknown + found:,} timed out: {found:,} found by the read-back, {unknown:,} still unknown)"
    return text


def one_line(journal: dict) -> str:
    """The run's result in one line (see the module's docstring)."""
    parts = [_fault_text(journal, f) for f in journal["faults"]] or ["no fault"]
    if journal["faults"] and journal["services"]:
        parts.append(_recovery_text(journal))
    if journal["services"]:
        parts.append(_writes_text(journal))
    return "; ".join(p for p in parts if p)
