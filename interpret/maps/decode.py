"""Decoding the map: what text sits at a cluster centroid, or in an empty region of the layout.

A decoder is anything with ``invert(X) -> list[str]`` (an inverter, e.g. the object that
``inversion.invert`` builds, or :class:`inversion.search.SearchInverter`) or
``explain(X) -> list[str]`` (an explainer). This module only calls those methods (duck typing):
it imports no decoder package.

Centroids are the members' mean vector (unit vectors first under cosine, then rescaled to the
members' mean norm). An empty region is a cell of a ``grid x grid`` lattice over the map that
holds no point but borders cells that do; its centre goes back to the original space through
the layout's ``inverse_transform`` where the method has one (PCA exactly, UMAP approximately)
and, where it has none (t-SNE), the page says so and decodes no region. The work is bounded by
a :class:`DecodeBudget` (cells and seconds) and the page states what was and was not decoded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

#: rows per decoder call, so the time budget is checked between calls
DECODE_BATCH = 8


@dataclass(frozen=True)
class DecodeBudget:
    """Bounds of the decoding done at export.

    Parameters
    ----------
    max_cells : int
        Empty regions decoded at most.
    max_seconds : float
        No new decoder call starts after this many seconds (centroids first, then regions).
    grid : int
        The map is cut into ``grid x grid`` cells to find empty regions.
    """

    max_cells: int = 16
    max_seconds: float = 60.0
    grid: int = 12

    def check(self) -> DecodeBudget:
        for name in ("max_cells", "grid"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"DecodeBudget.{name} must be an integer >= 0, got {v!r}")
        if self.grid < 2:
            raise ValueError(f"DecodeBudget.grid must be at least 2, got {self.grid}")
        if not self.max_seconds > 0:
            raise ValueError(f"DecodeBudget.max_seconds must be > 0, got {self.max_seconds!r}")
        return self


def check_decoder(obj: Any, method: str, what: str) -> Any:
    """``obj`` if it has a callable ``method``, else a ``TypeError`` naming what is expected."""
    if obj is not None and not callable(getattr(obj, method, None)):
        raise TypeError(
            f"{what} must have a method {method}(X) -> list[str] (e.g. "
            f"{'inversion.invert' if method == 'invert' else 'an Explainer'}), got "
            f"{type(obj).__name__}"
        )
    return obj


def run_decoder(obj: Any, method: str, X: np.ndarray) -> list[str]:
    """``obj.method(X)`` checked: one string per row."""
    out = getattr(obj, method)(X)
    out = list(out) if not isinstance(out, str) else [out]
    if len(out) != X.shape[0] or not all(isinstance(t, str) for t in out):
        raise ValueError(
            f"{type(obj).__name__}.{method} returned {len(out)} item(s) for {X.shape[0]} vectors: "
            "it must return one str per row of X"
        )
    return out


def centroid_vectors(
    vectors: np.ndarray, labels: np.ndarray, ids: Sequence[int], metric: str
) -> np.ndarray:
    """Mean vector of each cluster in ``ids`` (cosine: mean direction at the mean norm)."""
    out = []
    for c in ids:
        members = vectors[labels == c]
        if metric == "cosine":
            norms = np.linalg.norm(members, axis=1, keepdims=True)
            mean = (members / np.maximum(norms, 1e-12)).mean(axis=0)
            mean = mean / max(float(np.linalg.norm(mean)), 1e-12) * float(norms.mean())
        else:
            mean = members.mean(axis=0)
        out.append(mean)
    return np.asarray(out, dtype=np.float32).reshape(len(ids), vectors.shape[1])


def empty_cells(
    coords: np.ndarray, grid: int, max_cells: int, *, min_around: int = 2
) -> np.ndarray:
    """Centres (map coordinates) of up to ``max_cells`` empty cells with at least
    ``min_around`` occupied neighbours (of 8).

    Cells with more occupied neighbours (of 8) come first: gaps between and inside clusters
    before the empty margin of the map.
    """
    xy = np.asarray(coords, dtype=np.float64)[:, :2]
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    size = np.maximum(hi - lo, 1e-12) / grid
    cell = np.minimum(((xy - lo) / size).astype(np.int64), grid - 1)
    occupied = np.zeros((grid + 2, grid + 2), dtype=bool)
    occupied[cell[:, 1] + 1, cell[:, 0] + 1] = True
    around = np.zeros(occupied.shape, dtype=np.int64)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                around += np.roll(np.roll(occupied, dy, axis=0), dx, axis=1)
    around = around[1:-1, 1:-1]
    inner = occupied[1:-1, 1:-1]
    rows, cols = np.nonzero(~inner & (around >= min_around))
    order = np.lexsort((cols, rows, -around[rows, cols]))[:max_cells]
    return np.stack(
        [lo[0] + (cols[order] + 0.5) * size[0], lo[1] + (rows[order] + 0.5) * size[1]], axis=1
    )


def layout_inverse(reducer: Any, method: str, points: np.ndarray) -> np.ndarray | None:
    """Vectors of the original space behind map ``points``, or None when the method has none."""
    if method == "tsne" or not callable(getattr(reducer, "inverse_transform", None)):
        return None
    return np.asarray(
        reducer.inverse_transform(np.asarray(points, dtype=np.float32)), dtype=np.float32
    )


def decode_map(
    *,
    vectors: np.ndarray,
    coords: np.ndarray,
    reducer: Any,
    method: str,
    metric: str,
    clusters: Any,
    inverter: Any,
    explainer: Any,
    budget: DecodeBudget,
) -> dict[str, Any]:
    """Decode cluster centroids and empty regions within ``budget``.

    Returns ``{"centroids": {cluster id: {"inverted", "explained"}}, "cells": [{"x", "y",
    "inverted", "explained"}], "note": what was done and what was not}``.
    """
    budget.check()
    check_decoder(inverter, "invert", "inverter")
    check_decoder(explainer, "explain", "explainer")
    decoders = [(d, m, key) for d, m, key in (
        (inverter, "invert", "inverted"), (explainer, "explain", "explained")) if d is not None]  # fmt: skip
    deadline = time.perf_counter() + float(budget.max_seconds)
    skipped = 0

    def decode(X: np.ndarray) -> list[dict[str, str]]:
        nonlocal skipped
        out: list[dict[str, str]] = [{} for _ in range(X.shape[0])]
        for start in range(0, X.shape[0], DECODE_BATCH):
            part = X[start : start + DECODE_BATCH]
            for obj, method_name, key in decoders:
                if time.perf_counter() > deadline:
                    skipped += part.shape[0]
                    continue
                for j, text in enumerate(run_decoder(obj, method_name, part)):
                    out[start + j][key] = text
        return out

    notes = []
    centroids: dict[int, dict[str, str]] = {}
    if clusters is not None and clusters.names:
        ids = sorted(clusters.names, key=lambda c: -clusters.sizes[c])
        vecs = centroid_vectors(vectors, clusters.labels, ids, metric)
        centroids = dict(zip(ids, decode(vecs), strict=True))
        notes.append(f"Cluster centroids ({len(ids)}) decoded.")
    else:
        notes.append("No clusters: call cluster() before export to decode centroids.")
    cells: list[dict[str, Any]] = []
    if budget.max_cells > 0:
        centres = empty_cells(coords, budget.grid, budget.max_cells)
        back = layout_inverse(reducer, method, centres) if centres.size else None
        if centres.size and back is None:
            notes.append(
                f"Empty regions are not decoded: {method} has no inverse from the map to the "
                "original space (use method='pca' or 'umap' for that)."
            )
        elif back is not None:
            how = "exactly (PCA)" if method == "pca" else "approximately (UMAP's inverse_transform)"
            for (x, y), dec in zip(centres, decode(back), strict=True):
                cells.append({"x": float(x), "y": float(y), **dec})
            notes.append(
                f"{len(cells)} empty regions of a {budget.grid}x{budget.grid} grid (at most "
                f"{budget.max_cells}) taken back to the original space {how} and decoded; "
                "they show as dashed diamonds."
            )
    if skipped:
        notes.append(
            f"The time budget ({budget.max_seconds:g} s) ran out: {skipped} decodings skipped."
        )
    names = " and ".join(type(d).__name__ for d, _, _ in decoders)
    note = f"Decoded with {names}. " + " ".join(notes)
    logger.info(note)
    return {"centroids": centroids, "cells": cells, "note": note}


def decode_points(
    points: np.ndarray, *, reducer: Any, method: str, inverter: Any, explainer: Any
) -> list[dict[str, str]]:
    """Decode map ``points`` (``(m, 2)``): back through the layout, then each decoder."""
    check_decoder(inverter, "invert", "inverter")
    check_decoder(explainer, "explain", "explainer")
    if inverter is None and explainer is None:
        raise ValueError("decoding needs an inverter= or an explainer= (or both)")
    back = layout_inverse(reducer, method, points)
    if back is None:
        raise NotImplementedError(
            f"{method} has no inverse from the map to the original space, so a spot of the map "
            "cannot be decoded: use method='pca' or method='umap'"
        )
    out: list[dict[str, str]] = [{} for _ in range(back.shape[0])]
    for obj, name, key in ((inverter, "invert", "inverted"), (explainer, "explain", "explained")):
        if obj is not None:
            for j, text in enumerate(run_decoder(obj, name, back)):
                out[j][key] = text
    return out
