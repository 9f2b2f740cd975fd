"""LinearRegressionProbe against scikit-learn's Ridge."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from probes import LinearRegressionProbe


@pytest.fixture
def regression() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 15)) + 1.0
    y = X @ rng.normal(size=15) + 0.3 * rng.normal(size=200) + 4.0
    return X, y


@pytest.mark.parametrize("alpha", [0.0, 0.1, 10.0, 1000.0])
def test_matches_sklearn_ridge(regression, alpha: float) -> None:
    X, y = regression
    ours = LinearRegressionProbe(alpha=alpha).fit(X, y)
    ref = Ridge(alpha=alpha).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-8, atol=1e-9)
    assert ours.intercept_ == pytest.approx(ref.intercept_, rel=1e-8, abs=1e-9)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-8)
    assert ours.score(X, y) == pytest.approx(ref.score(X, y))


def test_multi_target_weights_and_no_intercept(regression) -> None:
    X, y = regression
    Y = np.column_stack([y, -2.0 * y + 1.0, X[:, 0]])
    w = np.random.default_rng(1).uniform(0.1, 2.0, size=len(y))
    ours = LinearRegressionProbe(alpha=3.0).fit(X, Y, sample_weight=w)
    ref = Ridge(alpha=3.0).fit(X, Y, sample_weight=w)
    assert ours.coef_.shape == (3, X.shape[1])
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-7, atol=1e-9)
    ours0 = LinearRegressionProbe(alpha=3.0, fit_intercept=False).fit(X, y)
    ref0 = Ridge(alpha=3.0, fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(ours0.coef_, ref0.coef_, rtol=1e-8)
    assert ours0.intercept_ == 0.0


def test_more_features_than_samples_uses_the_dual(regression) -> None:
    X, y = regression
    X, y = X[:10], y[:10]  # 10 x 15
    ours = LinearRegressionProbe(alpha=0.5).fit(X, y)
    ref = Ridge(alpha=0.5).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-7, atol=1e-10)
    # alpha = 0 on a singular system: the minimum-norm least-squares solution.
    ours0 = LinearRegressionProbe(alpha=0.0).fit(X, y)
    ref0 = LinearRegression().fit(X, y)
    np.testing.assert_allclose(ours0.predict(X), ref0.predict(X), atol=1e-6)
    np.testing.assert_allclose(ours0.coef_, ref0.coef_, atol=1e-6)


def test_standardize_matches_scaler_pipeline(regression) -> None:
    X, y = regression
    X = X * np.linspace(0.01, 100.0, X.shape[1])
    ours = LinearRegressionProbe(alpha=5.0, standardize=True).fit(X, y)
    ref = make_pipeline(StandardScaler(), Ridge(alpha=5.0)).fit(X, y)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-7)


def test_float32_dtype(regression) -> None:
    X, y = regression
    ours = LinearRegressionProbe(alpha=1.0, dtype="float32").fit(X, y)
    assert ours.coef_.dtype == np.float32
    np.testing.assert_allclose(ours.coef_, Ridge(alpha=1.0).fit(X, y).coef_, rtol=1e-3, atol=1e-4)


def test_sklearn_tools(regression) -> None:
    X, y = regression
    assert clone(LinearRegressionProbe(alpha=2.0)).alpha == 2.0
    assert cross_val_score(LinearRegressionProbe(), X, y, cv=3).mean() > 0.9
    search = GridSearchCV(LinearRegressionProbe(), {"alpha": [0.01, 1e6]}, cv=3).fit(X, y)
    assert search.best_params_ == {"alpha": 0.01}


# ---------------------------------------------------------------------------- bad input


def test_string_targets_raise(regression) -> None:
    X, _ = regression
    with pytest.raises(TypeError, match=r"numeric targets.*For class labels use LinearProbe"):
        LinearRegressionProbe().fit(X, np.array(["a", "b"] * 100))


def test_nan_targets_raise(regression) -> None:
    X, y = regression
    y = y.copy()
    y[3] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinite targets"):
        LinearRegressionProbe().fit(X, y)


def test_unfitted_and_wrong_width(regression) -> None:
    X, y = regression
    with pytest.raises(NotFittedError):
        LinearRegressionProbe().predict(X)
    probe = LinearRegressionProbe().fit(X, y)
    with pytest.raises(
        ValueError, match=r"X has 2 features, but LinearRegressionProbe is expecting 15 features"
    ):
        probe.predict(X[:, :2])


def test_negative_alpha_raises(regression) -> None:
    X, y = regression
    with pytest.raises(ValueError, match=r"alpha must be a finite number >= 0"):
        LinearRegressionProbe(alpha=-1.0).fit(X, y)
