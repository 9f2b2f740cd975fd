"""The shareable page: one offline HTML file to explore a map outside Jupyter.

:func:`page_payload` turns a fitted map into compact data and :func:`render_page` wraps it in
HTML with the plain JavaScript of :mod:`interpret.maps.page_script`: a canvas map (zoom, pan,
hover), a search box that highlights and lists matching texts, the clicked point with its
``k`` nearest neighbours in the original space (computed here, at export), a table of a box
selection, filters by category, cluster names on the map, and the decoded texts of cluster
centroids and empty regions when a decoder was given (:mod:`interpret.maps.decode`).

Encoding (what keeps a million points near 50 MB): coordinates are ``uint16`` on a common
square grid (1/65535 of the map's extent; the aspect ratio is kept); categories are ``uint8``
codes (``uint16`` past 255); values ``float32``; neighbour indices are a bit stream of as few
bits as the number of points needs (17 bits for 100,000 points, 20 for a million);
texts are cut to a per-point budget (:data:`TEXT_BUDGETS`, stated in the page), whitespace
collapsed, and stored as raw-deflate blocks of about 64 kB that the browser inflates on first
use. Binary data is base64 inside one JSON script element whose ``<``, ``>`` and ``&`` are
escaped, so no data can close the element.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import os
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embedlens._utils import atomic_path
from interpret.maps.data import MISSING, PointData
from interpret.maps.decode import DecodeBudget, decode_map
from interpret.maps.draw import OTHER, categories
from interpret.maps.neighbors import export_neighbors
from interpret.maps.page_script import BODY, SCRIPT, STYLE
from interpret.maps.palette import GREY, palette, theme_colors

logger = logging.getLogger(__name__)

#: per-point text budget (characters) by map size: up to 10k, 100k, 1M points, and beyond
TEXT_BUDGETS: tuple[tuple[int, int], ...] = ((10_000, 1000), (100_000, 240), (1_000_000, 100))
TEXT_BUDGET_MAX = 60
#: neighbours per point by map size
K_BY_SIZE: tuple[tuple[int, int], ...] = ((100_000, 10), (1_000_000, 5))
K_MAX_SIZE = 3
#: characters of text per compressed block (the unit the browser inflates)
BLOCK_CHARS = 64_000
#: categories of one label column in the page (the rest fold into "(other)")
PAGE_CATEGORIES = 250


@dataclass(frozen=True)
class PageBudget:
    """How much of each point goes into the page; ``None`` picks by the number of points.

    Parameters
    ----------
    text_chars : int, optional
        Characters of text per point (longer texts are cut and end in "…").
    k : int, optional
        Nearest neighbours stored per point (0: none).
    exact_neighbors : int
        Up to this many points neighbours are exact (brute force); above, approximate
        (NN-descent, pynndescent) and the page says so.
    """

    text_chars: int | None = None
    k: int | None = None
    exact_neighbors: int = 50_000

    def resolved(self, n: int) -> tuple[int, int]:
        """``(text_chars, k)`` for a map of ``n`` points."""
        chars = (
            self.text_chars
            if self.text_chars is not None
            else _by_size(n, TEXT_BUDGETS, TEXT_BUDGET_MAX)
        )
        k = self.k if self.k is not None else _by_size(n, K_BY_SIZE, K_MAX_SIZE)
        for name, v in (("text_chars", chars), ("k", k)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {v!r}")
        if chars < 1:
            raise ValueError(f"text_chars must be at least 1, got {chars}")
        return int(chars), int(min(k, max(0, n - 1)))


def _by_size(n: int, table: tuple[tuple[int, int], ...], beyond: int) -> int:
    for limit, value in table:
        if n <= limit:
            return value
    return beyond


# --------------------------------------------------------------------------- encoders


def b64(arr: np.ndarray) -> str:
    """The bytes of ``arr`` (little-endian, C order) as base64 text."""
    return base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode("ascii")


def quantize(coords: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """2-D coordinates as ``uint16`` on one square grid (aspect kept) and how to undo it.

    Returns ``(qx, qy, frame)``; ``x = frame["x0"] + qx / 65535 * frame["span"]``.
    """
    xy = np.asarray(coords, dtype=np.float64)[:, :2]
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = float(max(hi - lo)) or 1.0
    centre = (lo + hi) / 2
    x0, y0 = centre - span / 2
    unit = (xy - [x0, y0]) / span
    q = np.clip(np.rint(unit * 65535), 0, 65535).astype("<u2")
    return q[:, 0].copy(), q[:, 1].copy(), {"x0": float(x0), "y0": float(y0), "span": span}


def to_unit(points: np.ndarray, frame: dict[str, float]) -> np.ndarray:
    """Map coordinates into the page's unit square."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return (p - [frame["x0"], frame["y0"]]) / frame["span"]


def index_bits(n: int) -> int:
    """Bits per row index of a map of ``n`` points (at least 1)."""
    return max(1, int(n - 1).bit_length())


def pack_indices(ind: np.ndarray, n: int) -> tuple[int, str]:
    """Row indices (< ``n``) as a little-endian bit stream of :func:`index_bits` bits each.

    Returns ``(bits, base64)``: index ``j`` of the flattened array occupies bits
    ``j * bits ... (j + 1) * bits - 1`` (bit 0 is the lowest bit of byte 0). A million points
    need 20 bits per index instead of 32.
    """
    bits = index_bits(n)
    flat = np.ascontiguousarray(ind, dtype="<u4").reshape(-1)
    if flat.size and int(flat.max()) >= 1 << bits:
        raise ValueError(f"an index is >= {n}, the number of points")
    planes = ((flat[:, None] >> np.arange(bits, dtype=np.uint32)) & 1).astype(np.uint8)
    return bits, b64(np.packbits(planes.reshape(-1), bitorder="little"))


def unpack_indices(bits: int, data: str, k: int, n: int) -> np.ndarray:
    """Inverse of :func:`pack_indices` (for tests and readers in Python): ``(n, k)``."""
    raw = np.unpackbits(np.frombuffer(base64.b64decode(data), dtype=np.uint8), bitorder="little")
    count = raw.size // bits
    planes = raw[: count * bits].reshape(count, bits).astype(np.int64)
    values = (planes << np.arange(bits, dtype=np.int64)).sum(axis=1)
    return values[: n * k].reshape(n, k)


def flatten(text: str, budget: int) -> str:
    """One line of at most ``budget`` characters (whitespace collapsed; cut ends in "…")."""
    flat = " ".join(text.split())
    if len(flat) > budget:
        flat = flat[: max(0, budget - 1)].rstrip() + "…"
    return flat


def compress_texts(texts: Sequence[str], budget: int) -> dict[str, Any]:
    """Texts cut to ``budget`` characters, in raw-deflate blocks of about 64 kB.

    Returns ``{"per_block", "blocks" (base64), "budget", "cut", "raw_bytes",
    "compressed_bytes"}``; block ``b`` holds texts ``b * per_block ...`` joined by newlines.
    """
    lines = [flatten(t, budget) for t in texts]
    cut = sum(
        1 for t, line in zip(texts, lines, strict=True) if len(" ".join(t.split())) > len(line)
    )
    mean = sum(len(x) for x in lines) / max(1, len(lines)) + 1
    per = int(max(16, min(65_536, BLOCK_CHARS // max(1.0, mean))))
    blocks, raw, packed = [], 0, 0
    for start in range(0, max(1, len(lines)), per):
        data = "\n".join(lines[start : start + per]).encode("utf-8")
        comp = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
        body = comp.compress(data) + comp.flush()
        raw += len(data)
        packed += len(body)
        blocks.append(base64.b64encode(body).decode("ascii"))
    return {
        "per_block": per,
        "blocks": blocks,
        "budget": budget,
        "cut": cut,
        "raw_bytes": raw,
        "compressed_bytes": packed,
    }


def inflate_texts(spec: dict[str, Any]) -> list[str]:
    """Inverse of :func:`compress_texts` (for tests and readers in Python)."""
    out: list[str] = []
    for block in spec["blocks"]:
        out += zlib.decompress(base64.b64decode(block), -15).decode("utf-8").split("\n")
    return out


def category_column(name: str, values: np.ndarray, *, names: dict[Any, str] | None = None,
                    muted: Sequence[Any] = ()) -> dict[str, Any]:  # fmt: skip
    """A label column as codes, category names, counts and colours (grey: other/missing/muted)."""
    shown, pos = categories(values, PAGE_CATEGORIES)
    counts = np.bincount(pos, minlength=len(shown))
    colors = palette(len(shown))
    out_colors = [
        GREY if any(cat == m for m in (OTHER, MISSING, *muted)) else colors[j]
        for j, cat in enumerate(shown)
    ]
    width = 1 if len(shown) <= 256 else 2
    codes = pos.astype("<u1" if width == 1 else "<u2")
    return {
        "name": name,
        "kind": "category",
        "width": width,
        "data": b64(codes),
        "categories": [(names or {}).get(c, str(c)) for c in shown],
        "counts": [int(c) for c in counts],
        "colors": out_colors,
    }


def value_column(name: str, values: np.ndarray) -> dict[str, Any]:
    """A numeric column as ``float32`` with its finite range (NaN: missing)."""
    vals = np.asarray(values, dtype=np.float32)
    ok = np.isfinite(vals)
    lo, hi = (float(vals[ok].min()), float(vals[ok].max())) if ok.any() else (0.0, 1.0)
    return {"name": name, "kind": "value", "data": b64(vals.astype("<f4")), "min": lo, "max": hi}


# --------------------------------------------------------------------------- the page


def page_payload(
    coords: np.ndarray,
    points: PointData,
    *,
    clusters: Any,
    neighbors: tuple[np.ndarray, bool, str] | None,
    budget: tuple[int, int],
    color: str | None,
    title: str,
    theme: str,
    method: str,
    decoded: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data (see the module docstring)."""
    start = time.perf_counter()
    n = coords.shape[0]
    qx, qy, frame = quantize(coords)
    colors = theme_colors(theme)
    cols: list[dict[str, Any]] = [category_column(k, v) for k, v in points.labels.items()]
    if clusters is not None:
        cols.append(
            category_column("cluster", clusters.labels, names=clusters.display_names(), muted=(-1,))
        )
    cols += [value_column(k, v) for k, v in points.values.items()]
    names = [c["name"] for c in cols]
    if color is not None and color not in names:
        raise ValueError(
            f"unknown color {color!r} for the page: use one of {names or 'no columns'} (labels, "
            "values, or 'cluster' after cluster())"
        )
    default = names.index(color) if color is not None else (
        names.index("cluster") if clusters is not None and not points.labels else 0
    )  # fmt: skip
    chars, k = budget
    payload: dict[str, Any] = {
        "version": 1,
        "n": n,
        "title": title,
        "method": method,
        "x": b64(qx),
        "y": b64(qy),
        "frame": frame,
        "columns": cols,
        "default_color": default if cols else -1,
        "grey": GREY,
        "theme": {
            "name": colors.name,
            "background": colors.background,
            "text": colors.text,
            "muted": colors.muted_text,
            "halo": colors.halo,
            "accent": "#56B4E9" if theme == "dark" else "#0072B2",
        },
    }
    notes = [f"{n:,} points, {method.upper() if method != 'tsne' else 't-SNE'} layout."]
    if points.texts is not None:
        payload["texts"] = compress_texts(points.texts, chars)
        cut = payload["texts"]["cut"]
        notes.append(
            f"Texts are kept to {chars:,} characters per point ({cut:,} of {n:,} were cut, "
            "shown ending in …); they are compressed and inflated when first shown or searched."
        )
    if points.ids is not None:
        payload["ids"] = compress_texts([str(v) for v in points.ids.tolist()], 80)
    if neighbors is not None and k > 0:
        ind, exact, metric = neighbors
        bits, data = pack_indices(ind[:, :k], n)
        payload["neighbors"] = {
            "k": k,
            "bits": bits,
            "data": data,
            "exact": exact,
            "metric": metric,
        }
        notes.append(
            f"Each point carries its {k} nearest neighbours in the original space ({metric} "
            f"distance, {'exact' if exact else 'approximate: NN-descent'}), computed at export."
        )
    else:
        notes.append("No neighbours were exported (k=0).")
    if clusters is not None:
        dec = (decoded or {}).get("centroids", {})
        shown = sorted(clusters.names, key=lambda c: -clusters.sizes[c])[:200]
        items = []
        for c, (u, v) in zip(
            shown,
            to_unit(np.array([clusters.centres[c][:2] for c in shown]).reshape(-1, 2), frame),
            strict=True,
        ):
            item: dict[str, Any] = {
                "id": int(c), "name": clusters.display_names()[c], "size": clusters.sizes[c],
                "u": float(u), "v": float(v),
            }  # fmt: skip
            item.update(dec.get(int(c), {}))
            items.append(item)
        payload["clusters"] = {"method": clusters.method, "items": items}
        notes.append(
            f"{len(clusters.names)} clusters ({clusters.method} on the "
            f"{'map' if clusters.space == 'layout' else 'original vectors'}), named at their centres."
        )
    if decoded is not None:
        cells = decoded.get("cells", [])
        if cells:
            unit = to_unit(np.array([[c["x"], c["y"]] for c in cells]), frame)
            payload["cells"] = [
                {
                    **{k2: v2 for k2, v2 in c.items() if k2 not in ("x", "y")},
                    "u": float(u),
                    "v": float(v),
                }
                for c, (u, v) in zip(cells, unit, strict=True)
            ]
        payload["decode"] = {"note": decoded["note"]}
        notes.append(decoded["note"])
    notes.append("Made with embedlens; works offline, no data leaves this file.")
    payload["notes"] = notes
    logger.info("page payload of %d points built in %.1f s", n, time.perf_counter() - start)
    return payload


def _script_json(payload: dict[str, Any]) -> str:
    """JSON that cannot end a ``<script>`` element or open a comment inside it."""
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_page(payload: dict[str, Any]) -> str:
    """The whole page: styles, body, the data element and the script."""
    theme = "dark" if payload["theme"]["name"] == "dark" else "light"
    return (
        f'<!doctype html>\n<html lang="en" data-theme="{theme}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; "
        'connect-src data: blob:">\n'
        f"<title>{html.escape(str(payload['title']))}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>{BODY}\n"
        f'<script id="embedlens-data" type="application/json">{_script_json(payload)}</script>\n'
        f"<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )


def export_page(
    emap: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    color: str | None = None,
    title: str | None = None,
    theme: str = "light",
    budget: PageBudget | None = None,
    inverter: Any = None,
    explainer: Any = None,
    decode_budget: DecodeBudget | None = None,
) -> Path | str:
    """The page of a fitted :class:`~interpret.maps.EmbeddingMap` (see ``export_html``)."""
    emap._check_fitted()
    theme_colors(theme)
    coords = emap.embedding_
    if coords.shape[1] != 2:
        raise ValueError(
            f"export_html draws 2-D maps, this one has {coords.shape[1]} components: fit with "
            "n_components=2, or use save_html for a 3-D plotly page"
        )
    if path is not None and Path(path).suffix.lower() not in (".html", ".htm"):
        raise ValueError(
            f"export_html writes an .html file, got {str(path)!r}: end the name in .html"
        )
    budget = budget or PageBudget()
    n = coords.shape[0]
    chars, k = budget.resolved(n)
    decoded = None
    if inverter is not None or explainer is not None:
        decoded = decode_map(
            vectors=emap.vectors_,
            coords=coords,
            reducer=emap.reducer_,
            method=str(emap.method),
            metric=emap.metric,
            clusters=emap.clusters_,
            inverter=inverter,
            explainer=explainer,
            budget=(decode_budget or DecodeBudget()).check(),
        )
    neighbors = None
    if k > 0:
        start = time.perf_counter()
        exact_index = emap._nn if n <= budget.exact_neighbors else None
        ind, exact = export_neighbors(
            emap.vectors_,
            k,
            emap.metric,
            exact_limit=budget.exact_neighbors,
            index=exact_index,
            random_state=emap.random_state,
        )
        neighbors = (ind, exact, emap.metric)
        logger.info("%d-NN of %d points in %.1f s", k, n, time.perf_counter() - start)
    method = str(emap.method)
    default_title = f"{method.upper() if method != 'tsne' else 't-SNE'} map of {n:,} points"
    payload = page_payload(
        coords,
        emap.points_,
        clusters=emap.clusters_,
        neighbors=neighbors,
        budget=(chars, k),
        color=color,
        title=title or default_title,
        theme=theme,
        method=method,
        decoded=decoded,
    )
    page = render_page(payload)
    if path is None:
        return page
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    logger.info("wrote %s (%.1f MB)", target, target.stat().st_size / 1e6)
    return target
