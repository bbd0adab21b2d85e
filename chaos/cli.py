"""``chaos-harness``: a thin layer over the library; the exit code follows the result.

0 as expected (the verdict is the one the experiment expects), 1 a check failed (the verdict is the
other one), 2 invalid input, 3 environment error or an unknown verdict, 130/143 interrupted (after
healing; 129 for a SIGHUP during a run). Every verb's ``--help`` says which of these it gives, with
examples; ``build_parser`` holds those texts, and a test walks it for an argument without help.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from pathlib import Path

from chaos.errors import (EXIT_CHECK_FAILED, EXIT_ENVIRONMENT, EXIT_INVALID_INPUT, EXIT_PASS, ChaosError, Interrupted,
                          InvalidInput, printable)
from chaos.run_folder import JOURNAL, JUNIT


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
        print(f"{verdict_line(journal)} {Path(args.runs_dir) / journal['run_id'] / JOURNAL}")
    return code


def _cmd_gameday(args) -> int:
    from chaos.gameday import run_gameday

    _, code = run_gameday(args.file, stack=args.stack, auto=args.auto, who=args.who,
                          bring_up=not args.no_up, runs_dir=Path(args.runs_dir))
    return code


EXPERIMENT_SUFFIXES = (".yaml", ".yml")


def experiment_files(paths: list[str]) -> tuple[list[str], list[str]]:
    """(the files to validate, the folders that hold none): each path as given; a folder's own
    ``*.yaml`` and ``*.yml`` files, sorted by name (not its subfolders, not hidden files, as the
    shell's ``DIR/*.yaml`` would list them)."""
    files, empty = [], []
    for path in paths:
        if not os.path.isdir(path):
            files.append(path)
            continue
        try:
            names = sorted(e.name for e in os.scandir(path) if not e.name.startswith(".")
                           and e.name.lower().endswith(EXPERIMENT_SUFFIXES) and not e.is_dir())
        except OSError as e:
            raise InvalidInput(f"{path}: cannot list: {e.strerror or e}") from None
        if not names:
            empty.append(path)
        files.extend(str(Path(path) / name) for name in names)
    return files, empty


def _cmd_validate(args) -> int:
    from chaos.runner import prepare

    files, empty = experiment_files(args.files)
    code, invalid = EXIT_PASS, 0
    for folder in empty:
        print(f"chaos-harness: {printable(folder)}: no *.yaml or *.yml file in this folder", file=sys.stderr,
              flush=True)
        code = EXIT_INVALID_INPUT
    for f in files:  # every file's problems, not only the first file's
        try:
            experiment, stack = prepare(f, args.stack)
            stacks = [stack.name]
            if experiment.expect_by_stack and not args.stack:  # every stack it declares a verdict for
                stacks = [prepare(f, name)[1].name for name in experiment.expect_by_stack]
        except ChaosError as e:
            print(f"chaos-harness: {printable(str(e), keep_newlines=True)}", file=sys.stderr, flush=True)
            code = max(code, e.exit_code)
            invalid += 1
            continue
        expect = f"; expect {experiment.expectations()}" if experiment.expect_by_stack else ""
        print(printable(f"{f}: ok ({experiment.name} on {', '.join(stacks)}, {len(experiment.faults)} faults, "
                        f"{len(experiment.checks)} thresholds{expect})"), flush=True)
    if len(files) != 1 or empty:  # one file: its own line is the summary
        folders = f", {len(empty)} folder{'s' * (len(empty) != 1)} without any" if empty else ""
        print(f"{len(files)} file{'s' * (len(files) != 1)}: {len(files) - invalid} ok, {invalid} invalid{folders}")
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


def _cmd_reference(args) -> int:
    from chaos.files import write_atomic
    from chaos.reference import reference_text
    from chaos.stack import stacks_root

    text = reference_text(stacks_root())
    if args.out:
        write_atomic(Path(args.out), text)
        print(f"reference: {args.out}")
    else:
        print(text, end="")
    return EXIT_PASS


def _cmd_analyze(args) -> int:
    from chaos.analyze import judge_run
    from chaos.checks import exit_code_for
    from chaos.reports import read_journal, render_summary

    run_dir = Path(args.run_dir)
    saved = os.path.lexists(run_dir / JOURNAL)
    before = None
    if saved:
        try:
            before = read_journal(run_dir)["verdict"]
        except InvalidInput as e:
            raise InvalidInput(f"{e}\n(analyze compares its verdict with the saved journal's: move the damaged "
                               f"one away to keep it, then run analyze again)") from None
    journal = judge_run(run_dir, write=args.write)
    print(render_summary(journal, color=sys.stdout.isatty()))
    if args.write:
        print(f"journal: {run_dir / JOURNAL} (written)")
    if before is not None and before != journal["verdict"]:
        kept = "" if args.write else f"; {JOURNAL} left as it was (--write saves the new one)"
        print(f"note: the saved journal said {before}; re-judged: {journal['verdict']}{kept}", file=sys.stderr)
    elif not saved and not args.write:
        print(f"note: {run_dir} has no {JOURNAL}; --write saves this one", file=sys.stderr)
    return exit_code_for(journal["verdict"], journal["expected"])


def _cmd_report(args) -> int:
    from chaos.analyze import judge_run
    from chaos.reports import read_journal, render_html, write_junit

    run_dir = Path(args.run_dir)
    # The report renders a journal and never judges: a folder never judged is judged here (its
    # journal.json is not written; analyze --write does that).
    journal = (read_journal(run_dir) if os.path.lexists(run_dir / JOURNAL)
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
    from chaos.bring_up import REFUSE, ensure_up
    from chaos.engine import Engines
    from chaos.stack import find_stack

    stack = find_stack(args.stack, what="--stack")
    ensure_up(stack, Engines.connect(stack), clashes=REFUSE, lock_as=f"up --stack {stack.name}", who="up",
              say=lambda line: print(line, flush=True))
    print(f"{stack.name} is up: entry point {stack.entry_url}")
    return EXIT_PASS


def _cmd_down(args) -> int:
    from chaos.lock import StackLock
    from chaos.engine import Compose
    from chaos.stack import find_stack

    stack = find_stack(args.stack, what="--stack")
    print(f"taking down {stack.name} ({'its volumes kept' if args.keep_volumes else 'its volumes too'})...",
          flush=True)
    with StackLock(stack.project, f"down --stack {stack.name}"):
        Compose(stack).down(volumes=not args.keep_volumes)
    print(f"{stack.name} is down")
    return EXIT_PASS


def _cmd_recover(args) -> int:
    from chaos.recover import recover
    from chaos.stack import find_stack

    stack = find_stack(args.stack, what="--stack")
    print(f"recovering {stack.name} (compose project {stack.project})...", flush=True)
    report = recover(stack.name)
    print("\n".join(report))
    return EXIT_PASS


MASTER_PORT = 5557  # Locust's own default; chaos.load.locust_group.REMOTE_MASTER_PORT


def _cmd_worker(args) -> int:
    from chaos.load.locust_group import parse_master, run_worker
    from chaos.stack import find_stack

    parse_master(args.master)  # a bad address is refused before the stack is looked up
    stack = find_stack(args.stack, what="--stack")
    print(f"worker of {stack.name}'s workload for the master at {args.master} (Ctrl-C stops it)...", flush=True)
    code = run_worker(stack.workload, args.master, name=args.name, entry_url=args.entry_url)
    return EXIT_PASS if code == 0 else EXIT_ENVIRONMENT


def _cmd_doctor(args) -> int:
    from chaos.doctor import diagnose, render

    print(f"doctor: this machine, for the stack {printable(args.stack)}", flush=True)
    findings = diagnose(args.stack)
    print(render(findings))
    return EXIT_PASS if all(f.ok for f in findings) else EXIT_ENVIRONMENT


def _cmd_stacks(args) -> int:
    from chaos.engine import docker_client
    from chaos.errors import EnvironmentProblem
    from chaos.stack import stacks_root
    from chaos.stacks import render, survey

    root = stacks_root()
    try:
        client, problem = docker_client(), ""
    except EnvironmentProblem:
        client, problem = None, "make setup starts one"
    print(render(survey(client, root), root, problem))
    return EXIT_ENVIRONMENT if client is None else EXIT_PASS


def merged_services(folder: str, compose: str) -> dict | None:
    """The services of a stack folder whose stack.yaml names several compose files (its own first,
    then overrides), merged by Compose; None when ``compose`` is the stack's one file."""
    from chaos.engine import compose_files, compose_model
    from chaos.stack import stack_at

    if not os.path.isfile(os.path.join(folder, "stack.yaml")):
        return None
    try:
        stack = stack_at(Path(folder))
    except ChaosError:  # an invalid stack.yaml: reported by check_folder with its lines
        return None
    files = compose_files(stack)
    if len(files) < 2 or Path(files[0]).absolute() != Path(compose).absolute():
        return None
    return compose_model(stack).get("services") or {}


def _cmd_init_stack(args) -> int:
    from chaos.contract import advice, check, check_folder, compose_file_of, load_services, skeleton
    from chaos.files import write_atomic

    given = args.compose_file  # a compose file or a stack's folder; every file is named as typed
    if os.path.isdir(given):
        folder, found = given, compose_file_of(Path(given))
        if found is None:
            print(f"chaos-harness: {printable(given)}: no compose file in this folder (compose.yaml, or the "
                  f"compose_file its stack.yaml names)", file=sys.stderr)
            return EXIT_INVALID_INPUT
        compose = os.path.join(given, os.path.relpath(found, given))
    else:
        folder, compose = os.path.dirname(given) or ".", given
    try:
        services = merged_services(folder, compose)  # None: the one compose file is the stack
        findings = check(compose, services, folder)
        warnings = advice(compose, services)
        draft = skeleton(compose) if args.write_stack_yaml else None
    except ChaosError as e:
        print(f"chaos-harness: {e}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    if draft is not None:
        target = os.path.join(folder, "stack.yaml")
        if os.path.lexists(target):  # a dangling symlink too: never written through
            print(f"{target}: exists; left as it is (remove it to draft a new one)")
        else:
            write_atomic(Path(target), draft)
            print(f"{target}: drafted; fill in its TODOs")
    findings += check_folder(folder, Path(compose), services if services is not None else load_services(Path(compose)))
    for f in findings + warnings:
        print(printable(str(f)))
    if warnings:
        print(f"{len(warnings)} warning(s): healthchecks docs/stack-contract.md advises against (they do not fail)")
    if findings:
        print(f"{len(findings)} thing(s) missing for the stack contract (docs/stack-contract.md)")
        return EXIT_CHECK_FAILED
    print(f"{printable(given)}: nothing missing for the stack contract")
    return EXIT_PASS


# What each exit code means, in every verb's --help (each verb lists the ones it can give).
EXITS = {
    0: "as expected: the verdict is the one the experiment expects",
    1: "a check failed: the verdict is not the one expected (a fail, or a pass where a fail was expected)",
    2: "invalid input: a bad experiment file, an unknown stack or a bad argument",
    3: "environment error (no Docker engine, a stack that does not come up), or the verdict is unknown",
    130: "interrupted by Ctrl-C (143: by SIGTERM), after every fault was healed",
    129: "the terminal hung up (SIGHUP), after every fault was healed",
}
_RUN_EXITS = {code: EXITS[code] for code in (0, 1, 2, 3, 130, 129)}

STACK_NAME = ("a stack's name (its folder under ./stacks, or under $CHAOS_STACKS_DIR), e.g. dual-site, "
              "or the path of a folder with a stack.yaml, e.g. ./my-stack")
DEFAULT_STACK = "dual-site"  # up, recover and doctor; never down, which must be told

OVERVIEW = """\
Kill a site under load; measure how long each service was down (RTO) and whether an acknowledged
write was lost. An experiment (a YAML file) names the stack, the load and the faults; a run leaves
a folder (runs/<run-id>/) that can be re-judged and reported without Docker.

first steps:
  chaos-harness doctor                                   is this machine ready?
  chaos-harness validate experiments/                    check experiment files; touches nothing
  chaos-harness plan experiments/pangyo-power-cut.yaml   what will happen, when; executes nothing
  chaos-harness run experiments/pangyo-power-cut.yaml    run it (brings the stack up first)
  chaos-harness report runs/<run-id>                     report.html and junit.xml of a run

exit codes (each verb's --help lists its own):
  0    as expected      1    a check failed      2    invalid input
  3    environment error or an unknown verdict
  130  interrupted (143 SIGTERM; 129 SIGHUP during run or gameday), after every fault was healed

environment:
  CHAOS_STACKS_DIR     the folder of stacks, each a folder with a stack.yaml (default: ./stacks if it
                       exists, else the stacks/ of the harness's checkout); --stack also takes the path
                       of one stack's folder, e.g. --stack ./my-stack

'chaos-harness VERB --help' explains a verb, its arguments, their defaults, and examples."""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Description and epilog as written (examples, exit codes); argument help wrapped, in a
    column wide enough for ``--write-stack-yaml`` and ``init-stack``."""

    def __init__(self, prog: str):
        super().__init__(prog, max_help_position=30)


def _epilog(examples: list[tuple[str, str]], exits: dict[int, str]) -> str:
    """``examples:`` (the command, then what it does) and ``exit codes:`` for a verb's --help."""
    lines = ["examples:"]
    for command, what in examples:
        lines += [f"  {command}", f"      {what}"]
    lines += ["", "exit codes:"]
    lines += [textwrap.fill(text, 100, initial_indent=f"  {code:<3}  ", subsequent_indent=" " * 7)
              for code, text in exits.items()]
    return "\n".join(lines)


def _verb(sub, name: str, purpose: str, examples: list[tuple[str, str]], exits: dict[int, str],
          more: str = "") -> argparse.ArgumentParser:
    """A subcommand: ``purpose`` (one line) in the overview and atop its --help, then ``more``."""
    return sub.add_parser(name, help=purpose, description=purpose + (f"\n\n{more}" if more else ""),
                          epilog=_epilog(examples, exits), formatter_class=_Formatter)


def _machine_flags(parser) -> None:
    quiet_or_json = parser.add_mutually_exclusive_group()
    quiet_or_json.add_argument("--quiet", action="store_true",
                               help="no progress: one line per verdict (errors still go to stderr)")
    quiet_or_json.add_argument("--json", action="store_true",
                               help="the result as JSON on stdout; progress on stderr")


def _run_flags(parser, verb: str) -> None:
    """The arguments run and gameday share."""
    parser.add_argument("file", metavar="FILE", help="the experiment file (YAML)")
    parser.add_argument("--stack", metavar="NAME",
                        help=f"the stack to run it on: {STACK_NAME} (default: the experiment's own 'stack:')")
    parser.add_argument("--runs-dir", metavar="DIR", default="runs",
                        help="where the run folder DIR/<run-id>/ is made (default: %(default)s, in the current folder)")
    parser.add_argument("--no-up", action="store_true",
                        help=f"do not bring the stack up; it must be running already (default: {verb} brings it "
                             "up and waits for every healthcheck)")


def build_parser() -> argparse.ArgumentParser:
    from chaos import __version__

    p = argparse.ArgumentParser(prog="chaos-harness", formatter_class=_Formatter,
                                description=OVERVIEW)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}",
                   help="print the harness's version and exit")
    sub = p.add_subparsers(dest="command", metavar="VERB", title="verbs", required=True)

    r = _verb(sub, "run", "run one experiment: load, faults, heal, read-back, verdict", [
        ("chaos-harness run experiments/pangyo-power-cut.yaml",
         "on the experiment's own stack (dual-site), brought up first"),
        ("chaos-harness run experiments/pangyo-power-cut.yaml --stack single-site --quiet",
         "on another stack the experiment declares a verdict for; prints only the verdict line"),
        ("chaos-harness run experiments/wan-latency.yaml --no-up --json > journal.json",
         "on the stack already up; the journal as JSON on stdout"),
    ], _RUN_EXITS, more="Every fault is healed before the harness exits, also on Ctrl-C. The run folder\n"
                        "(runs/<run-id>/) holds the history, the journal and what analyze and report need.")
    _run_flags(r, "run")
    _machine_flags(r)
    r.set_defaults(func=_cmd_run)

    g = _verb(sub, "gameday", "run one experiment step by step with a facilitator: go, notes, abort", [
        ('chaos-harness gameday experiments/pangyo-power-cut.yaml --who "alice, bob"',
         "alice facilitates: Enter starts each step, text is a note, ! aborts"),
        ("chaos-harness gameday experiments/pangyo-power-cut.yaml --auto --no-up",
         "every step on schedule (no terminal needed), on the stack already up"),
    ], _RUN_EXITS, more="An abort heals every fault at once; the run is judged as usual and not_aborted fails.")
    _run_flags(g, "gameday")
    g.add_argument("--auto", action="store_true",
                   help="run every step on schedule, without waiting for a go (default: wait for Enter before "
                        "each step; needed without a terminal)")
    g.add_argument("--who", metavar="NAMES",
                   help='who takes part, comma-separated, the facilitator first, e.g. "alice, bob" '
                        "(default: asked at the terminal)")
    g.set_defaults(func=_cmd_gameday)

    v = _verb(sub, "validate", "check experiment files and folders, every problem at once; touches nothing", [
        ("chaos-harness validate experiments/pangyo-power-cut.yaml", "one file: an ok line, or its problems"),
        ("chaos-harness validate experiments/ my-experiment.yaml",
         "every *.yaml and *.yml of the folder, and one more file; then a summary line"),
        ("chaos-harness validate experiments/wan-latency.yaml --stack single-site",
         "against one stack only"),
    ], {0: "every file is valid", 2: "a file (or more) is invalid, or a folder holds no experiment file",
        3: "environment error (a stack folder that cannot be read)"},
        more="Each problem reads file:line:col: key.path: message, with a suggestion where one fits.\n"
             "Problems go to stderr, ok lines and the summary (\"3 files: 2 ok, 1 invalid\") to stdout.")
    v.add_argument("files", nargs="+", metavar="PATH",
                   help="an experiment file, or a folder: its *.yaml and *.yml files, sorted (not its subfolders)")
    v.add_argument("--stack", metavar="NAME",
                   help=f"check against this stack only: {STACK_NAME} (default: the file's own 'stack:', and "
                        "every stack its 'expect:' mapping names)")
    v.set_defaults(func=_cmd_validate)

    pl = _verb(sub, "plan", "print an experiment's timeline in plain words; executes nothing", [
        ("chaos-harness plan experiments/pangyo-power-cut.yaml", "what happens when, on the experiment's stack"),
        ("chaos-harness plan experiments/pangyo-power-cut.yaml --stack single-site",
         "the same on another stack, with that stack's expected verdict"),
    ], {0: "the plan was printed", 2: EXITS[2]})
    pl.add_argument("file", metavar="FILE", help="the experiment file (YAML)")
    pl.add_argument("--stack", metavar="NAME",
                    help=f"plan it on this stack: {STACK_NAME} (default: the experiment's own 'stack:')")
    pl.set_defaults(func=_cmd_plan)

    _verb(sub, "schema", "print the JSON Schema of the experiment format (for editors)", [
        ("chaos-harness schema > experiment.schema.json", "save it for an editor's YAML language server"),
        ("chaos-harness schema | python3 -m json.tool | less", "read it"),
    ], {0: "the schema was printed"}).set_defaults(func=_cmd_schema)

    ref = _verb(sub, "reference", "print the experiment format's reference (docs/experiments.md) as Markdown", [
        ("chaos-harness reference | less", "every key, fault, parameter (units, bounds, defaults), metric and task"),
        ("chaos-harness reference --out docs/experiments.md", "regenerate the checked-in reference (make docs)"),
    ], {0: "the reference was printed (or written)", 2: "invalid input: --out names a folder",
        3: "the file could not be written (the reason named)"},
        more="Generated from the declarations that validate, so it is never out of date; the stacks' tasks\n"
             "are those of ./stacks (or $CHAOS_STACKS_DIR).")
    ref.add_argument("--out", metavar="PATH", help="write it to PATH instead of stdout (default: stdout)")
    ref.set_defaults(func=_cmd_reference)

    a = _verb(sub, "analyze", "re-judge a saved run folder without Docker; writes only with --write", [
        ("chaos-harness analyze runs/20261130T120000Z-pangyo-power-cut-dual-site",
         "the verdict and summary from the folder's history; its journal.json is left as it is"),
        ("chaos-harness analyze runs/<run-id> --write", "the same, and journal.json replaced by the new judgement"),
    ], {0: EXITS[0], 1: EXITS[1], 2: "invalid input: no run folder there, or a damaged one (the file and line named)",
        3: "the verdict is unknown (the run could not be judged, or did not do what it says)"})
    a.add_argument("run_dir", metavar="RUN_DIR", help="a run folder: runs/<run-id>/ as a run left it")
    writing = a.add_mutually_exclusive_group()
    writing.add_argument("--write", action="store_true",
                         help="save the new judgement as RUN_DIR/journal.json (default: write nothing)")
    writing.add_argument("--dry", action="store_true",
                         help="accepted for old scripts; does nothing, as writing nothing is now the default")
    a.set_defaults(func=_cmd_analyze)

    rp = _verb(sub, "report", "write report.html and junit.xml of a saved run folder", [
        ("chaos-harness report runs/<run-id>", "RUN_DIR/report.html and RUN_DIR/junit.xml"),
        ("chaos-harness report runs/<run-id> --junit ci/results.xml", "the JUnit XML where CI collects it"),
    ], {0: "both files were written (whatever the run's verdict)", 2: "invalid input: no run folder there, "
        "or a damaged one (the file and line named)", 3: "a file could not be written (the file named)"},
        more="Uses the folder's journal.json, or judges the run (as analyze does) if it has none.")
    rp.add_argument("run_dir", metavar="RUN_DIR", help="a run folder: runs/<run-id>/ as a run left it")
    rp.add_argument("--junit", metavar="PATH", help="where to write the JUnit XML (default: RUN_DIR/junit.xml)")
    rp.set_defaults(func=_cmd_report)

    n = _verb(sub, "nightly", "run every experiment with a tag; reports and an index in one folder", [
        ("chaos-harness nightly", "every experiment tagged nightly under experiments/, into runs/nightly-<UTC time>/"),
        ("chaos-harness nightly --tag smoke --out /tmp/suite --quiet",
         "the ones tagged smoke; prints only what differs from its expectation"),
    ], {0: "every verdict is the one its experiment expects", 1: "a verdict differs from its expectation",
        2: "invalid input: an experiment with the tag is invalid (nothing runs)",
        3: "a run could not be carried out (its verdict is unknown; the suite goes on)",
        130: "interrupted by Ctrl-C (143: by SIGTERM): the current run healed, index and JUnit of what finished"},
        more="Every tagged experiment is validated first; runs are grouped by stack, and a stack holding the\n"
             "ports of the next one is taken down (volumes too) before it comes up.")
    n.add_argument("--tag", metavar="TAG", default="nightly",
                   help="run the experiments with this tag (default: %(default)s)")
    n.add_argument("--out", metavar="DIR", help="the suite's folder (default: runs/nightly-<UTC time>)")
    n.add_argument("--experiments", metavar="DIR", default="experiments",
                   help="the folder of experiment files (default: %(default)s)")
    _machine_flags(n)
    n.set_defaults(func=_cmd_nightly)

    i = _verb(sub, "init-stack", "say what a stack folder or compose file lacks for the stack contract", [
        ("chaos-harness init-stack stacks/mine", "the folder: compose file, stack.yaml, workload, read-back, probes"),
        ("chaos-harness init-stack stacks/mine/compose.yaml --write-stack-yaml",
         "the same, and a stack.yaml drafted beside the compose file"),
    ], {0: "nothing missing (warnings may be printed)", 1: "something is missing (each listed); see "
        "docs/stack-contract.md", 2: "the compose file cannot be read, or the folder has none"},
        more="Checks the compose file's labels, ports, healthchecks and restart policies, and the folder's\n"
             "stack.yaml (valid, its workload and read-back present, probes declared). Warns, without failing,\n"
             "on healthchecks the guide advises against (python per check, intervals under 20 s, ...).")
    i.add_argument("compose_file", metavar="PATH",
                   help="the stack's folder, or its Docker Compose file (then its folder is the one checked)")
    i.add_argument("--write-stack-yaml", action="store_true",
                   help="draft a stack.yaml beside the compose file (default: write nothing; never overwrites one)")
    i.set_defaults(func=_cmd_init_stack)

    stack_exits = {2: "invalid input: an unknown stack",
                   3: "environment error: no Docker engine, or a run holds the stack"}
    interrupted = {130: "interrupted by Ctrl-C (143: by SIGTERM)"}
    u = _verb(sub, "up", f"bring a stack up (default: {DEFAULT_STACK}) and wait until it is healthy", [
        ("chaos-harness up", f"{DEFAULT_STACK}, the default"),
        ("chaos-harness up --stack single-site", "another stack (take down any other that holds its ports first)"),
    ], {0: "the stack is up", 2: stack_exits[2],
        3: "environment error: no Docker engine, an image missing, another stack holds its ports, a run holds it, "
           "or a healthcheck does not pass in time", **interrupted})
    u.add_argument("--stack", metavar="NAME", default=DEFAULT_STACK,
                   help=f"the stack to bring up: {STACK_NAME} (default: %(default)s)")
    u.set_defaults(func=_cmd_up)

    d = _verb(sub, "down", "take a named stack down, its volumes (data) too; --stack required", [
        ("chaos-harness down --stack dual-site", "containers, networks and volumes of dual-site"),
        ("chaos-harness down --stack single-site --keep-volumes", "containers and networks; the data stays"),
    ], {0: "the stack is down", **stack_exits, **interrupted},
        more="No default stack: --stack is required, as this removes data.")
    d.add_argument("--stack", metavar="NAME", required=True,
                   help=f"the stack to take down: {STACK_NAME} (required: no default)")
    d.add_argument("--keep-volumes", action="store_true",
                   help="keep the stack's volumes, so its data survives the next up (default: remove them)")
    d.set_defaults(func=_cmd_down)

    rc = _verb(sub, "recover", f"heal what a killed harness left on a stack (default: {DEFAULT_STACK})", [
        ("chaos-harness recover", f"{DEFAULT_STACK}: restart or unpause its containers, reset Toxiproxy"),
        ("chaos-harness recover --stack single-site", "another stack"),
    ], {0: "recovered (the lines say what was done)", **stack_exits},
        more="Refused while a run holds the stack: its faults are its own to heal.")
    rc.add_argument("--stack", metavar="NAME", default=DEFAULT_STACK,
                    help=f"the stack to heal: {STACK_NAME} (default: %(default)s)")
    rc.set_defaults(func=_cmd_recover)

    w = _verb(sub, "worker", "on another machine: a Locust worker of a stack's workload for a run's master", [
        ("chaos-harness worker --master 10.0.0.5:5557 --stack dual-site",
         "join the run whose experiment says load: {workers: 4, remote_workers: 2}"),
        ("chaos-harness worker --master 10.0.0.5:5557 --stack dual-site --entry-url http://10.0.0.5:8080",
         "the same, reaching the stack's entry point at the address this machine sees"),
    ], {0: "the master ended the load", 2: "invalid input: an unknown stack or a --master that is not HOST:PORT",
        3: "the worker could not reach the master or ended with an error", **interrupted},
        more="Its records go to the master, which writes the run's one history; nothing is written here.\n"
             "On the second machine: a checkout of the project (make setup), then this command. The\n"
             f"master listens on port {MASTER_PORT} when an experiment expects remote workers.")
    w.add_argument("--master", metavar="HOST:PORT", required=True,
                   help="where the run's Locust master listens (required)")
    w.add_argument("--stack", metavar="NAME", default=DEFAULT_STACK,
                   help=f"the stack whose workload to run: {STACK_NAME} (default: %(default)s)")
    w.add_argument("--name", metavar="NAME", default=None,
                   help="this worker's name in the history (default: HOSTNAME-PID)")
    w.add_argument("--entry-url", metavar="URL", default=None,
                   help="the stack's entry point as this machine reaches it (default: the master's)")
    w.set_defaults(func=_cmd_worker)

    st = _verb(sub, "stacks", "list every stack: whether it is up, its ports, who holds a port it needs", [
        ("chaos-harness stacks", "the stacks under ./stacks (or $CHAOS_STACKS_DIR), each with its state and ports"),
        ("chaos-harness stacks | grep ' up '", "only the stacks that are up (or partly up)"),
    ], {0: "listed (the engine answered)", 3: "no Docker engine answers: the stacks are listed, their state unknown"},
        more="Reads only: starts, stops and writes nothing. Two stacks publishing the same port cannot be up\n"
             "together; a port line names the other stack and whether it holds the port now.")
    st.set_defaults(func=_cmd_stacks)

    dr = _verb(sub, "doctor", f"check this machine for a stack (default: {DEFAULT_STACK}); says each fix", [
        ("chaos-harness doctor", f"this machine, for {DEFAULT_STACK}"),
        ("chaos-harness doctor --stack kv-sentinel", "this machine, for another stack"),
    ], {0: "everything is ready", 3: "something is not (each with its fix), or the stack is unknown"},
        more="Reads only: starts, stops and writes nothing.")
    dr.add_argument("--stack", metavar="NAME", default=DEFAULT_STACK,
                    help=f"the stack to check for: {STACK_NAME} (default: %(default)s)")
    dr.set_defaults(func=_cmd_doctor)
    return p


def _stack_by_path(args) -> None:
    """A ``--stack`` that is a folder's path (``./my-stack``, ``~/stacks/mine``, ``.``) becomes that
    stack's name, and its parent folder the stacks folder ($CHAOS_STACKS_DIR) of this process, so
    every verb reads it, and the stacks beside it, as it reads ./stacks."""
    from chaos.stack import find_stack, is_stack_path

    value = getattr(args, "stack", None)
    if not isinstance(value, str) or not is_stack_path(value):
        return
    stack = find_stack(value, what="--stack", paths=True)
    os.environ["CHAOS_STACKS_DIR"] = str(stack.dir.parent)
    args.stack = stack.name


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):
        # No verb: the overview, on stderr with exit 2 (a usage error: a script whose verb came out
        # empty must not pass); `chaos-harness --help` prints the same on stdout with exit 0.
        parser.print_help(sys.stderr)
        return EXIT_INVALID_INPUT
    args = parser.parse_args(argv)
    try:
        _stack_by_path(args)
        return args.func(args)
    except (ChaosError, Interrupted) as e:
        print(f"chaos-harness: {printable(str(e), keep_newlines=True)}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
