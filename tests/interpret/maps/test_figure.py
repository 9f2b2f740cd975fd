"""Drawing: hover text, colours, legend groups, payload and layout, checked on the figure's data."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest

from interpret.maps import EmbeddingMap
from interpret.maps.draw import hover_text, wrap


def X_(n=40, dim=8, seed=0):
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def all_hover(fig):
    return [h for trace in fig.data if trace.hovertext is not None for h in trace.hovertext]


def test_hover_escapes_html_in_texts_labels_and_ids():
    texts = ["<script>alert(1)</script> & more", "plain <b>bold</b> text"] + ["x"] * 38
    m = EmbeddingMap("pca").fit(
        X_(), texts=texts, labels={"kind": ["<i>odd</i>", "ok"] * 20}, ids=["<id>"] + ["id"] * 39
    )
    fig = m.figure()
    hover = all_hover(fig)
    first = next(h for h in hover if "alert" in h)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in first
    assert "<script>" not in first and "<i>" not in first
    assert "&lt;i&gt;odd&lt;/i&gt;" in first and "<b>&lt;id&gt;</b>" in first
    bold = next(h for h in hover if "bold" in h)
    assert "plain &lt;b&gt;bold&lt;/b&gt; text" in bold
    # legend names come from data too
    assert {t.name for t in fig.data} == {"&lt;i&gt;odd&lt;/i&gt; (20)", "ok (20)"}
    # the page carries no live tag from the data
    page = fig.to_json()
    assert "<script>alert" not in page and "\\u003cscript\\u003ealert" not in page


def test_hover_wraps_and_truncates():
    long = " ".join(f"word{i}" for i in range(200))
    html = hover_text(long, width=30, max_chars=100)
    lines = html.split("<br>")
    assert all(len(line) <= 30 for line in lines) and len(lines) > 2
    assert html.endswith("…") and len(html.replace("<br>", " ")) <= 101
    assert wrap("a " + "x" * 25, 10) == ["a", "xxxxxxxxxx", "xxxxxxxxxx", "xxxxx"]
    assert hover_text("line\nbreak\t tabs", width=60, max_chars=100) == "line break tabs"


def test_hover_chars_shrink_with_size_and_can_be_set():
    text = "y" * 1000
    m = EmbeddingMap("pca").fit(X_(), texts=[text] * 40)
    default = all_hover(m.figure())[0]
    assert 350 < default.count("y") <= 400
    short = all_hover(m.figure(hover_chars=50, hover_width=20))[0]
    assert short.count("y") == 49 and short.count("<br>") == 3


def test_categorical_colours_one_trace_per_category_with_legend_groups():
    labels = ["b"] * 25 + ["a"] * 10 + [None] * 5
    m = EmbeddingMap("pca").fit(X_(), labels={"topic": labels})
    fig = m.figure(color="topic")
    assert all(isinstance(t, go.Scattergl) for t in fig.data)
    assert [t.name for t in fig.data] == ["b (25)", "a (10)", "(none) (5)"]  # by count
    assert [t.legendgroup for t in fig.data] == ["b", "a", "(none)"]
    colors = [t.marker.color for t in fig.data]
    assert len(set(colors)) == 3 and colors[2] == "#b4b4b4"  # missing drawn grey
    # customdata maps each drawn point back to its row
    for trace in fig.data:
        rows = np.asarray(trace.customdata)
        np.testing.assert_allclose(np.asarray(trace.x), m.embedding_[rows, 0])
        assert {labels[i] or "(none)" for i in rows} == {trace.legendgroup}


def test_many_categories_fold_into_other():
    m = EmbeddingMap("pca").fit(X_(), labels=[f"c{i}" for i in range(40)])
    fig = m.figure(max_categories=5)
    assert len(fig.data) == 6 and fig.data[-1].name == "(other) (35)"


def test_continuous_values_get_a_colour_bar_and_missing_values_grey():
    values = np.linspace(0, 1, 40)
    values[3] = np.nan
    m = EmbeddingMap("pca").fit(X_(), values={"score": values})
    fig = m.figure(color="score")
    main, missing = fig.data
    assert main.marker.showscale is True and main.marker.colorbar.title.text == "score"
    assert np.asarray(main.marker.color).dtype == np.float32
    assert main.marker.cmin == 0.0 and main.marker.cmax == 1.0
    assert missing.name == "(no value)" and list(missing.customdata) == [3]


def test_color_array_numeric_or_categorical():
    m = EmbeddingMap("pca").fit(X_())
    cont = m.figure(color=np.arange(40) * 0.5)
    assert len(cont.data) == 1 and cont.data[0].marker.showscale
    cat = m.figure(color=np.array(["x", "y"] * 20))
    assert sorted(t.legendgroup for t in cat.data) == ["x", "y"]
    none = m.figure(color="none")
    assert len(none.data) == 1 and none.data[0].showlegend is False


def test_default_color_is_the_first_label_column(pca_map):
    fig = pca_map.figure()
    assert sorted(t.legendgroup for t in fig.data) == ["cats", "stocks", "weather"]


def test_size_opacity_title_and_dimensions(pca_map):
    fig = pca_map.figure(size=9, opacity=0.3, title="My map", width=500, height=400)
    assert all(t.marker.size == 9 and t.marker.opacity == 0.3 for t in fig.data)
    assert fig.layout.title.text == "My map"
    assert fig.layout.width == 500 and fig.layout.height == 400
    auto = pca_map.figure()
    assert auto.layout.title.text == "PCA map of 90 points" and auto.data[0].marker.size == 7


def test_compact_float32_payload(pca_map):
    page = json.loads(pca_map.figure().to_json())
    x = page["data"][0]["x"]
    assert x["dtype"] == "f4" and "bdata" in x  # base64 float32, not a list of floats
    assert page["data"][0]["customdata"]["dtype"] == "i4"


def test_three_d_uses_scatter3d(blobs):
    X, texts, labels = blobs
    m = EmbeddingMap("pca", n_components=3).fit(X, texts=texts, labels=labels)
    fig = m.figure()
    assert all(isinstance(t, go.Scatter3d) for t in fig.data)
    assert fig.layout.scene.xaxis.title.text == "PC1"


def test_frame_has_every_column(pca_map):
    df = pca_map.frame()
    assert list(df.columns) == ["index", "x", "y", "text", "topic", "score"]
    assert len(df) == 90 and df["topic"].iloc[0] == "cats"
    assert pca_map.frame([5, 1])["index"].tolist() == [5, 1]


@pytest.mark.parametrize("n", [5_000])
def test_hover_text_for_many_points_is_fast(n):
    import time

    X = np.random.default_rng(0).normal(size=(n, 4)).astype(np.float32)
    m = EmbeddingMap("pca").fit(X, texts=["some text of a few words here"] * n)
    start = time.perf_counter()
    fig = m.figure()
    assert time.perf_counter() - start < 5
    assert len(fig.data[0].hovertext) == n
