"""Two spaces side by side: Procrustes alignment, neighbourhood overlap, the linked figure."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from interpret.maps import compare_maps
from interpret.maps.compare import procrustes_align
from interpret.maps.neighbors import knn_indices, overlap


def test_procrustes_undoes_rotation_reflection_scale_and_shift():
    from scipy.spatial import procrustes

    rng = np.random.default_rng(0)
    ref = rng.normal(size=(50, 2))
    theta = 0.7
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    moved = (ref @ rot) * np.array([1.0, -1.0]) * 3.0 + 5.0  # rotate, reflect, scale, shift
    aligned, disparity = procrustes_align(ref, moved)
    np.testing.assert_allclose(aligned, ref, atol=1e-4)
    assert disparity < 1e-8
    noisy = moved + rng.normal(scale=0.3, size=moved.shape)
    _, d = procrustes_align(ref, noisy)
    _, _, scipy_d = procrustes(ref, noisy)
    np.testing.assert_allclose(d, scipy_d, rtol=1e-6)


def test_overlap_against_sets():
    rng = np.random.default_rng(1)
    a = np.array([rng.permutation(20)[:5] for _ in range(30)])
    b = np.array([rng.permutation(20)[:5] for _ in range(30)])
    expected = [len(set(x) & set(y)) / 5 for x, y in zip(a, b, strict=True)]
    np.testing.assert_allclose(overlap(a, b), expected)


def test_knn_excludes_self_and_matches_brute_force():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 6)).astype(np.float32)
    got = knn_indices(X, 4, "cosine")
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    expected = np.argsort(-sims, axis=1)[:, :4]
    np.testing.assert_array_equal(np.sort(got, axis=1), np.sort(expected, axis=1))


def test_same_space_rotated_has_full_overlap(blobs):
    X, texts, labels = blobs
    q, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(X.shape[1], X.shape[1])))
    cmp = compare_maps(X, X @ q, texts=texts, labels={"topic": labels}, method="pca", k=5)
    # cosine neighbours survive a rotation of the space
    np.testing.assert_allclose(cmp.overlap, 1.0)
    assert cmp.mean_overlap == 1.0 and cmp.disparity < 1e-6
    np.testing.assert_allclose(cmp.layout_b, cmp.layout_a, atol=1e-3)


def test_unrelated_spaces_have_low_overlap(blobs):
    X, _, _ = blobs
    noise = np.random.default_rng(4).normal(size=X.shape).astype(np.float32)
    cmp = compare_maps(X, noise, method="pca", k=5)
    assert cmp.mean_overlap < 0.2


def test_figure_two_linked_panels(blobs):
    X, texts, labels = blobs
    half = X[:, :12]
    cmp = compare_maps(
        X, half, texts=texts, labels={"topic": labels}, method="pca", k=5, names=("full", "half")
    )
    fig = cmp.figure()
    assert len(fig.data) == 2 and all(isinstance(t, go.Scattergl) for t in fig.data)
    assert (fig.data[0].xaxis, fig.data[1].xaxis) == ("x", "x2")
    assert fig.data[0].marker.showscale and not fig.data[1].marker.showscale
    assert "overlap" in fig.data[0].marker.colorbar.title.text
    np.testing.assert_allclose(np.asarray(fig.data[0].marker.color), cmp.overlap, atol=1e-6)
    assert [a.text for a in fig.layout.annotations][:2] == ["full", "half (aligned)"]
    assert "overlap: " in fig.data[0].hovertext[0]
    by_topic = cmp.figure(color="topic")
    assert len(by_topic.data) == 6
    groups = [t.legendgroup for t in by_topic.data]
    assert groups[:3] == groups[3:]  # the legend toggles a topic in both panels
    assert [t.showlegend for t in by_topic.data] == [True] * 3 + [False] * 3
    df = cmp.frame()
    assert {"x_a", "y_a", "x_b", "y_b", "overlap", "text", "topic"} <= set(df.columns)


def test_linked_page(tmp_path, blobs):
    X, _, _ = blobs
    cmp = compare_maps(X, X[:, :10], method="pca", k=5)
    path = cmp.save_html(tmp_path / "cmp.html")
    page = path.read_text(encoding="utf-8")
    assert "plotly_selected" in page and "Plotly.Fx.hover" in page
    assert cmp.to_html().count("Plotly.Fx.hover(gd, [{curveNumber") == 1


def test_comparison_widget_links_selection(blobs):
    import pytest

    pytest.importorskip("anywidget")
    X, texts, labels = blobs
    cmp = compare_maps(X, X[:, :12], texts=texts, labels={"topic": labels}, method="pca", k=5)
    got = []
    w = cmp.widget(color="topic", on_select=lambda idx, df: got.append((idx, df)))
    assert len(w.data) == 6 and w.layout.dragmode == "lasso"
    # the user lassoes two points of the first topic in the right-hand panel (trace 3)
    message = {
        "event_type": "plotly_selected",
        "points": {"trace_indexes": [3, 3], "point_indexes": [0, 4], "xs": [0, 0], "ys": [0, 0]},
        "selector": None,
    }
    w._handler_js2py_pointsCallback({"new": message})
    rows = np.asarray(w.data[3].customdata)[[0, 4]]
    idx, df = got[-1]
    assert idx.tolist() == sorted(rows.tolist()) and df["index"].tolist() == idx.tolist()
    # the same points are selected in the left-hand panel too
    assert list(w.data[0].selectedpoints) == [0, 4] and list(w.data[3].selectedpoints) == [0, 4]
    assert w.data[1].selectedpoints == ()
