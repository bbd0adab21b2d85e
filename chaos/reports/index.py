"""The index page of a suite of runs (the nightly): one self-contained HTML table, one row per run
(experiment, stack, verdict, expected, match, worst RTO, lost writes) with a link to its report."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from chaos.files import write_atomic
from chaos.reports.page import badge, document, esc
from chaos.reports.story import seconds_text

FILENAME = "index.html"
COLUMNS = ("experiment", "stack", "verdict", "expected", "as expected", "worst RTO s",
           "lost writes", "started", "report")


def _worst_rto(journal: dict) -> str:
    """The longest RTO over the services; ``never`` if one never recovered, else ``unknown`` if one
    could not be measured (the journal says why in its ``missing``)."""
    services = journal["services"].values()
    if not journal["faults"] or not services:
        return "n/a"
    unmeasured = [s for s in services if s["rto_s"] is None and "rto_s" in (s.get("missing") or {})]
    if any(s["rto_s"] is None for s in services if s not in unmeasured):
        return "never"
    if unmeasured:
        return "unknown"
    return seconds_text(max(s["rto_s"] for s in services))


def _lost(journal: dict) -> str:
    values = [s["lost_writes"] for s in journal["services"].values()]
    if not values or any(v is None for v in values):
        return "n/a"
    return str(sum(values))


def _row(journal: dict, href: str | None) -> str:
    match = journal["verdict"] == journal["expected"]
    link = f'<a href="{esc(href)}">report</a>' if href else "none"
    cells = (esc(journal["experiment"]["name"]), esc(journal["stack"]), badge(journal["verdict"]),
             esc(journal["expected"]), f'<span class="{"pass" if match else "fail"}">'
                                       f'{"yes" if match else "NO"}</span>',
             esc(_worst_rto(journal)), esc(_lost(journal)), esc(journal["started_at"]), link)
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def render_index(rows: Sequence[tuple[dict, str | None]], title: str, junit_href: str | None) -> str:
    """The page for ``rows`` of (journal, relative link to its report or None)."""
    matched = sum(j["verdict"] == j["expected"] for j, _ in rows)
    overall = "pass" if matched == len(rows) else "fail"
    head = "".join(f"<th>{esc(c)}</th>" for c in COLUMNS)
    body = "".join(_row(j, href) for j, href in rows)
    junit = f' <a href="{esc(junit_href)}">JUnit XML</a>' if junit_href else ""
    page = (f'<header class="verdict-{overall}"><h1>{esc(title)}</h1>'
            f"<p>{badge(overall)} {matched} of {len(rows)} runs as expected.{junit}</p></header>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return document(title, page)


def write_index(out_dir: Path, rows: Sequence[tuple[dict, str | None]], title: str,
                junit_href: str | None = None) -> Path:
    """Write ``out_dir/index.html`` atomically, never through a symlink (``chaos.files``); return
    its path."""
    return write_atomic(Path(out_dir) / FILENAME, render_index(rows, title, junit_href))
