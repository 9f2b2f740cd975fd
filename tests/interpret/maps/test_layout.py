"""Layouts: methods, pass-through parameters, transform, sampling, the scikit-learn protocol."""

from __future__ import annotations

import numpy as np
import pytest

from interpret.maps import EmbeddingMap


def test_pca_cosine_matches_sklearn_on_unit_rows(blobs):
    from sklearn.decomposition import PCA

    X, _, _ = blobs
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    expected = PCA(n_components=2, random_state=0).fit_transform(unit)
    m = EmbeddingMap("pca", random_state=0).fit(X)
    assert m.embedding_.dtype == np.float32
    assert m.embedding_.shape == (len(X), 2)
    # the sign of a principal axis is arbitrary: compare up to a flip per axis
    for j in range(2):
        got, ref = m.embedding_[:, j], expected[:, j]
        sign = np.sign(np.dot(got, ref))
        np.testing.assert_allclose(sign * got, ref, atol=1e-4)


def test_pca_euclidean_uses_rows_as_given(blobs):
    from sklearn.decomposition import PCA

    X, _, _ = blobs
    m = EmbeddingMap("pca", metric="euclidean").fit(X)
    ref = PCA(n_components=2).fit(X)
    np.testing.assert_allclose(np.abs(m.reducer_.components_), np.abs(ref.components_), atol=1e-4)


def test_three_components_and_transform(blobs):
    X, _, _ = blobs
    m = EmbeddingMap("pca", n_components=3).fit(X[:60])
    assert m.embedding_.shape == (60, 3)
    placed = m.transform(X[60:])
    assert placed.shape == (len(X) - 60, 3) and placed.dtype == np.float32
    # transform of the fitted points gives the fitted coordinates back
    np.testing.assert_allclose(m.transform(X[:60]), m.embedding_, atol=1e-5)


def test_params_pass_through_to_the_reducer(blobs):
    X, _, _ = blobs
    m = EmbeddingMap("pca", svd_solver="full", whiten=True).fit(X)
    assert m.reducer_.svd_solver == "full" and m.reducer_.whiten is True
    t = EmbeddingMap("tsne", perplexity=5, max_iter=250, random_state=0).fit(X[:40])
    assert t.reducer_.perplexity == 5 and t.embedding_.shape == (40, 2)


def test_tsne_cannot_transform(blobs):
    X, _, _ = blobs
    m = EmbeddingMap("tsne", perplexity=5, max_iter=250, random_state=0).fit(X[:30])
    with pytest.raises(NotImplementedError, match="t-SNE cannot place new points"):
        m.transform(X[:3])


def test_sklearn_protocol_get_set_params_and_clone():
    from sklearn.base import clone

    m = EmbeddingMap("umap", n_components=3, random_state=1, n_neighbors=7, min_dist=0.2)
    params = m.get_params()
    assert params["n_neighbors"] == 7 and params["n_components"] == 3
    twin = clone(m)
    assert twin.get_params() == params and twin is not m
    twin.set_params(method="pca", n_neighbors=9)
    assert twin.method == "pca" and twin.params["n_neighbors"] == 9
    assert not hasattr(m, "embedding_")  # __init__ computes nothing
    assert "n_neighbors=7" in repr(m)


def test_not_fitted_is_a_clear_error():
    with pytest.raises(RuntimeError, match="not fitted yet"):
        EmbeddingMap().figure()


def test_fit_transform_and_seconds(blobs):
    X, _, _ = blobs
    m = EmbeddingMap("pca")
    out = m.fit_transform(X)
    assert out is m.embedding_ and m.fit_seconds_ >= 0 and m.n_features_in_ == X.shape[1]


@pytest.mark.slow
def test_umap_fit_transform_and_params(umap_map, blobs):
    X, _, labels = blobs
    assert umap_map.embedding_.shape == (len(X), 2)
    assert umap_map.reducer_.n_neighbors == 8 and umap_map.reducer_.metric == "cosine"
    # blobs stay apart: each point's nearest map neighbour is usually of its own topic
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=2).fit(umap_map.embedding_)
    nearest = nn.kneighbors(umap_map.embedding_, return_distance=False)[:, 1]
    same = np.mean(np.array(labels)[nearest] == np.array(labels))
    assert same > 0.9
    placed = umap_map.transform(X[:5])
    assert placed.shape == (5, 2)
    # placed points land near their fitted positions (same blob)
    spread = np.ptp(umap_map.embedding_, axis=0).max()
    assert np.linalg.norm(placed - umap_map.embedding_[:5], axis=1).max() < 0.3 * spread


@pytest.mark.slow
def test_umap_samples_above_max_fit_points(blobs):
    X, _, _ = blobs
    m = EmbeddingMap("umap", n_neighbors=8, random_state=0, max_fit_points=50).fit(X)
    assert m.sample_indices_ is not None and m.sample_indices_.size == 50
    assert np.all(np.diff(m.sample_indices_) > 0)
    assert m.embedding_.shape == (len(X), 2) and np.isfinite(m.embedding_).all()
    assert m.reducer_.embedding_.shape == (50, 2)  # fitted on the sample only


def test_progress_reaches_umap_and_transform_chunks(monkeypatch, blobs):
    from interpret.maps import layout

    shown = layout.make_reducer("umap", 2, "cosine", None, {}, progress=True)
    hidden = layout.make_reducer("umap", 2, "cosine", 0, {"n_neighbors": 5}, progress=False)
    assert shown.tqdm_kwds["disable"] is False and hidden.tqdm_kwds["disable"] is True
    assert hidden.n_jobs == 1 and hidden.n_neighbors == 5  # a seed means one thread anyway
    X, _, _ = blobs
    m = EmbeddingMap("pca", progress=True).fit(X)
    seen = []

    def fake_bar(iterable, **kwargs):
        seen.append(kwargs)
        return iterable

    monkeypatch.setattr(layout, "progress_bar", fake_bar)
    monkeypatch.setattr(layout, "TRANSFORM_CHUNK", 20)
    out = m.transform(X)
    assert out.shape == (len(X), 2) and seen[0]["total"] == 5 and seen[0]["progress"] is True
    np.testing.assert_allclose(out, m.embedding_, atol=1e-5)


def test_short_and_long_hover_paths_agree():
    from interpret.maps.draw import _hover_body, hover_text

    for text in ["short one", "a <b> c", "x" * 70, " padded ", "tab\there", "a  b"]:
        assert _hover_body(text, 60, 300) == hover_text(text, width=60, max_chars=300)
    assert _hover_body("abcdefghij", 60, 5) == hover_text("abcdefghij", width=60, max_chars=5)
