"""Input checks shared by every probe: each failure names what was expected, what came, and the fix.

Nothing here imports torch; these run before any heavy work starts.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numpy as np
from sklearn.exceptions import DataConversionWarning

logger = logging.getLogger(__name__)

Task = Literal["classification", "regression"]


def _describe(value: Any) -> str:
    """A short human description of what the caller passed."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (list, tuple)):
        kinds = sorted({type(v).__name__ for v in value[:100]})
        return f"a {type(value).__name__} of {len(value)} item(s) of type {', '.join(kinds) or '-'}"
    return f"a {type(value).__name__}"


def label_repr(value: Any) -> str:
    """``repr`` of a label as the user wrote it (numpy scalars shown as Python values)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def check_matrix(
    X: Any,
    *,
    name: str = "X",
    dtype: type[np.floating[Any]] | np.dtype[Any] | None = None,
    min_samples: int = 1,
) -> np.ndarray:
    """Return ``X`` as a finite 2-D float array of shape (n_samples, n_features).

    Parameters
    ----------
    X : array-like
        Embeddings, one row per sample.
    name : str
        How the argument is called in error messages.
    dtype : numpy dtype, optional
        Convert to this float dtype; ``None`` keeps float32/float64 and turns anything else into
        float64.
    min_samples : int
        Fewest rows accepted.

    Raises
    ------
    TypeError
        If ``X`` holds text or other non-numeric values.
    ValueError
        If ``X`` is not 2-D, has too few rows or no columns, or holds NaN or infinite values.
    """
    if isinstance(X, str) or (
        isinstance(X, (list, tuple)) and len(X) > 0 and isinstance(X[0], str)
    ):
        raise TypeError(
            f"{name} must be a 2-D numeric array of embeddings (n_samples, n_features); got "
            f"{_describe(X)}. Embed the texts first, e.g. {name} = embedder.embed(texts)."
        )
    if hasattr(X, "toarray") and hasattr(X, "nnz"):
        raise TypeError(
            f"Sparse data was passed for {name}, but dense data is required: probes work on dense "
            f"embeddings. Use {name}.toarray() to convert it."
        )
    try:
        arr = np.asarray(X)
    except ValueError as err:  # ragged nested lists
        raise ValueError(
            f"{name} must be a 2-D numeric array (n_samples, n_features); got {_describe(X)} that "
            f"numpy cannot turn into a rectangular array ({err}). Make every row the same length."
        ) from None
    if arr.dtype.kind == "c":
        raise ValueError(
            f"Complex data not supported: {name} has dtype {arr.dtype}. Pass real-valued "
            f"embeddings (e.g. {name}.real, or the magnitudes)."
        )
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"{name} must hold numbers (embeddings), got objects that are not numbers ({err}). "
                f"Pass a float array of shape (n_samples, n_features), e.g. embedder.embed(texts)."
            ) from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold numbers (embeddings), got dtype {arr.dtype}. Pass a float array of "
            f"shape (n_samples, n_features), e.g. the output of embedder.embed(texts)."
        )
    if arr.ndim == 1:
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_features), got a 1-D array of shape {arr.shape}. "
            f"Reshape your data: {name}.reshape(-1, 1) if it is a single feature, "
            f"{name}.reshape(1, -1) if it is a single sample."
        )
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_features), got {arr.ndim}-D with shape {arr.shape}. "
            f"Pool or reshape the embeddings to one vector per sample first."
        )
    if arr.shape[0] < min_samples:
        raise ValueError(
            f"{name} has n_samples={arr.shape[0]} row(s) but at least {min_samples} are needed. "
            f"Pass more samples."
        )
    if arr.shape[1] == 0:
        raise ValueError(
            f"{name} has 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required; pass "
            f"non-empty embeddings."
        )
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    elif arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    finite = np.isfinite(arr).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        shown = ", ".join(str(i) for i in bad[:5]) + (", ..." if len(bad) > 5 else "")
        raise ValueError(
            f"{name} contains NaN or infinite values in {len(bad)} row(s) (rows {shown}). Drop or "
            f"impute those rows before probing, e.g. keep = np.isfinite({name}).all(axis=1)."
        )
    return arr


def check_n_features(X: np.ndarray, n_features: int, owner: str) -> None:
    """Raise if ``X`` does not have the number of columns the estimator was fitted with."""
    if X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but {owner} is expecting {n_features} features as "
            f"input (it was fitted on them). Pass embeddings from the same model (and layer)."
        )


def check_lengths(X: np.ndarray, y: Any, *, y_name: str = "y") -> None:
    """Raise if ``X`` and a per-sample array do not have the same number of rows."""
    if y is None:
        raise ValueError(
            f"this estimator requires y to be passed, but the target y is None: pass one "
            f"{y_name} value per row of X."
        )
    n_y = len(y) if hasattr(y, "__len__") else None
    if n_y is None:
        shape = np.asarray(y).shape
        if len(shape) == 0:
            raise ValueError(
                f"{y_name} must hold one value per row of X ({X.shape[0]} rows), got a scalar "
                f"{y!r}."
            )
        n_y = shape[0]
    if n_y != X.shape[0]:
        raise ValueError(
            f"X and {y_name} have different lengths: X has {X.shape[0]} rows, {y_name} has {n_y} "
            f"entries. Pass exactly one {y_name} value per row of X."
        )


def as_label_array(y: Any, *, name: str = "y") -> np.ndarray:
    """Return class labels as a 1-D array (a column vector is flattened)."""
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        warnings.warn(
            f"A column-vector {name} was passed when a 1d array was expected; it was flattened. "
            f"Pass {name}.ravel() to silence this.",
            DataConversionWarning,
            stacklevel=3,
        )
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of class labels, got shape {arr.shape}. For several "
            f"targets fit one probe per column."
        )
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite labels; drop those samples first.")
    return arr


def encode_labels(y: np.ndarray, *, name: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Map labels of any sortable type (str, int, bool) to codes 0..K-1.

    Returns
    -------
    classes : ndarray
        The sorted distinct labels.
    codes : ndarray of int64
        ``classes[codes] == y``.
    """
    try:
        classes, codes = np.unique(y, return_inverse=True)
    except TypeError:
        kinds = sorted({type(v).__name__ for v in y.tolist()})
        raise TypeError(
            f"{name} mixes label types ({', '.join(kinds)}) that cannot be sorted. Use labels of "
            f"one type, e.g. y = [str(label) for label in y]."
        ) from None
    return classes, codes.reshape(-1).astype(np.int64)


def check_classification_targets(
    X: np.ndarray, y: Any, *, name: str = "y"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check labels for a classifier; return ``(y, classes, codes)``.

    Raises if the lengths differ or fewer than two classes are present.
    """
    check_lengths(X, y, y_name=name)
    labels = as_label_array(y, name=name)
    if labels.dtype.kind == "f" and not np.all(labels == np.round(labels)):
        example = labels[labels != np.round(labels)][0]
        raise ValueError(
            f"Unknown label type: continuous. {name} holds non-integer floats (e.g. {example!r}), "
            f"which look like regression targets, not classes. Use LinearRegressionProbe (or "
            f"task='regression'), or bin the values into classes first."
        )
    classes, codes = encode_labels(labels, name=name)
    if len(classes) < 2:
        raise ValueError(
            f"{name} has a single class ({label_repr(classes[0])}) in all {len(labels)} samples: a probe "
            f"needs at least two classes to learn anything. Check the labels, or the filtering "
            f"that produced them."
        )
    return labels, classes, codes


def check_regression_targets(X: np.ndarray, y: Any, *, name: str = "y") -> np.ndarray:
    """Check numeric targets for a regressor; return a float64 array of shape (n,) or (n, k)."""
    check_lengths(X, y, y_name=name)
    arr = np.asarray(y)
    if arr.dtype.kind == "O":
        with contextlib.suppress(TypeError, ValueError):  # numbers stored as objects are fine
            arr = arr.astype(np.float64)
    if arr.dtype.kind in "USOb":
        example = arr.ravel()[0] if arr.size else None
        raise TypeError(
            f"Unknown label type for regression: {name} has dtype {arr.dtype} (e.g. {example!r}), "
            f"but a regression probe needs numeric targets. For class labels use LinearProbe; "
            f"otherwise convert {name} to numbers."
        )
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"{name} must be 1-D (n_samples,) or 2-D (n_samples, n_targets), got shape {arr.shape}."
        )
    arr = arr.astype(np.float64, copy=False)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite targets; drop those samples first.")
    return arr


def check_sample_weight(sample_weight: Any, n_samples: int) -> np.ndarray:
    """Return non-negative per-sample weights of length ``n_samples`` (ones when None)."""
    if sample_weight is None:
        return np.ones(n_samples, dtype=np.float64)
    sw = np.asarray(sample_weight, dtype=np.float64)
    if sw.ndim == 0:
        return np.full(n_samples, float(sw))
    if sw.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), one weight per row of X; got "
            f"{sw.shape}."
        )
    if not np.isfinite(sw).all() or (sw < 0).any():
        raise ValueError("sample_weight must be finite and non-negative.")
    if sw.sum() <= 0:
        raise ValueError("sample_weight sums to zero: at least one sample needs a positive weight.")
    return sw


def check_cv_classes(codes: np.ndarray, classes: np.ndarray, n_splits: int) -> None:
    """Raise if a class is too rare for stratified k-fold; log a note if some folds will miss it."""
    counts = np.bincount(codes, minlength=len(classes))
    rarest = int(counts.argmin())
    if counts[rarest] < 2:
        raise ValueError(
            f"class {label_repr(classes[rarest])} has only {counts[rarest]} sample, so {n_splits}-fold "
            f"cross-validation cannot put it in both a training and a test fold. Drop or merge "
            f"classes with fewer than 2 samples, or collect more data."
        )
    if counts[rarest] < n_splits:
        logger.warning(
            "class %r has %d samples, fewer than n_splits=%d: some test folds will not contain it.",
            classes[rarest],
            counts[rarest],
            n_splits,
        )


def check_in(value: Any, allowed: Sequence[Hashable], name: str) -> None:
    """Raise a ValueError naming the allowed options if ``value`` is not one of them."""
    if value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name} must be one of {options}; got {value!r}.")


def check_positive(value: float, name: str, *, strict: bool = True) -> float:
    """Raise unless ``value`` is a finite number > 0 (or >= 0 when ``strict`` is False)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}.") from None
    if not np.isfinite(v) or v < 0 or (strict and v == 0):
        bound = "> 0" if strict else ">= 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}.")
    return v


def check_fraction(value: float, name: str) -> float:
    """Raise unless ``value`` is strictly between 0 and 1."""
    v = check_positive(value, name)
    if not 0.0 < v < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value!r}.")
    return v
