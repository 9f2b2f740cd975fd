"""Check that an exported map renders: open it in headless Chromium, as a reader would.

Used by the tests and the benchmark (and by anyone who wants the same check in their CI): a
copy of the page gets a small observer script that records JavaScript errors and what plotly
drew; Chromium dumps the page's DOM (the observer's report) and takes a screenshot, whose
pixels tell whether points were painted. The exported file itself is not changed. Only the
standard library and numpy are used; Chromium is Debian's ``chromium`` package or any
Chrome on ``PATH`` / ``BROWSER_PATH``.
"""

from __future__ import annotations

import html
import json
import os
import re
import struct
import subprocess
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from interpret.maps.export import find_chromium

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
    browser = _browser(chromium)
    source = Path(page)
    with tempfile.TemporaryDirectory(prefix="embedlens-render-") as tmp:
        folder = Path(tmp)
        probe, window = _viewport(_instrumented(source, folder, _REPORTER), folder, width, height)
        common = _chromium_args(browser, folder, window, height, budget_ms)
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
        shown, _ = _viewport(source, folder, width, height)
        subprocess.run(
            [*common, f"--screenshot={shot}", shown.resolve().as_uri()],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if shot.is_file():
            pixels = read_png(shot)
            if window != width:  # the wrapper's window: keep the viewport alone
                pixels = np.ascontiguousarray(pixels[:height, :width])
                write_png(shot, pixels)
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


def read_png(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes) to ``(h, w, c)``.

    Pillow decodes it when installed; otherwise a small decoder here does.
    """
    try:
        from PIL import Image
    except ImportError:
        return _decode_png(Path(path).read_bytes(), str(path))
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def write_png(path: str | os.PathLike[str], pixels: np.ndarray) -> None:
    """Write an ``(h, w, 3)`` uint8 array as an 8-bit RGB PNG (no filter, zlib level 6)."""
    rgb = np.ascontiguousarray(pixels[..., :3], dtype=np.uint8)
    h, w = rgb.shape[:2]
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6))
    Path(path).write_bytes(data + chunk(b"IEND", b""))


def _decode_png(data: bytes, name: str) -> np.ndarray:
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{name} is not a PNG file")
    pos, chunks, header = 8, [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    bpp = {2: 3, 6: 4}.get(color_type)
    if depth != 8 or bpp is None or interlace:
        raise ValueError(f"unsupported PNG in {name} (bit depth {depth}, colour type {color_type})")
    raw = zlib.decompress(b"".join(chunks))
    stride = width * bpp
    out = bytearray(height * stride)
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        cur = _unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), prev, bpp)
        out[y * stride : (y + 1) * stride] = cur
        prev = cur
    return np.frombuffer(bytes(out), dtype=np.uint8).reshape(height, width, bpp)[..., :3]


def _unfilter(kind: int, line: bytearray, prev: bytearray, bpp: int) -> bytearray:
    """Undo one PNG row filter (None, Sub, Up, Average, Paeth) in place."""
    n = len(line)
    if kind == 1:
        for i in range(bpp, n):
            line[i] = (line[i] + line[i - bpp]) & 0xFF
    elif kind == 2:
        for i in range(n):
            line[i] = (line[i] + prev[i]) & 0xFF
    elif kind == 3:
        for i in range(n):
            left = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
    elif kind == 4:
        for i in range(n):
            left = line[i - bpp] if i >= bpp else 0
            corner = prev[i - bpp] if i >= bpp else 0
            up = prev[i]
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            pred = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
            line[i] = (line[i] + pred) & 0xFF
    return line


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
    browser = _browser(chromium)
    source = Path(page)
    with tempfile.TemporaryDirectory(prefix="embedlens-probe-") as tmp:
        folder = Path(tmp)
        probe = _instrumented(source, folder, _PROBE.replace("PROBE_BODY", script))
        probe, window = _viewport(probe, folder, width, height)
        dom = subprocess.run(
            [
                *_chromium_args(browser, folder, window, height, budget_ms),
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


def _browser(chromium: str | None) -> str:
    """The Chromium to run (``chromium`` or the one found), or ``FileNotFoundError``."""
    browser = chromium or find_chromium()
    if browser is None:
        raise FileNotFoundError("no Chromium found: apt-get install chromium, or set BROWSER_PATH")
    return browser


def _instrumented(source: Path, folder: Path, tail: str) -> Path:
    """A copy of the page in ``folder`` that records JavaScript errors and ends with ``tail``."""
    probe = folder / source.name
    text = source.read_text(encoding="utf-8")
    text = re.sub(r"<head>", "<head>" + _OBSERVER, text, count=1)
    probe.write_text(text.replace("</body>", tail + "</body>", 1), encoding="utf-8")
    return probe


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


def _viewport(page: Path, folder: Path, width: int, height: int) -> tuple[Path, int]:
    """What to load and how wide a window: ``page`` itself, or, for a viewport narrower than
    :data:`MIN_WINDOW`, a wrapper showing it in an iframe of ``width`` x ``height``."""
    if width >= MIN_WINDOW:
        return page, width
    wrapper = folder / "narrow-viewport.html"
    src = html.escape(page.resolve().as_uri(), quote=True)
    wrapper.write_text(_NARROW.format(src=src, width=width, height=height), encoding="utf-8")
    return wrapper, MIN_WINDOW


def _chromium_args(
    browser: str, folder: Path, width: int, height: int, budget_ms: int
) -> list[str]:
    """Headless Chromium with a fresh profile in ``folder``, a window and a time budget."""
    return [
        browser,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={folder / 'profile'}",
        f"--window-size={width},{height}",
        f"--virtual-time-budget={budget_ms}",
    ]


def _dom_report(dom: str, element_id: str) -> Any:
    """The JSON a page script left in ``<pre id=element_id>`` of the dumped DOM, or None."""
    found = re.search(rf'<pre id="{element_id}"[^>]*>(.*?)</pre>', dom, re.S)
    return None if found is None else json.loads(html.unescape(found.group(1)))
