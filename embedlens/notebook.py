"""Notebooks that show on a static viewer: plotly figures with a picture, pages as pictures.

A notebook stored with its outputs is read on GitHub, in nbviewer or as HTML made by nbconvert,
where no JavaScript runs: a plotly figure's output (``application/vnd.plotly.v1+json``) or a
``FigureWidget``'s shows as nothing there. After :func:`static_figures`, every plotly figure
and figure widget a cell displays carries a PNG of itself beside its interactive form:
JupyterLab shows the interactive one, static viewers the picture. :func:`show_page` shows an
HTML file (a map to share, an audit report) as a picture of its first screen, linked to the file.

Nothing happens on import. :func:`static_figures` registers display formatters with the running
IPython; the PNGs come from kaleido, whose browser starts once, on the first figure, and stops
when Python exits.

Examples
--------
>>> from embedlens.notebook import static_figures, show_page  # doctest: +SKIP
>>> static_figures()  # in the notebook's first cell  # doctest: +SKIP
>>> show_page("maps-out/share.html")  # doctest: +SKIP
"""

from __future__ import annotations

import atexit
import base64
import html
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["figure_bundle", "page_bundle", "show_page", "static_figures"]

#: the size of a figure's picture when its layout sets none (CSS px)
DEFAULT_SIZE = (900, 500)
_server: dict[str, bool] = {"started": False, "failed": False}


def _kaleido_server() -> None:
    """Start kaleido's browser once (later figures render in about half a second, not three)."""
    if _server["started"] or _server["failed"]:
        return
    try:
        import kaleido

        kaleido.start_sync_server(silence_warnings=True)
    except Exception as err:  # no kaleido, or no browser for it: each figure starts its own
        logger.info("kaleido's server did not start (%s); figures render one by one", err)
        _server["failed"] = True
        return
    _server["started"] = True
    atexit.register(kaleido.stop_sync_server, silence_warnings=True)


def figure_png(fig: Any, *, scale: float = 1.0) -> bytes | None:
    """The figure as PNG bytes at its layout's size (or :data:`DEFAULT_SIZE`), or None when
    kaleido cannot draw it (the reason is logged)."""
    import plotly.graph_objects as go

    figure = go.Figure(fig) if not isinstance(fig, go.Figure) else fig
    width = int(figure.layout.width or DEFAULT_SIZE[0])
    height = int(figure.layout.height or DEFAULT_SIZE[1])
    _kaleido_server()
    try:
        with warnings.catch_warnings():  # plotly notes that a running server ignores options
            warnings.filterwarnings("ignore", message="The kopts argument is ignored")
            return bytes(figure.to_image(format="png", width=width, height=height, scale=scale))
    except Exception as err:  # kaleido drives a browser: many things can go wrong
        logger.warning("no picture of the figure: %s: %s", type(err).__name__, err)
        return None


def figure_bundle(fig: Any, *, scale: float = 1.0) -> dict[str, Any]:
    """What a cell shows for a plotly figure or figure widget: its interactive form (plotly's
    JSON, or the widget), a PNG of it, and a line of text."""
    import plotly.basewidget as pbw
    import plotly.io as pio

    if isinstance(fig, pbw.BaseFigureWidget):
        bundle = dict(fig._repr_mimebundle_())  # the live widget (also syncs its state)
    else:
        bundle = dict(pio.renderers["plotly_mimetype"].to_mimebundle(fig.to_plotly_json()))
    png = figure_png(fig, scale=scale)
    if png is not None:
        bundle["image/png"] = base64.b64encode(png).decode("ascii")
    title = fig.layout.title.text if fig.layout.title is not None else None
    bundle["text/plain"] = f"<plotly figure{': ' + title if title else ''}>"
    return bundle


def static_figures(enabled: bool = True, *, scale: float = 1.0) -> None:
    """Make every plotly figure and figure widget a cell shows carry a PNG of itself.

    Parameters
    ----------
    enabled : bool
        ``False`` goes back to plotly's own display.
    scale : float
        Pixels of the picture per CSS pixel of the figure.

    Raises
    ------
    RuntimeError
        Outside IPython (a notebook or an IPython shell).
    """
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise RuntimeError("static_figures() works in a notebook (a running IPython), not here")
    import plotly.basedatatypes as pbd
    import plotly.basewidget as pbw
    from IPython.display import display

    # plotly figures display themselves (``_ipython_display_``): a printer registered for
    # their types is asked first, and shows the bundle with the picture instead
    printers = shell.display_formatter.ipython_display_formatter
    for kind in (pbd.BaseFigure, pbw.BaseFigureWidget):
        if enabled:
            printers.for_type(kind, lambda fig: display(figure_bundle(fig, scale=scale), raw=True))
        else:
            printers.pop(kind, None)


def page_bundle(
    path: str | os.PathLike[str], *, width: int = 900, height: int = 580
) -> dict[str, Any]:
    """What :func:`show_page` shows: a picture of the page's first ``width`` x ``height`` CSS px
    (headless Chromium), as PNG and inside HTML that links to the file, and its path as text."""
    from embedlens.chromium import screenshot

    page = Path(path)
    if not page.is_file():
        raise FileNotFoundError(f"no page at {page}: write it first (e.g. m.export_html(path))")
    with tempfile.TemporaryDirectory(prefix="embedlens-page-") as tmp:
        shot = screenshot(page, Path(tmp) / "page.png", width=width, height=height)
        png = base64.b64encode(shot.read_bytes()).decode("ascii")
    try:
        href = page.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:  # not below the notebook's folder: a file URL
        href = page.resolve().as_uri()
    link = html.escape(href, quote=True)
    shown = (
        f'<a href="{link}" target="_blank"><img src="data:image/png;base64,{png}" '
        f'width="{width}" alt="{html.escape(page.name)}" style="border: 1px solid #ccc"></a>'
        f'<div><a href="{link}" target="_blank">open {html.escape(page.name)}</a></div>'
    )
    return {"text/html": shown, "image/png": png, "text/plain": str(page)}


def show_page(path: str | os.PathLike[str], *, width: int = 900, height: int = 580) -> None:
    """Show an HTML file in the notebook as a picture of its first screen, linked to the file.

    Static viewers (GitHub, nbconvert's HTML) show the picture; in JupyterLab a click on it
    opens the page itself. Needs a Chromium (``apt-get install chromium``).

    Examples
    --------
    >>> m.export_html("maps-out/share.html"); show_page("maps-out/share.html")
    ... # doctest: +SKIP
    """
    from IPython.display import display

    display(page_bundle(path, width=width, height=height), raw=True)
