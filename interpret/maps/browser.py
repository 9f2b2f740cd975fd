"""Check that an exported map renders: open it in headless Chromium, as a reader would.

Used by the tests and the benchmark (and by anyone who wants the same check in their CI): a
copy of the page gets a small observer script that records JavaScript errors and what plotly
drew; Chromium dumps the page's DOM (the observer's report) and takes a screenshot, whose
pixels tell whether points were painted. The exported file itself is not changed. Only the
standard library and numpy are used; Chromium is Debian's ``chromium`` package or any
Chrome on ``PATH`` / ``BROWSER_PATH``.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embedlens.chromium import CHROMIUM_FLAGS, chromium_args, require_chromium, viewport
from embedlens.chromium import screenshot as save_screenshot
from embedlens.png import read_png, write_png

# re-exported: the audit report starts Chromium with these flags; tests read PNGs from here
__all__ = [
    "CHROMIUM_FLAGS",
    "RenderReport",
    "ink",
    "probe_page",
    "read_png",
    "render_check",
    "write_png",
]

_OBSERVER = """<script>
window.__embedlensErrors = [];
window.addEventListener('error', function (e) {
  window.__embedlensErrors.push(String(e.message || e));
});
window.addEventListener('unhandledrejection', function (e) {
  window.__embedlensErrors.push('unhandled rejection: ' + String(e.reason));
});
(function () {
  var original = console.error;
  console.error = function () {
    window.__embedlensErrors.push(Array.prototype.join.call(arguments, ' '));
    return original.apply(console, arguments);
  };
})();
</script>"""

_REPORTER = """<script>
window.addEventListener('load', function () {
  setTimeout(function () {
    var plots = document.querySelectorAll('.js-plotly-plot');
    var traces = 0, points = 0, gl = 0;
    plots.forEach(function (gd) {
      (gd._fullData || []).forEach(function (t) {
        traces += 1;
        points += (t._length || (t.x ? t.x.length : 0) || 0);
      });
      gl += gd.querySelectorAll('canvas').length;
    });
    var noWebgl = /WebGL is not supported/i.test(document.body.innerText);
    var page = window.embedlens && window.embedlens.report ? window.embedlens.report() : null;
    if (page) { plots += 1; traces += 1; points += page.drawn; }
    var pre = document.createElement('pre');
    pre.id = '__embedlens_report';
    pre.style.display = 'none';
    pre.textContent = JSON.stringify({plots: plots.length, traces: traces, points: points,
      canvases: gl, no_webgl: noWebgl, errors: window.__embedlensErrors, page: page});
    document.body.appendChild(pre);
    if (window.parent !== window) {  // inside a narrow viewport's iframe: report upwards too
      window.parent.postMessage({embedlensReport: pre.id, text: pre.textContent}, '*');
    }
  }, 500);
});
</script>"""


@dataclass
class RenderReport:
    """What headless Chromium saw of a page."""

    plots: int = 0
    traces: int = 0
    points: int = 0
    canvases: int = 0
    no_webgl: bool = False
    errors: list[str] = field(default_factory=list)
    ink: float = 0.0  # fraction of screenshot pixels that are not background
    colors: int = 0  # distinct colours among those pixels (quantised)
    page: dict | None = None  # a shareable page's own report (points drawn, render time)
    seconds: float = 0.0  # wall time of the Chromium run that loaded the page (DOM report)
    screenshot: Path | None = None
    pixels: np.ndarray | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """Rendered: a plot with points, no JavaScript error, WebGL present, ink on screen."""
        return (
            self.plots > 0
            and self.points > 0
            and not self.errors
            and not self.no_webgl
            and self.ink > 0.001
        )


def render_check(
    page: str | os.PathLike[str],
    *,
    screenshot: str | os.PathLike[str] | None = None,
    width: int = 1200,
    height: int = 900,
    budget_ms: int = 20_000,
    timeout: float = 300.0,
    chromium: str | None = None,
) -> RenderReport:
    """Open ``page`` in headless Chromium; report errors, plotted points and screenshot pixels.

    Raises ``FileNotFoundError`` when no Chromium is found.
    """
    browser = require_chromium(chromium)
    source = Path(page)
    with tempfile.TemporaryDirectory(prefix="embedlens-render-") as tmp:
        folder = Path(tmp)
        probe, window = viewport(_instrumented(source, folder, _REPORTER), folder, width, height)
        common = chromium_args(browser, folder, window, height, budget_ms)
        started = time.perf_counter()
        dom = subprocess.run(
            [*common, "--dump-dom", probe.as_uri()],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        ).stdout
        seconds = time.perf_counter() - started
        found = _dom_report(dom, "__embedlens_report")
        report = RenderReport()
        if found is None:
            report.errors = ["the page never finished loading (no report in the DOM)"]
        else:
            for key, value in found.items():
                setattr(report, key, value)
        report.seconds = seconds
        shot = Path(screenshot) if screenshot is not None else folder / "shot.png"
        with contextlib.suppress(RuntimeError):  # no screenshot: the report says no ink
            save_screenshot(source, shot, width=width, height=height, budget_ms=budget_ms,
                            timeout=timeout, chromium=browser)  # fmt: skip
        if shot.is_file():
            pixels = read_png(shot)
            report.pixels = pixels
            report.ink, report.colors = ink(pixels)
            report.screenshot = shot if screenshot is not None else None
    return report


def ink(pixels: np.ndarray) -> tuple[float, int]:
    """Fraction of pixels that differ from the most common colour, and their distinct colours."""
    rgb = pixels[..., :3].reshape(-1, 3).astype(np.int64)
    keys = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    values, counts = np.unique(keys, return_counts=True)
    background = values[np.argmax(counts)]
    inked = keys != background
    quantised = np.unique(keys[inked] & 0xF0F0F0)
    return float(inked.mean()), int(quantised.size)


_PROBE = """<script>
window.addEventListener('load', function () {
  function finish(value) {
    var pre = document.createElement('pre');
    pre.id = '__embedlens_probe';
    pre.style.display = 'none';
    pre.textContent = JSON.stringify({result: value, errors: window.__embedlensErrors});
    document.body.appendChild(pre);
    if (window.parent !== window) {  // inside a narrow viewport's iframe: report upwards too
      window.parent.postMessage({embedlensReport: pre.id, text: pre.textContent}, '*');
    }
  }
  function wait(tries) {
    if (!(window.embedlens && window.embedlens.ready)) {
      if (tries > 400) { finish({timeout: true}); return; }
      setTimeout(function () { wait(tries + 1); }, 25);
      return;
    }
    Promise.resolve().then(function () { return (PROBE_BODY); })
      .then(function (v) { setTimeout(function () { finish(v); }, 50); },
            function (e) { window.__embedlensErrors.push(String(e)); finish(null); });
  }
  wait(0);
});
</script>"""


def probe_page(
    page: str | os.PathLike[str],
    script: str,
    *,
    width: int = 1200,
    height: int = 900,
    budget_ms: int = 20_000,
    timeout: float = 120.0,
    chromium: str | None = None,
) -> tuple[object, list[str]]:
    """Run ``script`` (a JavaScript expression, may be a promise) in a shareable page.

    The expression is evaluated once ``window.embedlens.ready`` is true, in a copy of the page
    that also records JavaScript errors; returns ``(its JSON value, errors)``. The tests use it
    to type in the search box, click points and read the tables, as a reader would.
    """
    browser = require_chromium(chromium)
    source = Path(page)
    with tempfile.TemporaryDirectory(prefix="embedlens-probe-") as tmp:
        folder = Path(tmp)
        probe = _instrumented(source, folder, _PROBE.replace("PROBE_BODY", script))
        probe, window = viewport(probe, folder, width, height)
        dom = subprocess.run(
            [
                *chromium_args(browser, folder, window, height, budget_ms),
                "--dump-dom",
                probe.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        ).stdout
    data = _dom_report(dom, "__embedlens_probe")
    if data is None:
        return None, ["the probe never finished (no report in the DOM)"]
    return data["result"], list(data["errors"])


def _instrumented(source: Path, folder: Path, tail: str) -> Path:
    """A copy of the page in ``folder`` that records JavaScript errors and ends with ``tail``."""
    probe = folder / source.name
    text = source.read_text(encoding="utf-8")
    text = re.sub(r"<head>", "<head>" + _OBSERVER, text, count=1)
    probe.write_text(text.replace("</body>", tail + "</body>", 1), encoding="utf-8")
    return probe


def _dom_report(dom: str, element_id: str) -> Any:
    """The JSON a page script left in ``<pre id=element_id>`` of the dumped DOM, or None."""
    found = re.search(rf'<pre id="{element_id}"[^>]*>(.*?)</pre>', dom, re.S)
    return None if found is None else json.loads(html.unescape(found.group(1)))
