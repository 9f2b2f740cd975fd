"""Linear concept erasure: LEACE (Belrose et al., 2023) and INLP (Ravfogel et al., 2020).

LEACE, in closed form. With ``mu = E[x]``, ``S = Cov(x)``, ``S_xz = Cov(x, z)``, a whitening
``W = S^(-1/2)`` (pseudo-inverse on the null space) and ``P`` the orthogonal projection onto the
column space of ``W S_xz``, the least-squares eraser is::

    r(x) = x - W^+ P W (x - mu)

After it, the class-conditional means of ``r(x)`` coincide, so no linear classifier does better
(on the fitting data) than a constant one, and among all such affine maps it moves ``x`` the least
in mean squared (Mahalanobis) distance. ``method="orth"`` skips the whitening (an orthogonal
projection onto the complement of ``S_xz``'s columns): also guarding, but not the least change.

INLP repeatedly trains a linear probe, removes the span of its weight vectors, and stops when a
held-out probe is at the majority baseline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from probes._utils import progress_bar, rng_from
from probes._validation import (
    check_classification_targets,
    check_fraction,
    check_in,
    check_lengths,
    check_matrix,
    check_n_features,
    check_positive,
    label_repr,
)

logger = logging.getLogger(__name__)

EraseMethod = Literal["leace", "orth"]


def concept_matrix(X: np.ndarray, z: Any, *, name: str = "z") -> np.ndarray:
    """The concept as a float matrix: one-hot columns for labels, the values for float targets."""
    check_lengths(X, z, y_name=name)
    arr = np.asarray(z)
    if arr.dtype.kind in "fc":
        Z = arr.astype(np.float64).reshape(len(arr), -1)
        if not np.isfinite(Z).all():
            raise ValueError(f"{name} contains NaN or infinite values; drop those samples first.")
        return Z
    _, classes, codes = check_classification_targets(X, arr, name=name)
    return np.eye(len(classes))[codes]


#: Singular (and eigen) values below this share of the largest are treated as zero. Exact zeros
#: come out of float64 arithmetic around 1e-15 relative (e.g. the redundant one-hot column).
RANK_RTOL = 1e-10


#: The same cut for the weight vectors INLP removes (probes are often fitted in float32).
INLP_RANK_RTOL = 1e-4


def _rank_cut(values: np.ndarray) -> np.ndarray:
    """Mask of the values that count as non-zero."""
    top = float(values.max()) if values.size else 0.0
    return values > top * RANK_RTOL


@dataclass(frozen=True)
class LeaceEraser:
    """A fitted LEACE eraser: ``x -> x - ((x - bias) @ proj_right.T) @ proj_left.T``.

    Attributes
    ----------
    proj_left : ndarray of shape (n_features, rank)
    proj_right : ndarray of shape (rank, n_features)
    bias : ndarray of shape (n_features,)
        The mean of the fitting data.

    Examples
    --------
    >>> import numpy as np
    >>> from probes import LeaceEraser
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, size=500)
    >>> X = rng.normal(size=(500, 6)) + 2.0 * y[:, None]
    >>> eraser = LeaceEraser.fit(X, y)
    >>> Xe = eraser(X)
    >>> bool(np.allclose(Xe[y == 0].mean(0), Xe[y == 1].mean(0)))
    True
    """

    proj_left: np.ndarray = field(repr=False)
    proj_right: np.ndarray = field(repr=False)
    bias: np.ndarray = field(repr=False)

    @property
    def rank(self) -> int:
        """Dimensions removed."""
        return int(self.proj_right.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.bias.shape[0])

    @classmethod
    def fit(cls, X: Any, z: Any, *, method: EraseMethod = "leace") -> LeaceEraser:
        """Fit the eraser for concept ``z`` (labels, or float values of shape (n,) or (n, k)).

        Computed in float64 whatever the input dtype.
        """
        return _fit_eraser(X, z, method=method, name="z")

    def transform(self, X: Any) -> np.ndarray:
        """Erase the concept from ``X`` (same dtype as ``X`` when it is float)."""
        arr = check_matrix(X)
        check_n_features(arr, self.n_features, "LeaceEraser")
        out = arr - ((arr - self.bias) @ self.proj_right.T) @ self.proj_left.T
        return out.astype(arr.dtype, copy=False)

    __call__ = transform

    def projection(self) -> np.ndarray:
        """The linear part as a (n_features, n_features) matrix ``I - proj_left @ proj_right``."""
        return np.eye(self.n_features) - self.proj_left @ self.proj_right


def _fit_eraser(X: Any, z: Any, *, method: EraseMethod, name: str) -> LeaceEraser:
    """The LEACE closed form (see the module docstring); ``name`` is how errors call ``z``."""
    check_in(method, ["leace", "orth"], "method")
    arr = check_matrix(X, dtype=np.float64, min_samples=2)
    Z = concept_matrix(arr, z, name=name)
    n = arr.shape[0]
    mu = arr.mean(axis=0)
    Xc = arr - mu
    Zc = Z - Z.mean(axis=0)
    cross = Xc.T @ Zc / n  # Cov(x, z), (d, k)
    if method == "leace":
        cov = Xc.T @ Xc / n
        evals, evecs = np.linalg.eigh(cov)
        keep = _rank_cut(evals)
        U, lam = evecs[:, keep], evals[keep]
        whiten = (U / np.sqrt(lam)) @ U.T
        unwhiten = (U * np.sqrt(lam)) @ U.T
    else:
        whiten = unwhiten = np.eye(arr.shape[1])
    A, s, _ = np.linalg.svd(whiten @ cross, full_matrices=False)
    basis = A[:, _rank_cut(s)]  # orthonormal basis of col(W S_xz)
    return LeaceEraser(proj_left=unwhiten @ basis, proj_right=basis.T @ whiten, bias=mu)


class LEACE(TransformerMixin, BaseEstimator):
    """LEACE concept erasure as a scikit-learn transformer (fits a :class:`LeaceEraser`).

    Parameters
    ----------
    method : {"leace", "orth"}, default="leace"

    Attributes
    ----------
    eraser_ : LeaceEraser
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.model_selection import cross_val_score
    >>> from probes import LEACE, LinearProbe
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, size=400)
    >>> X = rng.normal(size=(400, 8)) + 1.5 * y[:, None]
    >>> float(cross_val_score(LinearProbe(), X, y).mean()) > 0.9
    True
    >>> float(cross_val_score(make_pipeline(LEACE(), LinearProbe()), X, y).mean()) < 0.65
    True
    """

    def __init__(self, method: EraseMethod = "leace") -> None:
        self.method = method

    def fit(self, X: Any, y: Any) -> LEACE:
        """Fit the eraser for the concept ``y`` (labels or float values)."""
        self.eraser_ = _fit_eraser(X, y, method=self.method, name="y")
        self.n_features_in_ = self.eraser_.n_features
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Erase the concept from ``X``."""
        check_is_fitted(self, "eraser_")
        return self.eraser_.transform(X)


class INLP(TransformerMixin, BaseEstimator):
    """Iterative nullspace projection: remove linear probes' directions until a probe fails.

    Each iteration fits ``probe`` on the projected training part, measures its accuracy on a
    held-out part, and, unless that is within ``tol`` of the majority baseline, removes the span
    of its weight vectors. The result is one orthogonal projection.

    Parameters
    ----------
    probe : classifier with ``coef_``, optional
        Defaults to ``LinearProbe()``.
    n_iterations : int, default=20
        Most probes to remove.
    tol : float, default=0.01
        Stop when held-out accuracy is at most majority-baseline accuracy + ``tol``.
    validation_fraction : float, default=0.2
        Held-out share used for the stopping rule.
    random_state : int, Generator or None, default=0
        Seeds the held-out split.
    progress : bool or None, default=None

    Attributes
    ----------
    components_ : ndarray of shape (n_removed, n_features)
        Orthonormal basis of the removed directions.
    projection_ : ndarray of shape (n_features, n_features)
        ``I - components_.T @ components_``.
    accuracies_ : tuple of float
        Held-out accuracy of the probe at each iteration (the last one is the first that failed,
        unless ``n_iterations`` ran out).
    baseline_ : float
        Majority-class accuracy on the held-out part.
    n_iter_ : int
        Probes whose directions were removed.

    Examples
    --------
    >>> import numpy as np
    >>> from probes import INLP, LinearProbe
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, size=600)
    >>> X = rng.normal(size=(600, 10)) + 1.5 * y[:, None]
    >>> inlp = INLP().fit(X, y)
    >>> inlp.accuracies_[0] > 0.9 and inlp.accuracies_[-1] < 0.6
    True
    """

    def __init__(
        self,
        probe: Any = None,
        *,
        n_iterations: int = 20,
        tol: float = 0.01,
        validation_fraction: float = 0.2,
        random_state: int | np.random.Generator | None = 0,
        progress: bool | None = None,
    ) -> None:
        self.probe = probe
        self.n_iterations = n_iterations
        self.tol = tol
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.progress = progress

    def fit(self, X: Any, y: Any) -> INLP:
        """Find the projection that removes the linear information about ``y``."""
        from sklearn.model_selection import train_test_split

        arr = check_matrix(X, dtype=np.float64)
        labels, classes, codes = check_classification_targets(arr, y)
        fraction = check_fraction(self.validation_fraction, "validation_fraction")
        tol = check_positive(self.tol, "tol", strict=False)
        if int(self.n_iterations) < 1:
            raise ValueError(f"n_iterations must be at least 1, got {self.n_iterations}.")
        counts = np.bincount(codes)
        if counts.min() < 2:
            raise ValueError(
                f"class {label_repr(classes[counts.argmin()])} has a single sample; INLP needs at least 2 per "
                f"class to hold some out for its stopping rule. Drop or merge rare classes."
            )
        seed = int(rng_from(self.random_state).integers(0, 2**31 - 1))
        tr, va = train_test_split(
            np.arange(len(labels)), test_size=fraction, stratify=codes, random_state=seed
        )
        if self.probe is None:
            from probes.linear import LinearProbe

            base: Any = LinearProbe()
        else:
            base = self.probe
        d = arr.shape[1]
        basis = np.zeros((0, d))
        accuracies: list[float] = []
        removed = 0
        _, val_counts = np.unique(labels[va], return_counts=True)
        self.baseline_ = float(val_counts.max() / len(va))
        with progress_bar(self.progress, total=int(self.n_iterations), desc="INLP") as bar:
            for _ in range(int(self.n_iterations)):
                Xtr = arr[tr] - (arr[tr] @ basis.T) @ basis
                Xva = arr[va] - (arr[va] @ basis.T) @ basis
                model = clone(base).fit(Xtr, labels[tr])
                accuracy = float(np.mean(model.predict(Xva) == labels[va]))
                accuracies.append(accuracy)
                bar.update(1)
                if accuracy <= self.baseline_ + tol:
                    break
                W = np.asarray(model.coef_, dtype=np.float64).reshape(-1, d)
                W = W - (W @ basis.T) @ basis  # only what is new
                U, s, _ = np.linalg.svd(W.T, full_matrices=False)
                # A softmax probe's K weight rows sum to zero (rank K - 1) up to the probe's
                # float32 rounding: cut well above that.
                new = U[:, s > max(s.max(), 1e-300) * INLP_RANK_RTOL].T
                if new.shape[0] == 0:
                    break
                basis = np.vstack([basis, new])
                basis = np.linalg.qr(basis.T)[0].T  # keep it orthonormal
                removed += 1
        self.components_ = basis
        self.projection_ = np.eye(d) - basis.T @ basis
        self.accuracies_ = tuple(accuracies)
        self.n_iter_ = removed
        self.n_features_in_ = d
        logger.debug(
            "INLP removed %d directions; held-out accuracies %s", basis.shape[0], accuracies
        )
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Project ``X`` onto the nullspace of the removed directions."""
        check_is_fitted(self, "components_")
        arr = check_matrix(X)
        check_n_features(arr, self.n_features_in_, "INLP")
        out = arr - (arr @ self.components_.T) @ self.components_
        return out.astype(arr.dtype, copy=False)
