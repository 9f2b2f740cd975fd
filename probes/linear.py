"""``LinearProbe``: multinomial logistic regression with an L2 penalty, fitted in torch.

The estimator follows scikit-learn's conventions, so it works in ``clone``, ``Pipeline``,
``GridSearchCV`` and ``cross_val_score``; the objective is ``LogisticRegression``'s at the same
``C``. torch is imported when ``fit`` runs; prediction needs numpy only.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from probes._utils import DType, numpy_dtype, rng_from
from probes._validation import (
    check_classification_targets,
    check_fraction,
    check_in,
    check_matrix,
    check_n_features,
    check_positive,
    check_sample_weight,
)

logger = logging.getLogger(__name__)

ClassWeight = Literal["balanced"] | Mapping[Any, float] | None


def class_weights(class_weight: ClassWeight, classes: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per-class weights in the order of ``classes`` (scikit-learn's rules)."""
    k = len(classes)
    if class_weight is None:
        return np.ones(k)
    if isinstance(class_weight, str):
        check_in(class_weight, ["balanced"], "class_weight")
        counts = np.bincount(codes, minlength=k).astype(np.float64)
        return len(codes) / (k * np.maximum(counts, 1.0))
    if isinstance(class_weight, Mapping):
        known = {c.item() if hasattr(c, "item") else c: i for i, c in enumerate(classes)}
        weights = np.ones(k)
        for label, w in class_weight.items():
            key = label.item() if hasattr(label, "item") else label
            if key not in known:
                raise ValueError(
                    f"class_weight has a weight for {label!r}, which is not a class in y (classes: "
                    f"{list(classes)[:10]}). Use the labels exactly as they appear in y."
                )
            weights[known[key]] = check_positive(w, f"class_weight[{label!r}]", strict=False)
        return weights
    raise TypeError(
        f"class_weight must be None, 'balanced' or a dict label -> weight; got {class_weight!r}."
    )


def _softmax(Z: np.ndarray) -> np.ndarray:
    Z = Z - Z.max(axis=1, keepdims=True)
    np.exp(Z, out=Z)
    Z /= Z.sum(axis=1, keepdims=True)
    return Z


class LinearProbe(ClassifierMixin, BaseEstimator):
    """Linear classifier probe: logistic regression with L2, on scikit-learn's ``C`` scale.

    Minimises ``sum_i s_i * logloss_i + ||W||^2 / (2 C)`` (``s_i`` from ``sample_weight`` and
    ``class_weight``), the objective of ``sklearn.linear_model.LogisticRegression(C=C)``: one logit
    for two classes, a softmax for more. Full-batch L-BFGS with a strong Wolfe line search on a
    preconditioned problem, in torch on the CPU or a GPU.

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularisation strength; smaller is stronger.
    fit_intercept : bool, default=True
        Learn an unpenalised bias per class.
    standardize : bool, default=False
        Fit on features scaled to zero mean and unit variance (the penalty then applies in that
        scale, as in ``make_pipeline(StandardScaler(), LogisticRegression())``). ``coef_`` and
        ``intercept_`` are always reported for the raw input.
    class_weight : None, "balanced" or dict, default=None
        Weights per class, as in scikit-learn.
    max_iter : int, default=100
        Most L-BFGS iterations.
    tol : float, default=1e-4
        Stop when the largest gradient entry (of the objective divided by the total weight) is
        below ``tol``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified) and stop when its log
        loss has not improved for ``n_iter_no_change`` checks (one check every 5 iterations);
        keep the best parameters.
    validation_fraction : float, default=0.1
        Share of the data held out for early stopping.
    n_iter_no_change : int, default=5
        Checks without improvement before stopping early.
    random_state : int, Generator or None, default=None
        Seeds the validation split; the fit itself is deterministic.
    device : str or None, default=None
        torch device; ``None`` picks cuda, then mps, then cpu when ``fit`` runs.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the fit.
    progress : bool or None, default=None
        Show a progress bar; ``None`` shows one only in interactive sessions.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) for two classes, else (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_features_in_ : int
    n_iter_ : int
        L-BFGS iterations run.
    converged_ : bool
    mean_, scale_ : ndarray of shape (n_features,)
        Standardisation statistics (zeros and ones when ``standardize=False``).
    validation_losses_ : tuple of float
        Validation log loss at each check (empty without early stopping).

    Examples
    --------
    >>> import numpy as np
    >>> from probes import LinearProbe
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 8)).astype("float32")
    >>> y = np.where(X[:, 0] > 0, "pos", "neg")
    >>> probe = LinearProbe(C=1.0, device="cpu").fit(X, y)
    >>> probe.score(X, y) > 0.9
    True
    >>> probe.predict(X[:2]).tolist()
    ['pos', 'neg']
    """

    def __init__(
        self,
        C: float = 1.0,
        *,
        fit_intercept: bool = True,
        standardize: bool = False,
        class_weight: ClassWeight = None,
        max_iter: int = 100,
        tol: float = 1e-4,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 5,
        random_state: int | np.random.Generator | None = None,
        device: str | None = None,
        dtype: DType = "float32",
        progress: bool | None = None,
    ) -> None:
        self.C = C
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.device = device
        self.dtype = dtype
        self.progress = progress

    def _check_params(self) -> None:
        check_positive(self.C, "C")
        check_positive(self.tol, "tol")
        if int(self.max_iter) < 1:
            raise ValueError(f"max_iter must be at least 1, got {self.max_iter!r}.")
        if self.early_stopping:
            check_fraction(self.validation_fraction, "validation_fraction")
            if int(self.n_iter_no_change) < 1:
                raise ValueError(
                    f"n_iter_no_change must be at least 1, got {self.n_iter_no_change!r}."
                )
        numpy_dtype(self.dtype)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LinearProbe:
        """Fit the probe.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Embeddings; finite numbers only.
        y : array-like of shape (n_samples,)
            Class labels of any sortable type (str, int, bool); at least two classes.
        sample_weight : array-like of shape (n_samples,), optional
            Per-sample weights, multiplied with ``class_weight``.

        Returns
        -------
        LinearProbe
            The fitted estimator.
        """
        from probes._solver import fit_logistic

        self._check_params()
        np_dtype = numpy_dtype(self.dtype)
        X = check_matrix(X, dtype=np_dtype)
        _, classes, codes = check_classification_targets(X, y)
        sw = check_sample_weight(sample_weight, X.shape[0])
        sw = sw * class_weights(self.class_weight, classes, codes)[codes]

        if self.standardize:
            mean = X.mean(axis=0, dtype=np.float64)
            scale = X.std(axis=0, dtype=np.float64)
            scale[scale < 1e-12] = 1.0
            Xs = ((X - mean) / scale).astype(np_dtype, copy=False)
        else:
            mean = np.zeros(X.shape[1])
            scale = np.ones(X.shape[1])
            Xs = X

        X_val = codes_val = None
        if self.early_stopping:
            train_idx, val_idx = self._validation_split(codes)
            X_val, codes_val = Xs[val_idx], codes[val_idx]
            Xs, codes, sw = Xs[train_idx], codes[train_idx], sw[train_idx]

        solution = fit_logistic(
            Xs,
            codes,
            len(classes),
            sample_weight=sw,
            C=float(self.C),
            fit_intercept=bool(self.fit_intercept),
            max_iter=int(self.max_iter),
            tol=float(self.tol),
            device=self.device,
            dtype=self.dtype,
            X_val=X_val,
            codes_val=codes_val,
            n_iter_no_change=int(self.n_iter_no_change),
            progress=self.progress,
        )
        coef = solution.coef.astype(np.float64) / scale
        intercept = solution.intercept.astype(np.float64) - coef @ mean
        self.classes_ = classes
        self.coef_ = coef.astype(np_dtype)
        self.intercept_ = intercept.astype(np_dtype)
        self.n_features_in_ = X.shape[1]
        self.n_iter_ = solution.n_iter
        self.converged_ = solution.converged
        self.mean_ = mean
        self.scale_ = scale
        self.validation_losses_ = solution.validation_losses
        if not solution.converged:
            warnings.warn(
                f"LinearProbe did not converge in max_iter={self.max_iter} iterations (largest "
                f"gradient entry {solution.grad_max:.2e} > tol={self.tol}). Increase max_iter, "
                f"use standardize=True, or lower C.",
                ConvergenceWarning,
                stacklevel=2,
            )
        logger.debug("LinearProbe fitted: %d iterations, loss %.6g", solution.n_iter, solution.loss)
        return self

    def _validation_split(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stratified split for early stopping; every class keeps a training sample."""
        rng = rng_from(self.random_state)
        train: list[np.ndarray] = []
        val: list[np.ndarray] = []
        for k in range(int(codes.max()) + 1):
            idx = rng.permutation(np.flatnonzero(codes == k))
            n_val = round(len(idx) * float(self.validation_fraction))
            n_val = min(n_val, len(idx) - 1)
            val.append(idx[:n_val])
            train.append(idx[n_val:])
        val_idx = np.sort(np.concatenate(val))
        if len(val_idx) == 0:
            raise ValueError(
                f"early_stopping needs a validation set, but validation_fraction="
                f"{self.validation_fraction} of {len(codes)} samples leaves none. Raise "
                f"validation_fraction or turn early_stopping off."
            )
        return np.sort(np.concatenate(train)), val_idx

    def decision_function(self, X: Any) -> np.ndarray:
        """Logits ``X @ coef_.T + intercept_``; shape (n,) for two classes, else (n, n_classes)."""
        check_is_fitted(self, "coef_")
        X = check_matrix(X, dtype=self.coef_.dtype)
        check_n_features(X, self.n_features_in_, type(self).__name__)
        scores = X @ self.coef_.T + self.intercept_
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        scores = np.asarray(self.decision_function(X), dtype=np.float64)
        if scores.ndim == 1:
            p = 1.0 / (1.0 + np.exp(-scores))
            return np.column_stack([1.0 - p, p])
        return _softmax(scores)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of :meth:`predict_proba`, computed stably."""
        scores = np.asarray(self.decision_function(X), dtype=np.float64)
        if scores.ndim == 1:
            scores = np.column_stack([np.zeros_like(scores), scores])
        scores = scores - scores.max(axis=1, keepdims=True)
        return scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class label for each row of ``X``."""
        scores = self.decision_function(X)
        idx = (scores > 0).astype(np.int64) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[idx]
