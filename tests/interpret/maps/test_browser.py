"""An exported map opened in headless Chromium renders its points without a JavaScript error.

Needs Debian's chromium (``apt-get install chromium``); skipped with that reason otherwise.
The tests install nothing themselves.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from interpret.maps import EmbeddingMap, compare_maps
from interpret.maps.browser import render_check
from interpret.maps.palette import palette

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("chromium") is None and shutil.which("google-chrome") is None,
        reason="needs a headless Chromium: apt-get install chromium (Debian)",
    ),
]

# the palette's first two colours (Okabe & Ito's sky blue and reddish purple)
FIRST, SECOND = (np.array([int(c[i : i + 2], 16) for i in (1, 3, 5)]) for c in palette(2))


def near(pixels, color, tol=40):
    return int((np.abs(pixels[..., :3].astype(int) - color).sum(axis=-1) < tol).sum())


def test_exported_map_renders_its_points(tmp_path):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(1000, 8)) + 6, rng.normal(size=(1000, 8)) - 6]).astype("f4")
    labels = ["left"] * 1000 + ["right"] * 1000
    m = EmbeddingMap("pca").fit(X, texts=["<script>alert(1)</script>"] * 2000, labels=labels)
    page = m.save_html(tmp_path / "map.html", size=6, opacity=1.0)
    report = render_check(page, screenshot=tmp_path / "shot.png", width=900, height=700)
    assert report.errors == [], report.errors
    assert report.plots == 1 and report.traces == 2 and report.points == 2000
    assert not report.no_webgl and report.canvases > 0
    assert report.ok and report.ink > 0.01
    # both categories were painted, in their own colours (WebGL points, not just axes)
    assert near(report.pixels, FIRST) > 500 and near(report.pixels, SECOND) > 500


def test_linked_comparison_page_renders(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 8)).astype("f4")
    cmp = compare_maps(X, X[:, :5], method="pca", k=5)
    report = render_check(cmp.save_html(tmp_path / "cmp.html"), width=900, height=500)
    assert report.errors == [] and report.traces == 2 and report.points == 1000
    assert report.ok


def test_a_broken_page_is_caught(tmp_path):
    """The check can fail: a page with a script error and no plot is reported as such."""
    page = tmp_path / "broken.html"
    page.write_text("<html><head></head><body><script>notAFunction();</script></body></html>")
    report = render_check(page, width=400, height=300)
    assert not report.ok
    assert any("notAFunction" in e for e in report.errors)
    assert report.plots == 0 and report.ink == 0.0


def test_linked_selection_in_the_exported_page(tmp_path):
    """Selecting points in one panel of the exported comparison selects them in the other."""
    import re
    import subprocess

    from interpret.maps.browser import CHROMIUM_FLAGS
    from interpret.maps.export import find_chromium

    X = np.random.default_rng(0).normal(size=(200, 8)).astype("f4")
    cmp = compare_maps(X, X[:, :5], method="pca", k=5, labels={"g": ["a", "b"] * 100})
    page = cmp.save_html(tmp_path / "cmp.html", color="g").read_text(encoding="utf-8")
    probe = """<script>
window.addEventListener('load', function () { setTimeout(function () {
  var gd = document.querySelector('.js-plotly-plot');
  gd.emit('plotly_selected', {points: [{curveNumber: 1, pointNumber: 2},
                                       {curveNumber: 1, pointNumber: 5}]});
  setTimeout(function () {
    var pre = document.createElement('pre'); pre.id = 'out';
    pre.textContent = JSON.stringify(gd.data.map(function (t) { return t.selectedpoints; }));
    document.body.appendChild(pre);
  }, 300);
}, 300); });
</script>"""
    path = tmp_path / "probe.html"
    path.write_text(page.replace("</body>", probe + "</body>", 1), encoding="utf-8")
    dom = subprocess.run(
        [
            find_chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    found = re.search(r'<pre id="out">(.*?)</pre>', dom, re.S)
    assert found is not None, dom[-500:]
    # traces: [panel A: a, b] + [panel B: a, b]; points 2 and 5 of "b" selected in both panels
    assert found.group(1) == "[[],[2,5],[],[2,5]]"
