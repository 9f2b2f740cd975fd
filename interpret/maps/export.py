"""Exporting map figures: a self-contained HTML page, and images for papers.

HTML inlines plotly.js (no CDN: the file works offline) and is written atomically. Images go
through kaleido when it and a Chromium are found, else through matplotlib, and the log says
which was used. :class:`FigureExport` gives a map and a comparison their export methods.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from embedlens._utils import atomic_path

logger = logging.getLogger(__name__)

ImageEngine = Literal["auto", "kaleido", "matplotlib"]
IMAGE_FORMATS = ("png", "svg", "pdf", "jpeg", "jpg", "webp")
PLOT_CONFIG = {"scrollZoom": True, "displaylogo": False}
#: CSS pixels per inch: a figure laid out at this many px per inch prints fonts at their size
CSS_DPI = 96.0


def figure_html(fig: Any, *, post_script: str | None = None) -> str:
    """The figure as one HTML page with plotly.js inlined."""
    return str(
        fig.to_html(
            include_plotlyjs=True,
            full_html=True,
            config=PLOT_CONFIG,
            post_script=post_script,
            default_width="100%",
            default_height="100vh",
        )
    )


def write_html(fig: Any, path: str | os.PathLike[str], *, post_script: str | None = None) -> Path:
    """Write :func:`figure_html` to ``path`` atomically (no half-written file on a crash)."""
    target = Path(path)
    if target.suffix.lower() not in (".html", ".htm"):
        raise ValueError(
            f"save_html writes an .html file, got {str(path)!r}: end the name in .html"
        )
    page = figure_html(fig, post_script=post_script)
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    logger.info("wrote %s (%.1f MB)", target, target.stat().st_size / 1e6)
    return target


class FigureExport:
    """``to_html``, ``save_html`` and ``save_image`` for a class whose ``figure(**kwargs)`` draws it.

    ``_post_script`` is JavaScript the page runs after drawing the plot (a comparison links its
    panels with it); ``_image_size`` is the default ``(width, height)`` of ``save_image``.
    """

    figure: Callable[..., Any]
    _post_script: ClassVar[str | None] = None
    _image_size: ClassVar[tuple[int, int]] = (1000, 800)
    _image_inches: ClassVar[tuple[float, float]] = (6.5, 5.0)

    def to_html(self, path: str | os.PathLike[str] | None = None, **figure_kwargs: Any) -> Any:
        """The figure as a self-contained HTML page (plotly.js inlined, works offline).

        Returns the page as a string, or writes it atomically to ``path`` and returns the path.
        """
        fig = self.figure(**figure_kwargs)
        if path is None:
            return figure_html(fig, post_script=self._post_script)
        return write_html(fig, path, post_script=self._post_script)

    def save_html(self, path: str | os.PathLike[str], **figure_kwargs: Any) -> Path:
        """Write :meth:`to_html` to ``path`` (one offline HTML file, written atomically).

        Keyword arguments are those of ``figure``.

        Examples
        --------
        >>> m.save_html("map.html", color="label")  # doctest: +SKIP
        """
        return write_html(self.figure(**figure_kwargs), path, post_script=self._post_script)

    def save_image(
        self,
        path: str | os.PathLike[str],
        *,
        format: str | None = None,
        width: int | None = None,
        height: int | None = None,
        scale: float = 2.0,
        engine: ImageEngine = "auto",
        width_in: float | None = None,
        height_in: float | None = None,
        dpi: float | None = None,
        **figure_kwargs: Any,
    ) -> str:
        """Write a PNG, SVG or PDF for papers; returns the engine used.

        Two ways to size it: in pixels (``width`` and ``height``, default 1000 x 800 for a
        map, 1600 x 750 for a comparison, times ``scale``), or for print, in inches at a
        resolution (``width_in``, ``height_in``, ``dpi``; any of them switches to this mode,
        default 6.5 x 5 in at 300 dpi; sizes round to 1/96 in). For print the page is laid out at 96 px per inch,
        so fonts keep their size on paper (12 px is 9 pt), and a PNG carries its DPI (a
        ``pHYs`` chunk) so that LaTeX and Word place it at the stated size. SVG and PDF are
        vector files with their text as text. kaleido renders it when it and a Chromium are
        installed; otherwise (or with ``engine="matplotlib"``) matplotlib redraws the points,
        and a warning says so. Keyword arguments go to ``figure`` (``theme="dark"``,
        ``font_size=``, ``color=`` ...).

        Examples
        --------
        >>> m.save_image("fig.png", width_in=3.5, height_in=3, dpi=300)  # doctest: +SKIP
        """
        default_width, default_height = self._image_size
        if width_in is None and height_in is None and dpi is None:
            return write_image(
                self.figure(**figure_kwargs),
                path,
                format=format,
                width=default_width if width is None else width,
                height=default_height if height is None else height,
                scale=scale,
                engine=engine,
            )
        default_w_in, default_h_in = self._image_inches
        w_in = float(default_w_in if width_in is None else width_in)
        h_in = float(
            (default_h_in * w_in / default_w_in if width_in is not None else default_h_in)
            if height_in is None
            else height_in
        )
        resolution = float(300 if dpi is None else dpi)
        for name, value, low in (
            ("width_in", w_in, 0.5),
            ("height_in", h_in, 0.5),
            ("dpi", resolution, 36),
        ):
            if not low <= value <= (100 if name != "dpi" else 2400):
                raise ValueError(
                    f"{name} must be between {low} and {100 if name != 'dpi' else 2400}, got "
                    f"{value!r}: sizes are in inches (a journal column is about 3.5 in)"
                )
        fig = self.figure(**figure_kwargs)
        if w_in < 5 and fig.layout.showlegend is not False:
            # a column-wide figure: the legend goes below the map instead of eating its width
            fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.02, "x": 0.0})
        return write_image(
            fig,
            path,
            format=format,
            width=round(w_in * CSS_DPI),
            height=round(h_in * CSS_DPI),
            scale=resolution / CSS_DPI,
            engine=engine,
            dpi=resolution,
        )


def find_chromium() -> str | None:
    """A Chromium or Chrome on this machine (``BROWSER_PATH`` first, then ``PATH``)."""
    env = os.environ.get("BROWSER_PATH")
    if env and Path(env).is_file():
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def image_format(path: Path, format: str | None) -> str:
    fmt = (format or path.suffix.lstrip(".")).lower()
    if fmt not in IMAGE_FORMATS:
        raise ValueError(
            f"cannot tell the image format of {str(path)!r} (format={format!r}): end the name in "
            f"one of {', '.join('.' + f for f in IMAGE_FORMATS)} or pass format="
        )
    return "jpeg" if fmt == "jpg" else fmt


def write_image(
    fig: Any,
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    width: int = 1000,
    height: int = 800,
    scale: float = 2.0,
    engine: ImageEngine = "auto",
    dpi: float | None = None,
) -> str:
    """Write ``fig`` as an image; returns the engine used ("kaleido" or "matplotlib").

    With ``dpi``, ``width`` x ``height`` are CSS pixels at 96 per inch (the print size), the
    raster is ``scale = dpi / 96`` times larger, and a PNG records ``dpi`` in a pHYs chunk.
    """
    target = Path(path)
    fmt = image_format(target, format)
    if engine not in ("auto", "kaleido", "matplotlib"):
        raise ValueError(f"unknown engine {engine!r}: use 'auto', 'kaleido' or 'matplotlib'")
    reason = ""
    if engine in ("auto", "kaleido"):
        chromium = find_chromium()
        try:
            import kaleido  # noqa: F401
        except ImportError:
            reason = "kaleido is not installed (pip install kaleido)"
        else:
            if chromium is None:
                reason = "no Chromium or Chrome was found (install one, or set BROWSER_PATH)"
        if not reason:
            try:
                with atomic_path(target) as tmp:
                    fig.write_image(tmp, format=fmt, width=width, height=height, scale=scale)
                    if dpi is not None and fmt == "png":
                        set_png_dpi(tmp, dpi)
                logger.info("save_image: wrote %s with kaleido and %s", target, chromium)
                return "kaleido"
            except Exception as err:  # kaleido talks to a browser: many things can go wrong
                reason = f"kaleido failed: {type(err).__name__}: {err}"
        if engine == "kaleido":
            raise RuntimeError(f"cannot write {target} with kaleido: {reason}")
    try:
        _matplotlib_image(fig, target, fmt, width, height, scale, dpi)
    except ImportError as err:
        raise RuntimeError(
            f"cannot write {target}: {reason or 'engine=matplotlib was asked'}, and matplotlib "
            "is not installed either: pip install kaleido (with a Chromium), or matplotlib"
        ) from err
    logger.warning(
        "save_image: wrote %s with the matplotlib fallback%s",
        target,
        f" ({reason})" if reason else "",
    )
    return "matplotlib"


def _matplotlib_image(
    fig: Any,
    path: Path,
    fmt: str,
    width: int,
    height: int,
    scale: float,
    dpi: float | None = None,
) -> None:
    """Redraw the figure's scatter traces with matplotlib (object API, text kept as text)."""
    import matplotlib

    # fonts stay text in SVG (editable, searchable) and are embedded as TrueType in PDF
    rc: Any = {"svg.fonttype": "none", "pdf.fonttype": 42, "font.size": 8}
    with matplotlib.rc_context(rc):
        _matplotlib_draw(fig, path, fmt, width, height, scale, dpi)


def _matplotlib_draw(
    fig: Any, path: Path, fmt: str, width: int, height: int, scale: float, dpi: float | None
) -> None:
    """The body of :func:`_matplotlib_image`, inside its font settings."""
    from matplotlib.figure import Figure

    if dpi is None:
        resolution, inches = 100.0 * scale, (width / 100.0, height / 100.0)
    else:
        resolution, inches = float(dpi), (width / CSS_DPI, height / CSS_DPI)
    background = fig.layout.paper_bgcolor or "#ffffff"
    ink = (fig.layout.font.color if fig.layout.font is not None else None) or "#1a1a1a"
    mfig = Figure(figsize=inches, dpi=resolution, facecolor=background)
    panels: dict[str, Any] = {}
    three_d = any(t.type == "scatter3d" for t in fig.data)
    names = sorted({_panel(t) for t in fig.data}) or ["xy"]
    for j, key in enumerate(names):
        kwargs = {"projection": "3d"} if three_d else {}
        panels[key] = mfig.add_subplot(1, len(names), j + 1, **kwargs)
    for ax in panels.values():
        ax.set_facecolor(background)
        for spine in getattr(ax, "spines", {}).values():
            spine.set_color(ink)
    for trace in fig.data:
        if trace.x is None or len(trace.x) == 0:
            continue
        ax = panels[_panel(trace)]
        marker = trace.marker
        color = marker.color if marker is not None else None
        style: dict[str, Any] = {"s": max(1.0, float(marker.size or 4) ** 2 / 2), "linewidths": 0}
        style["alpha"] = float(marker.opacity) if marker.opacity is not None else 0.8
        if isinstance(color, str):
            style["color"] = color
        elif color is not None:
            style.update(c=np.asarray(color, dtype=float), cmap="viridis")
        coords = [np.asarray(trace.x), np.asarray(trace.y)]
        if three_d:
            coords.append(np.asarray(trace.z))
        label = trace.name if trace.showlegend is not False else None
        points = ax.scatter(*coords, label=label, **style)
        if marker is not None and marker.showscale:
            mfig.colorbar(points, ax=ax)
    first = panels[names[0]]
    for note in fig.layout.annotations or ():
        if not note.text or note.x is None or note.y is None:
            continue
        if note.xref == "paper":  # a subplot title: name the panel below it instead
            j = min(int(note.x * len(names)), len(names) - 1)
            panels[names[j]].set_title(_plain(note.text), fontsize=9, color=ink)
            continue
        ax = panels.get(_axes_key(note.xref, note.yref), first)
        halo = {"boxstyle": "round,pad=0.15", "fc": background, "ec": "none", "alpha": 0.75}
        ax.annotate(
            _plain(note.text), (note.x, note.y), ha="center", fontsize=7, color=ink, bbox=halo
        )
    for key, ax in panels.items():
        ax.set_xticks([])
        ax.set_yticks([])
        if ax.get_legend_handles_labels()[0] and key == names[0]:
            legend = ax.legend(fontsize=7, markerscale=2, frameon=False, loc="best")
            for text in legend.get_texts():
                text.set_color(ink)
    title = fig.layout.title.text if fig.layout.title is not None else None
    if title:
        mfig.suptitle(_plain(title), fontsize=10, color=ink)
    mfig.tight_layout()
    with atomic_path(path) as tmp:
        mfig.savefig(tmp, format=fmt, facecolor=background)
        if dpi is not None and fmt == "png":
            set_png_dpi(tmp, dpi)


def _panel(trace: Any) -> str:
    if trace.type == "scatter3d":
        return trace.scene or "scene"
    return _axes_key(trace.xaxis, trace.yaxis)


def _axes_key(xref: str | None, yref: str | None) -> str:
    x = (xref or "x").replace(" domain", "")
    y = (yref or "y").replace(" domain", "")
    return f"{x}{y}"


def _plain(text: str) -> str:
    """Hover/annotation HTML back to plain text for matplotlib."""
    import html
    import re

    return html.unescape(re.sub(r"<br\s*/?>", "\n", re.sub(r"</?(b|i|sup|sub)>", "", text)))


def set_png_dpi(path: str | os.PathLike[str], dpi: float) -> None:
    """Write ``dpi`` into a PNG's ``pHYs`` chunk (replacing any), so it prints at its size."""
    import struct
    import zlib

    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG file")
    ppm = round(float(dpi) / 0.0254)
    body = struct.pack(">IIB", ppm, ppm, 1)
    chunk = struct.pack(">I", len(body)) + b"pHYs" + body
    chunk += struct.pack(">I", zlib.crc32(b"pHYs" + body) & 0xFFFFFFFF)
    out, pos = [data[:8]], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if kind != b"pHYs":
            out.append(data[pos:end])
        if kind == b"IHDR":
            out.append(chunk)
        pos = end
    Path(path).write_bytes(b"".join(out))


def png_dpi(path: str | os.PathLike[str]) -> float | None:
    """The DPI a PNG's ``pHYs`` chunk states (None without one, or in unknown units)."""
    import struct

    data = Path(path).read_bytes()
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == b"pHYs":
            x, _, unit = struct.unpack(">IIB", data[pos + 8 : pos + 17])
            return x * 0.0254 if unit == 1 else None
        pos += 12 + length
    return None
