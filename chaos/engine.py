"""The Docker engine adapter: how the harness reaches a stack's containers.

Stacks go up and down through the Compose v2 CLI (its internals are not an API, see ``Compose``);
containers are found by label through the Docker SDK for Python, always within the stack's compose
project (the blast radius, ``containers``), and every SDK call has a timeout (``docker_client``).
Faults, bring-up, recovery and the doctor reach Docker only through this module.

A site may live on its own engine (stack.yaml ``engines:``, as the hosts of a real site each run
their own): ``Engines`` is then the client the harness passes around. It answers the calls the
harness makes of a Docker client (``containers.list``, ``version``) across every
engine of the stack, sending a call that names a site (the ``chaos.site`` label filter) to that
site's engine only; and ``Compose`` runs the CLI once per engine, each with the compose services of
the sites it hosts (one compose project per engine, under the same project name). A stack without
``engines:`` has one engine, the environment's, exactly as before.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from chaos.errors import EnvironmentProblem
from chaos.files import load_yaml

if TYPE_CHECKING:  # the definition of a stack, only as a type: chaos.stack sits above this module
    from chaos.stack import StackDef

PROJECT_LABEL = "com.docker.compose.project"
COMPOSE_SERVICE_LABEL = "com.docker.compose.service"  # the compose service a container was made from
SITE_LABEL = "chaos.site"
ROLE_LABEL = "chaos.role"
SERVICE_LABEL = "chaos.service"
DOCKER_TIMEOUT_S = 30
PING_TIMEOUT_S = 3  # a site's engine that does not answer a ping within this is called silent


@dataclass(frozen=True)
class EngineSpec:
    """Where one site's engine answers (stack.yaml ``engines.<site>``): ``host``, a Docker host URL
    (``unix://``, ``tcp://``, ``ssh://``) or the name of a ``docker context``; ``stop`` and
    ``start``, shell commands that stop and start that engine itself (what ``engine_loss`` runs;
    empty: the harness cannot take that host away)."""

    host: str
    stop: str = ""
    start: str = ""

    @property
    def is_context(self) -> bool:
        return "://" not in self.host

    def cli_args(self) -> list[str]:
        """The docker CLI's global options that reach this engine."""
        return ["--context", self.host] if self.is_context else ["--host", self.host]


def docker_client(engine: EngineSpec | None = None, *, site: str | None = None, timeout: float = DOCKER_TIMEOUT_S):
    """A Docker SDK client with a timeout on every call, for ``engine`` (None: the environment's), or
    EnvironmentProblem naming the site and the address that does not answer."""
    import docker  # imported here: `validate`, `plan` and `analyze` need no Docker

    try:
        if engine is None:
            client = docker.from_env(timeout=timeout)
        elif engine.is_context:
            context = docker.ContextAPI.get_context(engine.host)
            if context is None:
                raise LookupError(f"no docker context named {engine.host!r} (docker context ls)")
            client = docker.DockerClient(base_url=context.Host, tls=context.TLSConfig or False, timeout=timeout)
        else:
            client = docker.DockerClient(base_url=engine.host, timeout=timeout,
                                         use_ssh_client=engine.host.startswith("ssh://"))
        client.ping()
        return client
    except Exception as e:  # noqa: BLE001 - any failure here means "no engine"
        if engine is None:
            raise EnvironmentProblem(
                f"no Docker engine answers ({e.__class__.__name__}); run `make setup` "
                "(or scripts/bootstrap-docker.sh) to install and start one") from None
        raise EnvironmentProblem(
            f"site {site}'s Docker engine at {engine.host} does not answer ({e.__class__.__name__}: "
            f"{str(e)[:200]}); start it (scripts/engines.sh start, for the simulated hosts) or fix "
            "stack.yaml's engines") from None


class _Listing:
    """``containers.list`` across the engines of an ``Engines``."""

    def __init__(self, engines: "Engines"):
        self.engines = engines

    def list(self, all: bool = False, filters: dict | None = None) -> list:
        labels = (filters or {}).get("label") or []
        sites = [value.split("=", 1)[1] for value in labels if value.startswith(f"{SITE_LABEL}=")]
        clients = [self.engines.for_site(sites[0])] if sites else self.engines.clients()
        found = []
        for client in clients:
            found += client.containers.list(all=all, filters=filters)
        return found


class Engines:
    """The Docker engines of one stack, one per site that stack.yaml maps (``engines:``), the
    environment's for every other site; it stands in for a Docker client (see the module's
    docstring). ``clients``: the connected clients by site (``None``: the default engine)."""

    def __init__(self, specs: dict[str, EngineSpec], clients: dict[str | None, object],
                 pingers: dict[str, object] | None = None):
        self.specs = dict(specs)
        self._clients = clients
        # What ``silent`` pings: clients with a short timeout (``connect``), so a hung engine is
        # called silent within seconds; by default the clients themselves.
        self._pingers = pingers if pingers is not None else {s: c for s, c in clients.items() if s is not None}
        self.containers = _Listing(self)

    @classmethod
    def connect(cls, stack: StackDef, default=None) -> "Engines":
        """Every engine of ``stack``, each pinged: EnvironmentProblem naming the first site whose
        engine does not answer, before anything starts. ``default``: the default engine's client."""
        specs = getattr(stack, "engines", None) or {}
        clients: dict[str | None, object] = {None: default if default is not None else docker_client()}
        pingers = {}
        for site, spec in specs.items():
            clients[site] = docker_client(spec, site=site)
            pingers[site] = docker_client(spec, site=site, timeout=PING_TIMEOUT_S)
        return cls(specs, clients, pingers)

    def for_site(self, site: str | None):
        """The client of ``site``'s engine (the default engine's for a site not mapped)."""
        return self._clients.get(site) or self._clients[None]

    def clients(self) -> list:
        """One client per distinct engine, the default first."""
        return [self._clients[None]] + [c for site, c in self._clients.items() if site is not None]

    def version(self) -> dict:
        """The default engine's version answer (the environment's ``docker_engine``)."""
        return self._clients[None].version()

    def silent(self) -> dict[str, str]:
        """The sites whose own engine does not answer a ping now: site -> its address."""
        down = {}
        for site, spec in self.specs.items():
            try:
                self._pingers[site].ping()
            except Exception:  # noqa: BLE001 - not answering, whatever the reason
                down[site] = spec.host
        return down

    def versions(self) -> dict[str, dict]:
        """For the journal's environment: each mapped site's engine, its address and version."""
        found = {}
        for site, spec in self.specs.items():
            try:
                version = self._clients[site].version().get("Version")
            except Exception:  # noqa: BLE001 - a footnote, never a reason to stop
                version = None
            found[site] = {"host": spec.host, "version": version}
        return found


class EngineWatch:
    """Pings every site's own engine every ``every_s`` seconds, in a thread of its own (a hung engine
    never stalls the run): ``silent()`` says which sites' engines stopped answering, and when first.
    A stack without ``engines:`` has nothing to watch, and no thread is started."""

    def __init__(self, engines: Engines, every_s: float = 1.0, clock: Callable[[], float] = time.monotonic):
        import threading

        self.engines, self.every_s, self.clock = engines, every_s, clock
        self._silent: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="engine-watch", daemon=True)

    def start(self) -> "EngineWatch":
        if self.engines.specs:
            self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(self.every_s)

    def poll(self) -> dict[str, tuple[str, float]]:
        """Ping now: site -> (its engine's address, when it was first found silent) of every silent one."""
        down = self.engines.silent()
        now = self.clock()
        with self._lock:
            self._silent = {site: self._silent.get(site, (host, now)) for site, host in down.items()}
            return dict(self._silent)

    def silent(self) -> dict[str, tuple[str, float]]:
        with self._lock:
            return dict(self._silent)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=PING_TIMEOUT_S + 2)


def engines_of(client) -> Engines:
    """``client`` as an ``Engines`` (a plain client, a test's fake: the one engine of every site)."""
    return client if isinstance(client, Engines) else Engines({}, {None: client})


def site_client(client, site: str | None):
    """The client of ``site``'s engine, whether ``client`` is an ``Engines`` or a plain client."""
    return engines_of(client).for_site(site)


def engine_env(stack: StackDef) -> dict[str, str]:
    """``CHAOS_DOCKER_<SITE>``: the docker CLI's global options reaching each site's engine (empty:
    the default engine), for the commands a stack names (``prepare``, ``steady_state``) to run
    ``docker $CHAOS_DOCKER_PANGYO compose ... exec`` on the right host."""
    specs = getattr(stack, "engines", None) or {}
    sites = set(getattr(stack, "sites", ())) | set(specs)
    return {f"CHAOS_DOCKER_{site.upper().replace('-', '_')}": " ".join(specs[site].cli_args()) if site in specs else ""
            for site in sorted(sites)}


class Compose:
    """The Compose v2 CLI for one stack: on every engine it spans, each given the compose services of
    the sites it hosts (``groups``)."""

    def __init__(self, stack: StackDef):
        self.stack = stack

    def _cmd(self, *args: str, engine: EngineSpec | None = None) -> list[str]:
        files = [a for f in compose_files(self.stack) for a in ("-f", str(f))]
        return ["docker", *(engine.cli_args() if engine else ()), "compose", "-p", self.stack.project, *files, *args]

    def run(self, *args: str, timeout: float = 600, check: bool = True, engine: EngineSpec | None = None,
            progress: Callable[[float], None] | None = None, every_s: float = 5.0) -> subprocess.CompletedProcess:
        """``docker compose ARGS`` on ``engine`` (None: the default engine); EnvironmentProblem when it
        fails (with ``check``) or outlasts ``timeout``. With ``progress``, it is called with the
        seconds elapsed every ``every_s``."""
        start = time.monotonic()
        where = f" on {engine.host}" if engine else ""
        # Its own process group: on a timeout or Ctrl-C the CLI and the compose plugin it runs go together.
        proc = subprocess.Popen(self._cmd(*args, engine=engine), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        try:
            while True:
                left = timeout - (time.monotonic() - start)
                try:
                    stdout, stderr = proc.communicate(timeout=max(0.0, min(left, every_s if progress else left)))
                    break
                except subprocess.TimeoutExpired:
                    if time.monotonic() - start >= timeout:
                        raise EnvironmentProblem(f"`docker compose {' '.join(args)}`{where} did not finish in "
                                                 f"{timeout:.0f} s") from None
                    if progress:
                        progress(time.monotonic() - start)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
        done = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
        if check and done.returncode != 0:
            tail = "\n".join((stderr or stdout).strip().splitlines()[-15:])
            raise EnvironmentProblem(f"`docker compose {' '.join(args)}`{where} failed:\n{tail}")
        return done

    def groups(self, services: list[str] | None = None) -> list[tuple[EngineSpec | None, list[str]]]:
        """``services`` (None: every service ``up`` starts) by the engine of their ``chaos.site``:
        (engine, its services), the default engine (None) first. One engine: one group, as before."""
        specs = getattr(self.stack, "engines", None) or {}
        wanted = self.services() if services is None else services
        if not specs:
            return [(None, list(wanted))]
        sites = service_sites(self.stack)
        by_engine: dict[str | None, list[str]] = {}
        for name in wanted:
            site = sites.get(name)
            by_engine.setdefault(site if site in specs else None, []).append(name)
        return [(specs[key] if key else None, names) for key, names in
                sorted(by_engine.items(), key=lambda kv: (kv[0] is not None, kv[0] or ""))]

    @staticmethod
    def _each(action: Callable[[EngineSpec | None, list[str]], None],
              groups: list[tuple[EngineSpec | None, list[str]]]) -> None:
        """``action`` for every engine group (``groups``) at once, a thread each; one
        EnvironmentProblem after every group has finished, naming each engine that failed."""
        if len(groups) == 1:
            action(*groups[0])
            return
        errors: list[str] = []

        def one(group):
            try:
                action(*group)
            except EnvironmentProblem as e:
                errors.append(str(e))

        with ThreadPoolExecutor(max_workers=len(groups)) as pool:
            list(pool.map(one, groups))
        if errors:
            raise EnvironmentProblem("\n".join(errors))

    def up(self, progress: Callable[[str], None] | None = None, every_s: float = 5.0) -> None:
        """``up -d --wait`` (on each engine, ``--no-deps`` with the services of its sites: a service
        retries what it needs of another host, as it would across real hosts); every ``every_s``
        seconds meanwhile, ``progress`` gets a line saying how many of the stack's containers are
        healthy (see ``health_line``)."""
        t = int(self.stack.ready_timeout_s)
        groups = self.groups()
        several = len(groups) > 1
        engines = Engines.connect(self.stack) if progress and several else None

        def report(elapsed: float) -> None:
            try:
                line = health_line(containers(engines or docker_client(), self.stack))
            except Exception as e:  # noqa: BLE001 - progress is best effort
                line = f"({type(e).__name__} while counting)"
            progress(f"{elapsed:4.0f} s: {line}")

        def up_on(engine: EngineSpec | None, services: list[str]) -> None:
            args = ["up", "-d", "--wait", "--wait-timeout", str(t)] + (["--no-deps", *services] if several else [])
            quiet = several and engine is not None  # one progress line for the whole stack
            self.run(*args, timeout=t + 60, engine=engine,
                     progress=report if progress and not quiet else None, every_s=every_s)

        self._each(up_on, groups)

    def up_services(self, services: list[str]) -> None:
        """``up -d --no-deps --wait`` of ``services`` only, each on its site's engine: what a rebuilt
        site and ``recover`` recreate."""
        wait = int(self.stack.ready_timeout_s)
        self._each(lambda engine, names: self.run("up", "-d", "--no-deps", "--wait", "--wait-timeout", str(wait),
                                                  *names, timeout=wait + 60, engine=engine), self.groups(services))

    def down(self, volumes: bool = True) -> None:
        args = ["down", "--remove-orphans", "-t", "5"] + (["-v"] if volumes else [])
        engines = [None] + list((getattr(self.stack, "engines", None) or {}).values())
        for engine in engines:  # every engine, even one hosting nothing today: what a stack left there goes
            self.run(*args, timeout=300, engine=engine)

    def services(self) -> list[str]:
        """The compose file's services that ``up`` starts (those under a profile are left out)."""
        raw = compose_model(self.stack)
        return sorted(name for name, spec in (raw.get("services") or {}).items() if not (spec or {}).get("profiles"))

    def images(self, services: list[str] | None = None) -> list[str]:
        """The images the compose services (``services``, None: all) run."""
        raw = compose_model(self.stack).get("services") or {}
        return sorted({s["image"] for name, s in raw.items()
                       if "image" in (s or {}) and (services is None or name in services)})


def compose_files(stack: StackDef) -> tuple:
    """The stack's compose files, in Compose's ``-f`` order: its own, then the ones that override it."""
    return (stack.compose_file, *getattr(stack, "compose_overrides", ()))


_MODELS: dict[tuple, dict] = {}


def compose_model(stack: StackDef) -> dict:
    """The stack's compose model: its one file as YAML (``chaos.files.load_yaml``: parsed once per
    process, InvalidInput naming a file that is not), or several files merged by Compose itself
    (``docker compose config``, which needs the CLI, not an engine). Read once per process."""
    files = compose_files(stack)
    if len(files) == 1:
        return load_yaml(files[0])
    key = (stack.project, *map(str, files))
    if key not in _MODELS:
        cmd = ["docker", "compose", "-p", stack.project, *[a for f in files for a in ("-f", str(f))],
               "config", "--format", "json"]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise EnvironmentProblem(f"stack {stack.name}: its compose files are merged by `docker compose "
                                     f"config`, which did not answer ({e})") from None
        if p.returncode != 0:
            raise EnvironmentProblem(f"stack {stack.name}: `docker compose config` refused its compose files: "
                                     f"{p.stderr.strip()[-500:]}")
        _MODELS[key] = json.loads(p.stdout)
    return _MODELS[key]


def service_sites(stack: StackDef) -> dict[str, str]:
    """compose service -> its ``chaos.site`` label (services without one are left out)."""
    found = {}
    for name, spec in (compose_model(stack).get("services") or {}).items():
        labels = (spec or {}).get("labels") or {}
        if isinstance(labels, list):
            labels = dict(item.split("=", 1) for item in labels if "=" in item)
        if labels.get(SITE_LABEL):
            found[name] = str(labels[SITE_LABEL])
    return found


def health_line(found: list) -> str:
    """``9/15 healthy; starting: a, b; exited: c``: the containers' states in one line (a container
    without a healthcheck counts as healthy once running)."""
    healthy, others = 0, {}
    for c in found:
        state = c.attrs.get("State") or {}
        if isinstance(state, str):  # a sparse listing: "running", health only in the status text
            text = c.attrs.get("Status") or ""
            status = state
            health = next((h for h in ("unhealthy", "healthy", "starting") if f"({h}" in text), None)
        else:
            status = state.get("Status", c.status)
            health = (state.get("Health") or {}).get("Status")
        if status == "running" and health in (None, "healthy"):
            healthy += 1
        else:
            key = health if status == "running" else status
            others.setdefault(key, []).append(c.labels.get("com.docker.compose.service") or c.name)
    parts = [f"{healthy}/{len(found)} healthy"]
    parts += [f"{k}: {', '.join(sorted(v))}" for k, v in sorted(others.items())]
    return "; ".join(parts)


def containers(client, stack: StackDef, *, site: str | None = None, service: str | None = None,
               role: str | None = None, all: bool = True) -> list:
    """This stack's containers, filtered by the harness labels; never anything outside the project."""
    labels = [f"{PROJECT_LABEL}={stack.project}"] + [
        f"{label}={value}" for label, value in ((SITE_LABEL, site), (SERVICE_LABEL, service), (ROLE_LABEL, role))
        if value]
    return client.containers.list(all=all, filters={"label": labels})


def lacking_images(client, stack: StackDef):
    """(engine, site, image) for each image a compose service needs and the engine that runs it
    lacks (engine and site None: the default engine)."""
    import docker

    engines = engines_of(client)
    compose = Compose(stack)
    for engine, services in compose.groups():
        site = next((s for s, spec in engines.specs.items() if spec == engine), None)
        for image in compose.images(services):
            try:
                engines.for_site(site).images.get(image)
            except docker.errors.ImageNotFound:
                yield engine, site, image


def missing_images(client, stack: StackDef) -> list[str]:
    """The images the stack's services need and their engine lacks (``image on <address>`` for a
    site's own engine)."""
    return [image if engine is None else f"{image} on {engine.host}" for engine, _, image in lacking_images(client, stack)]


def copy_images(client, stack: StackDef, say: Callable[[str], None]) -> list[str]:
    """Every image a site's own engine lacks, copied from the default engine (``docker save | docker
    load``: no registry needed, as none answers here); the images copied, ``image -> address``.
    EnvironmentProblem when a copy fails. Images the default engine lacks are left to ``missing_images``."""
    copied = []
    for engine, site, image in lacking_images(client, stack):
        if engine is None:
            continue
        say(f"[stack] copying {image} to site {site}'s engine {engine.host} (docker save | docker load)")
        t = time.monotonic()
        save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE, start_new_session=True)
        try:
            load = subprocess.run(["docker", *engine.cli_args(), "load", "-q"], stdin=save.stdout,
                                  capture_output=True, text=True, timeout=600)
        finally:
            save.stdout.close()
            if save.wait(timeout=60) is None:
                save.kill()
        if save.returncode != 0 or load.returncode != 0:
            raise EnvironmentProblem(f"copying {image} to site {site}'s engine {engine.host} failed: "
                                     f"{(load.stderr or '').strip()[-300:] or f'docker save exited {save.returncode}'}")
        say(f"[stack] {image} on {engine.host} in {time.monotonic() - t:.0f} s")
        copied.append(f"{image} -> {engine.host}")
    return copied


def wait_healthy(client, stack: StackDef, timeout_s: float) -> list[str]:
    """Wait until every container of the stack runs and is healthy; return those that are not."""
    deadline = time.monotonic() + timeout_s
    while True:
        bad = []
        for c in containers(client, stack):
            c.reload()
            health = (c.attrs.get("State", {}).get("Health") or {}).get("Status")
            if c.status != "running" or health not in (None, "healthy"):
                bad.append(f"{c.name} ({c.status}{', ' + health if health else ''})")
        if not bad or time.monotonic() > deadline:
            return bad
        time.sleep(1)
