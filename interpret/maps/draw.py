"""Drawing embedding maps with plotly: hover text, colours, traces and the figure's layout.

Drawing only: coordinates and columns come in computed. Every string that came from data
(texts, labels, ids, cluster names) is HTML-escaped here, because plotly renders a subset of
HTML in hover labels, legends and annotations: a text containing ``<b>`` or ``<script>`` must
show as those characters, not change the page. plotly is imported inside the functions.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from interpret.maps.data import MISSING, PointData
from interpret.maps.labels import FONT_FAMILY
from interpret.maps.palette import GREY, palette, theme_colors

__all__ = ["GREY", "OTHER", "palette"]  # re-exported: colours live in interpret.maps.palette

OTHER = "(other)"
#: marker shapes of categories with ``symbols=True`` (shapes WebGL and matplotlib both draw)
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "cross", "x")
logger = logging.getLogger(__name__)


@dataclass
class Coloring:
    """How points are coloured: ``kind`` is "none", "categorical" or "continuous"."""

    kind: str
    name: str = ""
    values: np.ndarray | None = None
    names: dict[Any, str] | None = None  # display names of categories (e.g. cluster keywords)
    muted: tuple[Any, ...] = ()  # categories drawn grey, such as HDBSCAN's noise


@dataclass
class Style:
    """Marker and hover settings; ``None`` fields are chosen from the number of points."""

    size: float | None = None
    opacity: float | None = None
    hover_width: int = 60
    hover_chars: int | None = None
    max_categories: int = 30
    symbols: bool = False  # a marker shape per category as well as a colour

    def resolved(self, n: int) -> Style:
        size = self.size if self.size is not None else _by_n(n, (7.0, 5.0, 3.0, 2.0))
        opacity = self.opacity if self.opacity is not None else _by_n(n, (0.9, 0.8, 0.6, 0.45))
        chars = (
            self.hover_chars if self.hover_chars is not None else int(_by_n(n, (400, 300, 160, 80)))
        )
        return Style(size, opacity, self.hover_width, chars, self.max_categories, self.symbols)


def _by_n(n: int, choices: tuple[float, float, float, float]) -> float:
    """Pick by scale: up to 1k, 10k, 100k points, and beyond."""
    for limit, value in zip((1_000, 10_000, 100_000), choices, strict=False):
        if n <= limit:
            return value
    return choices[-1]


# --------------------------------------------------------------------------- hover text


def wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap at ``width`` characters (long words are cut); whitespace collapsed."""
    words = text.split()
    lines: list[str] = []
    line = ""
    for word in words:
        while len(word) > width:
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:width])
            word = word[width:]
        if not line:
            line = word
        elif len(line) + 1 + len(word) <= width:
            line = f"{line} {word}"
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def plotly_text(text: str) -> str:
    """``text`` escaped for a plotly label (hover, legend, annotation, colour-bar title).

    ``&``, ``<`` and ``>`` become entities, so a tag in the data shows as typed; quotes stay as
    they are, since plotly decodes only a few named entities and would show ``&quot;`` literally.

    Examples
    --------
    >>> plotly_text('<b>"x" & y</b>')
    '&lt;b&gt;"x" &amp; y&lt;/b&gt;'
    """
    return html.escape(text, quote=False)


def hover_text(text: str, *, width: int, max_chars: int) -> str:
    """One text as hover HTML: truncated to ``max_chars``, escaped, wrapped with ``<br>``."""
    flat = " ".join(text.split())
    if len(flat) > max_chars:
        flat = flat[: max(1, max_chars - 1)].rstrip() + "…"
    return "<br>".join(plotly_text(line) for line in wrap(flat, width))


def hover_texts(data: PointData, style: Style, extra: Sequence[tuple[str, Any]] = ()) -> np.ndarray:
    """Hover HTML for every point: a header (id or index, labels, values) and the text.

    ``extra`` adds ``(name, column)`` pairs to the header, such as clusters or overlap scores.
    Returns an object array of ``str`` (plotly takes it without copying each string).
    """
    width = max(10, int(style.hover_width))
    max_chars = max(1, int(style.hover_chars or 300))
    esc = plotly_text
    if data.ids is not None:
        heads = [f"<b>{esc(str(v))}</b>" for v in data.ids.tolist()]
    else:
        heads = [f"<b>#{i}</b>" for i in range(data.n)]
    pieces: list[list[str]] = [heads]
    columns = [(k, v, False) for k, v in data.labels.items()]
    columns += [(k, v, True) for k, v in data.values.items()]
    columns += [(k, v, isinstance(v, np.ndarray) and v.dtype.kind == "f") for k, v in extra]
    for name, col, numeric in columns:
        label = esc(str(name))
        if numeric:
            pieces.append([f"{label}: {v:.3g}" for v in np.asarray(col, dtype=float).tolist()])
        else:  # few distinct categories: escape each once
            keys, inverse = np.unique(
                np.asarray(col, dtype=object).astype(str), return_inverse=True
            )
            shown = np.array([f"{label}: {esc(k)}" for k in keys.tolist()], dtype=object)
            pieces.append(shown[inverse.reshape(-1)].tolist())
    lines = [" · ".join(parts) for parts in zip(*pieces, strict=True)]
    if data.texts is not None:
        lines = [
            f"{line}<br>{_hover_body(text, width, max_chars)}"
            for line, text in zip(lines, data.texts, strict=True)
        ]
    out = np.empty(data.n, dtype=object)
    out[:] = lines
    return out


def _hover_body(text: str, width: int, max_chars: int) -> str:
    """:func:`hover_text` with a fast path for short single-line texts."""
    if (
        len(text) <= min(width, max_chars)
        and text.isprintable()
        and "  " not in text
        and text == text.strip()
    ):
        return plotly_text(text)
    return hover_text(text, width=width, max_chars=max_chars)


# --------------------------------------------------------------------------- traces


def categories(values: np.ndarray, max_categories: int) -> tuple[list[Any], np.ndarray]:
    """Categories by decreasing count (ties by value); those past ``max_categories`` fold.

    Returns the shown categories (with ``"(other)"`` last when some were folded) and each
    point's position in that list.
    """
    keys, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    order = sorted(range(len(keys)), key=lambda j: (-counts[j], str(keys[j])))
    keep = order[:max_categories]
    rank = np.full(len(keys), len(keep), dtype=np.int64)
    rank[keep] = np.arange(len(keep))
    shown: list[Any] = [keys[j] for j in keep]
    if len(order) > len(keep):
        shown.append(OTHER)
    return shown, rank[inverse.reshape(-1)]


def _scatter(coords: np.ndarray, idx: np.ndarray, **kwargs: Any) -> Any:
    import plotly.graph_objects as go

    xyz = {"x": coords[idx, 0], "y": coords[idx, 1]}
    if coords.shape[1] == 3:
        return go.Scatter3d(**xyz, z=coords[idx, 2], mode="markers", **kwargs)
    return go.Scattergl(**xyz, mode="markers", **kwargs)


def point_traces(
    coords: np.ndarray,
    hover: np.ndarray,
    coloring: Coloring,
    style: Style,
    *,
    showlegend: bool = True,
    scene: str | None = None,
    axes: tuple[str, str] | None = None,
    customdata: np.ndarray | None = None,
) -> tuple[list[Any], list[np.ndarray]]:
    """The traces of one panel and, for each, the indices of the points it draws.

    Categorical colours give one trace per category, all in legend group ``str(category)``
    (a second panel passes ``showlegend=False`` and shares the groups, so the legend toggles
    both); continuous colours give one trace with a colour bar plus one for missing values.
    """
    n = coords.shape[0]
    all_idx = np.arange(n)
    custom = all_idx.astype(np.int32) if customdata is None else customdata
    where: dict[str, Any] = {}
    if scene is not None:
        where["scene"] = scene
    if axes is not None:
        where["xaxis"], where["yaxis"] = axes
    common = {"hovertemplate": "%{hovertext}<extra></extra>", **where}
    marker = {"size": style.size, "opacity": style.opacity}
    traces: list[Any] = []
    members: list[np.ndarray] = []

    def add(idx: np.ndarray, **kwargs: Any) -> None:
        kwargs.setdefault("showlegend", showlegend)
        traces.append(
            _scatter(coords, idx, hovertext=hover[idx], customdata=custom[idx], **kwargs, **common)
        )
        members.append(idx)

    if coloring.kind == "categorical" and coloring.values is not None:
        shown, pos = categories(coloring.values, style.max_categories)
        colors = palette(len(shown))
        for j, cat in enumerate(shown):
            idx = np.flatnonzero(pos == j)
            label = (coloring.names or {}).get(cat, str(cat))
            grey = any(cat == m for m in (OTHER, MISSING, *coloring.muted))
            shape = {"symbol": SYMBOLS[j % len(SYMBOLS)]} if style.symbols else {}
            add(
                idx,
                name=f"{plotly_text(label)} ({idx.size:,})",
                legendgroup=str(cat),
                marker={**marker, **shape, "color": GREY if grey else colors[j]},
            )
    elif coloring.kind == "continuous" and coloring.values is not None:
        vals = np.asarray(coloring.values, dtype=np.float64)
        ok = np.isfinite(vals)
        lo, hi = (float(vals[ok].min()), float(vals[ok].max())) if ok.any() else (0.0, 1.0)
        idx = np.flatnonzero(ok)
        add(
            idx,
            name=plotly_text(coloring.name),
            showlegend=False,
            marker={
                **marker,
                "color": vals[idx].astype(np.float32),
                "colorscale": "Viridis",
                "cmin": lo,
                "cmax": hi,
                "showscale": showlegend,
                "colorbar": {"title": {"text": plotly_text(coloring.name)}},
            },
        )
        if not ok.all():
            add(np.flatnonzero(~ok), name="(no value)", marker={**marker, "color": GREY})
    else:
        add(all_idx, name="points", showlegend=False, marker={**marker, "color": "#3366aa"})
    return traces, members


def axis_titles(method: str, n_components: int) -> list[str]:
    stem = {"umap": "UMAP", "pca": "PC", "tsne": "t-SNE"}.get(method, method)
    sep = "" if stem == "PC" else " "
    return [f"{stem}{sep}{i + 1}" for i in range(n_components)]


def style_layout(
    fig: Any,
    *,
    method: str,
    n_components: int,
    title: str | None,
    theme: str = "light",
    font_size: float | None = None,
) -> None:
    """The shared look: light or dark theme, hidden tick labels, compact legend.

    Backgrounds and the font colour are set explicitly (not only through the template), so
    image exports that redraw the figure (matplotlib) keep the theme.
    """
    colors = theme_colors(theme)
    fig.update_layout(
        template=colors.plotly_template,
        paper_bgcolor=colors.background,
        plot_bgcolor=colors.background,
        font={
            "color": colors.text,
            "family": FONT_FAMILY,
            **({"size": font_size} if font_size else {}),
        },
        title={"text": title} if title else None,
        hovermode="closest",
        legend={"itemsizing": "constant", "tracegroupgap": 0},
        margin={"l": 10, "r": 10, "t": 50 if title else 20, "b": 10},
        hoverlabel={"align": "left"},
    )
    names = axis_titles(method, n_components)
    if n_components == 3:
        axis = {"showticklabels": False}
        fig.update_scenes(
            xaxis={**axis, "title": {"text": names[0]}},
            yaxis={**axis, "title": {"text": names[1]}},
            zaxis={**axis, "title": {"text": names[2]}},
        )
    else:
        fig.update_xaxes(showticklabels=False, zeroline=False, showgrid=False)
        fig.update_yaxes(showticklabels=False, zeroline=False, showgrid=False)


def cluster_annotations(
    centres: np.ndarray,
    names: Sequence[str],
    *,
    scene: bool = False,
    theme: str = "light",
    font_size: float = 12,
    area: tuple[float, float] = (700.0, 450.0),
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[dict[str, Any]]:
    """Cluster names (escaped) at their centres, for ``layout.annotations`` or a scene's.

    In 2-D the names are kept apart (:func:`interpret.maps.labels.place_labels`) for a plot of
    ``area`` px showing ``bounds`` (lowest and highest coordinates) at one scale in x and y;
    a name that had to move gets a leader line to its centre. No box is drawn behind a name,
    only a halo around its letters, so the points under it stay visible.
    """
    from interpret.maps.labels import label_annotations, place_labels, text_box

    colors = theme_colors(theme)
    texts = [plotly_text(name) for name in names]
    pts = np.asarray(centres, dtype=np.float64).reshape(len(texts), -1)
    offsets = None
    if not scene and len(texts) and bounds is not None:
        lo, hi = (np.asarray(b, dtype=np.float64) for b in bounds)
        span = np.maximum(hi - lo, 1e-9)
        w, h = area
        s = min(w / span[0], h / span[1])
        centre = (lo + hi) / 2
        anchors = np.column_stack(
            [w / 2 + (pts[:, 0] - centre[0]) * s, h / 2 - (pts[:, 1] - centre[1]) * s]
        )
        sizes = np.array([text_box(name, font_size) for name in names])
        offsets = place_labels(anchors, sizes, (0.0, 0.0, w, h))
    notes = label_annotations(
        pts[:, :2], texts, offsets, size=font_size, color=colors.text,
        halo=colors.background, line_color=colors.muted_text,
    )  # fmt: skip
    if scene:
        for note, p in zip(notes, pts, strict=True):
            note["z"] = float(p[2])
            for key in ("xref", "yref", "name"):
                note.pop(key)
    return notes


#: more colours than this and readers start to confuse them (the figure says so)
MANY_COLORS = 10


def warn_many_colors(coloring: Coloring, shown: int, symbols: bool = False) -> None:
    """Log the suggestion of facets or shapes for a figure of more than :data:`MANY_COLORS`
    categories drawn in colour alone."""
    if shown > MANY_COLORS and not symbols:
        logger.warning(
            "%d colours for %r: beyond about %d categories readers confuse colours; show "
            "subsets side by side (facets: one map per group of categories, e.g. "
            "figure(color=...) on maps of subsets) or add marker shapes (figure(symbols=True))",
            shown,
            coloring.name,
            MANY_COLORS,
        )


def resolve_coloring(color: Any, data: PointData, clusters: Any, max_categories: int) -> Coloring:
    """Turn ``figure(color=...)`` into a :class:`Coloring` (see ``EmbeddingMap.figure``)."""
    if color is None:
        if data.labels:
            color = next(iter(data.labels))
        elif data.values:
            color = next(iter(data.values))
        elif clusters is not None:
            color = "cluster"
        else:
            return Coloring("none")
    if isinstance(color, str):
        if color == "none":
            return Coloring("none")
        if color in data.labels:
            return Coloring("categorical", color, data.labels[color])
        if color in data.values:
            return Coloring("continuous", color, data.values[color])
        if color == "cluster":
            if clusters is None:
                raise ValueError("color='cluster' needs clusters: call m.cluster() first")
            return Coloring(
                "categorical",
                "cluster",
                clusters.labels,
                clusters.display_names(),
                (-1,),
            )
        known = [
            *data.labels,
            *data.values,
            *(["cluster"] if clusters is not None else []),
        ]
        raise ValueError(
            f"unknown color {color!r}: use one of {known or 'no named columns'} (the names "
            "of labels= and values= given to fit), 'none', or an array with one entry per point"
        )
    arr = np.asarray(color)
    if arr.ndim != 1 or arr.shape[0] != data.n:
        raise ValueError(
            f"color as an array needs one entry per point ({data.n}), got shape {arr.shape}"
        )
    numeric = arr.dtype.kind in "fc" or (
        arr.dtype.kind in "iu" and np.unique(arr).size > max_categories
    )
    if numeric:
        return Coloring("continuous", "value", arr.astype(np.float64))
    return Coloring("categorical", "color", np.array([str(v) for v in arr], dtype=object))
