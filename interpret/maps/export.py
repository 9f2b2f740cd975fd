"""Exporting map figures: a self-contained HTML page, and images for papers.

HTML inlines plotly.js (no CDN: the file works offline) and is written atomically. Images go
through kaleido when it and a Chromium are found, else through matplotlib, and the log says
which was used. :class:`FigureExport` gives a map and a comparison their export methods.
"""

from __future__ import annotations

import html
import logging
import os
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Literal

from embedlens._utils import atomic_path
from embedlens.chromium import find_chromium
from embedlens.png import png_dpi, set_png_dpi

# re-exported: where the map exporters' users have found them
__all__ = ["FigureExport", "find_chromium", "png_dpi", "set_png_dpi", "write_html", "write_image"]

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
        font_pt: float | None = None,
        **figure_kwargs: Any,
    ) -> str:
        """Write a PNG, SVG or PDF at an exact physical size; returns the engine used.

        Two ways to size it: for print, in inches at a resolution (``width_in``, ``height_in``,
        ``dpi``; any of them switches to this mode; default 6.5 x 5 in at 300 dpi; with a
        width and no height, the height fits the content: the whole legend and the map nearly
        as large as the width allows, 0.5 to 1.6 times the width): a PNG is ``width_in * dpi`` pixels wide and states
        its DPI (a ``pHYs`` chunk, so LaTeX and Word place it at its size), a PDF or SVG page
        is ``width_in * 72`` points wide. Or in pixels (``width`` and ``height``, default
        1000 x 800 for a map and 1600 x 750 for a comparison, times ``scale`` in a PNG; 96
        pixels make an inch of a PDF or SVG page).

        The figure is laid out for that size (:func:`interpret.maps.printed.arrange`): text in
        points (``font_pt``, by default 8 pt up to 4.5 in wide, 9 pt up to 6.5 in, 10 pt above;
        the title one point larger, legend and cluster names one smaller), the map keeps its
        aspect, the legend sits outside the map in as many columns as fit, or folds its
        smallest entries into "other (k)" with a note saying so, and cluster names never
        overlap. kaleido renders it when it and a Chromium are installed; otherwise (or with
        ``engine="matplotlib"``) matplotlib draws the same layout, and a warning says so. SVG
        and PDF keep their text as text. Other keyword arguments go to ``figure``
        (``theme="dark"``, ``color=``, ``symbols=True`` ...).

        Examples
        --------
        >>> m.save_image("fig.pdf", width_in=3.5, dpi=300)  # a 252 pt wide page
        ... # doctest: +SKIP
        """
        from interpret.maps.printed import PX_PER_IN, Fonts, arrange

        resolution: float | None = None
        page_h: float | None
        if width_in is None and height_in is None and dpi is None:
            default_width, default_height = self._image_size
            page_w = float(default_width if width is None else width)
            page_h = float(default_height if height is None else height)
            for name, value in (("width", page_w), ("height", page_h), ("scale", scale)):
                if not value > 0:
                    raise ValueError(f"{name} must be positive, got {value!r}")
        else:
            w_in, h_in, resolution = self._inches(width_in, height_in, dpi)
            page_w = w_in * PX_PER_IN
            page_h = None if width_in is not None and height_in is None else h_in * PX_PER_IN
            scale = resolution / PX_PER_IN
        if font_pt is not None and not 4 <= font_pt <= 40:
            raise ValueError(f"font_pt must be between 4 and 40 points, got {font_pt!r}")
        fonts = Fonts(float(font_pt)) if font_pt is not None else Fonts.for_width(page_w / 96)
        fig = self.figure(**figure_kwargs)
        legend_title = fig.layout.legend.title.text if fig.layout.legend.title else None
        arranged = arrange(
            fig,
            width=page_w,
            height=page_h,
            fonts=fonts,
            theme=figure_kwargs.get("theme", "light"),
            marker_px=figure_kwargs.get("size"),
            what=f"{html.unescape(legend_title)} categories" if legend_title else "categories",
        )
        return write_image(
            fig,
            path,
            format=format,
            width=page_w,
            height=arranged.height,
            scale=scale,
            engine=engine,
            dpi=resolution,
        )

    def _inches(
        self, width_in: float | None, height_in: float | None, dpi: float | None
    ) -> tuple[float, float, float]:
        """``(width_in, height_in, dpi)`` with the defaults, checked."""
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
        return w_in, h_in, resolution


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
    width: float = 1000,
    height: float = 800,
    scale: float = 2.0,
    engine: ImageEngine = "auto",
    dpi: float | None = None,
) -> str:
    """Write ``fig`` as an image; returns the engine used ("kaleido" or "matplotlib").

    ``width`` x ``height`` are CSS pixels (96 to the inch). A raster (PNG, JPEG, WebP) is
    ``scale`` times larger and, with ``dpi``, a PNG records it; a PDF or SVG page is the
    figure's size in points (``width * 0.75``), whatever ``scale`` says.
    """
    target = Path(path)
    fmt = image_format(target, format)
    if engine not in ("auto", "kaleido", "matplotlib"):
        raise ValueError(f"unknown engine {engine!r}: use 'auto', 'kaleido' or 'matplotlib'")
    vector = fmt in ("pdf", "svg")
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
                with atomic_path(target) as tmp, warnings.catch_warnings():
                    # a kaleido server that a notebook started ignores per-call browser options
                    warnings.filterwarnings("ignore", message="The kopts argument is ignored")
                    fig.write_image(tmp, format=fmt, width=width, height=height,
                                    scale=1.0 if vector else scale)  # fmt: skip
                    exact_page(tmp, fmt, width * PT_PER_PX, height * PT_PER_PX)
                    if dpi is not None and fmt == "png":
                        set_png_dpi(tmp, dpi)
                logger.info("save_image: wrote %s with kaleido and %s", target, chromium)
                return "kaleido"
            except Exception as err:  # kaleido talks to a browser: many things can go wrong
                reason = f"kaleido failed: {type(err).__name__}: {err}"
        if engine == "kaleido":
            raise RuntimeError(f"cannot write {target} with kaleido: {reason}")
    try:
        from interpret.maps.mplfigure import render
    except ImportError as err:  # pragma: no cover - mplfigure itself imports numpy only
        raise RuntimeError(str(err)) from err
    try:
        render(fig, target, fmt, width, height, dpi, scale)
        if dpi is not None and fmt == "png":
            set_png_dpi(target, dpi)
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


#: points per CSS pixel (72 / 96)
PT_PER_PX = 0.75


def exact_page(path: str | os.PathLike[str], fmt: str, width_pt: float, height_pt: float) -> None:
    """Make a PDF's or SVG's page exactly ``width_pt`` x ``height_pt`` points.

    Chromium rounds PDF pages to 1/300 in (a 2.8 in page comes out 202.08 pt high instead of
    201.6): each ``/MediaBox`` is rewritten in place, padded to its old length so the file's
    cross-reference offsets stay right. An SVG gets ``width``/``height`` in ``pt`` and a
    ``viewBox`` of its pixel size, so it prints at its size. Other formats are left alone.
    """
    p = Path(path)
    if fmt == "pdf":
        data = p.read_bytes()

        def box(found: re.Match[bytes]) -> bytes:
            old = found.group(0)
            new = f"/MediaBox [0 0 {width_pt:.2f} {height_pt:.2f}]".encode()
            if len(new) > len(old):
                return old
            return new[:-1] + b" " * (len(old) - len(new)) + b"]"

        p.write_bytes(re.sub(rb"/MediaBox\s*\[\s*0 0 [\d.]+ [\d.]+\s*\]", box, data))
    elif fmt == "svg":
        text = p.read_text(encoding="utf-8")
        head = re.search(r"<svg\b[^>]*>", text)
        if head is None:
            raise ValueError(f"{path} is not an SVG file")
        tag = head.group(0)
        w_px, h_px = width_pt / PT_PER_PX, height_pt / PT_PER_PX
        new = re.sub(r'\s(width|height|viewBox)="[^"]*"', "", tag)
        new = new.replace(
            "<svg",
            f'<svg width="{width_pt:g}pt" height="{height_pt:g}pt" viewBox="0 0 {w_px:g} {h_px:g}"',
            1,
        )
        p.write_text(text.replace(tag, new, 1), encoding="utf-8")
