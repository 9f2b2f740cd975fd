"""Paper figures at their physical size: pixels and points, fonts, legends, labels, aspect.

The kaleido tests read the rendered figure itself (the SVG that Chromium draws): where each
annotation's box is, how large its text is. They skip without kaleido and a Chromium; the same
layout is checked on the figure's data and through the matplotlib fallback without them.
"""

from __future__ import annotations

import importlib.util
import re
import shutil

import numpy as np
import pytest

from interpret.maps import EmbeddingMap
from interpret.maps.browser import read_png
from interpret.maps.export import png_dpi
from interpret.maps.labels import place_labels
from interpret.maps.printed import Fonts, arrange

needs_kaleido = pytest.mark.skipif(
    importlib.util.find_spec("kaleido") is None or shutil.which("chromium") is None,
    reason="needs kaleido and a Chromium (apt-get install chromium)",
)
needs_matplotlib = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib"
)
CONDITIONS = [
    "chronic kidney disease", "sleep apnea", "bipolar disorder", "COPD", "asthma", "HIV",
    "major depressive disorder", "Crohn's disease", "multiple sclerosis", "type 2 diabetes",
    "chronic migraine", "generalized anxiety disorder", "hepatitis C", "epilepsy", "psoriasis",
    "breast cancer", "rheumatoid arthritis", "Parkinson's disease", "hypertension",
    "celiac disease",
]  # fmt: skip


def pdf_page(path) -> tuple[float, float]:
    found = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", path.read_bytes())
    assert found, "no page size in the PDF"
    return float(found.group(1)), float(found.group(2))


def svg_annotations(svg: str) -> list[tuple[str, float, float, float, float, float]]:
    """Each annotation kaleido drew: (text, x0, y0, x1, y1, font px) in the page's px."""
    out = []
    for group in re.findall(r'<g class="annotation".*?</text>', svg, re.S):
        left, top = map(float, re.search(r'class="cursor-pointer" transform="translate\(([-\d.]+),([-\d.]+)\)', group).groups())  # fmt: skip
        w, h = map(float, re.search(r'class="bg"[^>]*width="([\d.]+)" height="([\d.]+)"', group).groups())  # fmt: skip
        text = re.search(r">([^<>]*)</text>", group).group(1)
        size = float(re.search(r"font-size: ([\d.]+)px", group).group(1))
        out.append((text, left, top, left + w, top + h, size))
    return out


@pytest.fixture(scope="module")
def twenty():
    """300 points in 20 categories of 12-18 points, and 8 clusters with long names."""
    rng = np.random.default_rng(3)
    labels = [CONDITIONS[i % 20] for i in range(300)]
    centres = rng.normal(size=(20, 6)) * 3
    X = np.stack([centres[i % 20] + rng.normal(size=6) for i in range(300)]).astype(np.float32)
    texts = [f"record of {lab} number {i}" for i, lab in enumerate(labels)]
    m = EmbeddingMap("pca", random_state=0).fit(X, texts=texts, labels={"condition": labels})
    return m


# --------------------------------------------------------------------------- size


@needs_matplotlib
@pytest.mark.parametrize("engine", ["matplotlib", pytest.param("kaleido", marks=needs_kaleido)])
def test_a_column_wide_figure_is_1050_px_and_252_pt(twenty, tmp_path, engine):
    png, pdf, svg = (tmp_path / f"fig.{s}" for s in ("png", "pdf", "svg"))
    assert twenty.save_image(png, width_in=3.5, dpi=300, engine=engine) == engine
    pixels = read_png(png)
    assert pixels.shape[1] == 1050 and round(png_dpi(png)) == 300
    height_in = pixels.shape[0] / 300
    assert twenty.save_image(pdf, width_in=3.5, dpi=300, engine=engine) == engine
    width_pt, height_pt = pdf_page(pdf)
    assert width_pt == pytest.approx(252, abs=0.01)
    assert height_pt == pytest.approx(height_in * 72, abs=0.5)  # the same page as the PNG
    twenty.save_image(svg, width_in=3.5, height_in=2.5, engine=engine)
    head = re.search(r"<svg\b[^>]*>", svg.read_text(encoding="utf-8")).group(0)
    assert re.search(r'width="252(\.0+)?pt"', head) and re.search(r'height="180(\.0+)?pt"', head)
    # pixel sizes still work, and a PDF page is their size in points whatever the scale
    twenty.save_image(pdf, width=400, height=300, scale=3, engine=engine)
    assert pdf_page(pdf) == pytest.approx((300.0, 225.0), abs=0.01)


def test_fonts_are_points_for_the_physical_size():
    assert (Fonts.for_width(3.5).base, Fonts.for_width(3.5).title) == (8.0, 9.0)
    assert Fonts.for_width(3.5).legend == 7.0 and Fonts.for_width(7.0).base == 10.0


@needs_kaleido
@pytest.mark.slow
def test_text_of_a_column_figure_is_7_to_9_points(twenty, tmp_path):
    twenty.cluster("kmeans", n_clusters=6, random_state=0)
    path = tmp_path / "fig.svg"
    twenty.save_image(path, width_in=3.5, color="condition", title="Twenty conditions")
    svg = path.read_text(encoding="utf-8")
    sizes = [float(s) * 0.75 for s in re.findall(r"font-size: ([\d.]+)px", svg)]
    assert sizes and min(sizes) >= 7.0 - 1e-3 and max(sizes) <= 9.0 + 1e-3


def test_the_map_keeps_its_aspect(twenty):
    fig = twenty.figure(color="condition")
    arranged = arrange(fig, width=336, height=300, fonts=Fonts(8))
    x, y = fig.layout.xaxis, fig.layout.yaxis
    page_w, page_h = 336 - 10, arranged.height - 10  # the paper inside the 5 px margins
    px_per_x = (x.domain[1] - x.domain[0]) * page_w / (x.range[1] - x.range[0])
    px_per_y = (y.domain[1] - y.domain[0]) * page_h / (y.range[1] - y.range[0])
    assert px_per_x == pytest.approx(px_per_y, rel=1e-6) == pytest.approx(arranged.scale)
    lo, hi = twenty.embedding_.min(axis=0), twenty.embedding_.max(axis=0)
    assert x.range[0] < lo[0] and hi[0] < x.range[1] and y.range[0] < lo[1] and hi[1] < y.range[1]


# --------------------------------------------------------------------------- legends


def legend_texts(fig) -> list[str]:
    return [a.text for a in fig.layout.annotations if a.name == "legend"]


def test_twenty_categories_all_in_the_legend_when_they_fit(twenty):
    fig = twenty.figure(color="condition")
    arranged = arrange(fig, width=336, height=None, fonts=Fonts(8))  # 3.5 in, height to fit
    names = legend_texts(fig)
    assert len(names) == 20 and not arranged.legend.folded
    assert {n.rsplit(" (", 1)[0] for n in names} == set(CONDITIONS)
    assert not any(a.name == "legend-note" for a in fig.layout.annotations)
    assert 0.5 * 336 <= arranged.height <= 1.6 * 336


def test_a_legend_that_cannot_fit_folds_its_tail_and_says_so(twenty):
    fig = twenty.figure(color="condition")
    arranged = arrange(fig, width=336, height=192, fonts=Fonts(8), what="condition categories")
    plan = arranged.legend
    shown = legend_texts(fig)
    k = len(plan.folded)
    assert k > 0 and shown[-1].startswith(f"other ({k})")
    assert len(shown) - 1 + k == 20  # every category is shown or counted in "other"
    note = " ".join(a.text for a in fig.layout.annotations if a.name == "legend-note")
    assert f"other ({k}): the {k} smallest condition categories" in note
    assert "20 condition categories in all" in note
    folded_traces = {j for e in plan.folded for j in e.traces}
    greys = [t for t in fig.data if t.name != "legend" and t.marker.color == "#b4b4b4"]
    assert len(greys) == len(folded_traces)  # the folded categories are drawn grey
    # the legend's box lies inside the page
    first = next(a for a in fig.layout.annotations if a.name == "legend")
    for ref in (first.xref, first.yref):
        axis = fig.layout[f"{ref[0]}axis{ref[1:]}"]
        assert 0.0 <= axis.domain[0] <= axis.domain[1] <= 1.0 + 1e-9


@needs_kaleido
@pytest.mark.slow
def test_rendered_legend_is_complete_and_inside_the_page(twenty, tmp_path):
    path = tmp_path / "fig.svg"
    twenty.save_image(path, width_in=3.5, color="condition")
    svg = path.read_text(encoding="utf-8")
    width, height = map(float, re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg).groups())
    drawn = svg_annotations(svg)
    names = {t.rsplit(" (", 1)[0].replace("&#39;", "'") for t, *_ in drawn}
    assert set(CONDITIONS) <= names  # all 20, none folded at the height that fits
    for text, x0, y0, x1, y1, _ in drawn:
        assert x0 >= 0 and x1 <= width + 0.5 and y0 >= 0 and y1 <= height + 0.5, text


def test_more_than_ten_colours_suggest_facets_or_shapes(twenty, caplog):
    with caplog.at_level("WARNING"):
        twenty.figure(color="condition")
    assert "20 colours for 'condition'" in caplog.text and "symbols=True" in caplog.text
    caplog.clear()
    fig = twenty.figure(color="condition", symbols=True)
    assert len({t.marker.symbol for t in fig.data}) == 6  # shapes as well as colours
    few = EmbeddingMap("pca").fit(twenty.vectors_, labels=["a", "b"] * 150)
    with caplog.at_level("WARNING"):
        few.figure()
    assert "colours for" not in caplog.text


# --------------------------------------------------------------------------- labels


def test_place_labels_keeps_every_pair_apart():
    rng = np.random.default_rng(0)
    anchors = rng.uniform(40, 160, size=(14, 2))
    anchors[1] = anchors[0] + 1  # two clusters almost on top of each other
    sizes = np.column_stack([rng.uniform(40, 90, 14), np.full(14, 12.0)])
    offsets = place_labels(anchors, sizes, (0, 0, 300, 200), gap=1.0)
    centres = anchors + offsets
    boxes = np.column_stack([centres - sizes / 2, centres + sizes / 2])
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (i, j)
    assert (
        (boxes[:, :2] >= -1e-9).all() and (boxes[:, 2] <= 300).all() and (boxes[:, 3] <= 200).all()
    )
    # a label with room at its anchor stays there
    alone = place_labels([[20, 20], [200, 150]], [[30, 10], [30, 10]], (0, 0, 300, 200))
    assert np.allclose(alone, 0)


def test_moved_labels_get_a_leader_line_and_no_box(twenty):
    twenty.cluster("kmeans", n_clusters=12, random_state=0)
    fig = twenty.figure(color="cluster")
    arrange(fig, width=336, height=300, fonts=Fonts(8))
    names = [a for a in fig.layout.annotations if a.name == "cluster"]
    assert len(names) == 12
    assert all(a.bgcolor is None or "0)" in str(a.bgcolor) for a in names)  # nothing behind
    assert all(a.font.shadow for a in names)  # a halo around the letters instead
    moved = [a for a in names if a.showarrow]
    assert moved and all(a.arrowhead == 0 and (a.ax or a.ay) for a in moved)


@needs_kaleido
@pytest.mark.slow
@pytest.mark.parametrize("width_in", [3.5, 7.0])
def test_rendered_cluster_names_never_overlap(twenty, tmp_path, width_in):
    twenty.cluster("kmeans", n_clusters=12, random_state=0)
    path = tmp_path / "fig.svg"
    twenty.save_image(path, width_in=width_in, color="cluster")
    drawn = svg_annotations(path.read_text(encoding="utf-8"))
    names = set(twenty.clusters_.names.values())
    boxes = [b for b in drawn if b[0] in names]
    assert len(boxes) == 12
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = a[3] <= b[1] or b[3] <= a[1] or a[4] <= b[2] or b[4] <= a[2]
            assert apart, (a, b)


@needs_kaleido
@pytest.mark.slow
def test_interactive_figure_names_do_not_overlap_either(twenty):
    import plotly.io as pio

    twenty.cluster("kmeans", n_clusters=10, random_state=0)
    fig = twenty.figure(color="cluster", width=900, height=450)
    drawn = svg_annotations(pio.to_image(fig, format="svg").decode("utf-8"))
    names = set(twenty.clusters_.names.values())
    boxes = [b for b in drawn if b[0] in names]
    assert len(boxes) == 10
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[3] <= b[1] or b[3] <= a[1] or a[4] <= b[2] or b[4] <= a[2], (a, b)


# --------------------------------------------------------------------------- cluster keywords


def test_no_cluster_of_pii_is_named_by_email_domains_or_numbers():
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    from embedlens import load_corpus

    corpus = load_corpus("pii", n=600, seed=0)
    # vectors that see e-mail domains and numbers too: a bag of all tokens, reduced
    tfidf = TfidfVectorizer(token_pattern=r"\S+").fit_transform(corpus.texts)
    X = TruncatedSVD(32, random_state=0).fit_transform(tfidf).astype(np.float32)
    m = EmbeddingMap("pca", random_state=0).fit(X, texts=corpus.texts)
    names = m.cluster("kmeans", n_clusters=8, random_state=0).names
    assert any("com" in t for t in corpus.texts)  # the records do carry e-mail domains
    for name in names.values():
        words = name.split(", ")
        assert "com" not in words and not any(ch.isdigit() or ch in "@." for ch in name), name
        assert len(words) == 3, name


def test_keywords_need_two_texts_unless_no_word_has_them():
    from interpret.maps import ClusterContext, KeywordLabeler

    texts = ["cats purr loudly", "cats nap", "zebra stocks fall", "stocks rise", "alpha beta"]
    ctx = ClusterContext(
        [0, 1, 2], [np.array([0, 1]), np.array([2, 3]), np.array([4])], texts, np.zeros((3, 2))
    )
    names = KeywordLabeler(n_words=2)(ctx)
    # "purr", "loudly" and "zebra" are in one text each: the word in two texts comes first
    assert names[0].startswith("cats") and names[1].startswith("stocks")
    assert "zebra" not in names[1] and "loudly" not in names[0]
    assert names[2] == "alpha, beta"  # a one-text cluster is still named by its words
    with pytest.raises(ValueError, match="min_df must be"):
        KeywordLabeler(min_df=0)(ctx)
