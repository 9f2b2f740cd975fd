"""Figures at their physical size: fonts in points, the map's aspect kept, a legend that fits.

:func:`arrange` lays a drawn map (or a comparison) out for a page of ``width`` x ``height`` CSS
pixels (96 to the inch, so a figure of 3.5 in is 336 px wide; the exporters turn that into
pixels at a DPI, or points in a PDF or SVG). Every piece gets a computed place, so nothing is
left to a renderer's guess and both renderers (kaleido and the matplotlib fallback) draw the same
figure:

- text in points for the physical size (:class:`Fonts`: 8 pt body, 9 pt title and 7 pt legend
  and labels on a 3.5 in figure; one point larger from 4.5 in, another from 6.5 in);
- the legend outside the map, to its right or below it, in as many columns as fit; the layout
  that leaves the largest map wins. When no layout shows every entry, the smallest categories
  fold into one grey entry "other (k)" and a note under the legend says what it holds;
- each panel keeps its aspect: one data unit is as long across as up and down;
- cluster names (annotations named ``"cluster"``) are placed so that none overlaps another
  (:func:`interpret.maps.labels.place_labels`), with leader lines where one had to move.

The legend is drawn as its own small hidden axis (a marker per entry, a text beside it), not
by plotly's legend, whose rows are at least 19 px high and whose symbols take 40 px.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from interpret.maps.labels import (
    FONT_FAMILY,
    LINE_HEIGHT,
    label_annotations,
    place_labels,
    text_box,
    text_width,
)
from interpret.maps.legend import Entry, LegendPlan, draw_legend, entries_of, fold, plan_legend
from interpret.maps.palette import GREY, theme_colors

#: CSS pixels per inch and per point
PX_PER_IN = 96.0
PX_PER_PT = PX_PER_IN / 72.0
#: the outer margin and the gaps between the map, its legend and the title, in px
PAD = 5.0
GAP = 8.0


@dataclass(frozen=True)
class Fonts:
    """Font sizes in points: ``base`` for body text; the title one point larger; the legend,
    cluster names and notes one point smaller (never below 6 pt)."""

    base: float = 8.0

    @property
    def title(self) -> float:
        return self.base + 1

    @property
    def legend(self) -> float:
        return max(6.0, self.base - 1)

    @property
    def label(self) -> float:
        return max(6.0, self.base - 1)

    @classmethod
    def for_width(cls, width_in: float) -> Fonts:
        """8 pt up to 4.5 in wide (a journal column), 9 pt up to 6.5 in, 10 pt above."""
        return cls(8.0 if width_in <= 4.5 else 9.0 if width_in <= 6.5 else 10.0)


@dataclass(frozen=True)
class Arranged:
    """What :func:`arrange` decided: the legend, the plot area and each panel's scale."""

    legend: LegendPlan
    area: tuple[float, float, float, float]  # x0, y0, x1, y1 of the map, px
    scale: float  # px per data unit of the panels (the same in all panels)
    marker_px: float
    height: float  # of the page, px (chosen when arrange was given none)


# --------------------------------------------------------------------------- reading the figure


def _panels(fig: Any) -> list[tuple[str, str]]:
    """The 2-D axis pairs that draw points, in order of first use."""
    out: list[tuple[str, str]] = []
    for t in fig.data:
        if t.type in ("scatter", "scattergl"):
            key = (t.xaxis or "x", t.yaxis or "y")
            if key not in out:
                out.append(key)
    return out


def _bounds(fig: Any, axes: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest data coordinates drawn on one axis pair."""
    xs, ys = [], []
    for t in fig.data:
        on_axes = t.type in ("scatter", "scattergl") and (t.xaxis or "x", t.yaxis or "y") == axes
        if on_axes and t.x is not None and len(t.x):
            xs.append(np.asarray(t.x, dtype=np.float64))
            ys.append(np.asarray(t.y, dtype=np.float64))
    if not xs:
        return np.zeros(2), np.ones(2)
    x, y = np.concatenate(xs), np.concatenate(ys)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return np.zeros(2), np.ones(2)
    lo = np.array([x[ok].min(), y[ok].min()])
    hi = np.array([x[ok].max(), y[ok].max()])
    span = np.maximum(hi - lo, 1e-9)
    return lo - 0.03 * span, hi + 0.03 * span


# --------------------------------------------------------------------------- arranging


@dataclass(frozen=True)
class _Frame:
    """What a layout must make room for, read once from the figure (sizes in px)."""

    title: str | None
    panels: list[tuple[str, str]]
    bounds: list[tuple[np.ndarray, np.ndarray]]
    subtitles: list[Any]
    colorbar: bool
    entries: list[Entry]
    px: dict[str, float]
    top: float
    sub_h: float
    cb_w: float

    @classmethod
    def of(cls, fig: Any, fonts: Fonts) -> _Frame:
        title = fig.layout.title.text if fig.layout.title is not None else None
        panels = _panels(fig)
        px = {k: getattr(fonts, k) * PX_PER_PT for k in ("base", "title", "legend", "label")}
        colorbar = any(getattr(t, "marker", None) is not None and t.marker.showscale
                       for t in fig.data)  # fmt: skip
        subtitles = [a for a in fig.layout.annotations if a.xref == "paper" and a.name != "cluster"]
        return cls(
            title=title,
            panels=panels,
            bounds=[_bounds(fig, p) for p in panels],
            subtitles=subtitles,
            colorbar=colorbar,
            entries=entries_of(fig),
            px=px,
            top=PAD + (LINE_HEIGHT * px["title"] + GAP / 2 if title else 0.0),
            sub_h=LINE_HEIGHT * px["base"] if subtitles else 0.0,
            cb_w=_colorbar_width(px["legend"]) if colorbar else 0.0,
        )

    def scale(self, width: float, height: float, area_w: float, area_h: float) -> float:
        """px per data unit when the panels share ``area_w`` x ``area_h`` (0: too cramped)."""
        spans = [hi - lo for lo, hi in self.bounds] or [np.ones(2)]
        n = len(spans)
        pw = (area_w - GAP * (n - 1)) / n
        ph = area_h - self.sub_h
        if pw < 0.3 * width / n or ph < 0.25 * height:
            return 0.0
        return min(min(pw / s[0], ph / s[1]) for s in spans)

    def plan(self, width: float, height: float, what: str) -> tuple[float, LegendPlan]:
        """The legend that leaves the largest map, folding its tail only when nothing fits."""
        entries = self.entries
        avail_w, avail_h = width - 2 * PAD - self.cb_w, height - self.top - PAD
        best: tuple[float, LegendPlan] | None = None
        for keep in range(len(entries), 0, -1):
            shown, note = list(entries), None
            folded: tuple[Entry, ...] = ()
            if keep < len(entries):
                shown, _other, note = fold(entries, keep, what)
                folded = tuple(entries[keep:])
            for where, max_cols in (("right", 2), ("bottom", 6)):
                room = 0.45 * avail_w if where == "right" else avail_w
                for columns in range(1, min(max_cols, len(shown)) + 1):
                    plan = plan_legend(shown, columns, where, self.px["legend"], room, note,
                                       folded)  # fmt: skip
                    s = 0.0
                    if where == "right" and plan.height <= avail_h and plan.width <= room:
                        s = self.scale(width, height, avail_w - plan.width - GAP, avail_h)
                    elif where == "bottom" and plan.width <= avail_w and plan.height <= avail_h:
                        s = self.scale(width, height, avail_w, avail_h - plan.height - GAP)
                    if s > 0 and (best is None or s > best[0]):
                        best = (s, plan)
            if best is not None:
                return best
        plan = LegendPlan("none", 0, (), tuple(entries), (), 0.0, 0.0, 0.0, ())
        return self.scale(width, height, avail_w, avail_h), plan

    def fit_height(self, width: float, what: str) -> float:
        """The smallest page height (0.5 to 1.6 times ``width``) that shows the whole legend
        and the map at 90% or more of the scale it has across the full width."""
        avail_w = width - 2 * PAD - self.cb_w
        full = self.scale(width, 10 * width, avail_w, 10 * width)
        heights = np.linspace(0.5 * width, 1.6 * width, 45)
        complete = []
        for h in heights:
            s, plan = self.plan(width, float(h), what)
            if s > 0 and not plan.folded:
                if s >= 0.9 * full:
                    return float(h)
                complete.append((s, float(h)))
        if complete:
            return max(complete)[1]
        return float(heights[-1])


def arrange(
    fig: Any,
    *,
    width: float,
    height: float | None,
    fonts: Fonts,
    theme: str = "light",
    marker_px: float | None = None,
    what: str = "categories",
) -> Arranged:
    """Lay ``fig`` out in place for a page of ``width`` x ``height`` CSS px (see the module).

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        A map or comparison as drawn by ``figure()``.
    width, height : float
        The page in CSS pixels (inches x 96). ``height=None`` fits the page to its content
        (:meth:`_Frame.fit_height`): the whole legend and a map nearly as large as the width
        allows, between 0.5 and 1.6 times the width.
    fonts : Fonts
        Sizes in points.
    theme : {"light", "dark"}
        Colours of text, halos and leader lines.
    marker_px : float, optional
        Marker diameter; by default chosen from the map's area and number of points.
    what : str
        What the legend's entries are, for its note ("condition categories").

    Returns
    -------
    Arranged
    """
    colors = theme_colors(theme)
    frame = _Frame.of(fig, fonts)
    if height is None:
        height = frame.fit_height(width, what)
    title, panels, bounds, px = frame.title, frame.panels, frame.bounds, frame.px
    top, sub_h, cb_w = frame.top, frame.sub_h, frame.cb_w
    three_d = any(t.type == "scatter3d" for t in fig.data)
    scale, plan = frame.plan(width, height, what)
    for e in plan.folded:  # drawn grey, as the "other" entry says
        for j in e.traces:
            fig.data[j].marker.color = GREY
    # the map's area, and the legend's box beside or below it
    x0, y0 = PAD, top
    if plan.where == "right":
        x1, y1 = width - PAD - cb_w - plan.width - GAP, height - PAD
        legend_box = (x1 + GAP + cb_w, y0 + (y1 - y0 - plan.height) / 2)
    elif plan.where == "bottom":
        x1, y1 = width - PAD - cb_w, height - PAD - plan.height - GAP
        legend_box = (x0 + (x1 - x0 - plan.width) / 2, y1 + GAP)
    else:
        x1, y1 = width - PAD - cb_w, height - PAD
        legend_box = (x0, y1)
    n_markers = sum(len(t.x) for t in fig.data if t.x is not None and t.type != "scatter3d")
    if marker_px is None:
        area = (x1 - x0) * (y1 - y0) / max(1, len(panels))
        per_panel = n_markers / max(1, len(panels))
        marker_px = float(np.clip(0.45 * math.sqrt(area / max(1.0, per_panel)), 1.5, 6.0))
    opacity = 0.9 if n_markers <= 5_000 else 0.75 if n_markers <= 50_000 else 0.55
    for t in fig.data:
        if t.marker is not None:
            # WebGL 3-D markers come out larger than 2-D ones of the same size
            t.marker.size = marker_px * (0.4 if t.type == "scatter3d" else 1.0)
            t.marker.opacity = opacity
    _place_everything(fig, width, height, (x0, y0, x1, y1), scale, panels, bounds, sub_h,
                      three_d)  # fmt: skip
    _style(fig, fonts, colors, title, top)
    if frame.colorbar:
        _colorbar(fig, width, height, x1, y0, y1, cb_w, px["legend"])
    for a in frame.subtitles:
        a.font = {"size": px["base"], "color": colors.text}
    if plan.entries:
        pw_, ph_ = _paper(width, height)
        left, top_ = legend_box
        domain = (
            _unit((left - PAD) / pw_, (left + max(plan.width, 1.0) - PAD) / pw_),
            _unit(1 - (top_ + max(plan.height, 1.0) - PAD) / ph_, 1 - (top_ - PAD) / ph_),
        )
        draw_legend(fig, plan, domain, px["legend"], colors.text)
    _place_cluster_names(fig, width, height, px["label"], colors)
    if plan.folded:  # the grey points below the coloured ones
        grey = {j for e in plan.folded for j in e.traces}
        fig.data = [*(fig.data[j] for j in sorted(grey)),
                    *(t for j, t in enumerate(fig.data) if j not in grey)]  # fmt: skip
    return Arranged(plan, (x0, y0, x1, y1), scale, marker_px, height)


def _paper(width: float, height: float) -> tuple[float, float]:
    """Size of plotly's paper (the plot area inside the margins of :data:`PAD`)."""
    return width - 2 * PAD, height - 2 * PAD


def _place_everything(
    fig: Any,
    width: float,
    height: float,
    area: tuple[float, float, float, float],
    scale: float,
    panels: list[tuple[str, str]],
    bounds: list[tuple[np.ndarray, np.ndarray]],
    sub_h: float,
    three_d: bool,
) -> None:
    """Margins, panel domains and axis ranges: one data unit as long in x as in y."""
    pw_, ph_ = _paper(width, height)
    x0, y0, x1, y1 = area
    fig.update_layout(
        width=width,
        height=height,
        autosize=False,
        margin={"l": PAD, "r": PAD, "t": PAD, "b": PAD, "pad": 0, "autoexpand": False},
        showlegend=False,
    )
    if three_d:
        for key in [k for k in fig.layout if k.startswith("scene")]:
            fig.layout[key].domain = {
                "x": _unit((x0 - PAD) / pw_, (x1 - PAD) / pw_),
                "y": _unit(1 - (y1 - PAD) / ph_, 1 - (y0 + sub_h - PAD) / ph_),
            }
        return
    n = max(1, len(panels))
    pw = (x1 - x0 - GAP * (n - 1)) / n
    for j, (xa, ya) in enumerate(panels):
        lo, hi = bounds[j]
        left = x0 + j * (pw + GAP)
        centre = (lo + hi) / 2
        half_w, half_h = pw / 2 / scale, (y1 - y0 - sub_h) / 2 / scale
        xaxis = fig.layout[_axis_key(xa)]
        yaxis = fig.layout[_axis_key(ya)]
        xaxis.update(
            domain=_unit((left - PAD) / pw_, (left + pw - PAD) / pw_),
            range=[centre[0] - half_w, centre[0] + half_w],
            autorange=False,
            showticklabels=False,
            showgrid=False,
            zeroline=False,
        )
        yaxis.update(
            domain=_unit(1 - (y1 - PAD) / ph_, 1 - (y0 + sub_h - PAD) / ph_),
            range=[centre[1] - half_h, centre[1] + half_h],
            autorange=False,
            showticklabels=False,
            showgrid=False,
            zeroline=False,
        )
        yaxis.scaleanchor = None
        for a in fig.layout.annotations:
            subtitle = a.xref == "paper" and a.yref == "paper" and a.name != "cluster"
            if subtitle and abs(a.x - (j + 0.5) / n) < 0.5 / n:  # this panel's subtitle
                a.update(x=(left + pw / 2 - PAD) / pw_, y=1 - (y0 - PAD) / ph_,
                             yanchor="top", xanchor="center")  # fmt: skip


def _unit(a: float, b: float) -> list[float]:
    """A domain ``[a, b]`` kept inside [0, 1] (rounding can step a hair outside)."""
    return [min(1.0, max(0.0, a)), min(1.0, max(0.0, b))]


def _axis_key(ref: str) -> str:
    """``"x2"`` -> ``"xaxis2"``."""
    return f"{ref[0]}axis{ref[1:]}"


def _style(fig: Any, fonts: Fonts, colors: Any, title: str | None, top: float) -> None:
    """Fonts in points (as px) in the one family the label widths were measured in."""
    fig.update_layout(
        font={"family": FONT_FAMILY, "size": fonts.base * PX_PER_PT, "color": colors.text},
        title=(
            {
                "text": title,
                "font": {"size": fonts.title * PX_PER_PT},
                "x": PAD / float(fig.layout.width),
                "xanchor": "left",
                "xref": "container",
                "y": 1 - PAD / float(fig.layout.height),
                "yanchor": "top",
                "yref": "container",
                "pad": {"t": 0, "b": 0, "l": 0, "r": 0},
            }
            if title
            else None
        ),
    )


def _colorbar_width(size: float) -> float:
    """Room for a colour bar: the bar, its tick labels and its title turned along it."""
    return GAP + 0.11 * PX_PER_IN + 3 + text_width("-0.000", size) + LINE_HEIGHT * size


def _colorbar(
    fig: Any, width: float, height: float, x1: float, y0: float, y1: float, cb_w: float, size: float
) -> None:
    """The colour bar in its reserved column right of the map."""
    pw_, ph_ = _paper(width, height)
    for t in fig.data:
        if getattr(t, "marker", None) is not None and t.marker.showscale:
            t.marker.colorbar.update(
                x=(x1 + GAP - PAD) / pw_,
                xanchor="left",
                xref="paper",
                y=1 - ((y0 + y1) / 2 - PAD) / ph_,
                yanchor="middle",
                len=0.75 * (y1 - y0) / ph_,
                lenmode="fraction",
                thickness=0.11 * PX_PER_IN,
                outlinewidth=0,
                xpad=0,
                ypad=0,
                tickfont={"size": size},
                title={"font": {"size": size}, "side": "right"},
            )


def _place_cluster_names(fig: Any, width: float, height: float, size: float, colors: Any) -> None:
    """Re-place the cluster names of 2-D panels in px so that no two overlap."""
    names = [a for a in fig.layout.annotations if a.name == "cluster" and a.xref and a.yref]
    if not names:
        return
    others = [a for a in fig.layout.annotations if a.name != "cluster"]
    pw_, ph_ = _paper(width, height)
    placed: list[dict[str, Any]] = []
    by_panel: dict[tuple[str, str], list[Any]] = {}
    for a in names:
        by_panel.setdefault((a.xref, a.yref), []).append(a)
    for (xr, yr), notes in by_panel.items():
        xaxis, yaxis = fig.layout[_axis_key(xr)], fig.layout[_axis_key(yr)]
        (dx0, dx1), (dy0, dy1) = xaxis.domain, yaxis.domain
        (rx0, rx1), (ry0, ry1) = xaxis.range, yaxis.range
        left, right = PAD + dx0 * pw_, PAD + dx1 * pw_
        top, bottom = PAD + (1 - dy1) * ph_, PAD + (1 - dy0) * ph_
        data = np.array([[a.x, a.y] for a in notes], dtype=np.float64)
        anchors = np.column_stack([
            left + (data[:, 0] - rx0) / (rx1 - rx0) * (right - left),
            top + (ry1 - data[:, 1]) / (ry1 - ry0) * (bottom - top),
        ])  # fmt: skip
        texts = [a.text for a in notes]
        sizes = np.array([text_box(_unescape(t), size) for t in texts])
        offsets = place_labels(anchors, sizes, (left, top, right, bottom))
        placed += label_annotations(
            data, texts, offsets, size=size, color=colors.text, halo=colors.background,
            line_color=colors.muted_text, refs=(xr, yr),
        )  # fmt: skip
    fig.layout.annotations = [*others, *placed]


def _unescape(text: str) -> str:
    import html

    return html.unescape(text)
