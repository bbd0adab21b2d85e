"""JUnit XML of one or more judged runs, for CI systems that show test results.

Shape (the common Ant/Jenkins form, a subset of Jenkins' ``junit-10.xsd``; ``tests/data/junit.xsd``
pins it)::

    <testsuites name="chaos-harness" tests failures errors time>
      <testsuite name="<experiment> on <stack>" tests failures errors skipped time timestamp>
        <properties> run_id, experiment, stack, verdict, expected, experiment_file </properties>
        <testcase classname="<experiment>" name="<check>" time="0"> [failure | error | skipped] </testcase>
        ...
        <testcase classname="<experiment>" name="verdict matches expectation" time="0"/>
        <system-out> the terminal summary </system-out>
      </testsuite>
    </testsuites>

One testsuite per run, one testcase per check of its journal:
- a check that passed is a bare testcase;
- a failed check is ``<failure message="figure X vs threshold Y">detail</failure>``;
- a check that could not be judged (``unknown``) is ``<error message="could not be judged: ...">``.

A run whose experiment declares ``expect: fail`` (e.g. the single-site stack under a site's loss) is
*meant* to fail its checks. There, every check that did not pass is ``<skipped message="expected to
fail: ...">`` instead, so the CI stays green while reality matches the expectation. What decides is
the extra testcase ``verdict matches expectation``, present in every suite: it fails when the run's
verdict differs from its expectation (an ``expect: fail`` run that passed fails it too). So the
JUnit result agrees with the exit code of ``chaos-harness run`` and ``nightly``.

``timestamp`` is the run's start in UTC without a zone suffix (the Ant schema's form); ``time`` of a
suite is the run's length, of a testcase 0 (checks are judged after the run, not timed).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from chaos.checks.builtin import RAN_AS_WRITTEN
from chaos.files import write_atomic
from chaos.reports.summary import figure_text, render_summary
from chaos.run_folder import JUNIT

FILENAME = JUNIT  # chaos.runner imports it from here until its rewrite: use chaos.run_folder.JUNIT

VERDICT_CASE = "verdict matches expectation"
# Characters XML 1.0 cannot carry at all (control characters but tab, newline, carriage return).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    """A child element whose text and attributes hold only characters XML can carry."""
    element = ET.SubElement(parent, tag, {k: _NOT_XML.sub("?", v) for k, v in attrs.items()})
    if text is not None:
        element.text = _NOT_XML.sub("?", text)
    return element


def _seconds(journal: dict) -> float:
    try:
        delta = datetime.fromisoformat(journal["finished_at"]) - datetime.fromisoformat(journal["started_at"])
    except (TypeError, ValueError):
        return 0.0
    return max(0.0, delta.total_seconds())


def _timestamp(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    except (TypeError, ValueError):
        return datetime.fromtimestamp(0, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _check_case(suite: ET.Element, classname: str, check: dict, expect_fail: bool, journal: dict) -> str:
    """Append one check's testcase; return its outcome: pass, failure, error or skipped."""
    case = _el(suite, "testcase", classname=classname, name=check["name"], time="0")
    if check["verdict"] == "pass":
        return "pass"
    versus = f"figure {figure_text(check, journal)} vs threshold {check['threshold'] or 'n/a'}"
    message = versus if check["verdict"] == "fail" else f"could not be judged: {check['detail'] or versus}"
    detail = check["detail"] or message
    if expect_fail and check["name"] != RAN_AS_WRITTEN:  # a run not as written is never "expected"
        _el(case, "skipped", detail, message=f"expected to fail: {message}")
        return "skipped"
    tag = "failure" if check["verdict"] == "fail" else "error"
    _el(case, tag, detail, message=message, type=check["verdict"])
    return tag


def _suite(journal: dict) -> tuple[ET.Element, dict[str, int]]:
    name = journal["experiment"]["name"]
    suite = ET.Element("testsuite", name=_NOT_XML.sub("?", f"{name} on {journal['stack']}"))
    props = _el(suite, "properties")
    for key, value in (("run_id", journal["run_id"]), ("experiment", name),
                       ("experiment_file", journal["experiment"]["file"]), ("stack", journal["stack"]),
                       ("verdict", journal["verdict"]), ("expected", journal["expected"])):
        _el(props, "property", name=key, value=str(value))
    counts = {"tests": 0, "pass": 0, "failure": 0, "error": 0, "skipped": 0}
    for check in journal["checks"]:
        outcome = _check_case(suite, name, check, journal["expected"] == "fail", journal)
        counts["tests"] += 1
        counts[outcome] += 1
    case = _el(suite, "testcase", classname=name, name=VERDICT_CASE, time="0")
    counts["tests"] += 1
    if journal["verdict"] != journal["expected"]:
        _el(case, "failure", "\n".join(journal["reasons"]) or f"the run passed; expected {journal['expected']}",
            message=f"verdict {journal['verdict']}, expected {journal['expected']}", type="verdict")
        counts["failure"] += 1
    _el(suite, "system-out", render_summary(journal, color=False))
    suite.attrib.update(tests=str(counts["tests"]), failures=str(counts["failure"]),
                        errors=str(counts["error"]), skipped=str(counts["skipped"]),
                        time=f"{_seconds(journal):.3f}", timestamp=_timestamp(journal["started_at"]))
    return suite, counts


def render_junit(journals: Sequence[dict]) -> str:
    """The JUnit XML document of ``journals`` (one testsuite each), with its XML declaration."""
    root = ET.Element("testsuites", name="chaos-harness")
    totals = {"tests": 0, "failure": 0, "error": 0}
    for journal in journals:
        suite, counts = _suite(journal)
        root.append(suite)
        for key in totals:
            totals[key] += counts[key]
    root.attrib.update(tests=str(totals["tests"]), failures=str(totals["failure"]),
                       errors=str(totals["error"]),
                       time=f"{sum(_seconds(j) for j in journals):.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(path: Path, journals: Sequence[dict]) -> Path:
    """Write the JUnit XML of ``journals`` to ``path`` atomically, never through a symlink
    (``chaos.files``); return ``path``."""
    return write_atomic(path, render_junit(journals))
