"""Labels that read on a map: how much room a text takes, and where labels go so none overlaps.

:func:`text_width` measures a text with the advance widths of DejaVu Sans, the font the figures
ask for first (Verdana, its near twin, and Arial are narrower or equal, so the measure is an
upper bound where those are used). :func:`place_labels` puts each label at its anchor (a
cluster's centre) when it fits there, and otherwise on the nearest free spot of rings around
it, so that no two labels overlap and none leaves the plot; a label moved off its anchor gets a
thin leader line back to it (drawn by :func:`label_annotations`). Labels have no box behind
them, only a thin halo of the background colour around the letters, so the points under a label
stay visible. Only numpy is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: advance widths of DejaVu Sans (characters 32-126), in em
_ADVANCE = (
    0.318, 0.401, 0.46, 0.838, 0.636, 0.95, 0.78, 0.275, 0.39, 0.39, 0.5, 0.838, 0.318, 0.361,
    0.318, 0.337, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.337,
    0.337, 0.838, 0.838, 0.838, 0.531, 1.0, 0.684, 0.686, 0.698, 0.77, 0.632, 0.575, 0.775,
    0.752, 0.295, 0.295, 0.656, 0.557, 0.863, 0.748, 0.787, 0.603, 0.787, 0.695, 0.635, 0.611,
    0.732, 0.684, 0.989, 0.685, 0.611, 0.685, 0.39, 0.337, 0.39, 0.838, 0.5, 0.5, 0.613, 0.635,
    0.55, 0.635, 0.615, 0.352, 0.635, 0.634, 0.278, 0.278, 0.579, 0.278, 0.974, 0.634, 0.612,
    0.635, 0.635, 0.411, 0.521, 0.392, 0.634, 0.592, 0.818, 0.592, 0.592, 0.525, 0.636, 0.337,
    0.636, 0.838,
)  # fmt: skip
_OTHER_CHAR = 0.75  # any character past ASCII: a generous width
#: the font family of figures: DejaVu Sans first (what the widths above measure)
FONT_FAMILY = '"DejaVu Sans", Verdana, Arial, sans-serif'
#: line height of a text, in font sizes (plotly's own line spacing)
LINE_HEIGHT = 1.3


def text_width(text: str, size: float) -> float:
    """Width of ``text`` (one line) set in DejaVu Sans at ``size`` (any unit; same unit back).

    Examples
    --------
    >>> round(text_width("mm", 10.0), 2)
    19.48
    """
    em = 0.0
    for ch in text:
        code = ord(ch)
        em += _ADVANCE[code - 32] if 32 <= code < 127 else _OTHER_CHAR
    return em * size


def text_box(text: str, size: float) -> tuple[float, float]:
    """``(width, height)`` of a label of one or more lines (``<br>`` or newline separated)."""
    lines = text.replace("<br>", "\n").split("\n")
    # renderers round glyph positions: a pixel and a half more than the sum of advances
    return max(text_width(line, size) for line in lines) + 1.5, LINE_HEIGHT * size * len(lines)


def _candidates(step: float, reach: float) -> np.ndarray:
    """Offsets to try, nearest first: the anchor, then rings of 16 directions."""
    out = [(0.0, 0.0)]
    angles = np.deg2rad(np.array([90, 270, 0, 180, 45, 135, 225, 315, 22.5, 67.5, 112.5,
                                  157.5, 202.5, 247.5, 292.5, 337.5]))  # fmt: skip
    radius = step
    while radius <= reach:
        out += [(radius * np.cos(a), -radius * np.sin(a)) for a in angles]
        radius += step
    return np.asarray(out, dtype=np.float64)


def _overlap(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Overlap areas of ``box`` (x0, y0, x1, y1) with each row of ``others``."""
    if others.size == 0:
        return np.zeros(0)
    w = np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0])
    h = np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1])
    return np.clip(w, 0, None) * np.clip(h, 0, None)


def place_labels(
    anchors: Any,
    sizes: Any,
    bounds: Sequence[float],
    *,
    gap: float = 2.0,
    reach: float | None = None,
) -> np.ndarray:
    """Offsets that keep labels apart: each label's centre goes to ``anchor + offset``.

    Labels are placed in order (put the most important first): each takes the first spot,
    nearest its anchor, where its box (grown by ``gap``) overlaps no label placed before and
    covers no other label's anchor. Every spot tried keeps the box inside ``bounds`` (spots
    past an edge are pulled back in). A label with no free spot within ``reach`` takes the
    spot with the least overlap, overlapping a label counting ten times covering an anchor.

    Parameters
    ----------
    anchors : array-like (m, 2)
        Where each label belongs, in pixels (y grows downwards, as on screen).
    sizes : array-like (m, 2)
        Width and height of each label, in pixels.
    bounds : (x0, y0, x1, y1)
        The area labels must stay in.
    gap : float
        Free pixels kept around each label.
    reach : float, optional
        How far a label may move; default half the smaller side of ``bounds``.

    Returns
    -------
    numpy.ndarray
        ``(m, 2)`` offsets in pixels.

    Examples
    --------
    >>> place_labels([[50, 50], [150, 150]], [[30, 10], [30, 10]], (0, 0, 200, 200)).tolist()
    [[0.0, 0.0], [0.0, 0.0]]
    >>> # two labels at nearly one spot: one goes above it, the other below
    >>> place_labels([[50, 50], [52, 50]], [[30, 10], [30, 10]], (0, 0, 200, 200)).tolist()
    [[0.0, -10.0], [0.0, 10.0]]
    """
    pts = np.asarray(anchors, dtype=np.float64).reshape(-1, 2)
    wh = np.asarray(sizes, dtype=np.float64).reshape(-1, 2)
    if pts.shape != wh.shape:
        raise ValueError(f"one size per anchor: got {len(pts)} anchors and {len(wh)} sizes")
    x0, y0, x1, y1 = (float(b) for b in bounds)
    if reach is None:
        reach = max(10.0, min(x1 - x0, y1 - y0) / 2)
    placed = np.zeros((0, 4))
    offsets = np.zeros_like(pts)
    dot = 3.0  # half the side of the square kept free around every anchor
    keep_free = np.column_stack([pts - dot, pts + dot]) if len(pts) else np.zeros((0, 4))
    for i, (anchor, (w, h)) in enumerate(zip(pts, wh, strict=True)):
        half = np.array([w / 2 + gap, h / 2 + gap])
        # centres that keep the box inside the bounds (centred where it is wider than them)
        lo = np.array([x0, y0]) + half
        hi = np.array([x1, y1]) - half
        mid = (np.array([x0, y0]) + np.array([x1, y1])) / 2
        lo, hi = np.where(lo <= hi, lo, mid), np.where(lo <= hi, hi, mid)
        best, best_cost = np.zeros(2), np.inf
        others = np.delete(keep_free, i, axis=0)
        seen: set[tuple[float, float]] = set()
        for offset in _candidates(max(2.0, 0.5 * h), reach):
            centre = np.clip(anchor + offset, lo, hi)
            key = (round(float(centre[0]), 1), round(float(centre[1]), 1))
            if key in seen:
                continue
            seen.add(key)
            box = np.concatenate([centre - half, centre + half])
            # overlapping a label is far worse than covering another cluster's centre
            cost = 10.0 * float(_overlap(box, placed).sum()) + float(_overlap(box, others).sum())
            if cost < best_cost:
                best, best_cost = centre - anchor, cost
            if cost == 0.0:
                break
        offsets[i] = best
        centre = anchor + best
        placed = np.vstack([placed, np.concatenate([centre - half + gap, centre + half - gap])])
    return offsets


def label_annotations(
    positions: np.ndarray,
    texts: Sequence[str],
    offsets: np.ndarray | None,
    *,
    size: float,
    color: str,
    halo: str,
    line_color: str,
    refs: tuple[str, str] = ("x", "y"),
    moved_beyond: float = 4.0,
) -> list[dict[str, Any]]:
    """plotly annotations of labels: text at ``position + offset`` (pixels), no box behind it,
    a halo of ``halo`` around the letters, and a leader line when the offset is large.

    ``texts`` must already be escaped for plotly. Each annotation is named ``"cluster"`` so that
    later layout steps find the labels among other annotations.
    """
    shadow = ", ".join(f"{halo} {dx}px {dy}px 0px" for dx, dy in _HALO)
    out = []
    for j, (pos, text) in enumerate(zip(positions, texts, strict=True)):
        dx, dy = (0.0, 0.0) if offsets is None else (float(offsets[j][0]), float(offsets[j][1]))
        moved = bool(np.hypot(dx, dy) > moved_beyond)
        note: dict[str, Any] = {
            "name": "cluster",
            "x": float(pos[0]),
            "y": float(pos[1]),
            "xref": refs[0],
            "yref": refs[1],
            "text": text,
            "font": {"size": size, "color": color, "shadow": shadow},
            "borderpad": 0,
            "showarrow": moved,
            "xanchor": "center",  # plotly's "auto" anchors a box by its edge at an arrow's tail
            "yanchor": "middle",
        }
        if moved:
            note.update(
                ax=dx, ay=dy, arrowhead=0, arrowwidth=0.8, arrowcolor=line_color, standoff=1
            )
        elif dx or dy:
            note.update(xshift=dx, yshift=-dy)  # plotly's yshift grows upwards
        out.append(note)
    return out


# offsets (px) of the halo's copies of a label: the eight neighbours, so letters get an outline
_HALO = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1))
