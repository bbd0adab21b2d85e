"""A service's timeline: ok, failed and unknown requests per second (three lines), each fault window
shaded, the service's outage (its first failure to the moment it was back) hatched apart from the
fault window and the moment it was back marked, and its lost and unknown writes placed on it;
for a service with reads and writes, its ok reads and its ok writes per second too (a read that
comes back in seconds while writes wait for a new primary shows as two lines).

Drawn with matplotlib as SVG to inline in the HTML report. matplotlib is imported only when a plot
is drawn (the CLI starts fast), and only through its object API (``Figure``): pyplot and its GUI
backends are never loaded, so drawing needs no display and touches no global state.

Markers a reader (or a test) can find in the SVG: each fault window is a group with the id
``fault-window-<fault id>-<service>`` (e.g. ``fault-window-f0-orders``), unique within a report;
each game-day note is a dashed vertical line with the id ``note-<note id>-<service>`` (e.g.
``note-n1-orders``), labelled with its id and the start of its text. The outage is the group
``outage-<service>``, the moment the service was back ``back-<service>``, its lost writes
``lost-writes-<service>`` and its unknown writes ``unknown-writes-<service>``.

Labels are user text (service names, fault targets, a facilitator's notes): every text is drawn
with ``parse_math=False`` and TeX off, so ``paid $5 and $3`` is drawn as typed, never parsed as
mathtext (which crashed on it, or silently turned it into math).
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from typing import Sequence

from chaos.checks.windows import FaultWindow
from chaos.history import Op
from chaos.run_folder import FAIL, OK, READ, UNKNOWN, WRITE

OK_COLOR = "#2e7d32"
BAD_COLOR = "#c62828"
UNKNOWN_COLOR = "#ef6c00"
BACK_COLOR = "#1b5e20"
FAULT_COLOR = "#f9a825"
NOTE_COLOR = "#1565c0"
READ_COLOR = "#00838f"  # a service's ok reads per second (dashed), when it has reads and writes
WRITE_COLOR = "#6a1b9a"  # its ok writes per second (dotted)
NOTE_LABEL_CHARS = 28
MAX_BINS = 5_000  # bins of one plot: a span longer than that many seconds gets wider bins


@dataclass(frozen=True)
class NoteMarker:
    id: str  # "n1"
    mono: float  # when it was typed (monotonic s)
    text: str


@dataclass(frozen=True)
class OutageMarker:
    """A service's outage on the plot's clock (monotonic s): from its first failure to the moment
    it was back (None: not back before the end of the plot); ``back_label`` words that moment."""

    began: float
    back: float | None
    back_label: str = ""


@dataclass(frozen=True)
class WriteMarker:
    """A write placed on the timeline: when it was sent (monotonic s), its id and ``lost`` or
    ``unknown``."""

    mono: float
    write_id: str
    what: str


@dataclass(frozen=True)
class Rates:
    """Requests per bin of ``bin_s`` seconds; bin ``i`` covers ``[t0 + i * bin_s, t0 + (i + 1) * bin_s)``."""

    ok: tuple[int, ...]
    failed: tuple[int, ...]
    unknown: tuple[int, ...]
    bin_s: int = 1

    @property
    def bad(self) -> tuple[int, ...]:
        """Failed and unknown together."""
        return tuple(f + u for f, u in zip(self.failed, self.unknown))


def per_second(ops: Sequence[Op], t0: float, end: float) -> Rates:
    """Count ``ops`` per second from ``t0`` to ``end`` (monotonic seconds); ops outside are left out.

    Over a span longer than ``MAX_BINS`` seconds (a history whose times are far apart, damaged or
    not) each bin is ``bin_s`` whole seconds wide, so a plot never needs more than ``MAX_BINS`` bins."""
    bin_s = max(1, math.ceil((end - t0) / MAX_BINS))
    n = max(1, math.ceil((end - t0) / bin_s))
    counts = {OK: [0] * n, FAIL: [0] * n, UNKNOWN: [0] * n}
    for o in ops:
        i = math.floor((o.mono - t0) / bin_s)
        if 0 <= i < n:
            counts[o.outcome if o.outcome in counts else FAIL][i] += 1
    return Rates(tuple(counts[OK]), tuple(counts[FAIL]), tuple(counts[UNKNOWN]), bin_s)


def window_id(fault_id: str, service: str) -> str:
    """The SVG id of one fault window in one service's plot."""
    return "fault-window-" + re.sub(r"[^A-Za-z0-9_-]", "_", f"{fault_id}-{service}")


def note_id(note: str, service: str) -> str:
    """The SVG id of one note's marker in one service's plot."""
    return "note-" + re.sub(r"[^A-Za-z0-9_-]", "_", f"{note}-{service}")


def note_label(marker: NoteMarker) -> str:
    text = marker.text if len(marker.text) <= NOTE_LABEL_CHARS else marker.text[:NOTE_LABEL_CHARS - 1] + "…"
    return f"{marker.id} {text}"


def _inline(svg: str) -> str:
    """The ``<svg>`` element alone, for inlining in HTML: no XML prolog, no DOCTYPE, and no namespace
    declarations (HTML puts inline SVG in its namespace), so the page names no outside address."""
    svg = svg[svg.index("<svg"):]
    head, rest = svg.split(">", 1)
    return re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", head) + ">" + rest


KIND_STYLES = {READ: dict(color=READ_COLOR, linestyle="--", linewidth=1.0),
               WRITE: dict(color=WRITE_COLOR, linestyle=":", linewidth=1.2)}


def _kinds(ops: Sequence[Op], t0: float, end: float, bin_s: float) -> list[tuple[tuple[str, list[float]], dict]]:
    """For a service with both reads and writes (a write carries a ``write_id``): each kind's ok
    requests per second, binned as the whole service's are, with its line style; else nothing."""
    reads = [o for o in ops if not o.is_write]
    writes = [o for o in ops if o.is_write]
    if not reads or not writes:
        return []
    out = []
    for kind, part in ((READ, reads), (WRITE, writes)):
        rates = per_second(part, t0, end)
        out.append(((kind, [n / bin_s for n in rates.ok]), KIND_STYLES[kind]))
    return out


def _outage(ax, outage: OutageMarker, t0: float, right: float, service: str) -> None:
    """The outage hatched over the plot, apart from the fault window's shade; the moment the
    service was back as a solid line, labelled."""
    began = min(max(outage.began - t0, 0.0), right)
    until = right if outage.back is None else min(max(outage.back - t0, 0.0), right)
    ax.axvspan(began, until, ymin=0, ymax=0.9, facecolor="none", edgecolor=BAD_COLOR, hatch="///",
               alpha=0.5, linewidth=0, gid=f"outage-{_safe(service)}", label="outage")
    if outage.back is not None and 0 <= outage.back - t0 <= right:
        x = outage.back - t0
        ax.axvline(x, color=BACK_COLOR, linewidth=1.6, gid=f"back-{_safe(service)}")
        left = x > 0.6 * right  # late in the plot: the label on the line's left, inside the axes
        ax.text(x, 0.88, f"{outage.back_label} " if left else f" {outage.back_label}",
                transform=ax.get_xaxis_transform(), va="top", ha="right" if left else "left", fontsize=8,
                color=BACK_COLOR, fontweight="bold", parse_math=False,
                bbox=dict(facecolor="white", edgecolor="none", alpha=0.8, pad=1))


def _writes(ax, writes: Sequence[WriteMarker], t0: float, right: float, service: str) -> None:
    """Lost writes as red crosses and unknown writes as orange ticks, at the bottom of the plot."""
    for what, marker, color, y in (("lost", "X", BAD_COLOR, 0.08), ("unknown", "|", UNKNOWN_COLOR, 0.04)):
        xs = [w.mono - t0 for w in writes if w.what == what and 0 <= w.mono - t0 <= right]
        if xs:
            ax.plot(xs, [y] * len(xs), linestyle="none", marker=marker, markersize=8 if what == "lost" else 9,
                    color=color, transform=ax.get_xaxis_transform(), gid=f"{what}-writes-{_safe(service)}",
                    label=f"{'lost' if what == 'lost' else 'timed-out'} writes ({len(xs)})", clip_on=False)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)


def timeline_svg(service: str, ops: Sequence[Op], windows: Sequence[FaultWindow],
                 t0: float, end: float, notes: Sequence[NoteMarker] = (),
                 outage: OutageMarker | None = None, writes: Sequence[WriteMarker] = ()) -> str:
    """The timeline of one service as an inline ``<svg>`` element; times are seconds since ``t0``.
    ``notes`` outside ``[t0, end]`` are left out of the plot (the report lists every note);
    ``outage`` and ``writes`` come from the journal (see the module's docstring)."""
    import matplotlib
    from matplotlib.figure import Figure

    rates = per_second(ops, t0, end)
    seconds = [float(i * rates.bin_s) for i in range(len(rates.ok) + 1)]
    ok_rate = [n / rates.bin_s for n in rates.ok]  # requests per second, whatever the bin
    failed_rate = [n / rates.bin_s for n in rates.failed]
    unknown_rate = [n / rates.bin_s for n in rates.unknown]
    # Each figure salts its SVG ids with the service, so several plots can share one HTML page.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"chaos-{service}",
                                "font.size": 9, "text.usetex": False}):
        fig = Figure(figsize=(9.5, 2.8))
        # Fixed margins, not layout="constrained": the same page, a third less time per plot (the
        # constrained solver measured every text twice).
        fig.subplots_adjust(left=0.07, right=0.99, bottom=0.17, top=0.80)
        ax = fig.subplots()
        for i, w in enumerate(windows):
            until = w.healed if w.healed is not None else end
            ax.axvspan(w.injected - t0, until - t0, color=FAULT_COLOR, alpha=0.25, linewidth=0,
                       gid=window_id(w.id, service), label="fault window" if i == 0 else None)
            label = f"{w.id} {w.type} {w.target}" + ("" if w.healed is not None else " (never healed)")
            ax.text(w.injected - t0, 0.97, f" {label}", transform=ax.get_xaxis_transform(),
                    va="top", ha="left", fontsize=8, parse_math=False)
        for note in notes:
            x = note.mono - t0
            if 0 <= x <= seconds[-1]:
                ax.axvline(x, color=NOTE_COLOR, linestyle="--", linewidth=1.0, gid=note_id(note.id, service))
                ax.text(x, 0.03, f"{note_label(note)} ", transform=ax.get_xaxis_transform(), rotation=90,
                        va="bottom", ha="right", fontsize=7, color=NOTE_COLOR, parse_math=False)
        if outage is not None:
            _outage(ax, outage, t0, seconds[-1], service)
        ax.stairs(ok_rate, seconds, color=OK_COLOR, linewidth=1.4, label="ok")
        ax.stairs(failed_rate, seconds, color=BAD_COLOR, linewidth=1.4, label="failed")
        ax.stairs(unknown_rate, seconds, color=UNKNOWN_COLOR, linewidth=1.4, label="unknown")
        _writes(ax, writes, t0, seconds[-1], service)
        for kind, style in _kinds(ops, t0, end, rates.bin_s):
            ax.stairs(kind[1], seconds, gid=f"ok-{kind[0]}s-{service}", label=f"ok {kind[0]}s", **style)
        ax.set_xlim(0, seconds[-1])
        ax.set_ylim(bottom=0, top=max(1, *ok_rate, *failed_rate, *unknown_rate) * 1.2)
        ax.set_xlabel("seconds since the load started")
        ax.set_ylabel("requests / s")
        ax.set_title(service, loc="left", fontweight="bold", parse_math=False)
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=min(4, len(ax.get_legend_handles_labels()[1])), fontsize=8, frameon=False,
                  borderaxespad=0.2)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None,
                                                 "Type": None})
    return _inline(buf.getvalue())
