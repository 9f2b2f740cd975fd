"""Headless Chromium, found and started the one way embedlens does.

:func:`find_chromium` looks for a Chromium or Chrome (``BROWSER_PATH`` first, then ``PATH``);
:func:`chromium_args` starts it headless with software WebGL, a fresh profile, a window and a
time budget; :func:`screenshot` saves a page as a PNG. Headless Chromium makes no window
narrower than :data:`MIN_WINDOW` px, so a phone-sized viewport is the page in an iframe of that
width (:func:`viewport`), whose media queries see the iframe's width, and the screenshot is cut
to it. Used by the map checks (:mod:`interpret.maps.browser`), the audit report's PDF and the
notebooks' pictures of pages (:mod:`embedlens.notebook`). Only the standard library and numpy.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from embedlens.png import read_png, write_png

__all__ = ["CHROMIUM_FLAGS", "MIN_WINDOW", "chromium_args", "find_chromium", "screenshot"]

# Software WebGL (SwiftShader), so Scattergl draws on machines without a GPU.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--hide-scrollbars",
    "--no-first-run",
    "--mute-audio",
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


def require_chromium(chromium: str | None = None) -> str:
    """The Chromium to run (``chromium`` or the one found), or ``FileNotFoundError``."""
    browser = chromium or find_chromium()
    if browser is None:
        raise FileNotFoundError("no Chromium found: apt-get install chromium, or set BROWSER_PATH")
    return browser


#: headless Chromium makes no window narrower than this many CSS px
MIN_WINDOW = 500

# A phone-sized viewport: the page in an iframe of that size, inside a window of MIN_WINDOW px.
# The page's media queries see the iframe's width. Reports posted from inside come up here.
_NARROW = """<!doctype html><html><head><meta charset="utf-8"><style>
html, body {{ margin: 0; background: #ffffff; }} iframe {{ border: 0; display: block; }}
</style></head><body><iframe src="{src}" style="width: {width}px; height: {height}px"></iframe>
<script>window.addEventListener('message', function (e) {{
  if (!e.data || !e.data.embedlensReport) return;
  var pre = document.createElement('pre');
  pre.id = e.data.embedlensReport; pre.style.display = 'none'; pre.textContent = e.data.text;
  document.body.appendChild(pre);
}});</script></body></html>"""


def viewport(page: Path, folder: Path, width: int, height: int) -> tuple[Path, int]:
    """What to load and how wide a window: ``page`` itself, or, for a viewport narrower than
    :data:`MIN_WINDOW`, a wrapper showing it in an iframe of ``width`` x ``height``."""
    if width >= MIN_WINDOW:
        return page, width
    wrapper = folder / "narrow-viewport.html"
    src = html.escape(page.resolve().as_uri(), quote=True)
    wrapper.write_text(_NARROW.format(src=src, width=width, height=height), encoding="utf-8")
    return wrapper, MIN_WINDOW


def chromium_args(browser: str, folder: Path, width: int, height: int, budget_ms: int) -> list[str]:
    """Headless Chromium with a fresh profile in ``folder``, a window and a time budget."""
    return [
        browser,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={folder / 'profile'}",
        f"--window-size={width},{height}",
        f"--virtual-time-budget={budget_ms}",
    ]


def screenshot(
    page: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    width: int = 1200,
    height: int = 900,
    budget_ms: int = 20_000,
    timeout: float = 300.0,
    chromium: str | None = None,
) -> Path:
    """Save ``page`` as seen in a ``width`` x ``height`` CSS px viewport as the PNG ``out``.

    Raises ``FileNotFoundError`` without a Chromium, ``RuntimeError`` when it wrote nothing.
    """
    browser = require_chromium(chromium)
    target = Path(out)
    with tempfile.TemporaryDirectory(prefix="embedlens-shot-") as tmp:
        folder = Path(tmp)
        shown, window = viewport(Path(page), folder, width, height)
        subprocess.run(
            [*chromium_args(browser, folder, window, height, budget_ms),
             f"--screenshot={target.resolve()}", shown.resolve().as_uri()],
            capture_output=True,
            timeout=timeout,
            check=False,
        )  # fmt: skip
    if not target.is_file():
        raise RuntimeError(f"Chromium wrote no screenshot of {page}")
    if window != width:  # the wrapper's window: keep the viewport alone
        write_png(target, np.ascontiguousarray(read_png(target)[:height, :width]))
    return target
