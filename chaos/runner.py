"""The runner: the only place that decides the order of steps.

load + validate -> stack up and ready -> steady state -> Locust starts -> faults at their offsets
(and, once a second, the experiment's ``abort_if`` conditions on the live history) -> load stops ->
every fault healed in ``finally`` (also on Ctrl-C / SIGTERM) -> recovery wait -> read-back -> checks
-> journal -> summary -> exit code. An abort writes an ``aborted`` mark with its reason into the
history and stops the load early; the rest runs as usual, and the check ``not_aborted`` fails.

With a gate (``RunOptions.gate``, a game day: ``chaos.gate``, ``chaos.gameday``) the load's start
and every step wait for its go; a held step shifts the later ones and the load's end
(``chaos.schedule``), and the runner stops Locust itself at the shifted end.

This module orders the steps and owns the signal and heal policy; each step lives in its own module:
``chaos.bring_up`` (images, port clashes, compose up, health), ``chaos.steady_state`` (before the
experiment and after recovery), ``chaos.load.process`` (the load, behind one interface),
``chaos.live_tally`` (the history read as it grows), ``chaos.readback`` (read-back and invariants),
``chaos.meta`` and ``chaos.environment`` (meta.json), ``chaos.toxiproxy.reset_links`` (the last heal).
``Run`` takes its clock, Docker client and load as arguments (``chaos.clock``), so a unit test runs a
whole experiment on fakes (tests/unit/fake_run.py).
"""

from __future__ import annotations

import signal
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from chaos import history as history_mod
from chaos import readback
from chaos.abort import AbortMonitor
from chaos.analyze import judge_run
from chaos.bring_up import MAKE_ROOM, REFUSE, ensure_up
from chaos.checks import exit_code_for
from chaos.clock import SYSTEM_CLOCK, Clock
from chaos.environment import environment
from chaos.errors import EnvironmentProblem, ExperimentInvalid, InvalidInput, Interrupted, Problem
from chaos.experiment import Experiment
from chaos.files import write_atomic
from chaos.faults import IMPLEMENTATIONS, Fault, FaultContext
from chaos.gate import FACILITATOR_ABORT, Answer, Gate, LiveStatus
from chaos.history import DiskReserve, HistoryWriter
from chaos.live_tally import LiveTally
from chaos.load.locust_group import load_process as locust_load
from chaos.load.locust_group import lost_lines, waiting_lines
from chaos.load.process import LoadFactory, LoadProcess
from chaos.load.recorder import RECORDS_UNWRITTEN_EXIT
from chaos.loader import load_experiment, validate_targets
from chaos.lock import StackLock
from chaos.meta import write_meta
from chaos.reports import render_html, render_summary, write_junit
from chaos.run_folder import (EXPERIMENT, FAULTS_HISTORY, HEAL_FAILED, HEAL_INVOKED, HEALED, INJECT_DONE,
                              INJECT_FAILED, INVOKED, JOURNAL, JUNIT, LOCUST_LOG, MARK_ABORTED,
                              MARK_ENGINE_LOST, MARK_HISTORY_WRITE_FAILED, MARK_INTERRUPTED, MARK_LOAD_ENDED_EARLY, MARK_LOAD_STARTED,
                              MARK_LOAD_STOPPED, MARK_RECORDS_LOST, OUTCOMES)
from chaos.schedule import HEAL, INJECT, LOAD, Schedule, Step, steps_of
from chaos.engine import EngineWatch, Engines, engines_of
from chaos.stack import StackDef, find_stack, placement
from chaos.stack import links as stack_links
from chaos.steady_state import after_recovery, before_experiment
from chaos import provenance
from chaos.provenance import PROVENANCE
from chaos.toxiproxy import reset_links

__all__ = ["Run", "RunOptions", "prepare", "run_experiment", "source_snapshot"]


@dataclass
class RunOptions:
    stack: str | None = None
    runs_dir: Path = Path("runs")
    bring_up: bool = True
    color: bool = False
    out: object = field(default=sys.stderr)
    gate: Gate | None = None  # a game day: asked before each step (chaos.gate); None: on schedule
    participants: tuple[str, ...] | None = None  # a game day's participants, kept in meta.json
    make_room: bool = False  # another stack up on the same ports: taken down (True) or refused (chaos.bring_up)


# A game day's steps may be held this long in all: Locust is started for the load's duration plus
# this, and stopped by the runner at the shifted end. Past it, the load ends on its own (every
# fault is healed, the run is judged).
GATED_MAX_HOLD_S = 4 * 3600.0
RECENT_S = 5.0  # the live view's "last seconds"
# Locust exiting this long before the load's (shifted) end is a load that ended early: the run did
# not do what the experiment says (Locust's -t is whole seconds, so up to half a second early is usual).
EARLY_END_TOLERANCE_S = 1.5
# A fault whose heal failed while its site's engine was silent: how long the heal waits for that engine
# to answer again before its last try (then `recover` heals it once the engine is back).
ENGINE_RETURN_WAIT_S = 60.0


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
        elif (why := IMPLEMENTATIONS[spec.type].refuses(spec, stack)) is not None:
            problems.append(Problem(str(path), spec.line, None, f"{spec.path or f'faults[{i}]'}.target", why))
    if problems:
        raise ExperimentInvalid(sorted(problems, key=lambda p: (p.line or 0, p.column or 0)))
    return experiment, stack


def as_interrupted(e: BaseException) -> Interrupted:
    """A KeyboardInterrupt (raised by code: our handler turns SIGINT into Interrupted) as the
    Interrupted of a Ctrl-C, so both end a run the same way."""
    return e if isinstance(e, Interrupted) else Interrupted(signal.SIGINT)


def source_snapshot(source: Path) -> bytes | None:
    """The experiment file's bytes now (None if it cannot be read: the run then copies it later)."""
    try:
        return Path(source).read_bytes()
    except OSError:
        return None


class Run:
    """One run of an experiment on a stack (``execute``).

    Its collaborators with a life of their own are arguments, so a test can drive a whole run on
    fakes: ``clock`` (``chaos.clock.Clock``: the load's timeline, the waits, the history's stamps),
    ``docker`` (a Docker SDK client or ``chaos.engine.Engines``; None: every engine of the stack,
    ``Engines.connect``, at the first step, under the stack's lock) and ``load_process`` (``chaos.load.process.LoadFactory``: makes the load)."""

    def __init__(self, experiment: Experiment, stack: StackDef, opts: RunOptions, source: Path,
                 source_bytes: bytes | None = None, *, clock: Clock = SYSTEM_CLOCK, docker=None,
                 load_process: LoadFactory = locust_load):
        self.experiment = experiment
        self.clock = clock
        self.docker = docker
        self.provenance: dict | None = None  # chaos.provenance, gathered before the load
        self.load_process = load_process
        self.stack = stack
        self.opts = opts
        self.source = source
        # The file as loaded, copied into the run folder as is: read again after the bring-up
        # (minutes), an edit made meanwhile would be what the run is judged by. A caller that waits
        # between loading and running (a game day's prompts) reads it when it loads it.
        self.source_bytes = source_bytes if source_bytes is not None else source_snapshot(source)
        stamp = datetime.fromtimestamp(clock.wall(), timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        self.run_id = f"{stamp}-{experiment.name}-{stack.name}"
        self.run_dir = Path(opts.runs_dir) / self.run_id  # made (with a suffix if taken) by _make_run_dir
        self.active: list[tuple[str, Fault]] = []  # injected and not yet healed
        self.steady_after: dict = {}  # steady-state name -> (holds, line, seconds), after the load
        self._marked_stop = False
        self._signalled: int | None = None  # the last SIGINT/SIGTERM received
        self._deferring = False  # while healing: a signal is noted, not raised
        self._history_done = False  # _complete_history has run
        self.aborted: str | None = None  # why the run was stopped early (abort_if), if it was
        self.watch: EngineWatch | None = None  # pings each site's own engine while the load runs
        self.engines_lost: set[str] = set()  # sites whose engine went silent with no fault to say why
        self.t0: float | None = None  # the load's start on the clock

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
        except KeyboardInterrupt:  # raised by code, not by our handler: a Ctrl-C all the same
            raise Interrupted(signal.SIGINT) from None
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
        # Every engine of the stack answers, or the run stops here naming the site (exit 3).
        client = engines_of(self.docker) if self.docker is not None else Engines.connect(self.stack)
        self.docker = client
        ensure_up(self.stack, client, bring_up=opts.bring_up, clashes=MAKE_ROOM if opts.make_room else REFUSE,
                  who=f"run {self.run_id}", say=self._say, clock=self.clock)
        prepared, steady = before_experiment(client, self.stack, self._say, self.clock)
        self.provenance = provenance.gather(self.stack, prepared, steady)

        try:  # nothing injected yet: a runs folder that cannot be written is said, not a traceback
            self._make_run_dir()
            hist_dir = history_mod.history_dir(self.run_dir)
            hist_dir.mkdir(parents=True, exist_ok=True)
            write_atomic(self.run_dir / EXPERIMENT,
                         self.source_bytes if self.source_bytes is not None else Path(self.source).read_bytes())
            reserve = DiskReserve(self.run_dir)
            writer = HistoryWriter(hist_dir / FAULTS_HISTORY, clock=self.clock, on_error=lambda e: say(
                opts, f"[history] WARNING: cannot write {hist_dir} ({e}); records are kept in memory, every "
                      "fault is still healed, and the run will be judged unknown"))
        except (OSError, EnvironmentProblem) as e:
            raise EnvironmentProblem(f"cannot make the run folder under {opts.runs_dir}: {e}; no fault was "
                                     "injected") from None
        started = self.clock.wall()
        ctx = FaultContext(client=client, stack=self.stack)
        faults = [(f"f{i}", IMPLEMENTATIONS[spec.type](spec, ctx)) for i, spec in enumerate(self.experiment.faults)]
        run_time = self.experiment.load.duration_s + (GATED_MAX_HOLD_S if opts.gate is not None else 0.0)
        locust = self.load_process(self.stack.workload, self.stack.entry_url, self.experiment.load, hist_dir,
                                   self.run_dir / LOCUST_LOG, run_time_s=run_time)
        try:
            interrupted: Interrupted | None = None
            try:
                self._drive(locust, faults, writer)
            except (Interrupted, KeyboardInterrupt) as e:
                interrupted = as_interrupted(e)
                say(opts, f"\n[run] {interrupted}: stopping the load and healing every fault")
            finally:
                self._stop_and_heal(locust, writer)
            if interrupted is None and self._signalled is not None:  # a signal while healing
                interrupted = Interrupted(self._signalled)
            if interrupted is not None:
                raise interrupted

            self.steady_after = after_recovery(self.stack, self.experiment.recovery_wait_s, self._say, self.clock)
            self._deferring = True  # a signal in here is noted: a history half completed is not retried
            try:
                self._complete_history(writer, reserve, locust)
            finally:
                self._deferring = False
            if self._signalled is not None:
                raise Interrupted(self._signalled)
            finished = self.clock.wall()
            self._read_back()
            self._write_meta(started, finished)
        except (Interrupted, KeyboardInterrupt) as cut:
            # Every fault is healed by now; leave what a later `analyze` or `recover` needs, and say in
            # the history that the run was cut short: re-judged, it is unknown, never a pass. A
            # further signal in here is noted, not obeyed.
            self._deferring = True
            e = as_interrupted(cut)
            try:
                marker = writer if not writer.closed else HistoryWriter(writer.path, clock=self.clock)
                marker.mark(MARK_INTERRUPTED, str(e))
                if marker is not writer:
                    marker.close()
                try:
                    self._complete_history(writer, reserve, locust)
                except EnvironmentProblem as problem:
                    say(opts, f"[run] {problem}")
                self._write_meta(started, self.clock.wall(), quiet=True)
            finally:
                self._deferring = False
            if e is cut:
                raise
            raise e from None
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
        say(opts, f"journal: {self.run_dir / JOURNAL}")
        self._write_reports(journal)
        return journal, exit_code_for(journal["verdict"], journal["expected"])

    def _stop_and_heal(self, locust: LoadProcess, writer: HistoryWriter) -> None:
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

    def _complete_history(self, writer: HistoryWriter, reserve: DiskReserve, locust: LoadProcess) -> None:
        """Give back the reserved space, write what the disk refused during the run, and mark what
        the run could not record. Safe to call twice. If even then the history cannot be
        completed, the run cannot be judged: EnvironmentProblem naming the folder."""
        reserve.release()
        if self._history_done:
            return
        self._history_done = True
        code = locust.returncode
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
            say(self.opts, f"junit: {write_junit(self.run_dir / JUNIT, [journal])}")
        except Exception as e:  # noqa: BLE001 - the verdict and exit code stand without the reports
            say(self.opts, f"warning: reports not written: {type(e).__name__}: {e}")

    tick_s = 1.0  # how often the history is read (abort_if judged); progress every 5 s

    def _drive(self, locust: LoadProcess, faults: list[tuple[str, Fault]], writer: HistoryWriter) -> None:
        opts, load, gate = self.opts, self.experiment.load, self.opts.gate
        schedule = Schedule(steps_of(faults), load.duration_s)
        if gate is not None:
            gate.begin(writer)
            if not self._await_load_go(gate, schedule, writer):
                return
        for line in waiting_lines(locust, self.stack.name):  # remote workers: where to point them
            say(opts, line)
        self.watch = EngineWatch(engines_of(self.docker), clock=self.clock.monotonic).start()
        locust.start()
        writer.mark(MARK_LOAD_STARTED)
        t0 = self.clock.monotonic()
        self.t0 = t0
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
            now = self.clock.monotonic() - t0
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
                    code = locust.returncode
                    writer.mark(MARK_LOAD_ENDED_EARLY, f"Locust exited with {code} at t={now:.1f} s of "
                                                       f"{end:g} s (log: {locust.log_path})")
                break
            limit = load.duration_s + schedule.delay(now) + 30
            if now > limit:
                say(opts, f"[load] Locust still running {limit:.0f} s after start; stopping it")
                break
            if now >= next_tick:
                self._check_engines(writer)
                c = tally.update()  # the only reader of the live history: once per tick
                for line in lost_lines(locust):  # the master has marked it; said here once
                    say(opts, line)
                next_tick = now + self.tick_s
                if gate is not None:
                    recent = tally.recent(self.clock.monotonic())
                reason = monitor.triggered(self.clock.monotonic()) if monitor else None
                if reason:
                    self.aborted = reason
                    writer.mark(MARK_ABORTED, reason)
                    say(opts, f"[abort] t={now:.1f}s {reason}; stopping the load and healing every fault")
                    break
                if now >= next_progress and gate is None:  # a game day shows its own live view
                    active = ", ".join(f"{f.type} {f.spec.target.describe()}" for _, f in self.active) or "no fault"
                    counts = "  ".join(f"{outcome} {c[outcome]}" for outcome in OUTCOMES)
                    say(opts, f"[{now:5.0f}s/{load.duration_s:g}s] {counts}  | {active}")
                    while next_progress <= now:  # after a long step (a rebuild), no burst of lines
                        next_progress += 5.0
            self.clock.sleep(0.05)
        locust.stop()
        writer.mark(MARK_LOAD_STOPPED)
        self._marked_stop = True
        if locust.returncode not in (0, None, -signal.SIGTERM):
            if not any(tally.update().values()):  # it died before a single request: no run to judge
                raise EnvironmentProblem(f"Locust exited with {locust.returncode} before recording a "
                                         f"request (log: {locust.log_path}):\n{locust.log_tail()}")
            say(opts, f"[load] Locust exited with {locust.returncode}:\n{locust.log_tail()}")

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
            self.clock.sleep(0.05)

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
        except (Exception, KeyboardInterrupt) as e:  # noqa: BLE001 - recorded; the other heals still run
            writer.fault(fid, fault.type, target, HEAL_FAILED, str(e) or type(e).__name__)
            say(self.opts, f"[heal] {fault.type} {target} FAILED: {str(e) or type(e).__name__}")
            if isinstance(e, KeyboardInterrupt):  # a Ctrl-C, noted: obeyed once every heal has run
                self._signalled = signal.SIGINT

    def _heal_all(self, writer: HistoryWriter) -> None:
        self._check_engines(writer, fresh=True)  # which engines the heals can reach
        for fid, fault in list(reversed(self.active)):
            self._heal(fid, fault, writer)
            if any(f is fault for _, f in self.active):  # one more try
                self.clock.sleep(1)
                self._heal(fid, fault, writer)
            if any(f is fault for _, f in self.active) and fault.spec.target.site in self.engines_lost:
                # Its site's engine went silent: given ENGINE_RETURN_WAIT_S to come back, then a last try.
                if self._await_engine(fault.spec.target.site):
                    self._heal(fid, fault, writer)
        failed = reset_links(self.stack.toxiproxy_url)
        if failed:
            say(self.opts, f"[heal] Toxiproxy reset failed: {failed}")
        self._check_engines(writer, fresh=True)
        if self.watch is not None:
            self.watch.stop()

    def _check_engines(self, writer: HistoryWriter, fresh: bool = False) -> None:
        """Mark (once per site) each site's engine that went silent with no active fault of the run
        to silence it (``engine_loss``): the run is then ``unknown``, its site and address named.
        ``fresh``: ping now rather than read the watch's last pings."""
        if self.watch is None or not self.watch.engines.specs:
            return
        if fresh:
            self.watch.poll()
        expected = {f.spec.target.site for _, f in self.active if getattr(f, "silences_engine", False)}
        for site, (host, since) in sorted(self.watch.silent().items()):
            if site in expected or site in self.engines_lost:
                continue
            self.engines_lost.add(site)
            at = since - (self.t0 if self.t0 is not None else since)
            detail = (f"site {site}'s engine at {host} stopped answering at t={at:.1f}s, and no fault of the "
                      "experiment stopped it: what ran there during the run is not known")
            writer.mark(MARK_ENGINE_LOST, detail)
            say(self.opts, f"[engine] {detail}; the run will be judged unknown")

    def _await_engine(self, site: str) -> bool:
        """Wait up to ENGINE_RETURN_WAIT_S for ``site``'s engine to answer again; whether it did."""
        say(self.opts, f"[heal] waiting up to {ENGINE_RETURN_WAIT_S:.0f} s for site {site}'s engine to answer again")
        deadline = self.clock.monotonic() + ENGINE_RETURN_WAIT_S
        while self.clock.monotonic() < deadline:
            if site not in self.watch.poll():
                say(self.opts, f"[heal] site {site}'s engine answers again")
                return True
            self.clock.sleep(2)
        say(self.opts, f"[heal] site {site}'s engine still does not answer; `chaos-harness recover --stack "
                       f"{self.stack.name}` heals what is left once it does")
        return False

    def _read_back(self) -> None:
        """The read-back and the invariants after recovery (``chaos.readback``)."""
        module = readback.read_back(self.run_dir, self.stack, self._say)
        readback.write_invariants(self.run_dir, self.stack, self.experiment, module, self.steady_after, self._say)

    def _write_meta(self, started: float, finished: float, quiet: bool = False) -> None:
        try:
            write_meta(self.run_dir, run_id=self.run_id, stack=self.stack, started=started, finished=finished,
                       experiment_file=self.source,
                       environment={**environment(self.docker),
                                    **({PROVENANCE: self.provenance} if self.provenance is not None else {})},
                       participants=self.opts.participants)
        except EnvironmentProblem as e:
            if not quiet:
                raise
            say(self.opts, f"[run] WARNING: {e}")

    def _say(self, text: str) -> None:
        say(self.opts, text)


def run_experiment(path: str | Path, opts: RunOptions) -> tuple[dict, int]:
    """Load, validate and run the experiment file with the real collaborators: the machine's clock,
    the Docker engines of the stack (``Engines.connect``, asked under the stack's lock) and Locust."""
    experiment, stack = prepare(path, opts.stack)
    return Run(experiment, stack, opts, Path(path), clock=SYSTEM_CLOCK, docker=None,
               load_process=locust_load).execute()
