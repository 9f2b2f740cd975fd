"""Concept directions, scoring along them, and shifting vectors along them."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from probes import ConceptDirection, LinearProbe, concept_direction, score, shift


@pytest.fixture
def concept() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two classes that differ along a known unit direction."""
    rng = np.random.default_rng(0)
    truth = rng.normal(size=20)
    truth /= np.linalg.norm(truth)
    y = np.repeat(["plain", "polite"], 300)
    X = rng.normal(size=(600, 20)) * 0.5 + 1.0
    X[y == "polite"] += 2.0 * truth
    return X, y, truth


@pytest.mark.parametrize("method", ["mean_diff", "probe", "cav"])
def test_direction_recovers_the_concept(concept, method) -> None:
    X, y, truth = concept
    d = concept_direction(X, y, method=method)
    assert isinstance(d, ConceptDirection)
    assert d.method == method and d.positive == "polite" and d.negative == "plain"
    assert np.linalg.norm(d.vector) == pytest.approx(1.0)
    assert d.vector @ truth > 0.9
    s = d.score(X)
    assert s[y == "polite"].mean() > 0 > s[y == "plain"].mean()  # offset puts 0 in between
    assert np.mean((s > 0) == (y == "polite")) > 0.95
    if method == "cav":
        assert d.stability is not None and 0.9 < d.stability <= 1.0
    else:
        assert d.stability is None


def test_mean_diff_is_exactly_the_normalised_difference(concept) -> None:
    X, y, _ = concept
    d = concept_direction(X, y)
    diff = X[y == "polite"].mean(0) - X[y == "plain"].mean(0)
    np.testing.assert_allclose(d.vector, diff / np.linalg.norm(diff))
    midpoint = (X[y == "polite"].mean(0) + X[y == "plain"].mean(0)) / 2
    assert d.score(midpoint[None])[0] == pytest.approx(0.0, abs=1e-9)


def test_probe_direction_is_sklearn_normalised_weights(concept) -> None:
    X, y, _ = concept
    probe = LinearProbe(C=0.1, dtype="float64", tol=1e-8)
    d = concept_direction(X, y, method="probe", probe=probe)
    ref = LogisticRegression(C=0.1, tol=1e-10, max_iter=5000).fit(X, y == "polite")
    w = ref.coef_[0]
    np.testing.assert_allclose(d.vector, w / np.linalg.norm(w), atol=1e-5)
    # Score 0 is the decision boundary.
    assert d.offset == pytest.approx(-ref.intercept_[0] / np.linalg.norm(w), rel=1e-4)


def test_one_versus_rest_and_explicit_positive() -> None:
    rng = np.random.default_rng(1)
    y = rng.choice(["a", "b", "c"], size=300)
    X = rng.normal(size=(300, 5))
    X[y == "c", 4] += 3.0
    d = concept_direction(X, y, positive="c")
    assert d.positive == "c" and d.negative == "<rest>"
    assert np.argmax(np.abs(d.vector)) == 4 and d.vector[4] > 0
    flipped = concept_direction(X[y != "b"], y[y != "b"], positive="a")
    assert flipped.negative == "c" and flipped.vector[4] < 0


def test_score_function_accepts_raw_vectors_and_texts(concept) -> None:
    X, y, truth = concept
    np.testing.assert_allclose(score(X, 3.0 * truth), X @ truth)
    d = concept_direction(X, y)
    np.testing.assert_allclose(score(X, d), d.score(X))

    class FakeEmbedder:
        def embed(self, texts: list[str]) -> np.ndarray:
            return np.array([[float(len(t))] + [0.0] * 19 for t in texts])

    out = score(["a", "abcd"], np.eye(20)[0], embedder=FakeEmbedder())
    assert out.tolist() == [1.0, 4.0]
    with pytest.raises(TypeError, match=r"no embedder"):
        score(["a", "b"], d)


def test_shift_moves_the_score_by_alpha(concept) -> None:
    X, y, _ = concept
    d = concept_direction(X, y)
    moved = shift(X, d, alpha=2.5)
    np.testing.assert_allclose(d.score(moved), d.score(X) + 2.5)
    # Only the concept coordinate changes.
    np.testing.assert_allclose(moved - X, np.outer(np.full(len(X), 2.5), d.vector))
    per_row = shift(X[:3], d, alpha=np.array([0.0, 1.0, -1.0]))
    np.testing.assert_allclose(d.score(per_row), d.score(X[:3]) + np.array([0.0, 1.0, -1.0]))
    x32 = X.astype(np.float32)
    assert shift(x32, d, 1.0).dtype == np.float32


def test_shift_renormalize_keeps_norms(concept) -> None:
    X, y, _ = concept
    X = X / np.linalg.norm(X, axis=1, keepdims=True)
    d = concept_direction(X, y)
    moved = shift(X, d, 0.3, renormalize=True)
    np.testing.assert_allclose(np.linalg.norm(moved, axis=1), 1.0)
    assert (d.score(moved) > d.score(X)).all()


def test_bad_input(concept) -> None:
    X, y, _ = concept
    three = np.array(["a", "b", "c"] * 200)
    with pytest.raises(ValueError, match=r"a concept direction needs two.*positive="):
        concept_direction(X, three)
    with pytest.raises(ValueError, match=r"positive='zzz' is not a label"):
        concept_direction(X, y, positive="zzz")
    with pytest.raises(ValueError, match=r"method must be one of"):
        concept_direction(X, y, method="pca")  # type: ignore[arg-type]
    d = concept_direction(X, y)
    with pytest.raises(ValueError, match=r"X has 3 features but the direction has 20"):
        d.score(X[:, :3])
    with pytest.raises(ValueError, match=r"alpha must be a number or one number per row"):
        shift(X, d, alpha=np.ones(4))
    with pytest.raises(ValueError, match=r"zero"):
        score(X, np.zeros(20))
    same = np.repeat(X[:1], 10, axis=0)
    with pytest.raises(ValueError, match=r"difference of the class means is zero"):
        concept_direction(same, np.repeat([0, 1], 5))
