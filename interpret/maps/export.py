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
        **figure_kwargs: Any,
    ) -> str:
        """Write a PNG, SVG or PDF for papers; returns the engine used.

        ``width`` and ``height`` default to 1000 x 800 for a map, 1600 x 750 for a comparison.
        kaleido renders it when it and a Chromium are installed; otherwise (or with
        ``engine="matplotlib"``) matplotlib redraws the points, and a warning says so.
        """
        default_width, default_height = self._image_size
        return write_image(
            self.figure(**figure_kwargs),
            path,
            format=format,
            width=default_width if width is None else width,
            height=default_height if height is None else height,
            scale=scale,
            engine=engine,
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
) -> str:
    """Write ``fig`` as an image; returns the engine used ("kaleido" or "matplotlib")."""
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
                logger.info("save_image: wrote %s with kaleido and %s", target, chromium)
                return "kaleido"
            except Exception as err:  # kaleido talks to a browser: many things can go wrong
                reason = f"kaleido failed: {type(err).__name__}: {err}"
        if engine == "kaleido":
            raise RuntimeError(f"cannot write {target} with kaleido: {reason}")
    try:
        _matplotlib_image(fig, target, fmt, width, height, scale)
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
    fig: Any, path: Path, fmt: str, width: int, height: int, scale: float
) -> None:
    """Redraw the figure's scatter traces with matplotlib (object API: no global state)."""
    from matplotlib.figure import Figure

    dpi = 100.0 * scale
    mfig = Figure(figsize=(width / 100.0, height / 100.0), dpi=dpi)
    panels: dict[str, Any] = {}
    three_d = any(t.type == "scatter3d" for t in fig.data)
    names = sorted({_panel(t) for t in fig.data}) or ["xy"]
    for j, key in enumerate(names):
        kwargs = {"projection": "3d"} if three_d else {}
        panels[key] = mfig.add_subplot(1, len(names), j + 1, **kwargs)
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
            panels[names[j]].set_title(_plain(note.text), fontsize=10)
            continue
        ax = panels.get(_axes_key(note.xref, note.yref), first)
        ax.annotate(_plain(note.text), (note.x, note.y), ha="center", fontsize=8)
    for key, ax in panels.items():
        ax.set_xticks([])
        ax.set_yticks([])
        if ax.get_legend_handles_labels()[0] and key == names[0]:
            ax.legend(fontsize=7, markerscale=2, frameon=False, loc="best")
    title = fig.layout.title.text if fig.layout.title is not None else None
    if title:
        mfig.suptitle(_plain(title))
    mfig.tight_layout()
    with atomic_path(path) as tmp:
        mfig.savefig(tmp, format=fmt)


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
