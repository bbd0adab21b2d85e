"""Building blocks of the self-contained HTML pages (run report, nightly index).

Every page carries its own style and no script: it must open from a CI artifact with no network.
Every text that reaches a page goes through ``html.escape`` here; callers pass plain text.
"""

from __future__ import annotations

import html
from typing import Iterable, Sequence

# A table cell: plain text, or (plain text, CSS class).
Cell = str | tuple[str, str]

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
       max-width: 1100px; padding: 1.5em; color: #1b1b1b; }
h1 { font-size: 1.6em; margin: 0 0 .3em; } h2 { font-size: 1.2em; margin: 1.6em 0 .5em; }
table { border-collapse: collapse; margin: .4em 0 1em; }
th, td { border-bottom: 1px solid #ddd; padding: .25em .7em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #1b5e20; } .fail { color: #b71c1c; } .unknown { color: #8d6e00; }
.badge { display: inline-block; padding: .15em .6em; border-radius: .3em; font-weight: bold;
         color: #fff; } .badge.pass { background: #2e7d32; } .badge.fail { background: #c62828; }
.badge.unknown, .badge.error { background: #b8860b; }
header { border-left: 8px solid #999; padding: .3em 1em; margin-bottom: 1em; }
header.verdict-pass { border-color: #2e7d32; } header.verdict-fail { border-color: #c62828; }
header.verdict-unknown { border-color: #b8860b; }
dl { display: grid; grid-template-columns: max-content auto; gap: .1em 1em; margin: .5em 0; }
dt { color: #555; } dd { margin: 0; }
figure.timeline { margin: .5em 0 1.5em; } figure.timeline svg { width: 100%; height: auto; }
figcaption { color: #555; font-size: .9em; }
pre { background: #f6f6f6; padding: .8em; overflow-x: auto; border-radius: .3em; }
p.story { font-size: 1.15em; font-weight: 600; margin: .4em 0; }
details.columns { color: #444; font-size: .9em; margin: -.4em 0 1em; } details.columns dl { margin-top: .3em; }
footer { color: #777; font-size: .85em; margin-top: 2em; }
"""


def esc(value) -> str:
    """``value`` as text safe inside HTML content and quoted attributes."""
    return html.escape(str(value), quote=True)


def badge(verdict: str) -> str:
    """A coloured verdict word."""
    return f'<span class="badge {esc(verdict)}">{esc(verdict.upper())}</span>'


def table(headers: Sequence[str], rows: Iterable[Sequence[Cell]], cls: str = "") -> str:
    """An HTML table; cells are plain text (escaped here) or (text, CSS class)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for cell in row:
            text, css = cell if isinstance(cell, tuple) else (cell, "")
            attr = f' class="{esc(css)}"' if css else ""
            cells.append(f"<td{attr}>{esc(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    attr = f' class="{esc(cls)}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def definitions(pairs: Iterable[tuple[str, str]]) -> str:
    """A ``<dl>`` of (term, plain text) pairs."""
    return "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in pairs) + "</dl>"


def document(title: str, body: str) -> str:
    """A whole page: ``body`` is already HTML (built with the helpers above)."""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{esc(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n"
            f"</body>\n</html>\n")
