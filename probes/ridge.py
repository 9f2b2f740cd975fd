"""``LinearRegressionProbe``: ridge regression in closed form, in torch.

``alpha`` is on ``sklearn.linear_model.Ridge``'s scale: minimise
``sum_i s_i (y_i - x_i w - b)^2 + alpha ||w||^2`` with an unpenalised intercept.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from probes._utils import DType, cpu_threads_for, numpy_dtype, resolve_device, resolve_dtype
from probes._validation import (
    check_matrix,
    check_n_features,
    check_positive,
    check_regression_targets,
    check_sample_weight,
)

logger = logging.getLogger(__name__)


class LinearRegressionProbe(RegressorMixin, BaseEstimator):
    """Linear regression probe: ridge (L2) regression solved in closed form.

    Parameters
    ----------
    alpha : float, default=1.0
        L2 penalty on ``sklearn.linear_model.Ridge``'s scale; 0 gives least squares (minimum-norm
        solution when the system is singular).
    fit_intercept : bool, default=True
        Learn an unpenalised intercept (by centring ``X`` and ``y``).
    standardize : bool, default=False
        Fit on features scaled to unit variance (penalty in that scale); ``coef_`` and
        ``intercept_`` are reported for the raw input.
    device : str or None, default=None
        torch device; ``None`` picks cuda, then mps, then cpu when ``fit`` runs.
    dtype : {"float32", "float64"}, default="float64"
        Precision of the solve.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from probes import LinearRegressionProbe
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 5))
    >>> y = X @ np.arange(5.0) + 1.0
    >>> probe = LinearRegressionProbe(alpha=1e-6, device="cpu").fit(X, y)
    >>> bool(np.allclose(probe.coef_, [0.0, 1.0, 2.0, 3.0, 4.0], atol=1e-3))
    True
    """

    def __init__(
        self,
        alpha: float = 1.0,
        *,
        fit_intercept: bool = True,
        standardize: bool = False,
        device: str | None = None,
        dtype: DType = "float64",
    ) -> None:
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.device = device
        self.dtype = dtype

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LinearRegressionProbe:
        """Fit the probe.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Numeric targets; strings raise a TypeError.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        LinearRegressionProbe
            The fitted estimator.
        """
        alpha = check_positive(self.alpha, "alpha", strict=False)
        numpy_dtype(self.dtype)
        X = check_matrix(X, dtype=np.float64)
        Y = check_regression_targets(X, y)
        sw = check_sample_weight(sample_weight, X.shape[0])
        dev = resolve_device(self.device)
        tdtype = resolve_dtype(self.dtype, dev)

        one_target = Y.ndim == 1
        Y2 = Y[:, None] if one_target else Y
        w = sw / sw.sum()
        if self.fit_intercept:
            x_mean = w @ X
            y_mean = w @ Y2
        else:
            x_mean = np.zeros(X.shape[1])
            y_mean = np.zeros(Y2.shape[1])
        if self.standardize:
            scale = np.sqrt(w @ (X - x_mean) ** 2)
            scale[scale < 1e-12] = 1.0
        else:
            scale = np.ones(X.shape[1])

        with cpu_threads_for(X.size, dev):
            coef = self._coef(X, Y2, sw, x_mean, y_mean, scale, alpha, dev, tdtype)
        intercept = y_mean - coef @ x_mean
        out_dtype = numpy_dtype(self.dtype)
        if one_target:
            self.coef_ = coef[0].astype(out_dtype)
            self.intercept_: float | np.ndarray = float(intercept[0])
        else:
            self.coef_ = coef.astype(out_dtype)
            self.intercept_ = intercept.astype(out_dtype)
        self.n_features_in_ = X.shape[1]
        return self

    def _coef(
        self,
        X: np.ndarray,
        Y2: np.ndarray,
        sw: np.ndarray,
        x_mean: np.ndarray,
        y_mean: np.ndarray,
        scale: np.ndarray,
        alpha: float,
        dev: Any,
        tdtype: Any,
    ) -> np.ndarray:
        """Ridge coefficients for the raw input, shape (n_targets, n_features)."""
        import torch

        root = np.sqrt(sw)[:, None]
        Xt = torch.as_tensor((X - x_mean) / scale * root, dtype=tdtype, device=dev)
        Yt = torch.as_tensor((Y2 - y_mean) * root, dtype=tdtype, device=dev)
        n, d = Xt.shape
        if d <= n:  # primal: (X'X + alpha I) w = X'y
            A = Xt.T @ Xt
            A.diagonal().add_(alpha)
            B = Xt.T @ Yt
            coef_t = self._solve(A, B)
        else:  # dual: w = X' (XX' + alpha I)^-1 y
            A = Xt @ Xt.T
            A.diagonal().add_(alpha)
            coef_t = Xt.T @ self._solve(A, Yt)
        return np.asarray(coef_t.detach().cpu().numpy(), dtype=np.float64).T / scale

    @staticmethod
    def _solve(A: Any, B: Any) -> Any:
        """Solve the symmetric system; fall back to the pseudo-inverse when it is singular."""
        import torch

        L, info = torch.linalg.cholesky_ex(A)
        if int(info) == 0:
            return torch.cholesky_solve(B, L)
        logger.debug("ridge system is singular; using the pseudo-inverse")
        return torch.linalg.pinv(A, hermitian=True) @ B

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets, shape (n_samples,) or (n_samples, n_targets)."""
        check_is_fitted(self, "coef_")
        X = check_matrix(X, dtype=np.float64)
        check_n_features(X, self.n_features_in_, type(self).__name__)
        return X @ np.asarray(self.coef_, dtype=np.float64).T + self.intercept_
