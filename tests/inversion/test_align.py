"""inversion.align: alignments against closed forms, the aligned embedder, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from inversion.align import AlignedEmbedder, Alignment, align_embedders


def _pairs(n=80, d_src=6, d_tgt=6, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d_src))
    W = rng.normal(size=(d_src, d_tgt))
    Y = X @ W + 0.5 + noise * rng.normal(size=(n, d_tgt))
    return X.astype(np.float32), Y.astype(np.float32)


def test_lstsq_matches_numpy_lstsq_with_intercept():
    X, Y = _pairs(noise=0.1, d_tgt=4)
    a = Alignment(method="lstsq").fit(X, Y)
    design = np.hstack([X, np.ones((len(X), 1))]).astype(np.float64)
    coef = np.linalg.lstsq(design, Y.astype(np.float64), rcond=None)[0]
    np.testing.assert_allclose(a.transform(X), design @ coef, atol=1e-4)
    np.testing.assert_allclose(a.W_, coef[:-1], atol=1e-4)


def test_ridge_matches_sklearn():
    from sklearn.linear_model import Ridge

    X, Y = _pairs(noise=0.3, d_tgt=3)
    a = Alignment(method="ridge", alpha=5.0).fit(X, Y)
    ref = Ridge(alpha=5.0).fit(X.astype(np.float64), Y.astype(np.float64))
    np.testing.assert_allclose(a.W_, ref.coef_.T, atol=1e-4)
    np.testing.assert_allclose(a.transform(X[:5]), ref.predict(X[:5]), atol=1e-4)


def test_ridge_dual_form_when_fewer_pairs_than_dims():
    from sklearn.linear_model import Ridge

    X, Y = _pairs(n=5, d_src=12, d_tgt=3, noise=0.1)
    a = Alignment(method="ridge", alpha=0.7).fit(X, Y)
    ref = Ridge(alpha=0.7).fit(X.astype(np.float64), Y.astype(np.float64))
    np.testing.assert_allclose(a.W_, ref.coef_.T, atol=1e-4)


def test_procrustes_matches_scipy_after_centering():
    from scipy.linalg import orthogonal_procrustes

    X, Y = _pairs(noise=0.2)
    a = Alignment(method="procrustes", scale=False).fit(X, Y)
    A = X.astype(np.float64) - X.mean(0)
    B = Y.astype(np.float64) - Y.mean(0)
    R, _ = orthogonal_procrustes(A, B)
    np.testing.assert_allclose(a.W_, R, atol=1e-4)
    np.testing.assert_allclose(a.W_ @ a.W_.T, np.eye(6), atol=1e-4)  # orthogonal


def test_procrustes_recovers_a_rotation_scale_and_shift():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 5))
    Q = np.linalg.qr(rng.normal(size=(5, 5)))[0]
    Y = 2.5 * X @ Q - 1.0
    a = Alignment(method="procrustes", scale=True).fit(X, Y)
    np.testing.assert_allclose(a.W_, 2.5 * Q, atol=1e-4)
    np.testing.assert_allclose(a.transform(X), Y, atol=1e-4)
    assert a.score(X, Y) == pytest.approx(1.0, abs=1e-5)


def test_procrustes_between_different_dimensions_is_semi_orthogonal():
    X, Y = _pairs(d_src=8, d_tgt=5, noise=0.1)
    a = Alignment(method="procrustes", scale=False).fit(X, Y)
    assert a.W_.shape == (8, 5)
    np.testing.assert_allclose(a.W_.T @ a.W_, np.eye(5), atol=1e-4)


def test_lstsq_on_fewer_pairs_than_dims_warns_and_regularizes():
    X, Y = _pairs(n=4, d_src=10, d_tgt=3)
    with pytest.warns(UserWarning, match="underdetermined"):
        a = Alignment(method="lstsq").fit(X, Y)
    assert a.alpha_ > 0
    assert np.isfinite(a.transform(X)).all()
    with warnings.catch_warnings():  # enough pairs: no warning
        warnings.simplefilter("error")
        assert Alignment(method="lstsq").fit(*_pairs(n=40, d_src=10)).alpha_ == 0.0


def test_bad_input_is_refused_with_clear_errors():
    X, Y = _pairs()
    with pytest.raises(ValueError, match="X_src has 80 rows but X_tgt has 79"):
        Alignment().fit(X, Y[:-1])
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Alignment().fit(bad, Y)
    with pytest.raises(ValueError, match="unknown alignment method"):
        Alignment(method="cca").fit(X, Y)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="alpha"):
        Alignment(method="ridge", alpha=-1.0).fit(X, Y)
    with pytest.raises(ValueError, match="at least 2"):
        Alignment().fit(X[:1], Y[:1])
    with pytest.raises(RuntimeError, match="not fitted"):
        Alignment().transform(X)
    a = Alignment().fit(X, Y)
    with pytest.raises(ValueError, match="maps 6-dim source vectors, got 4"):
        a.transform(X[:, :4])


def test_auto_normalize_follows_the_target_norms():
    X, Y = _pairs(noise=0.5)
    Yn = Y / np.linalg.norm(Y, axis=1, keepdims=True)
    mapped = Alignment(method="lstsq").fit(X, Yn).transform(X)
    np.testing.assert_allclose(np.linalg.norm(mapped, axis=1), 1.0, atol=1e-5)
    raw = Alignment(method="lstsq").fit(X, Y).transform(X)
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0)


def test_save_and_load_round_trip(tmp_path):
    X, Y = _pairs(noise=0.1)
    a = Alignment(method="ridge", alpha=0.3).fit(X, Y)
    a.save_pretrained(tmp_path / "align")
    b = Alignment.from_pretrained(tmp_path / "align")
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert (b.method, b.alpha_, b.n_pairs_) == ("ridge", 0.3, 80)
    assert b.fingerprint == a.fingerprint


class _Linear:
    """A black-box 'embedder': a fixed random linear map of a hashed bag of characters."""

    def __init__(self, dim: int, seed: int, name: str) -> None:
        self.name, self.dim, self.fingerprint = name, dim, f"fp-{name}"
        self.M = np.random.default_rng(seed).normal(size=(26, dim))
        self.queries = 0

    def embed(self, texts, *, batch_size=32, progress=None):
        self.queries += len(texts)
        counts = np.zeros((len(texts), 26))
        for i, t in enumerate(texts):
            for c in t.lower():
                if "a" <= c <= "z":
                    counts[i, ord(c) - 97] += 1
        return (counts @ self.M).astype(np.float32)


def test_aligned_embedder_implements_the_protocol_and_maps_into_the_target():
    from embedlens.embedders import Embedder

    rng = np.random.default_rng(0)
    letters = list("abcdefghijklmnopqrstuvwxyz")
    texts = ["".join(rng.choice(letters, size=int(rng.integers(3, 15)))) for _ in range(60)]
    src, tgt = _Linear(26, 0, "src"), _Linear(26, 1, "tgt")
    aligned = align_embedders(src, tgt, texts, method="lstsq")
    assert isinstance(aligned, Embedder)
    assert aligned.dim == 26 and aligned.aligned_to["fingerprint"] == "fp-tgt"
    assert aligned.fingerprint not in ("fp-src", "fp-tgt")
    probe = ["mu nu xi", "omicron pi"]
    np.testing.assert_allclose(aligned.embed(probe), tgt.embed(probe), atol=1e-3)
    assert aligned.queries == src.queries > 0
    with pytest.raises(ValueError, match="is 5-dim"):
        AlignedEmbedder(src, aligned.alignment, target={"name": "t", "dim": 5, "fingerprint": "x"})


def test_inverter_loads_with_an_aligned_embedder(tmp_path, tiny_emb, one_torch_thread):
    from inversion.inverter import Inverter
    from tiny_models import tiny_causal_lm, tiny_embedder

    texts = ["a cat", "a dog", "the sun", "red hat", "big car", "old tree"] * 4
    inv = Inverter(embedder=tiny_emb, decoder=tiny_causal_lm(), prefix_tokens=2, max_length=8)
    inv.fit(texts[:6], steps=2, batch_size=2, progress=False)
    inv.save_pretrained(tmp_path / "inv")
    other = tiny_embedder(dim=24, seed=3)
    with pytest.raises(ValueError, match="trained on embeddings"):
        Inverter.from_pretrained(tmp_path / "inv", embedder=other)
    aligned = align_embedders(other, inv, texts, method="ridge", alpha=0.1)
    loaded = Inverter.from_pretrained(tmp_path / "inv", embedder=aligned)
    out = loaded.invert(aligned.embed(["a cat", "big car"]), max_length=4)
    assert len(out) == 2 and all(isinstance(t, str) for t in out)
