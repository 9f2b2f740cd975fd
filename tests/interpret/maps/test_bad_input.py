"""Bad input gets an exception that says what was expected, what came and what to do."""

from __future__ import annotations

import numpy as np
import pytest

from interpret.maps import EmbeddingMap, compare_maps


def X_(n=40, dim=8, seed=0):
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def test_unknown_method():
    with pytest.raises(ValueError, match=r"unknown map method 'mds'.*'umap', 'pca', 'tsne'"):
        EmbeddingMap("mds").fit(X_())  # type: ignore[arg-type]


def test_n_components_must_be_2_or_3():
    with pytest.raises(ValueError, match="n_components must be 2 or 3"):
        EmbeddingMap("pca", n_components=4).fit(X_())


def test_unknown_method_parameter_names_the_accepted_ones():
    with pytest.raises(
        TypeError, match=r"umap.UMAP .* has no parameter 'n_neighbours'.*n_neighbors"
    ):
        EmbeddingMap("umap", n_neighbours=5).fit(X_())


def test_fewer_points_than_umap_needs():
    with pytest.raises(
        ValueError,
        match=r"Fewer points than the method needs: umap with n_neighbors=15 needs at least 16 points, got 10: pass a smaller n_neighbors",
    ):
        EmbeddingMap("umap").fit(X_(10))


def test_fewer_points_than_tsne_needs():
    with pytest.raises(
        ValueError, match=r"Fewer points.*perplexity=30 needs at least 31 points, got 20"
    ):
        EmbeddingMap("tsne").fit(X_(20))


def test_fewer_dimensions_than_components():
    with pytest.raises(ValueError, match=r"X has 2 column.*n_components=3"):
        EmbeddingMap("pca", n_components=3).fit(X_(dim=2))


def test_one_dimensional_input():
    with pytest.raises(
        ValueError, match=r"2-D array \(n_points, dim\).*got a 1-D array of shape \(40,\)"
    ):
        EmbeddingMap("pca").fit(np.zeros(40))


def test_nan_rows():
    X = X_()
    X[7, 3] = np.nan
    with pytest.raises(ValueError, match=r"1 row\(s\) with NaN or inf \(first at row 7\)"):
        EmbeddingMap("pca").fit(X)


def test_empty_input():
    with pytest.raises(ValueError, match="no rows"):
        EmbeddingMap("pca").fit(np.zeros((0, 4)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"texts": ["a"] * 39}, r"texts has 39 texts but X has 40 rows: pass one text per row"),
        ({"labels": ["a"] * 41}, r"labels has 41 labels but X has 40 rows"),
        ({"labels": {"topic": ["a"] * 3}}, r"labels\['topic'\] has 3 labels but X has 40 rows"),
        ({"values": np.zeros(5)}, r"values has 5 values but X has 40 rows"),
        ({"ids": list(range(4))}, r"ids has 4 ids but X has 40 rows"),
    ],
)
def test_mismatched_lengths(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EmbeddingMap("pca").fit(X_(), **kwargs)


def test_texts_must_be_strings_and_values_numbers():
    with pytest.raises(TypeError, match=r"texts\[2\] is int"):
        EmbeddingMap("pca").fit(X_(3, 4), texts=["a", "b", 3])
    with pytest.raises(TypeError, match=r"values must be numbers.*pass categories as labels="):
        EmbeddingMap("pca").fit(X_(3, 4), values=["x", "y", "z"])
    with pytest.raises(ValueError, match="infinite"):
        EmbeddingMap("pca").fit(X_(3, 4), values=[1.0, np.inf, 0.0])
    with pytest.raises(TypeError, match="single str"):
        EmbeddingMap("pca").fit(X_(3, 4), labels="abc")


def test_label_and_value_columns_must_not_share_a_name():
    with pytest.raises(ValueError, match="both have a column named 'x'"):
        EmbeddingMap("pca").fit(X_(3, 4), labels={"x": list("abc")}, values={"x": [1, 2, 3]})


def test_pca_refuses_metrics_it_cannot_use():
    with pytest.raises(ValueError, match=r"method='pca' supports metric='cosine'.*got 'manhattan'"):
        EmbeddingMap("pca", metric="manhattan").fit(X_())


def test_max_fit_points_must_be_sensible():
    with pytest.raises(ValueError, match="max_fit_points must be an int >= 2 or None"):
        EmbeddingMap("umap", max_fit_points=0).fit(X_())


def test_transform_checks_dimensions():
    m = EmbeddingMap("pca").fit(X_())
    with pytest.raises(ValueError, match="has 5 columns, expected 8"):
        m.transform(X_(dim=5))


def test_figure_color_errors():
    m = EmbeddingMap("pca").fit(X_(), labels={"topic": ["a", "b"] * 20})
    with pytest.raises(ValueError, match=r"unknown color 'topik': use one of \['topic'\]"):
        m.figure(color="topik")
    with pytest.raises(ValueError, match=r"call m.cluster\(\) first"):
        m.figure(color="cluster")
    with pytest.raises(ValueError, match=r"one entry per point \(40\)"):
        m.figure(color=np.zeros(3))


def test_neighbors_and_select_check_indices():
    m = EmbeddingMap("pca").fit(X_())
    with pytest.raises(IndexError, match="0 <= index < 40"):
        m.neighbors(40)
    with pytest.raises(ValueError, match=r"Fewer points.*k=40"):
        m.neighbors(0, k=40)
    with pytest.raises(IndexError, match="rows of the map"):
        m.select([0, 99])


def test_cluster_errors():
    m = EmbeddingMap("pca").fit(X_())
    with pytest.raises(ValueError, match="unknown cluster method 'dbscan'"):
        m.cluster("dbscan")  # type: ignore[arg-type]
    with pytest.raises(
        ValueError,
        match=r"n_clusters must be an integer between 1 and the number of points \(40\)",
    ):
        m.cluster("kmeans", n_clusters=41)
    with pytest.raises(ValueError, match=r"Fewer points.*min_cluster_size=50"):
        m.cluster("hdbscan", min_cluster_size=50)
    with pytest.raises(ValueError, match="space must be 'layout' or 'original'"):
        m.cluster("kmeans", space="2d")
    with pytest.raises(ValueError, match="returned 1 names for 2 clusters"):
        m.cluster("kmeans", n_clusters=2, labeler=lambda ctx: ["only one"])


def test_compare_maps_errors():
    with pytest.raises(ValueError, match="X_a has 40 rows but X_b has 39"):
        compare_maps(X_(), X_(39), method="pca")
    with pytest.raises(ValueError, match=r"X_b must be a 2-D array"):
        compare_maps(X_(), np.zeros(40), method="pca")
    with pytest.raises(ValueError, match="names must be two strings"):
        compare_maps(X_(), X_(), method="pca", names=("a",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"Fewer points.*k=40"):
        compare_maps(X_(), X_(), method="pca", k=40)


def test_save_errors(tmp_path):
    m = EmbeddingMap("pca").fit(X_())
    with pytest.raises(ValueError, match=r"end the name in .html"):
        m.save_html(tmp_path / "map.png")
    with pytest.raises(ValueError, match="cannot tell the image format"):
        m.save_image(tmp_path / "map.bmp")
