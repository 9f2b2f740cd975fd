"""LinearProbe against scikit-learn's LogisticRegression, and its scikit-learn citizenship."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from probes import LinearProbe


def objective(
    coef: np.ndarray, intercept: np.ndarray, X: np.ndarray, codes: np.ndarray, C: float
) -> float:
    """scikit-learn's objective: summed log loss + ||W||^2 / (2C)."""
    X = X.astype(np.float64)
    Z = X @ coef.T.astype(np.float64) + intercept.astype(np.float64)
    penalty = 0.5 / C * float(np.sum(coef.astype(np.float64) ** 2))
    if Z.shape[1] == 1:
        z = Z[:, 0]
        return float(np.sum(np.logaddexp(0.0, z) - codes * z)) + penalty
    Z = Z - Z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(Z).sum(axis=1))
    return float(np.sum(lse - Z[np.arange(len(codes)), codes])) + penalty


@pytest.mark.parametrize("k", [2, 4])
@pytest.mark.parametrize("C", [0.05, 1.0, 20.0])
@pytest.mark.parametrize("d", [8, 40])  # full and diagonal preconditioner
def test_matches_sklearn_in_float64(make_classes, k: int, C: float, d: int) -> None:
    X, y = make_classes(300, d, k, separation=0.7, seed=k)
    ours = LinearProbe(C=C, dtype="float64", tol=1e-8, max_iter=500).fit(X, y)
    ref = LogisticRegression(C=C, tol=1e-10, max_iter=10_000).fit(X.astype(np.float64), y)
    assert ours.coef_.shape == ref.coef_.shape
    assert ours.intercept_.shape == ref.intercept_.shape
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-5)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-4)
    # Same objective value: our optimum is scikit-learn's, not merely close in prediction.
    mine = objective(ours.coef_, ours.intercept_, X, y, C)
    theirs = objective(ref.coef_, ref.intercept_, X, y, C)
    assert mine == pytest.approx(theirs, rel=1e-9, abs=1e-7)


def test_float32_default_agrees_with_sklearn(three_classes) -> None:
    X, y = three_classes
    ours = LinearProbe().fit(X, y)
    ref = LogisticRegression(max_iter=1000).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=5e-3)
    assert np.mean(ours.predict(X) == ref.predict(X)) > 0.99
    assert ours.coef_.dtype == np.float32
    assert ours.converged_


def test_string_labels_round_trip(three_classes) -> None:
    X, y = three_classes
    probe = LinearProbe().fit(X, y)
    assert probe.classes_.tolist() == ["cat", "dog", "eel"]
    assert set(probe.predict(X)) <= {"cat", "dog", "eel"}
    assert probe.score(X, y) > 0.7
    proba = probe.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(probe.predict_log_proba(X), np.log(proba), atol=1e-8)
    assert (probe.classes_[proba.argmax(axis=1)] == probe.predict(X)).all()


def test_binary_shapes_follow_sklearn(two_classes) -> None:
    X, y = two_classes
    probe = LinearProbe().fit(X, y == 1)
    assert probe.classes_.tolist() == [False, True]
    assert probe.coef_.shape == (1, X.shape[1])
    assert probe.decision_function(X).shape == (len(X),)
    assert ((probe.decision_function(X) > 0) == probe.predict(X)).all()
    np.testing.assert_allclose(
        probe.predict_log_proba(X), np.log(probe.predict_proba(X)), atol=1e-8
    )


@pytest.mark.parametrize("class_weight", ["balanced", {"cat": 3.0, "eel": 0.5}])
def test_class_weight_matches_sklearn(three_classes, class_weight) -> None:
    X, y = three_classes
    keep = np.r_[np.flatnonzero(y != "dog"), np.flatnonzero(y == "dog")[:40]]  # imbalanced
    X, y = X[keep].astype(np.float64), y[keep]
    ours = LinearProbe(class_weight=class_weight, dtype="float64", tol=1e-8).fit(X, y)
    ref = LogisticRegression(class_weight=class_weight, tol=1e-10, max_iter=5000).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-5)


def test_sample_weight_matches_sklearn(three_classes) -> None:
    X, y = three_classes
    X = X.astype(np.float64)
    w = np.random.default_rng(0).uniform(0.0, 3.0, size=len(y))
    ours = LinearProbe(dtype="float64", tol=1e-8).fit(X, y, sample_weight=w)
    ref = LogisticRegression(tol=1e-10, max_iter=5000).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-5)


def test_standardize_matches_scaler_pipeline(three_classes) -> None:
    X, y = three_classes
    X = X * np.linspace(0.1, 10.0, X.shape[1])  # very different scales, float64
    ours = LinearProbe(standardize=True, C=0.3, dtype="float64", tol=1e-8).fit(X, y)
    ref = make_pipeline(StandardScaler(), LogisticRegression(C=0.3, tol=1e-10, max_iter=5000))
    ref.fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-5)
    # coef_ is reported for the raw input: the decision function is X @ coef_.T + intercept_.
    np.testing.assert_allclose(
        ours.decision_function(X), X @ ours.coef_.T + ours.intercept_, rtol=1e-6, atol=1e-6
    )


def test_no_intercept_matches_sklearn(two_classes) -> None:
    X, y = two_classes
    X = X.astype(np.float64)
    ours = LinearProbe(fit_intercept=False, dtype="float64", tol=1e-8).fit(X, y)
    ref = LogisticRegression(fit_intercept=False, tol=1e-10, max_iter=5000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-4)
    assert np.all(ours.intercept_ == 0.0)


def test_deterministic_under_seed(three_classes) -> None:
    X, y = three_classes
    a = LinearProbe(early_stopping=True, random_state=3).fit(X, y)
    b = LinearProbe(early_stopping=True, random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)
    c = LinearProbe().fit(X, y)
    d = LinearProbe().fit(X, y)
    np.testing.assert_array_equal(c.coef_, d.coef_)


def test_early_stopping_regularises(make_classes) -> None:
    # Few samples, many features, weak penalty: the full fit overfits, early stopping holds back.
    X, y = make_classes(120, 60, 2, separation=0.15, seed=5)
    full = LinearProbe(C=1e4, max_iter=300).fit(X, y)
    early = LinearProbe(
        C=1e4, max_iter=300, early_stopping=True, validation_fraction=0.25, random_state=0
    ).fit(X, y)
    assert len(early.validation_losses_) >= 1
    assert full.validation_losses_ == ()
    assert np.linalg.norm(early.coef_) < np.linalg.norm(full.coef_)
    assert early.n_iter_ <= full.n_iter_


def test_convergence_warning_when_max_iter_runs_out(three_classes) -> None:
    X, y = three_classes
    with pytest.warns(ConvergenceWarning, match=r"max_iter=1"):
        probe = LinearProbe(max_iter=1).fit(X, y)
    assert not probe.converged_
    assert probe.n_iter_ == 1


def test_sklearn_clone_get_set_params() -> None:
    probe = LinearProbe(C=0.5, class_weight="balanced", dtype="float64")
    params = probe.get_params()
    assert params["C"] == 0.5 and params["class_weight"] == "balanced"
    twin = clone(probe)
    assert twin is not probe and twin.get_params() == params
    assert probe.set_params(C=2.0) is probe and probe.C == 2.0


def test_works_in_pipeline_gridsearch_and_cross_val(three_classes) -> None:
    X, y = three_classes
    scores = cross_val_score(LinearProbe(), X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.7
    pipe = make_pipeline(StandardScaler(), LinearProbe())
    assert pipe.fit(X, y).score(X, y) > 0.7
    search = GridSearchCV(LinearProbe(), {"C": [1e-4, 1.0]}, cv=3).fit(X, y)
    assert search.best_params_ == {"C": 1.0}
    assert search.best_estimator_.n_features_in_ == X.shape[1]


def test_explicit_cpu_device_and_float64() -> None:
    X = np.random.default_rng(0).normal(size=(50, 3))
    y = (X[:, 0] > 0).astype(int)
    probe = LinearProbe(device="cpu", dtype="float64").fit(X, y)
    assert probe.coef_.dtype == np.float64
    assert probe.score(X, y) > 0.9


def test_does_not_warn_on_easy_problem(two_classes) -> None:
    X, y = two_classes
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LinearProbe().fit(X, y)


# ---------------------------------------------------------------------------- bad input


def test_unfitted_probe_raises_not_fitted() -> None:
    X = np.zeros((3, 2))
    for method in ("predict", "predict_proba", "decision_function"):
        with pytest.raises(NotFittedError, match=r"not fitted"):
            getattr(LinearProbe(), method)(X)


def test_wrong_feature_count_at_predict(two_classes) -> None:
    X, y = two_classes
    probe = LinearProbe().fit(X, y)
    with pytest.raises(
        ValueError, match=r"X has 3 features, but LinearProbe is expecting 10 features"
    ):
        probe.predict(X[:, :3])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"C": 0.0}, "C must be a finite number > 0"),
        ({"C": -1.0}, "C must be a finite number > 0"),
        ({"max_iter": 0}, "max_iter must be at least 1"),
        ({"dtype": "float16"}, "dtype must be 'float32' or 'float64'"),
        ({"class_weight": "auto"}, "class_weight must be one of 'balanced'"),
        ({"class_weight": {"zebra": 2.0}}, "not a class in y"),
        ({"early_stopping": True, "validation_fraction": 1.5}, "strictly between 0 and 1"),
        ({"device": "warp-drive"}, "device must be None"),
    ],
)
def test_bad_parameters_fail_at_fit(three_classes, kwargs, match) -> None:
    X, y = three_classes
    with pytest.raises((ValueError, TypeError), match=match):
        LinearProbe(**kwargs).fit(X, y)


def test_progress_bar_path_gives_the_same_fit(three_classes, capsys) -> None:
    # With a bar, L-BFGS runs in chunks of iterations; the iterates must not change.
    X, y = three_classes
    quiet = LinearProbe(progress=False).fit(X, y)
    shown = LinearProbe(progress=True).fit(X, y)
    np.testing.assert_allclose(shown.coef_, quiet.coef_, rtol=1e-5, atol=1e-6)
    assert shown.n_iter_ == quiet.n_iter_
    assert "L-BFGS" in capsys.readouterr().err


def test_unavailable_device_is_a_clear_error(two_classes) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    X, y = two_classes
    with pytest.raises(ValueError, match=r"device='cuda' was asked for.*device=None"):
        LinearProbe(device="cuda").fit(X, y)
