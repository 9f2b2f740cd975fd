"""The legend of a figure at its physical size: its entries, how they fit, and how it is drawn.

:func:`entries_of` reads a drawn map's legend entries (one per legend group); :func:`plan_legend`
sets them in columns at a font size (names longer than the room cut with "…"), with a note
under them; :func:`fold` keeps the largest entries and folds the rest into one grey
"other (k)" entry with a note saying what it holds; :func:`draw_legend` draws a plan as a small
hidden axis of its own (a marker per entry and its text), which both renderers draw alike.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from interpret.maps.labels import LINE_HEIGHT, text_width
from interpret.maps.palette import GREY


@dataclass
class Entry:
    """One legend entry: its text, swatch and the traces it stands for."""

    name: str
    color: str
    symbol: str
    traces: list[int] = field(default_factory=list)
    points: int = 0


@dataclass(frozen=True)
class LegendPlan:
    """Where the legend goes and what it shows (all sizes in px)."""

    where: str  # "right", "bottom" or "none"
    columns: int
    entries: tuple[Entry, ...]
    folded: tuple[Entry, ...]
    note: tuple[str, ...]
    width: float
    height: float
    row: float
    col_widths: tuple[float, ...]


def entries_of(fig: Any) -> list[Entry]:
    """Legend entries: one per legend group (or trace) shown in the legend, in order."""
    entries: dict[str, Entry] = {}
    for j, t in enumerate(fig.data):
        if t.showlegend is False or not t.name or t.type not in ("scatter", "scattergl",
                                                                   "scatter3d"):  # fmt: skip
            if t.legendgroup and t.legendgroup in entries:
                entries[t.legendgroup].traces.append(j)
                entries[t.legendgroup].points += len(t.x) if t.x is not None else 0
            continue
        key = t.legendgroup or f"trace {j}"
        color = t.marker.color if isinstance(t.marker.color, str) else GREY
        if key not in entries:
            symbol = t.marker.symbol if isinstance(t.marker.symbol, str) else "circle"
            entries[key] = Entry(t.name, color, symbol)
        entries[key].traces.append(j)
        entries[key].points += len(t.x) if t.x is not None else 0
    return list(entries.values())


def _shorten(text: str, size: float, room: float) -> str:
    """``text`` cut (ending in …) to fit ``room`` px at ``size`` px."""
    if text_width(text, size) <= room:
        return text
    while text and text_width(text + "…", size) > room:
        text = text[:-1]
    return text.rstrip() + "…"


def _wrap(text: str, size: float, room: float) -> list[str]:
    """Greedy word wrap of ``text`` into lines of at most ``room`` px."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if line and text_width(trial, size) > room:
            lines.append(line)
            line = word
        else:
            line = trial
    return [*lines, line] if line else lines


def plan_legend(
    entries: list[Entry],
    columns: int,
    where: str,
    size: float,
    room: float,
    note: str | None = None,
    folded: tuple[Entry, ...] = (),
) -> LegendPlan:
    """The legend of ``entries`` in ``columns`` columns (filled top to bottom), with ``note``
    wrapped under it; a name longer than ``room`` px alone is cut to fit (ending in …)."""
    swatch, gap, col_gap = 0.8 * size, 0.45 * size, 1.0 * size
    row = LINE_HEIGHT * size
    rows = math.ceil(len(entries) / columns) if entries else 0
    max_text = max(10.0, room - swatch - gap)
    shown = []
    for e in entries:
        shown.append(Entry(_shorten(e.name, size, max_text), e.color, e.symbol, e.traces,
                           e.points))  # fmt: skip
    widths = []
    for c in range(columns):
        col = shown[c * rows : (c + 1) * rows]
        if col:
            widths.append(swatch + gap + max(text_width(e.name, size) for e in col))
    width = sum(widths) + col_gap * max(0, len(widths) - 1)
    lines = _wrap(note, size, max(width, min(room, 30 * size))) if note else []
    if lines:
        width = max(width, max(text_width(line, size) for line in lines))
    height = row * (rows + len(lines) + (0.3 if lines else 0))
    return LegendPlan(where, columns, tuple(shown), folded, tuple(lines), width, height, row,
                      tuple(widths))  # fmt: skip


def fold(entries: list[Entry], keep: int, what: str) -> tuple[list[Entry], Entry, str]:
    """Keep the first ``keep`` entries and fold the rest into one grey "other (k)" entry."""
    rest = entries[keep:]
    points = sum(e.points for e in rest)
    other = Entry(f"other ({len(rest)})", GREY, "circle", [j for e in rest for j in e.traces],
                  points)  # fmt: skip
    note = (
        f"other ({len(rest)}): the {len(rest)} smallest {what}, {points:,} points, in grey; "
        f"{len(entries)} {what} in all"
    )
    return [*entries[:keep], other], other, note


def draw_legend(
    fig: Any,
    plan: LegendPlan,
    domain: tuple[list[float], list[float]],
    size: float,
    ink: str,
) -> None:
    """Draw ``plan`` into ``fig`` as a hidden axis of its own at ``domain`` (x and y fractions
    of plotly's paper): one marker and one text per entry, then the note. The axis spans the
    legend's size in px, so entries sit at their planned pixels."""
    used = [int(k[5:] or 1) for k in fig.layout if re.fullmatch(r"[xy]axis\d*", k)]
    n = max([1, *used]) + 1
    xa, ya = f"x{n}", f"y{n}"
    lw, lh = max(plan.width, 1.0), max(plan.height, 1.0)
    hidden = {"visible": False, "fixedrange": True, "showgrid": False, "zeroline": False}
    fig.layout[f"xaxis{n}"] = {**hidden, "domain": domain[0], "range": [0, lw], "anchor": ya}
    fig.layout[f"yaxis{n}"] = {**hidden, "domain": domain[1], "range": [lh, 0], "anchor": xa}
    rows = math.ceil(len(plan.entries) / plan.columns)
    swatch, gap = 0.8 * size, 0.45 * size
    xs, ys, cols, syms = [], [], [], []
    notes = []
    x = 0.0
    for c, col_w in enumerate(plan.col_widths):
        for r, e in enumerate(plan.entries[c * rows : (c + 1) * rows]):
            y = (r + 0.5) * plan.row
            xs.append(x + swatch / 2)
            ys.append(y)
            cols.append(e.color)
            syms.append(e.symbol)
            notes.append(_legend_text(e.name, x + swatch + gap, y, xa, ya, size, ink))
        x += col_w + 1.0 * size
    for k, line in enumerate(plan.note):
        y = (rows + 0.3 + k + 0.5) * plan.row
        notes.append({**_legend_text(line, 0.0, y, xa, ya, size, ink), "name": "legend-note"})
    import plotly.graph_objects as go

    fig.add_trace(
        go.Scatter(
            x=xs, y=ys, xaxis=xa, yaxis=ya, mode="markers", hoverinfo="skip", showlegend=False,
            name="legend", marker={"color": cols, "symbol": syms, "size": swatch, "opacity": 1.0},
        )
    )  # fmt: skip
    fig.layout.annotations = [*fig.layout.annotations, *notes]  # replaced, not merged


def _legend_text(
    text: str, x: float, y: float, xa: str, ya: str, size: float, ink: str
) -> dict[str, Any]:
    return {
        "name": "legend", "text": text, "x": x, "y": y, "xref": xa, "yref": ya,
        "xanchor": "left", "yanchor": "middle", "showarrow": False, "borderpad": 0,
        "font": {"size": size, "color": ink},
    }  # fmt: skip
