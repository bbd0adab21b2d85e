"""``chaos-harness``: a thin layer over the library; the exit code follows the result.

0 pass (as expected), 1 a check failed (verdict differs from the experiment's expectation),
2 invalid input, 3 harness or environment error, 130/143 interrupted (after healing).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from chaos.errors import EXIT_CHECK_FAILED, EXIT_ENVIRONMENT, EXIT_PASS, ChaosError, Interrupted, InvalidInput, printable


def _progress_stream(args):
    """Where a run's progress goes: stdout; stderr with --json (stdout is the journal); nowhere
    with --quiet (the one-line verdict and errors are still printed)."""
    if args.quiet:
        return open(os.devnull, "w")
    return sys.stderr if args.json else sys.stdout


def verdict_line(journal: dict) -> str:
    """``pangyo-power-cut on dual-site: PASS (expected pass) runs/<id>/journal.json``."""
    return (f"{journal['experiment']['name']} on {journal['stack']}: {journal['verdict'].upper()} "
            f"(expected {journal['expected']})")


def _cmd_run(args) -> int:
    from chaos.runner import RunOptions, run_experiment

    out = _progress_stream(args)
    opts = RunOptions(stack=args.stack, runs_dir=Path(args.runs_dir), bring_up=not args.no_up,
                      color=out is sys.stdout and sys.stdout.isatty(), out=out)
    journal, code = run_experiment(args.file, opts)
    if args.json:
        print(json.dumps(journal, indent=2))
    elif args.quiet:
        print(f"{verdict_line(journal)} {Path(args.runs_dir) / journal['run_id'] / 'journal.json'}")
    return code


def _cmd_gameday(args) -> int:
    from chaos.gameday import run_gameday

    _, code = run_gameday(args.file, stack=args.stack, auto=args.auto, who=args.who,
                          bring_up=not args.no_up, runs_dir=Path(args.runs_dir))
    return code


def _cmd_validate(args) -> int:
    from chaos.runner import prepare

    code = EXIT_PASS
    for f in args.files:  # every file's problems, not only the first file's
        try:
            experiment, stack = prepare(f, args.stack)
            stacks = [stack.name]
            if experiment.expect_by_stack and not args.stack:  # every stack it declares a verdict for
                stacks = [prepare(f, name)[1].name for name in experiment.expect_by_stack]
        except ChaosError as e:
            print(f"chaos-harness: {printable(str(e), keep_newlines=True)}", file=sys.stderr)
            code = max(code, e.exit_code)
            continue
        expect = f"; expect {experiment.expectations()}" if experiment.expect_by_stack else ""
        print(printable(f"{f}: ok ({experiment.name} on {', '.join(stacks)}, {len(experiment.faults)} faults, "
                        f"{len(experiment.checks)} thresholds{expect})"))
    return code


def _cmd_plan(args) -> int:
    from chaos.plan import plan_text
    from chaos.runner import prepare

    print(plan_text(*prepare(args.file, args.stack)))
    return EXIT_PASS


def _cmd_schema(args) -> int:
    from chaos.loader import json_schema

    print(json.dumps(json_schema(), indent=2))
    return EXIT_PASS


def _cmd_analyze(args) -> int:
    from chaos.analyze import judge_run
    from chaos.checks import exit_code_for
    from chaos.reports import read_journal, render_summary

    run_dir = Path(args.run_dir)
    before = None
    if os.path.lexists(run_dir / "journal.json"):
        try:
            before = read_journal(run_dir)["verdict"]
        except InvalidInput as e:
            raise InvalidInput(f"{e}\n(analyze re-judges the run and rewrites journal.json: move the "
                               f"damaged one away to keep it, then run analyze again)") from None
    journal = judge_run(run_dir, write=not args.dry)
    print(render_summary(journal, color=sys.stdout.isatty()))
    if before is not None and before != journal["verdict"]:
        print(f"note: the saved journal said {before}; re-judged: {journal['verdict']}", file=sys.stderr)
    return exit_code_for(journal["verdict"], journal["expected"])


def _cmd_report(args) -> int:
    from chaos.analyze import judge_run
    from chaos.reports import read_journal, render_html, write_junit
    from chaos.reports.junit import FILENAME as JUNIT

    run_dir = Path(args.run_dir)
    journal = (read_journal(run_dir) if os.path.lexists(run_dir / "journal.json")
               else judge_run(run_dir, write=False))
    print(f"report: {render_html(run_dir, journal)}")
    print(f"junit: {write_junit(Path(args.junit) if args.junit else run_dir / JUNIT, [journal])}")
    return EXIT_PASS


def _cmd_nightly(args) -> int:
    from chaos.nightly import default_out, run_nightly

    out = _progress_stream(args)
    result = run_nightly(Path(args.out) if args.out else default_out(), tag=args.tag,
                         experiments_dir=Path(args.experiments), stream=out,
                         color=out is sys.stdout and sys.stdout.isatty())
    if args.json:
        print(json.dumps({"exit_code": result.exit_code, "index": str(result.index), "junit": str(result.junit),
                          "runs": [{"experiment": j["experiment"]["name"], "stack": j["stack"], "run_id": j["run_id"],
                                    "verdict": j["verdict"], "expected": j["expected"]} for j in result.journals]},
                         indent=2))
        return result.exit_code
    if not args.quiet:
        print()
    for j in result.journals:
        if args.quiet and j["verdict"] == j["expected"]:
            continue  # quiet: only what differs from its expectation
        mark = "as expected" if j["verdict"] == j["expected"] else f"EXPECTED {j['expected'].upper()}"
        print(f"  {j['verdict'].upper():7} {j['experiment']['name']} on {j['stack']} ({mark})")
    print(f"index: {result.index}\njunit: {result.junit}")
    return result.exit_code


def _cmd_up(args) -> int:
    from chaos.errors import EnvironmentProblem
    from chaos.lock import StackLock
    from chaos.stack import Compose, conflicting_stacks, docker_client, find_stack

    stack = find_stack(args.stack, what="--stack")
    clashes = conflicting_stacks(docker_client(), stack)
    if clashes:
        raise EnvironmentProblem(f"stack {', '.join(clashes)} is up and publishes the same ports; "
                                 f"take it down first: chaos-harness down --stack {clashes[0]}")
    print(f"bringing up {stack.name} (waits for every healthcheck)...", flush=True)
    with StackLock(stack.project, f"up --stack {stack.name}"):
        Compose(stack).up(progress=lambda line: print(f"  {line}", flush=True))
    print(f"{stack.name} is up: entry point {stack.entry_url}")
    return EXIT_PASS


def _cmd_down(args) -> int:
    from chaos.lock import StackLock
    from chaos.stack import Compose, find_stack

    stack = find_stack(args.stack, what="--stack")
    with StackLock(stack.project, f"down --stack {stack.name}"):
        Compose(stack).down(volumes=not args.keep_volumes)
    print(f"{stack.name} is down")
    return EXIT_PASS


def _cmd_recover(args) -> int:
    from chaos.recover import recover

    report = recover(args.stack)
    print("\n".join(report))
    return EXIT_PASS


def _cmd_doctor(args) -> int:
    from chaos.doctor import diagnose, render

    findings = diagnose(args.stack)
    print(render(findings))
    return EXIT_PASS if all(f.ok for f in findings) else EXIT_ENVIRONMENT


def _cmd_init_stack(args) -> int:
    from chaos.contract import check, skeleton
    from chaos.errors import EXIT_INVALID_INPUT
    from chaos.files import write_atomic

    try:
        findings = check(args.compose_file)
        draft = skeleton(args.compose_file) if args.write_stack_yaml else None
    except ChaosError as e:
        print(f"chaos-harness: {e}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    for f in findings:
        print(f)
    if draft is not None:
        target = Path(args.compose_file).parent / "stack.yaml"
        if os.path.lexists(target):  # a dangling symlink too: never written through
            print(f"{target}: exists; left as it is (remove it to draft a new one)")
        else:
            write_atomic(target, draft)
            print(f"{target}: drafted; fill in its TODOs")
    if findings:
        print(f"{len(findings)} thing(s) missing for the stack contract (docs/stack-contract.md)")
        return EXIT_CHECK_FAILED
    print(f"{args.compose_file}: nothing missing for the stack contract")
    return EXIT_PASS


def _machine_flags(parser) -> None:
    quiet_or_json = parser.add_mutually_exclusive_group()
    quiet_or_json.add_argument("--quiet", action="store_true",
                               help="no progress: one line per verdict (errors still go to stderr)")
    quiet_or_json.add_argument("--json", action="store_true",
                               help="the result as JSON on stdout; progress on stderr")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="chaos-harness", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run one experiment against a stack")
    r.add_argument("file")
    r.add_argument("--stack", help="override the experiment's stack")
    r.add_argument("--runs-dir", default="runs")
    r.add_argument("--no-up", action="store_true", help="do not bring the stack up; it must be running")
    _machine_flags(r)
    r.set_defaults(func=_cmd_run)

    g = sub.add_parser("gameday", help="run one experiment step by step with a facilitator: a go before "
                                       "each step, a live view, notes, an abort key (! + Enter)")
    g.add_argument("file")
    g.add_argument("--stack", help="override the experiment's stack")
    g.add_argument("--auto", action="store_true", help="run every step on schedule, without waiting for a go")
    g.add_argument("--who", help='who takes part, e.g. "alice,bob" (the facilitator first); '
                                 "asked at the terminal if not given")
    g.add_argument("--runs-dir", default="runs")
    g.add_argument("--no-up", action="store_true", help="do not bring the stack up; it must be running")
    g.set_defaults(func=_cmd_gameday)

    v = sub.add_parser("validate", help="check experiment files; touches nothing")
    v.add_argument("files", nargs="+")
    v.add_argument("--stack")
    v.set_defaults(func=_cmd_validate)

    pl = sub.add_parser("plan", help="the timeline in plain words; executes nothing")
    pl.add_argument("file")
    pl.add_argument("--stack")
    pl.set_defaults(func=_cmd_plan)

    sub.add_parser("schema", help="JSON Schema of the experiment format").set_defaults(func=_cmd_schema)

    a = sub.add_parser("analyze", help="re-judge a saved run folder without Docker")
    a.add_argument("run_dir")
    a.add_argument("--dry", action="store_true", help="do not rewrite journal.json")
    a.set_defaults(func=_cmd_analyze)

    rp = sub.add_parser("report", help="write report.html and junit.xml of a saved run folder")
    rp.add_argument("run_dir")
    rp.add_argument("--junit", help="where to write the JUnit XML (default: RUN_DIR/junit.xml)")
    rp.set_defaults(func=_cmd_report)

    n = sub.add_parser("nightly", help="run every experiment with a tag, one at a time; "
                                       "reports, junit.xml and index.html into one folder")
    n.add_argument("--tag", default="nightly")
    n.add_argument("--out", help="the suite's folder (default: runs/nightly-<UTC time>)")
    n.add_argument("--experiments", default="experiments", help="folder of experiment files")
    _machine_flags(n)
    n.set_defaults(func=_cmd_nightly)

    i = sub.add_parser("init-stack", help="check a compose file against the stack contract; says what is missing")
    i.add_argument("compose_file")
    i.add_argument("--write-stack-yaml", action="store_true",
                   help="draft a stack.yaml beside the compose file (never overwrites one)")
    i.set_defaults(func=_cmd_init_stack)

    for name, func, text in (("up", _cmd_up, "bring a stack up and wait until it is ready"),
                             ("down", _cmd_down, "take a stack down (volumes too)"),
                             ("recover", _cmd_recover, "heal everything a killed harness left behind"),
                             ("doctor", _cmd_doctor, "check engine, compose, images and ports")):
        s = sub.add_parser(name, help=text)
        s.add_argument("--stack", default="dual-site")
        if name == "down":
            s.add_argument("--keep-volumes", action="store_true")
        s.set_defaults(func=func)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ChaosError, Interrupted) as e:
        print(f"chaos-harness: {printable(str(e), keep_newlines=True)}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
