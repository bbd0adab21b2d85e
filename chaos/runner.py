"""The runner: the only place that decides the order of steps.

load + validate -> stack up and ready -> steady state -> Locust starts -> faults at their offsets
(and, once a second, the experiment's ``abort_if`` conditions on the live history) -> load stops ->
every fault healed in ``finally`` (also on Ctrl-C / SIGTERM) -> recovery wait -> read-back -> checks
-> journal -> summary -> exit code. An abort writes an ``aborted`` mark with its reason into the
history and stops the load early; the rest runs as usual, and the check ``not_aborted`` fails.

With a gate (``RunOptions.gate``, a game day: ``chaos.gate``, ``chaos.gameday``) the load's start
and every step wait for its go; a held step shifts the later ones and the load's end
(``chaos.schedule``), and the runner stops Locust itself at the shifted end.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import requests

from chaos import __version__
from chaos import history as history_mod
from chaos.abort import AbortMonitor
from chaos.analyze import EXPERIMENT_COPY, INVARIANTS, META, READBACK, judge_run
from chaos.checks import exit_code_for
from chaos.checks import invariants as invariants_mod
from chaos.errors import EnvironmentProblem, ExperimentInvalid, InvalidInput, Interrupted, Problem
from chaos.experiment import Experiment
from chaos.files import write_atomic
from chaos.faults import IMPLEMENTATIONS, Fault, FaultContext
from chaos.gate import FACILITATOR_ABORT, Answer, Gate, LiveStatus
from chaos.history import (HEAL_FAILED, HEAL_INVOKED, HEALED, INJECT_DONE, INJECT_FAILED, INVOKED, MARK_ABORTED,
                           MARK_HISTORY_WRITE_FAILED, MARK_INTERRUPTED, MARK_LOAD_ENDED_EARLY, MARK_LOAD_STARTED, MARK_LOAD_STOPPED,
                           MARK_RECORDS_LOST, DiskReserve, HistoryWriter)
from chaos.load.recorder import RECORDS_UNWRITTEN_EXIT
from chaos.lock import StackLock
from chaos.load.locust_process import LocustProcess
from chaos.loader import load_experiment, validate_targets
from chaos.reports import iso_utc, render_html, render_summary, write_junit
from chaos.reports.junit import FILENAME as JUNIT_FILENAME
from chaos.schedule import HEAL, INJECT, LOAD, Schedule, Step, steps_of
from chaos.engine import Compose, docker_client, missing_images, wait_healthy
from chaos.stack import StackDef, conflicting_stacks, find_stack, placement, run_prepare, wait_steady_state
from chaos.stack import links as stack_links
from chaos.toxiproxy import Toxiproxy


@dataclass
class RunOptions:
    stack: str | None = None
    runs_dir: Path = Path("runs")
    bring_up: bool = True
    color: bool = False
    out: object = field(default=sys.stderr)
    gate: Gate | None = None  # a game day: asked before each step (chaos.gate); None: on schedule
    participants: tuple[str, ...] | None = None  # a game day's participants, kept in meta.json


# A game day's steps may be held this long in all: Locust is started for the load's duration plus
# this, and stopped by the runner at the shifted end. Past it, the load ends on its own (every
# fault is healed, the run is judged).
GATED_MAX_HOLD_S = 4 * 3600.0
RECENT_S = 5.0  # the live view's "last seconds"
# Locust exiting this long before the load's (shifted) end is a load that ended early: the run did
# not do what the experiment says (Locust's -t is whole seconds, so up to half a second early is usual).
EARLY_END_TOLERANCE_S = 1.5


def say(opts: RunOptions, text: str) -> None:
    """A progress line; never raises: a reader that is gone (``| head``, a hung-up terminal) must
    not stop a heal, nor turn a landed fault into a failed one."""
    try:
        print(text, file=opts.out, flush=True)
    except (OSError, ValueError):
        pass


def prepare(path: str | Path, stack_override: str | None) -> tuple[Experiment, StackDef]:
    """Load and validate everything that can be checked without touching a container.

    ``stack_override`` (the CLI's ``--stack``) must name a stack, and, when the file's ``expect`` is
    a mapping, one of its keys; the experiment returned carries the expectation for that stack.
    Every name is checked against the stack's: sites, services, workload tasks, links with a proxy,
    services at their sites (``validate_targets``), so that every verb refuses the same inputs."""
    if stack_override is not None:  # a name, never a path: checked before the file is even read
        find_stack(stack_override, what="--stack")
    try:
        experiment, problems = load_experiment(path), []
    except ExperimentInvalid as invalid:  # its valid parts still go through the stack's checks: all at once
        if invalid.partial is None:
            raise
        experiment, problems = invalid.partial, invalid.problems
    try:
        stack = find_stack(stack_override or experiment.stack)  # an unknown stack, with a did-you-mean
    except InvalidInput as error:
        if not problems:
            raise
        if isinstance(error, ExperimentInvalid):  # the stack's stack.yaml
            problems += error.problems
        else:
            problems.append(Problem(experiment.source, experiment.lines.get("stack"), None,
                                    "" if stack_override else "stack", str(error)))
        raise ExperimentInvalid(sorted(problems, key=lambda p: (p.line or 0, p.column or 0))) from None
    if stack_override and not problems:
        experiment = experiment.with_stack(stack_override)
    wan_types = {name for name, impl in IMPLEMENTATIONS.items() if impl.needs_toxiproxy}
    problems += validate_targets(experiment, set(stack.sites), set(stack.services), stack=stack.name,
                                 tasks=set(stack.tasks), links=stack_links(stack), placement=placement(stack),
                                 wan_types=wan_types, operations=stack.operations)
    for i, spec in enumerate(experiment.faults):
        if spec.type not in IMPLEMENTATIONS:
            problems.append(Problem(str(path), spec.line, None, f"{spec.path or f'faults[{i}]'}.type",
                                    f"fault type '{spec.type}' is declared but not implemented yet; "
                                    f"implemented: {', '.join(sorted(IMPLEMENTATIONS))}"))
        elif IMPLEMENTATIONS[spec.type].needs_toxiproxy and not stack.toxiproxy_url:
            problems.append(Problem(str(path), spec.line, None, f"{spec.path or f'faults[{i}]'}.type",
                                    f"{spec.type} acts through Toxiproxy, and stack {stack.name} has no "
                                    "toxiproxy_url in its stack.yaml"))
    if problems:
        raise ExperimentInvalid(sorted(problems, key=lambda p: (p.line or 0, p.column or 0)))
    return experiment, stack


def probes_ok(stack: StackDef) -> list[str]:
    """Steady-state probes through the entry point; return the failing ones."""
    bad = []
    for name, path in stack.probes.items():
        try:
            r = requests.get(stack.entry_url + path, timeout=2)
            if r.status_code != 200:
                bad.append(f"{name}: HTTP {r.status_code}")
        except requests.RequestException as e:
            bad.append(f"{name}: {e.__class__.__name__}")
    return bad


def wait_steady(stack: StackDef, timeout_s: float) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while True:
        bad = probes_ok(stack)
        if not bad or time.monotonic() > deadline:
            return bad
        time.sleep(1)


def load_readback(stack: StackDef):
    spec = importlib.util.spec_from_file_location(f"chaos_stack_readback_{stack.name.replace('-', '_')}",
                                                  stack.readback)
    if spec is None or spec.loader is None:
        raise EnvironmentProblem(f"cannot load read-back {stack.readback}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class LiveTally:
    """Reads the load's history files as they grow, each line once: counts outcomes, in all and per
    service, for the progress line and hands every op to ``consumers`` (objects with ``add(op)``,
    e.g. an ``AbortMonitor``). A line still being written (no newline yet) is left for the next
    update. With ``recent_s``, it also keeps what each service answered lately (``recent``)."""

    def __init__(self, directory: Path, consumers: tuple = (), recent_s: float | None = None):
        self.directory = directory
        self.consumers = tuple(consumers)
        self.offsets: dict[Path, int] = {}
        self.counts = {"ok": 0, "fail": 0, "unknown": 0}
        self.by_service: dict[str, dict[str, int]] = {}
        self.recent_s = recent_s
        self._answered: list[tuple[float, str, str]] = []  # (answered at, service, outcome), recent_s only

    def recent(self, now: float) -> dict[str, dict[str, int]]:
        """Per service, the outcomes answered in the last ``recent_s`` seconds before ``now``
        (monotonic); every service seen so far appears, with zeros if it answered nothing lately."""
        if self.recent_s is None:
            raise ValueError("LiveTally made without recent_s keeps no recent outcomes")
        since = now - self.recent_s
        self._answered = [a for a in self._answered if a[0] >= since]
        counts = {service: {"ok": 0, "fail": 0, "unknown": 0} for service in sorted(self.by_service)}
        for at, service, outcome in self._answered:
            if at <= now:
                counts[service][outcome] += 1
        return counts

    def update(self) -> dict:
        for path in sorted(self.directory.glob("load-*.jsonl")):
            with open(path, "rb") as f:
                f.seek(self.offsets.get(path, 0))
                data = f.read()
            end = data.rfind(b"\n") + 1
            self.offsets[path] = self.offsets.get(path, 0) + end
            for line in data[:end].splitlines():
                self._take(line)
        return self.counts

    def _take(self, line: bytes) -> None:
        try:
            record = json.loads(line)
            if record.get("kind") != "op":
                return
            op = history_mod.op_from_record(record)
        except (ValueError, KeyError, TypeError, AttributeError):  # torn or foreign line: skipped
            return
        if op.outcome in self.counts:
            self.counts[op.outcome] += 1
            per = self.by_service.setdefault(op.service, {"ok": 0, "fail": 0, "unknown": 0})
            per[op.outcome] += 1
            if self.recent_s is not None:
                self._answered.append((op.mono + op.latency, op.service, op.outcome))
        for consumer in self.consumers:
            consumer.add(op)


def source_snapshot(source: Path) -> bytes | None:
    """The experiment file's bytes now (None if it cannot be read: the run then copies it later)."""
    try:
        return Path(source).read_bytes()
    except OSError:
        return None


class Run:
    def __init__(self, experiment: Experiment, stack: StackDef, opts: RunOptions, source: Path,
                 source_bytes: bytes | None = None):
        self.experiment = experiment
        self.stack = stack
        self.opts = opts
        self.source = source
        # The file as loaded, copied into the run folder as is: read again after the bring-up
        # (minutes), an edit made meanwhile would be what the run is judged by. A caller that waits
        # between loading and running (a game day's prompts) reads it when it loads it.
        self.source_bytes = source_bytes if source_bytes is not None else source_snapshot(source)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        self.run_id = f"{stamp}-{experiment.name}-{stack.name}"
        self.run_dir = Path(opts.runs_dir) / self.run_id  # made (with a suffix if taken) by _make_run_dir
        self.active: list[tuple[str, Fault]] = []  # injected and not yet healed
        self.steady_after: dict = {}  # steady-state name -> (holds, line, seconds), after the load
        self._marked_stop = False
        self._signalled: int | None = None  # the last SIGINT/SIGTERM received
        self._deferring = False  # while healing: a signal is noted, not raised
        self._history_done = False  # _complete_history has run
        self.aborted: str | None = None  # why the run was stopped early (abort_if), if it was

    # ---------------------------------------------------------------------------------------
    def execute(self) -> tuple[dict, int]:
        """The whole run, under the stack's lock and with SIGINT/SIGTERM turned into ``Interrupted``
        from the first step (bring-up) to the last (reports); see ``_execute``."""
        # SIGHUP too: a dropped ssh session must heal like Ctrl-C, not kill the harness mid-fault.
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        for s in previous:
            signal.signal(s, self._on_signal)
        try:
            with StackLock(self.stack.project, f"run {self.run_id}"):
                return self._execute()
        finally:
            for s, h in previous.items():
                signal.signal(s, h)

    def _on_signal(self, signum, _frame):
        self._signalled = signum  # kept, in case a library's cleanup swallows the exception
        if not self._deferring:
            # The first one is obeyed; the next ones are noted, not raised, until every heal has run
            # (_stop_and_heal ends the deferral): a second Ctrl-C on the way from here to the heal
            # (the except clause, the call into _stop_and_heal) would otherwise skip every heal.
            self._deferring = True
            raise Interrupted(signum)

    def _make_run_dir(self) -> None:
        """The run folder, made here and only here: two runs started in the same second get
        ``<id>`` and ``<id>-2`` (``mkdir`` fails for the second, atomically), never one folder."""
        Path(self.opts.runs_dir).mkdir(parents=True, exist_ok=True)
        base, n = self.run_id, 1
        while True:
            try:
                self.run_dir.mkdir()
                return
            except FileExistsError:
                n += 1
                self.run_id = f"{base}-{n}"
                self.run_dir = Path(self.opts.runs_dir) / self.run_id

    def _execute(self) -> tuple[dict, int]:
        opts = self.opts
        client = docker_client()
        missing = missing_images(client, self.stack)
        if missing:
            raise EnvironmentProblem(f"images missing: {', '.join(missing)}; run `make images`")
        clashes = conflicting_stacks(client, self.stack)
        if clashes:
            raise EnvironmentProblem(
                f"stack {', '.join(clashes)} is up and publishes the same ports as {self.stack.name}; "
                f"take it down first: chaos-harness down --stack {clashes[0]}")
        if opts.bring_up:
            say(opts, f"[stack] bringing up {self.stack.name} (compose project {self.stack.project}); "
                      f"waits for every healthcheck, up to {self.stack.ready_timeout_s:.0f} s")
            t = time.monotonic()
            # An Interrupted raised in here ends the compose CLI's process group (Compose.run).
            Compose(self.stack).up(progress=lambda line: say(opts, f"[stack] {line}"))
            say(opts, f"[stack] ready in {time.monotonic() - t:.0f} s")
        for line in run_prepare(self.stack):
            say(opts, f"[prepare] {line}")
        bad = wait_healthy(client, self.stack, 60) + wait_steady(self.stack, 60)
        bad += [f"{n}: {line}" for n, (ok, line, _) in wait_steady_state(self.stack, 120).items() if not ok]
        if bad:
            raise EnvironmentProblem("steady state not met before the experiment: " + "; ".join(bad))
        say(opts, "[steady] every container healthy, every probe answers")

        try:  # nothing injected yet: a runs folder that cannot be written is said, not a traceback
            self._make_run_dir()
            hist_dir = history_mod.history_dir(self.run_dir)
            hist_dir.mkdir(parents=True, exist_ok=True)
            write_atomic(self.run_dir / EXPERIMENT_COPY,
                         self.source_bytes if self.source_bytes is not None else Path(self.source).read_bytes())
            reserve = DiskReserve(self.run_dir)
            writer = HistoryWriter(hist_dir / "faults.jsonl", on_error=lambda e: say(
                opts, f"[history] WARNING: cannot write {hist_dir} ({e}); records are kept in memory, every "
                      "fault is still healed, and the run will be judged unknown"))
        except (OSError, EnvironmentProblem) as e:
            raise EnvironmentProblem(f"cannot make the run folder under {opts.runs_dir}: {e}; no fault was "
                                     "injected") from None
        started = time.time()
        ctx = FaultContext(client=client, stack=self.stack)
        faults = [(f"f{i}", IMPLEMENTATIONS[spec.type](spec, ctx)) for i, spec in enumerate(self.experiment.faults)]
        run_time = self.experiment.load.duration_s + (GATED_MAX_HOLD_S if opts.gate is not None else 0.0)
        locust = LocustProcess(self.stack.workload, self.stack.entry_url, self.experiment.load, hist_dir,
                               self.run_dir / "locust.log", run_time_s=run_time)
        try:
            interrupted: Interrupted | None = None
            try:
                self._drive(locust, faults, writer)
            except Interrupted as e:
                interrupted = e
                say(opts, f"\n[run] {e}: stopping the load and healing every fault")
            finally:
                self._stop_and_heal(locust, writer)
            if interrupted is None and self._signalled is not None:  # a signal while healing
                interrupted = Interrupted(self._signalled)
            if interrupted is not None:
                raise interrupted

            say(opts, f"[recovery] waiting up to {self.experiment.recovery_wait_s:.0f} s for the steady state")
            t_recovery = time.monotonic()
            still_bad = wait_steady(self.stack, self.experiment.recovery_wait_s)
            if still_bad:
                say(opts, "[recovery] not steady yet: " + "; ".join(still_bad))
            left = max(0.0, self.experiment.recovery_wait_s - (time.monotonic() - t_recovery))
            self.steady_after = wait_steady_state(self.stack, left)
            for name, (ok, line, took) in self.steady_after.items():
                say(opts, f"[steady after] {name}: {line} ({took:g} s)")
            self._deferring = True  # a signal in here is noted: a history half completed is not retried
            try:
                self._complete_history(writer, reserve, locust)
            finally:
                self._deferring = False
            if self._signalled is not None:
                raise Interrupted(self._signalled)
            finished = time.time()
            self._read_back()
            self._write_meta(started, finished)
        except Interrupted as e:
            # Every fault is healed by now; leave what a later `analyze` or `recover` needs, and say in
            # the history that the run was cut short: re-judged, it is unknown, never a pass. A
            # further signal in here is noted, not obeyed.
            self._deferring = True
            try:
                marker = writer if not writer.closed else HistoryWriter(writer.path)
                marker.mark(MARK_INTERRUPTED, str(e))
                if marker is not writer:
                    marker.close()
                try:
                    self._complete_history(writer, reserve, locust)
                except EnvironmentProblem as problem:
                    say(opts, f"[run] {problem}")
                self._write_meta(started, time.time(), quiet=True)
            finally:
                self._deferring = False
            raise
        except OSError as e:  # the run folder's disk (readback, invariants, meta): after every heal
            raise EnvironmentProblem(f"the run cannot be judged: {e}; every heal has run") from None
        finally:  # a run ended by an error: the reserve given back, what the history kept in memory written
            reserve.release()
            if not writer.closed:
                writer.close()
        try:
            journal = judge_run(self.run_dir)
        except OSError as e:
            raise EnvironmentProblem(f"the run cannot be judged: journal.json not written in {self.run_dir}: "
                                     f"{e}; every heal has run") from None
        say(opts, "")
        say(opts, render_summary(journal, color=opts.color))
        say(opts, f"journal: {self.run_dir / 'journal.json'}")
        self._write_reports(journal)
        return journal, exit_code_for(journal["verdict"], journal["expected"])

    def _stop_and_heal(self, locust: LocustProcess, writer: HistoryWriter) -> None:
        """Stop the load and heal every fault, whatever happened before; a second Ctrl-C is noted,
        not obeyed, until every heal has run. Nothing here can raise before the heals run: the
        writer keeps what the disk refuses, and a failing stop is reported."""
        self._deferring = True
        try:
            try:
                locust.stop()
            except Exception as e:  # noqa: BLE001 - the heal comes first
                say(self.opts, f"[load] stopping Locust failed: {type(e).__name__}: {e}")
            if not self._marked_stop:
                writer.mark(MARK_LOAD_STOPPED)
                self._marked_stop = True
            self._heal_all(writer)
        finally:
            self._deferring = False
            if self.opts.gate is not None:
                self.opts.gate.end()

    def _complete_history(self, writer: HistoryWriter, reserve: DiskReserve, locust: LocustProcess) -> None:
        """Give back the reserved space, write what the disk refused during the run, and mark what
        the run could not record. Safe to call twice. If even then the history cannot be
        completed, the run cannot be judged: EnvironmentProblem naming the folder."""
        reserve.release()
        if self._history_done:
            return
        self._history_done = True
        code = locust.proc.returncode if locust.proc is not None else None
        if code == RECORDS_UNWRITTEN_EXIT:
            writer.mark(MARK_RECORDS_LOST, f"the load could not write every request to {writer.path.parent} "
                                           f"(see {locust.log_path})")
        elif code == -signal.SIGKILL:  # it never reached its quit event, where the recorder says what it kept
            writer.mark(MARK_RECORDS_LOST, "Locust was killed (SIGKILL) before it could say whether every "
                                           f"request reached the history (see {locust.log_path})")
        if writer.error is not None:
            writer.mark(MARK_HISTORY_WRITE_FAILED, f"{writer.path}: {writer.error}")
        if not writer.close():
            raise EnvironmentProblem(
                f"the run cannot be judged: {writer.unwritten} history records could not be written to "
                f"{writer.path} ({writer.error}); free space on that disk. Every fault was healed.")

    def _write_reports(self, journal: dict) -> None:
        """report.html and junit.xml in the run folder; a failure here is a warning, never a verdict."""
        try:
            say(self.opts, f"report: {render_html(self.run_dir, journal)}")
            say(self.opts, f"junit: {write_junit(self.run_dir / JUNIT_FILENAME, [journal])}")
        except Exception as e:  # noqa: BLE001 - the verdict and exit code stand without the reports
            say(self.opts, f"warning: reports not written: {type(e).__name__}: {e}")

    tick_s = 1.0  # how often the history is read (abort_if judged); progress every 5 s

    def _drive(self, locust: LocustProcess, faults: list[tuple[str, Fault]], writer: HistoryWriter) -> None:
        opts, load, gate = self.opts, self.experiment.load, self.opts.gate
        schedule = Schedule(steps_of(faults), load.duration_s)
        if gate is not None:
            gate.begin(writer)
            if not self._await_load_go(gate, schedule, writer):
                return
        locust.start()
        writer.mark(MARK_LOAD_STARTED)
        t0 = time.monotonic()
        say(opts, f"[load] Locust: {load.users} users for {load.duration_s:g} s against {self.stack.entry_url} "
                  f"(log: {locust.log_path})")
        monitor = AbortMonitor(self.experiment.abort_if, t0) if self.experiment.abort_if else None
        tally = LiveTally(history_mod.history_dir(self.run_dir), (monitor,) if monitor else (),
                          recent_s=RECENT_S if gate is not None else None)
        recent: dict = {}
        next_tick, next_progress = self.tick_s, 5.0
        while True:
            if self._signalled is not None:
                raise Interrupted(self._signalled)
            now = time.monotonic() - t0
            if gate is not None and now >= schedule.end(now):
                break  # the (shifted) end of the load: the runner stops Locust itself
            step = schedule.due(now)
            if gate is not None:
                answer = gate.poll(self._live(now, schedule, recent), step)
                if answer is Answer.ABORT:
                    self._abort_now(writer, now)
                    break
                if step is not None and answer is not Answer.GO:
                    schedule.hold(now)
                    step = None
            if step is not None:
                schedule.fire(now)
                if step.action == INJECT and not locust.running():
                    # An earlier step (a rebuild) held the loop past the load's end: injected now, the
                    # fault would meet no request, and a window with no request measures nothing.
                    writer.mark(MARK_LOAD_ENDED_EARLY, (
                        f"Locust had ended at t={now:.1f} s when {step.fault_id} {step.fault.type} "
                        f"{step.fault.spec.target.describe()} was due (at {step.at_s + schedule.shift_s:g} s, "
                        "an earlier step took that long): not injected into no load"))
                    continue
                self._run_step(step, writer, now)
                continue  # the next step may be due as well
            if not locust.running():
                end = load.duration_s + schedule.delay(now) if gate is None else schedule.end(now)
                if now < end - EARLY_END_TOLERANCE_S:
                    code = locust.proc.returncode if locust.proc is not None else None
                    writer.mark(MARK_LOAD_ENDED_EARLY, f"Locust exited with {code} at t={now:.1f} s of "
                                                       f"{end:g} s (log: {locust.log_path})")
                break
            limit = load.duration_s + schedule.delay(now) + 30
            if now > limit:
                say(opts, f"[load] Locust still running {limit:.0f} s after start; stopping it")
                break
            if now >= next_tick:
                c = tally.update()  # the only reader of the live history: once per tick
                next_tick = now + self.tick_s
                if gate is not None:
                    recent = tally.recent(time.monotonic())
                reason = monitor.triggered(time.monotonic()) if monitor else None
                if reason:
                    self.aborted = reason
                    writer.mark(MARK_ABORTED, reason)
                    say(opts, f"[abort] t={now:.1f}s {reason}; stopping the load and healing every fault")
                    break
                if now >= next_progress and gate is None:  # a game day shows its own live view
                    active = ", ".join(f"{f.type} {f.spec.target.describe()}" for _, f in self.active) or "no fault"
                    say(opts, f"[{now:5.0f}s/{load.duration_s:g}s] ok {c['ok']}  fail {c['fail']}  "
                              f"unknown {c['unknown']}  | {active}")
                    while next_progress <= now:  # after a long step (a rebuild), no burst of lines
                        next_progress += 5.0
            time.sleep(0.05)
        locust.stop()
        writer.mark(MARK_LOAD_STOPPED)
        self._marked_stop = True
        if locust.proc and locust.proc.returncode not in (0, None, -15):
            if not any(tally.update().values()):  # it died before a single request: no run to judge
                raise EnvironmentProblem(f"Locust exited with {locust.proc.returncode} before recording a "
                                         f"request (log: {locust.log_path}):\n{locust.log_tail()}")
            say(opts, f"[load] Locust exited with {locust.proc.returncode}:\n{locust.log_tail()}")

    def _run_step(self, step: Step, writer: HistoryWriter, now: float) -> None:
        if step.action == INJECT:
            self._inject(step.fault_id, step.fault, writer, now)
        elif step.action == HEAL and any(f is step.fault for _, f in self.active):
            self._heal(step.fault_id, step.fault, writer)

    def _await_load_go(self, gate: Gate, schedule: Schedule, writer: HistoryWriter) -> bool:
        """A game day: hold until the facilitator's go for the load; False if they aborted instead."""
        step = Step(0.0, LOAD)
        while True:
            live = LiveStatus(elapsed_s=None, duration_s=schedule.duration_s, end_s=schedule.duration_s,
                              delay_s=0.0, phase="before the load", next_step=step, next_at_s=0.0)
            answer = gate.poll(live, step)
            if answer is Answer.GO:
                return True
            if answer is Answer.ABORT:
                self._abort_now(writer, None)
                return False
            time.sleep(0.05)

    def _abort_now(self, writer: HistoryWriter, now: float | None) -> None:
        """The facilitator's abort: the mark, then every fault healed at once (the load stops next)."""
        self.aborted = FACILITATOR_ABORT
        writer.mark(MARK_ABORTED, FACILITATOR_ABORT)
        when = "before the load" if now is None else f"t={now:.1f}s"
        say(self.opts, f"[abort] {when} {FACILITATOR_ABORT}: healing every fault now, then stopping the load")
        self._heal_all(writer)

    def _live(self, now: float, schedule: Schedule, recent: dict) -> LiveStatus:
        injected_any = any(step.action == INJECT for step in schedule.fired)
        phase = "fault" if self.active else ("after heal" if injected_any else "steady")
        following = schedule.pending[0] if schedule.pending else None
        return LiveStatus(elapsed_s=now, duration_s=schedule.duration_s, end_s=schedule.end(now),
                          delay_s=schedule.delay(now), phase=phase,
                          active=tuple(f"{fid} {f.type} on {f.spec.target.describe()}" for fid, f in self.active),
                          recent=recent, window_s=RECENT_S, next_step=following,
                          next_at_s=schedule.next_at())

    def _inject(self, fid: str, fault: Fault, writer: HistoryWriter, now: float) -> None:
        target = fault.spec.target.describe()
        # Written before the act: a harness killed mid-injection still leaves a trace to heal from.
        writer.fault(fid, fault.type, target, INVOKED)
        self.active.append((fid, fault))
        try:
            detail = fault.inject()
            writer.fault(fid, fault.type, target, INJECT_DONE, detail)
            say(self.opts, f"[fault] t={now:.1f}s {fault.type} {target}: {detail}")
        except Exception as e:  # noqa: BLE001 - recorded; the heal still runs
            writer.fault(fid, fault.type, target, INJECT_FAILED, str(e))
            say(self.opts, f"[fault] t={now:.1f}s {fault.type} {target} FAILED: {e}; the run will be "
                           "judged unknown (the experiment did not run as written)")

    def _heal(self, fid: str, fault: Fault, writer: HistoryWriter) -> None:
        target = fault.spec.target.describe()
        writer.fault(fid, fault.type, target, HEAL_INVOKED)
        try:
            detail = fault.heal()
            writer.fault(fid, fault.type, target, HEALED, detail)
            say(self.opts, f"[heal] {fault.type} {target}: {detail}")
            self.active = [(i, f) for i, f in self.active if f is not fault]
        except Exception as e:  # noqa: BLE001
            writer.fault(fid, fault.type, target, HEAL_FAILED, str(e))
            say(self.opts, f"[heal] {fault.type} {target} FAILED: {e}")

    def _heal_all(self, writer: HistoryWriter) -> None:
        for fid, fault in list(reversed(self.active)):
            self._heal(fid, fault, writer)
            if any(f is fault for _, f in self.active):  # one more try
                time.sleep(1)
                self._heal(fid, fault, writer)
        if self.stack.toxiproxy_url:
            try:
                Toxiproxy(self.stack.toxiproxy_url).reset()
            except Exception as e:  # noqa: BLE001
                say(self.opts, f"[heal] Toxiproxy reset failed: {e}")

    def _read_back(self) -> None:
        hist = history_mod.load(self.run_dir)
        writes: dict[str, set[str]] = {}
        for op in hist.ops:
            if op.write_id and op.outcome in ("ok", "unknown"):
                writes.setdefault(op.service, set()).add(op.write_id)
        n = sum(len(v) for v in writes.values())
        say(self.opts, f"[read-back] looking for {n} written ids")
        try:
            module = load_readback(self.stack)
            found = module.read_back(self.stack.entry_url, {s: sorted(v) for s, v in writes.items()})
        except Exception as e:  # noqa: BLE001 - no read-back means unknown data-loss verdicts, not a crash
            say(self.opts, f"[read-back] FAILED: {e}; data-loss checks will be unknown")
            self._write_invariants(None)
            return
        write_atomic(self.run_dir / READBACK, json.dumps(found))
        self._write_invariants(module)

    def _write_invariants(self, module) -> None:
        """The stack's own invariants (its read-back's ``invariants()``) and the steady state after
        the run, one file (``invariants.json``): each becomes a check."""
        inv: dict = {}
        for name, (ok, line, took) in self.steady_after.items():
            inv[f"steady_after[{name}]"] = {
                "holds": ok, "figure": took, "detail": line,
                "threshold": f"holds within recovery_wait_s = {self.experiment.recovery_wait_s:g} s"}
        if module is not None and hasattr(module, "invariants"):
            try:
                own = invariants_mod.reported(module.invariants(self.stack.entry_url))
            except Exception as e:  # noqa: BLE001 - reported as unknown, never as a pass
                own = {"stack_invariants": {"holds": None, "detail": f"could not be read: {e}"}}
            for c in invariants_mod.invariant_checks(own):  # judged as journal.json will judge them
                say(self.opts, f"[invariant] {c.name}: {c.verdict.value} ({c.detail})")
            inv.update(own)
        if inv:
            write_atomic(self.run_dir / INVARIANTS, json.dumps(inv))

    def _write_meta(self, started: float, finished: float, quiet: bool = False) -> None:
        meta = {"run_id": self.run_id, "stack": self.stack.name, "services": list(self.stack.services),
                "started_at": iso_utc(started), "finished_at": iso_utc(finished),
                "experiment_file": str(self.source), "environment": environment(),
                "operations": self.stack.operations}
        if self.opts.participants is not None:
            meta["participants"] = list(self.opts.participants)
        try:
            write_atomic(self.run_dir / META, json.dumps(meta, indent=2))
        except EnvironmentProblem as e:
            if not quiet:
                raise
            say(self.opts, f"[run] WARNING: {e}")


def environment() -> dict:
    env = {"harness": __version__, "python": platform.python_version(), "host": socket.gethostname(),
           "platform": platform.platform()}
    try:
        client = docker_client()
        v = client.version()
        env["docker_engine"] = v.get("Version")
    except Exception:  # noqa: BLE001
        env["docker_engine"] = None
    return env


def run_experiment(path: str | Path, opts: RunOptions) -> tuple[dict, int]:
    experiment, stack = prepare(path, opts.stack)
    return Run(experiment, stack, opts, Path(path)).execute()
