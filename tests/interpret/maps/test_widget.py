"""Selections and clicks come back to Python: the event mechanics, without a browser."""

from __future__ import annotations

import numpy as np
import pytest

from interpret.maps.widget import EventCollector


def test_collector_merges_traces_and_reports_once():
    got = []
    members = [np.array([10, 11, 12]), np.array([0, 1]), None]
    c = EventCollector(members, got.append, lambda i: None)
    c.selection(0, [2, 0])
    c.selection(1, [])
    assert got == []  # not yet: the last trace has not been dispatched
    c.selection(2, [])
    assert len(got) == 1 and got[0].tolist() == [10, 12]
    c.selection(0, [])
    c.selection(1, [1])
    c.selection(2, [])
    assert got[1].tolist() == [1]  # a new event starts afresh
    c.deselect(0)
    c.deselect(2)
    assert got[2].size == 0


def test_collector_click():
    clicks = []
    c = EventCollector([np.array([5, 6]), np.array([7])], lambda s: None, clicks.append)
    c.click(0, [])
    c.click(1, [0])
    assert clicks == [7]
    c.click(0, [])
    c.click(1, [])
    assert clicks == [7]  # a click on nothing reports nothing


def test_selection_handler_updates_map_and_calls_back(pca_map):
    seen = []
    pca_map.on_select(lambda idx, frame: seen.append((idx, frame)))
    fig = pca_map.figure(color="topic")
    members = pca_map._last_members
    c = EventCollector([*members, None], pca_map._ui.selection_changed, pca_map._ui.point_clicked)
    # the user lassoes points 0 and 3 of the first trace and point 1 of the second
    c.selection(0, [0, 3])
    c.selection(1, [1])
    c.selection(2, [])
    c.selection(3, [])
    expected = sorted([members[0][0], members[0][3], members[1][1]])
    assert pca_map.selected.tolist() == expected
    idx, frame = seen[-1]
    assert idx.tolist() == expected
    assert frame["index"].tolist() == expected
    assert frame["text"].tolist() == [pca_map.points_.texts[i] for i in expected]
    assert set(frame.columns) >= {"topic", "score", "x", "y"}
    assert len(fig.data) == 3


def test_click_lists_neighbours_in_the_original_space(pca_map, blobs):
    X, _, _ = blobs
    clicked = []
    pca_map.on_click(lambda i, frame: clicked.append((i, frame)))
    pca_map._ui.point_clicked(4)
    i, frame = clicked[0]
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    sims = unit @ unit[4]
    sims[4] = -np.inf
    expected = np.argsort(-sims)[:10]
    assert i == 4 and frame["index"].tolist() == expected.tolist()
    np.testing.assert_allclose(frame["distance"], 1 - sims[expected], atol=1e-5)
    assert pca_map.clicked == 4 and pca_map.clicked_neighbors is frame
    # neighbours in the original space, not the 2-D map: they differ from the map's own
    layout = pca_map.embedding_
    map_order = np.argsort(np.linalg.norm(layout - layout[4], axis=1))[1:11]
    assert set(map_order) != set(expected)


def test_neighbors_table(pca_map):
    df = pca_map.neighbors(0, k=3)
    assert df["rank"].tolist() == [1, 2, 3] and 0 not in df["index"].tolist()
    assert (np.diff(df["distance"]) >= 0).all()


def test_figurewidget_round_trip(pca_map):
    """Drive a real FigureWidget through plotly's own message handler, as the browser does."""
    pytest.importorskip("anywidget")
    w = pca_map.widget(color="topic")
    selections = []
    pca_map.on_select(lambda idx, frame: selections.append(idx))
    members = pca_map._last_members
    n_traces = len(w.data)
    assert w.data[-1].name == "neighbours" and n_traces == len(members) + 1
    message = {
        "event_type": "plotly_selected",
        "points": {
            "trace_indexes": [0, 0, 2],
            "point_indexes": [1, 2, 0],
            "xs": [0, 0, 0],
            "ys": [0, 0, 0],
        },
        "selector": None,
    }
    w._handler_js2py_pointsCallback({"new": message})
    expected = sorted([members[0][1], members[0][2], members[2][0]])
    assert pca_map.selected.tolist() == expected and len(selections) == 1
    click = {
        "event_type": "plotly_click",
        "points": {"trace_indexes": [1], "point_indexes": [0], "xs": [0], "ys": [0]},
    }
    w._handler_js2py_pointsCallback({"new": click})
    assert pca_map.clicked == members[1][0]
    ring = w.data[-1]
    assert len(ring.x) == 11  # the point and its 10 neighbours
    # selecting from Python marks the points in the widget
    pca_map.select([members[0][0], members[1][1]])
    assert list(w.data[0].selectedpoints) == [0] and list(w.data[1].selectedpoints) == [1]
    assert w.data[2].selectedpoints == ()
    pca_map.select([])
    assert w.data[0].selectedpoints is None
    assert w.layout.dragmode == "lasso"


def test_explorer_shows_selection_and_neighbours(pca_map):
    pytest.importorskip("anywidget")
    pytest.importorskip("ipywidgets")
    box = pca_map.explorer(k=3, rows=5)
    pane = box.children[1]
    pca_map.select([0, 1, 2])
    assert "3 selected" in pane.value and "<table" in pane.value
    pca_map._ui.point_clicked(0)
    assert "Nearest neighbours of #0" in pane.value and pane.value.count("<tr") == 4


class _Inverter:
    def invert(self, X):
        return [f"<b>spot</b> {x[0]:.2f}" for x in X]


def test_decode_at_goes_back_through_pca(pca_map):
    df = pca_map.decode_at(pca_map.embedding_[:2], inverter=_Inverter())
    assert list(df.columns) == ["x", "y", "inverted"] and len(df) == 2
    # PCA maps back exactly (on unit vectors, for the cosine metric): decode of a point's own
    # coordinates starts with the first coordinate of its projection back
    back = pca_map.reducer_.inverse_transform(pca_map.embedding_[:1])
    assert df["inverted"][0] == f"<b>spot</b> {back[0, 0]:.2f}"
    with pytest.raises(ValueError, match="needs an inverter= or an explainer="):
        pca_map.decode_at([[0, 0]])
    with pytest.raises(ValueError, match="finite"):
        pca_map.decode_at([[np.nan, 0]], inverter=_Inverter())


def test_widget_decodes_a_clicked_empty_spot(pca_map):
    pytest.importorskip("anywidget")
    seen = []
    w = pca_map.widget(color="topic", inverter=_Inverter(), decode_grid=10)
    pca_map._ui.decode_callbacks.append(seen.append)
    members = pca_map._last_members
    assert [t.name for t in w.data[-2:]] == ["decode", "neighbours"]
    spots = np.column_stack([w.data[-2].x, w.data[-2].y])
    assert len(spots) > 10
    j = len(members)  # the decode layer's trace index
    click = {
        "event_type": "plotly_click",
        "points": {"trace_indexes": [j], "point_indexes": [3], "xs": [0], "ys": [0]},
    }
    w._handler_js2py_pointsCallback({"new": click})
    assert pca_map.decoded is not None and seen and pca_map.clicked is None
    assert pca_map.decoded["x"][0] == pytest.approx(spots[3, 0])
    note = [a for a in w.layout.annotations if a.name == "decoded"]
    assert len(note) == 1 and "&lt;b&gt;spot&lt;/b&gt;" in note[0].text  # escaped
    # a click on a point still lists its neighbours
    w._handler_js2py_pointsCallback(
        {"new": {"event_type": "plotly_click",
                 "points": {"trace_indexes": [0], "point_indexes": [0], "xs": [0], "ys": [0]}}}
    )  # fmt: skip
    assert pca_map.clicked == members[0][0]


def test_widget_decoding_refuses_tsne(blobs):
    from interpret.maps import EmbeddingMap

    X, texts, _ = blobs
    m = EmbeddingMap("tsne", perplexity=10, random_state=0).fit(X, texts=texts)
    with pytest.raises(ValueError, match="t-SNE has no inverse"):
        m.widget(inverter=_Inverter())
    with pytest.raises(TypeError, match=r"invert\(X\)"):
        m.widget(inverter=object())
