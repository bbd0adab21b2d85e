"""Steady-state check, run on the host from the stack's folder (see stack.yaml `steady_state`).

Asks whichever Patroni node answers for the cluster's view. Holds only if there is exactly one
primary (no split brain), both sites are members, and the other node is a synchronous standby
streaming with no lag (so a site whose power came back has re-joined). Prints one line saying what
it saw; exit status 0 when it holds.

Arguments: the compose project (default chaos-dual-site), then the compose files (default
compose.yaml). Each node is asked through its site's engine: the harness exports CHAOS_DOCKER_<SITE>,
the docker CLI's global options for that site's engine (`--host URL` or `--context NAME`; unset or
empty: the default engine), as dual-site-engines needs.
"""

import json
import os
import shlex
import subprocess
import sys

PROJECT = sys.argv[1] if len(sys.argv) > 1 else "chaos-dual-site"  # dual-site-no-local-reads names its own
FILES = sys.argv[2:] or ["compose.yaml"]  # dual-site-engines: its override on top of dual-site's file


def compose(site: str) -> list[str]:
    """The docker compose command line that reaches SITE's engine."""
    engine = shlex.split(os.environ.get(f"CHAOS_DOCKER_{site.upper()}", ""))
    files = [arg for f in FILES for arg in ("-f", f)]
    return ["docker", *engine, "compose", "-p", PROJECT, *files]


def cluster_view():
    for site in ("chuncheon", "pangyo"):
        node = f"pg-{site}"
        p = subprocess.run(compose(site) + ["exec", "-T", node, "patronictl", "-c", "/stack/patroni/patroni.yml",
                                            "list", "-f", "json"], capture_output=True, text=True, timeout=20)
        if p.returncode == 0 and p.stdout.strip():
            return json.loads(p.stdout)
    return None


def lag(member: dict) -> float:
    """The standby's replay lag in MB: "Replay Lag" (Patroni 4) or "Lag in MB" (older); unknown = 1e9."""
    for key in ("Replay Lag", "Lag in MB"):
        if key in member:
            try:
                return float(member[key])
            except (TypeError, ValueError):
                return 1e9
    return 1e9


def main() -> int:
    members = cluster_view()
    if members is None:
        print("no Patroni node answers")
        return 1
    leaders = [m for m in members if m["Role"] == "Leader"]
    sync = [m for m in members if m["Role"] == "Sync Standby" and m["State"] in ("running", "streaming")
            and lag(m) == 0]
    seen = ", ".join(f"{m['Member']} {m['Role']} {m['State']}" for m in members)
    holds = len(leaders) == 1 and len(members) == 2 and len(sync) == 1
    print(f"{'holds' if holds else 'does not hold'}: {seen}")
    return 0 if holds else 1


if __name__ == "__main__":
    sys.exit(main())
