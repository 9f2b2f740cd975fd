"""The matplotlib fallback: draws a figure laid out by :func:`interpret.maps.printed.arrange`.

Where kaleido or a Chromium is missing, the exporters draw the same figure with matplotlib's
object API (no pyplot, no global state): every axis where its domain says, at its range, each
scatter trace with its colours, shapes, sizes (pixels at 96 to the inch, turned into points) and
opacity, the colour bar in its column, annotations with their offsets and leader lines, the
legend axis, and the title. The figure is exactly ``width`` x ``height`` CSS pixels (inches x
96): no tight bounding box trims it. Text stays text in SVG and PDF (TrueType embedded).
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import numpy as np

from embedlens._utils import atomic_path

#: plotly marker symbols and their matplotlib markers
MARKERS = {
    "circle": "o", "square": "s", "diamond": "D", "triangle-up": "^", "triangle-down": "v",
    "cross": "P", "x": "X", "star": "*",
}  # fmt: skip
_PT_PER_PX = 0.75


def plain(text: str) -> str:
    """plotly's label HTML as plain text for matplotlib (``<br>`` as a new line)."""
    text = re.sub(r"<br\s*/?>", "\n", text)
    return html.unescape(re.sub(r"</?(b|i|sup|sub|span)[^>]*>", "", text))


def _rect(
    domain_x: Any, domain_y: Any, margin: dict[str, float], size: tuple[float, float]
) -> tuple[float, float, float, float]:
    """A domain of plotly's paper as matplotlib's [left, bottom, width, height] figure fraction."""
    width, height = size
    pw = width - margin["l"] - margin["r"]
    ph = height - margin["t"] - margin["b"]
    dx = list(domain_x or (0.0, 1.0))
    dy = list(domain_y or (0.0, 1.0))
    return (
        (margin["l"] + dx[0] * pw) / width,
        (margin["b"] + dy[0] * ph) / height,
        (dx[1] - dx[0]) * pw / width,
        (dy[1] - dy[0]) * ph / height,
    )


def _margin(fig: Any) -> dict[str, float]:
    m = fig.layout.margin
    return {k: float(getattr(m, k) if getattr(m, k) is not None else 0.0) for k in "lrtb"}


def render(
    fig: Any, path: Path, fmt: str, width: float, height: float, dpi: float | None, scale: float
) -> None:
    """Write ``fig`` (arranged) as ``fmt`` at ``width`` x ``height`` CSS px and ``dpi``
    (``None``: ``96 * scale`` pixels per inch, as kaleido's ``scale``)."""
    import matplotlib

    rc: Any = {
        "svg.fonttype": "none",  # text stays text in SVG ...
        "pdf.fonttype": 42,  # ... and TrueType in PDF
        "font.family": "DejaVu Sans",
        "font.size": 8,
    }
    with matplotlib.rc_context(rc):
        _render(fig, path, fmt, width, height, float(dpi) if dpi else 96.0 * scale)


def _render(fig: Any, path: Path, fmt: str, width: float, height: float, dpi: float) -> None:
    from matplotlib.figure import Figure

    background = fig.layout.paper_bgcolor or "#ffffff"
    ink = (fig.layout.font.color if fig.layout.font is not None else None) or "#1a1a1a"
    margin = _margin(fig)
    size = (width, height)
    mfig = Figure(figsize=(width / 96.0, height / 96.0), dpi=dpi, facecolor=background)
    axes: dict[Any, Any] = {}

    def axes_of(xref: str, yref: str) -> Any:
        key = (xref, yref)
        if key not in axes:
            xa = fig.layout[f"xaxis{xref[1:]}"]
            ya = fig.layout[f"yaxis{yref[1:]}"]
            ax = mfig.add_axes(_rect(xa.domain, ya.domain, margin, size), facecolor="none")
            ax.set_axis_off()
            if xa.range is not None:
                ax.set_xlim(*xa.range)
            if ya.range is not None:
                ax.set_ylim(*ya.range)
            axes[key] = ax
        return axes[key]

    for z, trace in enumerate(fig.data):
        if trace.x is None or len(trace.x) == 0:
            continue
        if trace.type == "scatter3d":
            key = trace.scene or "scene"
            if key not in axes:
                scene = fig.layout[key]
                axes[key] = mfig.add_axes(
                    _rect(scene.domain.x, scene.domain.y, margin, size), projection="3d"
                )
                axes[key].set_facecolor(background)
                for axis in (axes[key].xaxis, axes[key].yaxis, axes[key].zaxis):
                    axis.set_ticklabels([])  # as plotly's maps: positions carry no meaning
            ax = axes[key]
        else:
            ax = axes_of(trace.xaxis or "x", trace.yaxis or "y")
        _scatter(mfig, fig, ax, trace, z, margin, size, ink)
    for note in fig.layout.annotations or ():
        _annotation(mfig, note, axes_of, margin, size, ink, background)
    title = fig.layout.title
    if title is not None and title.text:
        font = title.font.size if title.font is not None and title.font.size else 12
        x = title.x if title.x is not None else 0.02
        y = title.y if title.y is not None else 0.98
        mfig.text(x, y, plain(title.text), ha="left", va="top", color=ink,
                  fontsize=font * _PT_PER_PX)  # fmt: skip
    with atomic_path(path) as tmp:
        mfig.savefig(tmp, format=fmt, facecolor=background, dpi=dpi)


def _scatter(mfig: Any, fig: Any, ax: Any, trace: Any, z: int, margin: Any, size: Any, ink: str) -> None:  # fmt: skip
    """One scatter trace: colours (one, per point, or a colour scale), shapes, sizes, opacity."""
    marker = trace.marker
    coords = [np.asarray(trace.x, dtype=float), np.asarray(trace.y, dtype=float)]
    if trace.type == "scatter3d":
        coords.append(np.asarray(trace.z, dtype=float))
    px = float(marker.size) if marker is not None and isinstance(marker.size, (int, float)) else 6.0
    style: dict[str, Any] = {"s": (px * _PT_PER_PX) ** 2, "linewidths": 0, "zorder": z}
    style["alpha"] = float(marker.opacity) if marker.opacity is not None else 1.0
    color = marker.color
    symbols = marker.symbol
    if isinstance(color, str):
        style["color"] = color
    elif color is not None and marker.colorscale is not None:
        style.update(c=np.asarray(color, dtype=float), cmap="viridis",
                     vmin=marker.cmin, vmax=marker.cmax)  # fmt: skip
    elif color is not None:
        style["color"] = list(color)
    if isinstance(symbols, str) or symbols is None:
        style["marker"] = MARKERS.get(symbols or "circle", "o")
        points = ax.scatter(*coords, **style)
    else:  # one shape per point (the legend's swatches): one call per shape
        colors = style.pop("color", None)
        for shape in sorted(set(symbols)):
            idx = [i for i, s in enumerate(symbols) if s == shape]
            part = {**style, "marker": MARKERS.get(shape, "o")}
            if isinstance(colors, list):
                part["color"] = [colors[i] for i in idx]
            points = ax.scatter(*(c[idx] for c in coords), **part)
    if marker is not None and marker.showscale:
        bar = marker.colorbar
        width, height = size
        ph = height - margin["t"] - margin["b"]
        pw = width - margin["l"] - margin["r"]
        length = float(bar.len or 0.75)
        thick = float(bar.thickness or 12)
        y = float(bar.y if bar.y is not None else 0.5)
        left = (margin["l"] + float(bar.x if bar.x is not None else 1.02) * pw) / width
        bottom = (margin["b"] + (y - length / 2) * ph) / height
        cax = mfig.add_axes((left, bottom, thick / width, length * ph / height))
        cb = mfig.colorbar(points, cax=cax)
        tick = bar.tickfont.size if bar.tickfont is not None and bar.tickfont.size else 10
        cb.ax.tick_params(labelsize=tick * _PT_PER_PX, colors=ink, length=2)
        cb.outline.set_visible(False)
        if bar.title is not None and bar.title.text:  # along the bar, as plotly's side="right"
            cb.set_label(plain(bar.title.text), fontsize=tick * _PT_PER_PX, color=ink)


def _annotation(mfig: Any, note: Any, axes_of: Any, margin: Any, size: Any, ink: str,
                background: str) -> None:  # fmt: skip
    """One annotation: in data coordinates (offsets, leader lines) or on the paper."""
    from matplotlib import patheffects

    if not note.text or note.x is None or note.y is None:
        return
    font = note.font
    pts = (font.size if font is not None and font.size else 12) * _PT_PER_PX
    color = (font.color if font is not None and font.color else None) or ink
    ha = {"left": "left", "right": "right"}.get(note.xanchor or "center", "center")
    va = {"top": "top", "bottom": "bottom"}.get(note.yanchor or "middle", "center")
    style: dict[str, Any] = {"fontsize": pts, "color": color, "ha": ha, "va": va}
    if font is not None and font.shadow and font.shadow != "none":
        style["path_effects"] = [patheffects.withStroke(linewidth=1.6, foreground=background)]
    text = plain(note.text)
    xref, yref = note.xref or "x", note.yref or "y"
    if xref.startswith("paper") or yref.startswith("paper"):
        width, height = size
        pw = width - margin["l"] - margin["r"]
        ph = height - margin["t"] - margin["b"]
        fx = (margin["l"] + note.x * pw) / width
        fy = (margin["b"] + note.y * ph) / height
        mfig.text(fx, fy, text, **style)
        return
    ax = axes_of(xref, yref)
    if note.showarrow:
        arrow = {"arrowstyle": "-", "lw": float(note.arrowwidth or 1) * _PT_PER_PX,
                 "color": note.arrowcolor or ink, "shrinkA": 1, "shrinkB": 1}  # fmt: skip
        offset = (float(note.ax or 0) * _PT_PER_PX, -float(note.ay or 0) * _PT_PER_PX)
        ax.annotate(text, (note.x, note.y), xytext=offset, textcoords="offset points",
                    arrowprops=arrow, annotation_clip=False, **style)  # fmt: skip
    else:
        offset = (float(note.xshift or 0) * _PT_PER_PX, float(note.yshift or 0) * _PT_PER_PX)
        ax.annotate(text, (note.x, note.y), xytext=offset, textcoords="offset points",
                    annotation_clip=False, **style)  # fmt: skip
