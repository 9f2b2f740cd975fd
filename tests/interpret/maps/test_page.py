"""The shareable page, checked without a browser: its data round-trips, stays compact and inert."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from interpret.maps import EmbeddingMap
from interpret.maps.decode import DecodeBudget, empty_cells
from interpret.maps.neighbors import knn_indices
from interpret.maps.page import (
    PageBudget,
    compress_texts,
    inflate_texts,
    pack_indices,
    quantize,
    unpack_indices,
)

PAYLOADS = [
    "<script>window.__pwned = 1</script>",
    '<img src=x onerror="window.__pwned = 2">',
    "</script><script>window.__pwned = 3</script>",
    "<!-- comment & entity &amp; -->",
]


def data_of(page: str) -> dict:
    found = re.search(
        r'<script id="embedlens-data" type="application/json">(.*?)</script>', page, re.S
    )
    assert found is not None
    return json.loads(found.group(1))


class FakeInverter:
    def __init__(self):
        self.calls = 0

    def invert(self, X):
        self.calls += 1
        return [f"<b>decoded</b> norm {np.linalg.norm(x):.2f}" for x in X]


class FakeExplainer:
    def explain(self, X):
        return ["about something"] * len(X)


def test_page_data_round_trips(pca_map, blobs):
    _X, texts, _labels = blobs
    page = pca_map.export_html()
    d = data_of(page)
    assert d["n"] == len(texts) and d["version"] == 1
    # coordinates: uint16 on one square grid, within half a step of the map's
    qx = np.frombuffer(__import__("base64").b64decode(d["x"]), dtype="<u2")
    frame = d["frame"]
    x = frame["x0"] + qx / 65535 * frame["span"]
    assert np.abs(x - pca_map.embedding_[:, 0]).max() <= frame["span"] / 65535
    # texts, neighbours (exact, as the map's own neighbors()), labels and values
    assert inflate_texts(d["texts"]) == texts
    nb = d["neighbors"]
    assert nb["exact"] and nb["k"] == 10 and nb["bits"] == 7  # 90 points: 7 bits an index
    ind = unpack_indices(nb["bits"], nb["data"], nb["k"], 90)
    np.testing.assert_array_equal(ind[0], pca_map.neighbors(0, k=10)["index"].to_numpy())
    topic = next(c for c in d["columns"] if c["name"] == "topic")
    assert (
        sorted(topic["categories"]) == ["cats", "stocks", "weather"] and sum(topic["counts"]) == 90
    )
    assert any(c["name"] == "score" and c["kind"] == "value" for c in d["columns"])
    assert any("1,000 characters per point" in n for n in d["notes"])


def test_no_text_from_the_data_can_break_out_of_the_page(blobs):
    X, texts, _labels = blobs
    texts = list(texts)
    texts[:4] = PAYLOADS
    m = EmbeddingMap("pca").fit(
        X,
        texts=texts,
        labels={"<b>kind</b>": [PAYLOADS[1]] * 45 + ["ok"] * 45},
        ids=[PAYLOADS[2], *list(range(89))],
    )
    page = m.export_html(title=PAYLOADS[0])
    # the only script elements are the data and the page's own code
    assert page.count("<script") == 2 and page.count("</script>") == 2
    inside = page.split('type="application/json">', 1)[1].split("</script>", 1)[0]
    assert "<" not in inside and ">" not in inside and "&" not in inside  # all \u-escaped
    assert "<title>&lt;script&gt;" in page
    d = data_of(page)
    assert inflate_texts(d["texts"])[:4] == PAYLOADS  # kept exactly, as text
    assert inflate_texts(d["ids"])[0] == PAYLOADS[2]
    assert d["title"] == PAYLOADS[0]
    # the page's code never parses data as HTML
    from interpret.maps.page_script import SCRIPT

    assert "innerHTML" not in SCRIPT and "insertAdjacentHTML" not in SCRIPT
    assert "document.write" not in SCRIPT and "eval(" not in SCRIPT


def test_texts_are_cut_to_the_stated_budget_and_compressed():
    texts = [f"record {i} " + "word " * 100 for i in range(500)]
    spec = compress_texts(texts, 40)
    back = inflate_texts(spec)
    assert len(back) == 500 and all(len(t) <= 40 for t in back)
    assert back[3].startswith("record 3 word") and back[3].endswith("…")
    assert spec["cut"] == 500 and spec["compressed_bytes"] < spec["raw_bytes"] / 3
    assert compress_texts(["a\nb  c"], 10)["cut"] == 0
    assert inflate_texts(compress_texts(["a\nb  c"], 10)) == ["a b c"]


def test_budgets_shrink_with_size():
    assert PageBudget().resolved(5_000) == (1000, 10)
    assert PageBudget().resolved(100_000) == (240, 10)
    assert PageBudget().resolved(1_000_000) == (100, 5)
    assert PageBudget(text_chars=50, k=3).resolved(10) == (50, 3)
    assert PageBudget(k=20).resolved(8) == (1000, 7)  # never more neighbours than points
    with pytest.raises(ValueError, match="text_chars must be an integer"):
        PageBudget(text_chars=-1).resolved(10)


@pytest.mark.parametrize(
    ("n", "bits"), [(2, 1), (200, 8), (257, 9), (100_000, 17), (1_000_000, 20), (40_000_000, 26)]
)
def test_indices_pack_in_as_few_bits_as_needed(n, bits):
    ind = np.random.default_rng(0).integers(0, n, size=(37, 3))
    ind[0] = n - 1
    got_bits, data = pack_indices(ind, n)
    assert got_bits == bits
    assert len(__import__("base64").b64decode(data)) == -(-37 * 3 * bits // 8)
    np.testing.assert_array_equal(unpack_indices(bits, data, 3, 37), ind)
    with pytest.raises(ValueError, match="the number of points"):
        pack_indices(np.array([[1 << bits]]), n)


def test_quantize_keeps_the_aspect_ratio():
    xy = np.array([[0.0, 0.0], [10.0, 1.0], [5.0, 0.5]])
    qx, qy, frame = quantize(xy)
    assert frame["span"] == 10.0 and qx.max() == 65535 and qy.max() - qy.min() < 6600


def test_page_refuses_bad_requests(pca_map, tmp_path):
    with pytest.raises(ValueError, match=r"end the name in \.html"):
        pca_map.export_html(tmp_path / "map.png")
    with pytest.raises(ValueError, match="unknown color 'nope'"):
        pca_map.export_html(color="nope")
    with pytest.raises(ValueError, match="unknown theme"):
        pca_map.export_html(theme="blue")
    m3 = EmbeddingMap("pca", n_components=3).fit(pca_map.vectors_)
    with pytest.raises(ValueError, match="draws 2-D maps"):
        m3.export_html()
    with pytest.raises(RuntimeError, match="not fitted"):
        EmbeddingMap("pca").export_html()
    with pytest.raises(TypeError, match=r"invert\(X\)"):
        pca_map.export_html(inverter=object())
    with pytest.raises(TypeError, match=r"explain\(X\)"):
        pca_map.export_html(explainer="an explainer")

    class Short:
        def invert(self, X):
            return ["one"]

    with pytest.raises(ValueError, match="one str per row"):
        pca_map.export_html(inverter=Short())


def test_export_writes_atomically(pca_map, tmp_path):
    path = pca_map.export_html(tmp_path / "sub" / "share.html", color="score", theme="dark")
    page = path.read_text(encoding="utf-8")
    assert 'data-theme="dark"' in page and not re.search(r"<script[^>]+src=", page)
    assert list(path.parent.iterdir()) == [path]
    assert data_of(page)["columns"][data_of(page)["default_color"]]["name"] == "score"


def test_decoded_centroids_and_empty_regions(pca_map):
    pca_map.cluster("kmeans", n_clusters=3, random_state=0)
    inv = FakeInverter()
    d = data_of(pca_map.export_html(inverter=inv, explainer=FakeExplainer(),
                                    decode_budget=DecodeBudget(max_cells=5)))  # fmt: skip
    items = d["clusters"]["items"]
    assert len(items) == 3 and all(i["inverted"].startswith("<b>decoded</b>") for i in items)
    assert all(i["explained"] == "about something" for i in items)
    assert 1 <= len(d["cells"]) <= 5 and all("inverted" in c for c in d["cells"])
    assert all(0 <= c["u"] <= 1 and 0 <= c["v"] <= 1 for c in d["cells"])
    assert (
        "exactly (PCA)" in d["decode"]["note"]
        and "FakeInverter and FakeExplainer" in d["decode"]["note"]
    )
    # centroids keep the members' scale: a cosine map's centroid has the members' mean norm
    norms = [float(i["inverted"].split()[-1]) for i in items]
    mean_norm = float(np.linalg.norm(pca_map.vectors_, axis=1).mean())
    assert all(abs(v - mean_norm) < 0.25 * mean_norm for v in norms)


def test_decoding_states_what_tsne_cannot_do_and_keeps_the_time_budget(blobs):
    X, texts, _ = blobs
    m = EmbeddingMap("tsne", perplexity=10, random_state=0).fit(X, texts=texts)
    d = data_of(m.export_html(inverter=FakeInverter()))
    assert "cells" not in d and "t-SNE" not in d["decode"]["note"]  # method named as given
    assert "tsne has no inverse" in d["decode"]["note"]
    assert "call cluster() before export" in d["decode"]["note"]
    m.cluster("kmeans", n_clusters=3, random_state=0)
    inv = FakeInverter()
    d = data_of(m.export_html(inverter=inv, decode_budget=DecodeBudget(max_seconds=1e-9)))
    assert inv.calls == 0 and "time budget" in d["decode"]["note"]
    assert all("inverted" not in i for i in d["clusters"]["items"])
    with pytest.raises(ValueError, match="grid must be at least 2"):
        m.export_html(inverter=inv, decode_budget=DecodeBudget(grid=1))


def test_empty_cells_lie_between_points():
    xy = np.array(
        [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.5, 0.0], [0.0, 0.5], [1, 0.5], [0.5, 1]]
    )
    centres = empty_cells(xy, grid=3, max_cells=4)
    np.testing.assert_allclose(centres, [[0.5, 0.5]])  # the hole in the middle, nothing else


@pytest.mark.slow  # pynndescent compiles with numba on first use (~15 s)
def test_approximate_neighbours_above_the_exact_limit(blobs):
    X, texts, _ = blobs
    m = EmbeddingMap("pca").fit(X, texts=texts)
    d = data_of(m.export_html(k=5, exact_neighbors=10))
    nb = d["neighbors"]
    assert not nb["exact"] and "approximate: NN-descent" in " ".join(d["notes"])
    approx = unpack_indices(nb["bits"], nb["data"], 5, 90)
    exact = knn_indices(m.vectors_, 5, "cosine")
    recall = np.mean([len(set(a) & set(e)) / 5 for a, e in zip(approx, exact, strict=True)])
    assert recall > 0.9 and not (approx == np.arange(90)[:, None]).any()


@pytest.mark.slow  # UMAP compiles with numba on first use
def test_umap_maps_decode_empty_regions_through_its_inverse(umap_map):
    d = data_of(
        umap_map.export_html(inverter=FakeInverter(), decode_budget=DecodeBudget(max_cells=3))
    )
    assert 1 <= len(d["cells"]) <= 3 and all(
        c["inverted"].startswith("<b>decoded") for c in d["cells"]
    )
    assert "approximately (UMAP's inverse_transform)" in d["decode"]["note"]


def test_a_map_without_texts_or_labels_still_exports(blobs):
    X, _, _ = blobs
    d = data_of(EmbeddingMap("pca").fit(X).export_html(k=0))
    assert "texts" not in d and "neighbors" not in d and d["columns"] == []
    assert d["default_color"] == -1 and "No neighbours were exported (k=0)." in d["notes"]
