"""Every verb's --help teaches: a one-line purpose, every argument described (with its default when
it has one), examples that parse, the exit codes it gives. The parser is walked, so a new argument
without help text fails here."""

from __future__ import annotations

import argparse
import re
import shlex

import pytest

import chaos
from chaos.cli import EXITS, build_parser
from test_cli import cli

PARSER = build_parser()
SUBPARSERS = next(a for a in PARSER._actions if isinstance(a, argparse._SubParsersAction))
VERBS = dict(SUBPARSERS.choices)
PURPOSES = {a.dest: a.help for a in SUBPARSERS._choices_actions}


def _arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))]


def test_every_verb_is_walked():
    assert set(VERBS) == {"run", "gameday", "validate", "plan", "schema", "analyze", "report", "nightly",
                          "init-stack", "up", "down", "recover", "doctor", "worker", "reference", "stacks"}


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_every_argument_has_help_and_says_its_default(verb):
    for action in _arguments(VERBS[verb]):
        name = action.option_strings[0] if action.option_strings else action.dest
        assert action.help and action.help != argparse.SUPPRESS and len(action.help) > 10, (verb, name)
        takes_a_value = action.option_strings and action.nargs != 0
        if takes_a_value:  # an option with a value: its default, or that there is none
            assert "default" in action.help or "required" in action.help, (verb, name, action.help)
        if action.default not in (None, False):
            assert "%(default)s" in action.help or str(action.default) in action.help, (verb, name)


def test_the_top_level_arguments_have_help():
    for action in _arguments(PARSER):
        assert action.help, action.option_strings


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_each_verbs_help_has_purpose_examples_and_exit_codes(verb):
    p = cli(verb, "--help")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert out.startswith(f"usage: chaos-harness {verb} ")
    purpose = PURPOSES[verb]
    assert purpose and "\n" not in purpose and len(purpose) <= 76, purpose  # one line in the overview too
    assert f"\n\n{purpose}\n" in out  # atop the verb's own help
    examples = out.split("\nexamples:\n", 1)[1].split("\n\n", 1)[0]
    commands = [line.strip() for line in examples.splitlines() if line.startswith(f"  chaos-harness {verb}")]
    assert 2 <= len(commands) <= 3, examples
    for command in commands:  # each example is a command the parser takes
        words = shlex.split(command.split(" > ")[0].split(" | ")[0])
        VERBS[verb].parse_args(words[2:])
    codes = [int(m[1]) for m in re.finditer(r"^  (\d+) ", out.split("\nexit codes:\n", 1)[1], re.M)]
    assert codes and codes[0] == 0 and set(codes) <= set(EXITS), codes
    assert "``" not in out


def test_run_and_gameday_name_every_exit_code():
    for verb in ("run", "gameday"):
        out = " ".join(cli(verb, "--help").stdout.split("\nexit codes:\n", 1)[1].split())
        for code in (0, 1, 2, 3, 130, 143, 129):
            assert f"{code}" in out, (verb, code)
        assert "or the verdict is unknown" in out


def test_the_stack_verbs_say_their_default_and_down_requires_one():
    for verb in ("up", "recover", "doctor"):
        out = cli(verb, "--help").stdout
        assert "(default: dual-site)" in " ".join(out.split()), verb
    assert "--stack NAME" in cli("down", "--help").stdout.splitlines()[0]  # not [--stack NAME]: required


def test_version():
    p = cli("--version")
    assert p.returncode == 0
    assert p.stdout == f"chaos-harness {chaos.__version__}\n"


def test_the_overview_lists_every_verb_without_rst_quotes():
    p = cli("--help")
    assert p.returncode == 0, p.stderr
    assert "``" not in p.stdout
    description = p.stdout.split("\n\n", 2)[1]
    assert description.startswith("Kill a site under load")
    for verb, purpose in PURPOSES.items():
        assert verb in p.stdout and " ".join(purpose.split()) in " ".join(p.stdout.split())
    assert "exit codes" in p.stdout and "--version" in p.stdout


def test_bare_command_prints_the_overview_and_exits_2():
    """No verb is a usage error (exit 2: a script whose verb came out empty must not pass), but the
    user gets the whole overview, not only an error line."""
    p = cli()
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr == cli("--help").stdout
