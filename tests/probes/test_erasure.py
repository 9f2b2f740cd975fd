"""LEACE against an independent float64 closed form, its guarantee, and INLP."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

from probes import INLP, LEACE, LeaceEraser, LinearProbe


def reference_leace(X: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """LEACE written differently from the library: the oblique projection
    ``x - S_xz (S_xz' S^-1 S_xz)^+ S_xz' S^-1 (x - mu)`` with an explicit inverse (full-rank S).
    With S = W^2 and M = W S_xz this equals ``x - W^+ M (M'M)^+ M' W (x - mu)``, the paper's form."""
    X = X.astype(np.float64)
    n = len(X)
    mu = X.mean(axis=0)
    Xc = X - mu
    Zc = Z - Z.mean(axis=0)
    S = Xc.T @ Xc / n
    Sxz = Xc.T @ Zc / n
    S_inv = np.linalg.inv(S)
    oblique = Sxz @ np.linalg.pinv(Sxz.T @ S_inv @ Sxz) @ Sxz.T @ S_inv
    return X - Xc @ oblique.T


@pytest.fixture
def correlated(make_classes) -> tuple[np.ndarray, np.ndarray]:
    """Four classes in 10 correlated dimensions."""
    X, y = make_classes(800, 10, 4, separation=0.8, seed=21)
    mix = np.random.default_rng(0).normal(size=(10, 10))
    return (X.astype(np.float64) @ mix), y


def test_leace_equals_independent_closed_form(correlated) -> None:
    X, y = correlated
    eraser = LeaceEraser.fit(X, y)
    expected = reference_leace(X, np.eye(4)[y])
    np.testing.assert_allclose(eraser(X), expected, atol=1e-8)
    assert eraser.rank == 3  # K - 1 directions for K classes
    # New vectors: the same affine map.
    fresh = np.random.default_rng(5).normal(size=(7, 10))
    mu = X.mean(0)
    np.testing.assert_allclose(
        eraser(fresh), fresh - (fresh - mu) @ (np.eye(10) - eraser.projection()).T, atol=1e-10
    )


def test_leace_continuous_concept_matches_closed_form(correlated) -> None:
    X, _ = correlated
    z = np.column_stack([X[:, 0] + X[:, 3], np.sin(X[:, 1])])
    eraser = LeaceEraser.fit(X, z)
    np.testing.assert_allclose(eraser(X), reference_leace(X, z), atol=1e-8)
    erased = eraser(X)
    cross = (erased - erased.mean(0)).T @ (z - z.mean(0)) / len(X)
    np.testing.assert_allclose(cross, 0.0, atol=1e-10)


def test_class_means_coincide_after_erasure(correlated) -> None:
    X, y = correlated
    erased = LeaceEraser.fit(X, y)(X)
    means = np.stack([erased[y == k].mean(0) for k in range(4)])
    np.testing.assert_allclose(means, means.mean(0)[None].repeat(4, 0), atol=1e-9)


def test_leace_moves_vectors_less_than_orthogonal_projection(correlated) -> None:
    X, y = correlated
    leace = LeaceEraser.fit(X, y, method="leace")
    orth = LeaceEraser.fit(X, y, method="orth")
    move = lambda e: np.mean(np.sum((e(X) - X) ** 2, axis=1))  # noqa: E731
    assert move(leace) < move(orth)
    # Both guard: the class means coincide.
    for eraser in (leace, orth):
        out = eraser(X)
        assert np.abs(out[y == 0].mean(0) - out[y == 1].mean(0)).max() < 1e-9


def test_fresh_probe_is_at_majority_baseline_after_erasure(make_classes) -> None:
    X, y = make_classes(3000, 16, 3, separation=0.8, seed=8)
    train, test = np.arange(2000), np.arange(2000, 3000)
    before = LinearProbe().fit(X[train], y[train]).score(X[test], y[test])
    eraser = LeaceEraser.fit(X[train], y[train])
    probe = LinearProbe().fit(eraser(X[train]), y[train])
    after = probe.score(eraser(X[test]), y[test])
    _, counts = np.unique(y[test], return_counts=True)
    majority = counts.max() / len(test)
    noise = 3 * np.sqrt(majority * (1 - majority) / len(test))
    assert before > majority + 0.4
    assert after < majority + noise


def test_leace_transformer_in_a_pipeline(correlated) -> None:
    X, y = correlated
    leaky = cross_val_score(LinearProbe(), X, y, cv=4).mean()
    erased = cross_val_score(make_pipeline(LEACE(), LinearProbe()), X, y, cv=4).mean()
    assert leaky > 0.8
    assert erased < 0.4  # four classes: about a quarter, or the majority share
    est = clone(LEACE(method="orth")).fit(X, y)
    assert est.n_features_in_ == 10 and est.eraser_.rank == 3
    np.testing.assert_allclose(est.transform(X), est.eraser_(X))


def test_eraser_is_a_small_frozen_dataclass(correlated) -> None:
    X, y = correlated
    eraser = LeaceEraser.fit(X, y)
    assert dataclasses.is_dataclass(eraser)
    with pytest.raises(dataclasses.FrozenInstanceError):
        eraser.bias = np.zeros(10)  # type: ignore[misc]
    assert eraser.proj_left.shape == (10, 3) and eraser.proj_right.shape == (3, 10)
    out32 = eraser(X.astype(np.float32))
    assert out32.dtype == np.float32


def test_inlp_reduces_probe_accuracy(make_classes) -> None:
    X, y = make_classes(900, 12, 3, separation=0.8, seed=4)
    inlp = INLP(random_state=0).fit(X, y)
    assert inlp.accuracies_[0] > 0.8
    assert inlp.accuracies_[-1] <= inlp.baseline_ + 0.05
    assert inlp.n_iter_ >= 1
    assert inlp.components_.shape == (2 * inlp.n_iter_, 12)  # K = 3 weight rows minus one each
    np.testing.assert_allclose(
        inlp.components_ @ inlp.components_.T, np.eye(len(inlp.components_)), atol=1e-10
    )
    P = inlp.projection_
    np.testing.assert_allclose(P @ P, P, atol=1e-10)
    np.testing.assert_allclose(P, P.T, atol=1e-12)
    np.testing.assert_allclose(inlp.transform(X), X @ P, atol=1e-5)
    before = cross_val_score(LinearProbe(), X, y, cv=3).mean()
    after = cross_val_score(LinearProbe(), inlp.transform(X), y, cv=3).mean()
    assert after < before - 0.3


def test_inlp_stops_at_n_iterations(make_classes) -> None:
    X, y = make_classes(400, 12, 2, separation=1.0, seed=6)
    inlp = INLP(n_iterations=1).fit(X, y)
    assert inlp.n_iter_ == 1 and len(inlp.accuracies_) == 1
    assert inlp.components_.shape == (1, 12)


# ---------------------------------------------------------------------------- bad input


def test_bad_input(correlated) -> None:
    X, y = correlated
    with pytest.raises(NotFittedError):
        LEACE().transform(X)
    with pytest.raises(NotFittedError):
        INLP().transform(X)
    with pytest.raises(ValueError, match=r"X and z have different lengths"):
        LeaceEraser.fit(X, y[:-1])
    with pytest.raises(ValueError, match=r"method must be one of"):
        LeaceEraser.fit(X, y, method="svd")  # type: ignore[arg-type]
    eraser = LeaceEraser.fit(X, y)
    with pytest.raises(
        ValueError, match=r"X has 4 features, but LeaceEraser is expecting 10 features"
    ):
        eraser(X[:, :4])
    with pytest.raises(ValueError, match=r"single class"):
        LeaceEraser.fit(X, np.zeros(len(X), dtype=int))
    lonely = y.copy()
    lonely[0] = 9
    with pytest.raises(ValueError, match=r"class 9 has a single sample"):
        INLP().fit(X, lonely)
