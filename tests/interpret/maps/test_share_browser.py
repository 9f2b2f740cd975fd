"""The page to share, in headless Chromium: search, click, neighbours, filters, inert payloads.

Each test opens an exported page in a real browser (Debian's ``chromium``; skipped without
one), acts as a reader would (types in the search box, clicks on the canvas where a point is
drawn) and reads what the page shows. ``interpret.maps.browser.probe_page`` runs the actions.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from interpret.maps import EmbeddingMap
from interpret.maps.browser import probe_page, render_check

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("chromium") is None and shutil.which("google-chrome") is None,
        reason="needs a headless Chromium: apt-get install chromium (Debian)",
    ),
]

PAYLOADS = [
    "<script>window.__pwned = 1</script>",
    '<img src=x onerror="window.__pwned = 2">',
    "</script><script>window.__pwned = 3</script>",
    '<svg onload="window.__pwned = 4"></svg>',
]

# a real click: mouse down and up on the canvas where point I is drawn
CLICK = """(function (i) {
  var p = embedlens.toScreen(i), c = document.getElementById('map');
  c.dispatchEvent(new MouseEvent('mousedown', {clientX: p.x, clientY: p.y, bubbles: true}));
  window.dispatchEvent(new MouseEvent('mouseup', {clientX: p.x, clientY: p.y, bubbles: true}));
})"""


def later(expr: str, ms: int = 300) -> str:
    return f"new Promise(function (res) {{ setTimeout(function () {{ res({expr}); }}, {ms}); }})"


def rows(table: str) -> str:
    return (
        f"Array.from(document.querySelectorAll('#{table} tbody tr')).map(function (tr) {{"
        " return Array.from(tr.children).map(function (td) { return td.textContent; }); })"
    )


@pytest.fixture(scope="module")
def page(tmp_path_factory, blobs):
    X, texts, labels = blobs  # three topics of 30 points
    texts = list(texts)
    texts[:4] = PAYLOADS
    texts[50] = "the unique aardvark sentence"
    m = EmbeddingMap("pca").fit(
        X,
        texts=texts,
        labels={"topic": labels, "<b>odd</b>": [PAYLOADS[1]] * 45 + ["fine"] * 45},
        ids=[f"doc-{i}" for i in range(len(texts))],
    )
    m.cluster("kmeans", n_clusters=3, random_state=0)

    class Decoder:
        def invert(self, V):
            return [
                f"centroid text {j} <img src=x onerror=window.__pwned=5>" for j in range(len(V))
            ]

        def explain(self, V):
            return ["an explanation"] * len(V)

    path = m.export_html(
        tmp_path_factory.mktemp("share") / "share.html",
        color="topic",
        inverter=Decoder(),
        explainer=Decoder(),
    )
    return path, m


def test_search_finds_highlights_and_lists_a_known_point(page):
    path, _ = page
    script = (
        "embedlens.search('AARDVARK').then(function (found) { return "
        + later(
            "{found: found, matches: embedlens.state.matchList, masked: embedlens.state.matches[50],"
            f" count: document.getElementById('search-count').textContent, rows: {rows('results')}}}"
        )
        + "; })"
    )
    result, errors = probe_page(path, script, width=1100, height=800)
    assert errors == []
    assert result["found"] == [50] and result["matches"] == [50] and result["masked"] == 1
    assert result["count"] == "1 match"
    assert (
        result["rows"][0][0] == "doc-50" and result["rows"][0][-1] == "the unique aardvark sentence"
    )


def test_search_highlight_is_drawn(page, tmp_path):
    """The highlight ring around a match is on screen (pixels), and other points fade."""
    from interpret.maps.browser import read_png

    path, _ = page
    shot = tmp_path / "search.png"
    report = render_check(path, screenshot=shot, width=1000, height=700)
    assert report.ok and report.page["drawn"] == 90
    before = read_png(shot)
    # the same page with a search typed in at load
    text = path.read_text(encoding="utf-8").replace(
        "</body>", "<script>embedlens.search('aardvark');</script></body>", 1
    )
    searched = tmp_path / "searched.html"
    searched.write_text(text, encoding="utf-8")
    render_check(searched, screenshot=shot, width=1000, height=700)
    after = read_png(shot)
    map_area = (slice(70, 690), slice(0, 600))
    # points faded: fewer saturated pixels; the black ring adds dark pixels
    saturated = lambda p: int((p[map_area].max(-1).astype(int) - p[map_area].min(-1) > 120).sum())  # noqa: E731
    dark = lambda p: int((p[map_area].max(-1) < 60).sum())  # noqa: E731
    assert saturated(after) < 0.5 * saturated(before)
    assert dark(after) > dark(before) + 20


def test_clicking_a_point_lists_its_neighbours(page):
    path, m = page
    script = f"({CLICK})(7), " + later(
        "{clicked: embedlens.state.clicked, neighbors: embedlens.state.neighbors,"
        f" rows: {rows('neighbors')}, note: document.getElementById('neighbors-note').textContent,"
        " point: document.getElementById('point').textContent}"
    )
    result, errors = probe_page(path, script, width=1100, height=800)
    assert errors == []
    expected = m.neighbors(7, k=10)["index"].tolist()
    assert result["clicked"] == 7 and result["neighbors"] == expected
    assert [r[0] for r in result["rows"]] == [str(i) for i in range(1, 11)]
    assert [r[1] for r in result["rows"]] == [f"doc-{i}" for i in expected]
    assert "10 nearest neighbours in the original space (cosine, exact)" in result["note"]
    assert "doc-7" in result["point"]


def test_payloads_stay_inert_and_show_as_text(page):
    path, _ = page
    script = (
        "embedlens.search('pwned').then(function () {"
        f" ({CLICK})(1); return "
        + later(
            "{pwned: window.__pwned || 0, imgs: document.querySelectorAll('img').length,"
            " svgs: document.querySelectorAll('aside svg, #tip svg').length,"
            f" results: {rows('results')}, clusters: document.getElementById('clusters').textContent,"
            " filters: document.getElementById('filters').textContent}"
        )
        + "; })"
    )
    result, errors = probe_page(path, script, width=1100, height=800)
    assert errors == []
    assert result["pwned"] == 0 and result["imgs"] == 0 and result["svgs"] == 0
    shown = [r[-1] for r in result["results"]]
    assert shown == PAYLOADS  # each payload found by search and shown exactly as typed
    assert "centroid text 0 <img src=x onerror=window.__pwned=5>" in result["clusters"]


def test_decoded_centroid_texts_appear(page):
    path, _ = page
    script = later(
        "{clusters: document.getElementById('clusters').textContent,"
        " cells: document.querySelectorAll('#cells .decoded-cell').length,"
        " note: document.getElementById('cells').textContent,"
        " about: document.getElementById('about').textContent}"
    )
    result, errors = probe_page(path, script)
    assert errors == []
    for j in range(3):
        assert f"decoded centroid: centroid text {j}" in result["clusters"]
    assert "explanation: an explanation" in result["clusters"]
    assert result["cells"] >= 1 and "exactly (PCA)" in result["note"]
    # the page states its budgets: characters of text and neighbours per point
    assert "Texts are kept to 1,000 characters per point" in result["about"]
    assert "10 nearest neighbours in the original space" in result["about"]


def test_filters_hide_a_category(page):
    path, _ = page
    script = (
        "(function () { var boxes = document.querySelectorAll('#filters input[type=checkbox]');"
        " boxes[0].click(); return "
        + later(
            "{drawn: embedlens.state.drawn, boxes: boxes.length,"
            " labels: Array.from(document.querySelectorAll('#filters label')).map(function (l)"
            " { return l.textContent; })}"
        )
        + "; })()"
    )
    result, errors = probe_page(path, script)
    assert errors == []
    assert result["boxes"] == 3 and result["drawn"] == 60  # one topic of 30 hidden
    assert sorted(result["labels"]) == ["cats (30)", "stocks (30)", "weather (30)"]


def test_dark_page_renders_with_its_background(tmp_path):
    X = np.random.default_rng(0).normal(size=(3000, 8)).astype("f4")
    m = EmbeddingMap("pca").fit(
        X, texts=[f"t {i}" for i in range(3000)], labels=["a", "b", "c"] * 1000
    )
    path = m.export_html(tmp_path / "dark.html", theme="dark")
    report = render_check(path, width=900, height=600)
    assert report.ok and report.errors == [] and report.page["drawn"] == 3000
    corner = report.pixels[80:90, 5:15].reshape(-1, 3)
    assert (np.abs(corner.astype(int) - [0x11, 0x14, 0x18]).sum(-1) < 10).all()


def test_shift_drag_selects_a_box_into_the_table(page):
    path, _ = page
    script = (
        "(function () { var c = document.getElementById('map'), r = c.getBoundingClientRect();"
        " function ev(type, x, y, target) { (target || window).dispatchEvent(new MouseEvent(type,"
        " {clientX: x, clientY: y, shiftKey: true, bubbles: true})); }"
        " ev('mousedown', r.left + 1, r.top + 1, c); ev('mousemove', r.right - 1, r.bottom - 1);"
        " ev('mouseup', r.right - 1, r.bottom - 1); return "
        + later(
            "{selected: embedlens.state.selection.length, rows: "
            + rows("selection")
            + ", note: document.getElementById('selection-note').textContent}"
        )
        + "; })()"
    )
    result, errors = probe_page(path, script)
    assert errors == []
    assert result["selected"] == 90 and len(result["rows"]) == 90  # every point is in the box
    assert result["note"] == "90 points selected"
    assert {r[1] for r in result["rows"]} == {"cats", "stocks", "weather"}  # the labels column


def test_selection_downloads_as_csv_that_spreadsheets_do_not_run(tmp_path):
    import csv
    import io

    X = np.random.default_rng(0).normal(size=(40, 6)).astype("f4")
    texts = ['=HYPERLINK("http://x", "click")', "-2+3", 'say "hi", then leave'] + [
        f"text {i}" for i in range(37)
    ]
    m = EmbeddingMap("pca").fit(X, texts=texts, labels={"kind": ["@a", "b"] * 20})
    path = m.export_html(tmp_path / "csv.html")
    result, errors = probe_page(path, "embedlens.selectionCsv([0, 1, 2, 7])")
    assert errors == []
    table = list(csv.reader(io.StringIO(result)))
    assert table[0] == ["index", "id", "kind", "text"]
    assert table[1] == ["0", "#0", "'@a", '\'=HYPERLINK("http://x", "click")']
    assert table[2][3] == "'-2+3" and table[3][3] == 'say "hi", then leave'
    assert table[4] == ["7", "#7", "b", "text 4"]


# --------------------------------------------------------------------------- layout (issue 27)

LAYOUT = """{
  aside: (function (a) { return {scroll: a.scrollWidth, client: a.clientWidth,
    right: a.getBoundingClientRect().right, top: a.getBoundingClientRect().top}; })(
    document.querySelector('aside')),
  cellsRight: Math.max.apply(null, Array.from(document.querySelectorAll('aside td, aside th'))
    .map(function (td) { return td.getBoundingClientRect().right; }).concat([0])),
  map: (function (r) { return {width: r.width, height: r.height, bottom: r.bottom}; })(
    document.getElementById('map').getBoundingClientRect()),
  selectionTop: document.getElementById('sec-selection').getBoundingClientRect().top,
  viewport: window.innerWidth + 'x' + window.innerHeight,
  hidden: Array.from(document.querySelectorAll('aside section')).filter(function (s) {
    return s.hidden; }).map(function (s) { return s.id; })
}"""


def test_sidebar_text_wraps_and_a_new_selection_comes_into_view(page):
    """Long texts wrap inside the sidebar; a selection made below 90 search results is shown."""
    path, _ = page
    script = (
        "embedlens.search('the').then(function () { embedlens.select([3, 50, 60]); return "
        + later(LAYOUT)
        + "; })"
    )
    result, errors = probe_page(path, script, width=1400, height=800)
    assert errors == []
    aside = result["aside"]
    assert aside["scroll"] <= aside["client"]  # nothing wider than the sidebar
    assert result["cellsRight"] <= aside["right"] + 0.5
    # the selection's section is at the top of the sidebar's view, not under the results
    assert aside["top"] - 1 <= result["selectionTop"] <= aside["top"] + 50


def test_empty_sections_are_hidden(page, tmp_path, blobs):
    path, _ = page
    decoded, errors = probe_page(path, later(LAYOUT))
    assert errors == [] and decoded["hidden"] == []  # clusters and decoded regions to show
    X, texts, labels = blobs
    plain = EmbeddingMap("pca").fit(X, texts=texts, labels=labels).export_html(tmp_path / "p.html")
    result, errors = probe_page(plain, later(LAYOUT))
    assert errors == [] and sorted(result["hidden"]) == ["sec-cells", "sec-clusters"]


def test_on_a_phone_the_map_comes_first(page, tmp_path):
    """At 400 px the map spans the width above the sidebar, not a strip beside it."""
    path, _ = page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in (
        path.read_text(encoding="utf-8")
    )
    result, errors = probe_page(path, later(LAYOUT), width=400, height=800)
    assert errors == [] and result["viewport"] == "400x800"
    assert result["map"]["width"] == 400 and result["map"]["height"] >= 250
    assert result["aside"]["top"] >= result["map"]["bottom"] - 1  # below the map
    assert result["aside"]["scroll"] <= result["aside"]["client"]
    shot = tmp_path / "phone.png"
    report = render_check(path, screenshot=shot, width=400, height=800)
    assert report.ok and report.pixels.shape[:2] == (800, 400)
