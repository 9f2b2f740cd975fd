"""The report as a reader sees it (issue 25): at 1400 px, on a 400 px phone and printed, in
headless Chromium. A phone-sized viewport is an iframe of that width (headless Chromium makes
no window narrower than 500 px); the page inside it reports its own layout upwards."""

from __future__ import annotations

import re

import pytest
from chromium_dom import dumped_json

from embedlens.audit import audit
from embedlens.data import load_corpus

CHROMIUM = __import__("interpret.maps.export", fromlist=["find_chromium"]).find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="needs a headless Chromium: `make demo` installs it (apt-get install chromium)",
)

# the page measures itself once plotly has drawn, and tells the page around it (if any)
_MEASURE = """<script>
window.addEventListener('load', function () { setTimeout(function () {
  var doc = document.documentElement, vw = doc.clientWidth;
  var plots = Array.prototype.map.call(document.querySelectorAll('.js-plotly-plot'),
    function (p) { var r = p.getBoundingClientRect(); return [r.left, r.right]; });
  var boxes = Array.prototype.map.call(document.querySelectorAll('.scroll'),
    function (b) { var r = b.getBoundingClientRect();
      return {right: r.right, scrolls: b.scrollWidth > b.clientWidth}; });
  var out = {viewport: vw, page: doc.scrollWidth, plots: plots, boxes: boxes,
    font: parseFloat(getComputedStyle(document.body).fontSize),
    headline: parseFloat(getComputedStyle(document.getElementById('headline')).fontSize),
    meta: !!document.querySelector('meta[name=viewport]')};
  var pre = document.createElement('pre');
  pre.id = '__layout'; pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
  if (window.parent !== window) { window.parent.postMessage(pre.textContent, '*'); }
}, 1500); });
</script>"""
_FRAME = """<!DOCTYPE html><html><body style="margin:0">
<iframe src="{src}" style="width:{w}px;height:900px;border:0"></iframe>
<pre id="__layout"></pre>
<script>window.addEventListener('message', function (e) {{
  document.getElementById('__layout').textContent = e.data; }});</script>
</body></html>"""


def _layout(index, tmp_path, width):
    page = tmp_path / f"measured-{width}.html"
    text = index.read_text(encoding="utf-8").replace("</body>", _MEASURE + "</body>", 1)
    page.write_text(text, encoding="utf-8")
    target = page
    if width < 500:
        target = tmp_path / f"frame-{width}.html"
        target.write_text(_FRAME.format(src=page.name, w=width), encoding="utf-8")
    box = dumped_json(
        target, tmp_path / f"profile-{width}", "__layout", width=max(width, 500), height=900
    )
    assert box is not None, "the page never reported its layout"
    return box


@pytest.fixture(scope="module")
def index(toy, join_corpora, tmp_path_factory):
    victims = load_corpus("pii", n=40, seed=0)
    result = audit(
        toy,
        victims,
        attacker_corpus=join_corpora(load_corpus("pii", n=30, seed=5), victims.subset(range(20))),
        attacks=["nn", "bow"],
        defenses=["noise:0.05", "noise:1000", "int8", "leace:condition"],
        bootstrap=50,
        progress=False,
        attack_options={"bag-of-words": {"epochs": 20}},
    )
    return result.to_html(tmp_path_factory.mktemp("browser") / "report", pdf=True)


@pytest.mark.parametrize("width", [1400, 400])
def test_the_page_fits_the_screen_and_its_tables_scroll(index, tmp_path, width):
    box = _layout(index, tmp_path, width)
    assert box["meta"] and box["viewport"] == width
    assert box["page"] <= width  # nothing widens the page: no sideways scrolling of the page
    assert box["font"] >= 15 and box["headline"] >= 16  # text a reader can read on a phone
    assert len(box["plots"]) == 4
    assert all(left >= 0 and right <= width + 1 for left, right in box["plots"])
    assert all(b["right"] <= width + 1 for b in box["boxes"])
    if width == 400:  # the wide tables scroll inside their own box
        assert sum(b["scrolls"] for b in box["boxes"]) >= 3


def test_the_pdf_prints_without_toolbars_and_keeps_rows_whole(index):
    from redaction_check import pdf_text

    from embedlens.audit.report import pdf_pages

    pdf = index.parent / "report.pdf"
    text = pdf_text(pdf)
    assert pdf_pages(pdf) >= 4
    for heading in ("Summary", "Defenses: retrieval utility against leakage", "Limitations"):
        assert heading in text
    css = (
        __import__("importlib.resources", fromlist=["files"])
        .files("embedlens.audit")
        .joinpath("report.css")
        .read_text()
    )
    printed = css[css.index("@media print") :]
    assert re.search(r"\.modebar-container[^{]*\{ display: none", printed)
    assert re.search(r"h2, h3 \{ break-after: avoid", printed)
    assert re.search(r"tr, figure\.plot[^{]*\{ break-inside: avoid", printed)
