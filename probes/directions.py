"""Concept directions: find a direction for a binary concept, score vectors along it, move along it.

Three ways to find the direction:

* ``"mean_diff"``: the difference of the class means (the simplest and often the most robust);
* ``"probe"``: the normalised weight vector of a linear probe;
* ``"cav"``: a concept activation vector in the style of Kim et al. (2018): probes trained on the
  concept examples against several random subsets of the counterexamples, their unit normals
  averaged; ``stability`` is their mean cosine with the average.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sklearn.base import clone

from probes._utils import rng_from
from probes._validation import (
    check_classification_targets,
    check_in,
    check_matrix,
    label_repr,
)

Method = Literal["mean_diff", "probe", "cav"]


@dataclass(frozen=True)
class ConceptDirection:
    """A unit direction in embedding space for a binary concept.

    Attributes
    ----------
    vector : ndarray of shape (n_features,)
        Unit-norm direction, pointing from the negative to the positive side.
    offset : float
        ``score(x) = x @ vector - offset``: 0 at the midpoint of the class means (mean_diff) or
        at the probe's decision boundary (probe, cav).
    method : str
    positive : object
        The label of the concept side.
    negative : object
        The label of the other side (``"<rest>"`` for one-versus-rest).
    stability : float or None
        For ``"cav"``: mean cosine between the per-run directions and their average.
    """

    vector: np.ndarray = field(repr=False)
    offset: float
    method: str
    positive: Any
    negative: Any
    stability: float | None = None

    def score(self, X: Any) -> np.ndarray:
        """Signed position of each row of ``X`` along the direction (``X @ vector - offset``)."""
        arr = check_matrix(X)
        if arr.shape[1] != self.vector.shape[0]:
            raise ValueError(
                f"X has {arr.shape[1]} features but the direction has {self.vector.shape[0]}; "
                f"use embeddings from the model the direction was found in."
            )
        return np.asarray(arr @ self.vector - self.offset, dtype=np.float64)


def _unit(v: np.ndarray, what: str) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    if not np.isfinite(norm) or norm == 0.0:
        raise ValueError(
            f"the {what} is zero, so it has no direction: the two groups are indistinguishable "
            f"this way. Check the labels, or try another method."
        )
    return v / norm


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _binary_mask(y: np.ndarray, classes: np.ndarray, positive: Any) -> tuple[np.ndarray, Any, Any]:
    """Boolean mask of the positive samples, and the names of the two sides."""
    if positive is None:
        if len(classes) != 2:
            raise ValueError(
                f"y has {len(classes)} classes ({', '.join(label_repr(c) for c in classes[:6])}"
                f"{', ...' if len(classes) > 6 else ''}); a concept direction needs two. Pass "
                f"positive=<label> to contrast one class with the rest."
            )
        return y == classes[1], _plain(classes[1]), _plain(classes[0])
    if not np.any(y == positive):
        raise ValueError(
            f"positive={positive!r} is not a label in y (labels: "
            f"{', '.join(label_repr(c) for c in classes[:6])}). Pass one of them."
        )
    mask = y == positive
    negative = _plain(classes[~(classes == positive)][0]) if len(classes) == 2 else "<rest>"
    return mask, _plain(positive), negative


def concept_direction(
    X: Any,
    y: Any,
    *,
    method: Method = "mean_diff",
    positive: Any = None,
    probe: Any = None,
    n_runs: int = 10,
    random_state: int | np.random.Generator | None = 0,
) -> ConceptDirection:
    """Find the direction of a binary concept in embedding space.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Embeddings.
    y : array-like of shape (n_samples,)
        Labels with two classes, or any number of classes together with ``positive``.
    method : {"mean_diff", "probe", "cav"}, default="mean_diff"
        See the module description.
    positive : label, optional
        The concept side. Default: the larger of the two sorted labels (e.g. 1, True, "pos").
        With more than two classes this class is contrasted with all others.
    probe : classifier, optional
        For "probe" and "cav"; defaults to ``LinearProbe()``. Must expose ``coef_`` and
        ``intercept_``.
    n_runs : int, default=10
        For "cav": number of random counterexample subsets.
    random_state : int, Generator or None, default=0
        For "cav": seeds the subsets.

    Returns
    -------
    ConceptDirection

    Examples
    --------
    >>> import numpy as np
    >>> from probes import concept_direction
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 4))
    >>> y = np.repeat(["neg", "pos"], 100)
    >>> X[y == "pos", 2] += 3.0
    >>> d = concept_direction(X, y, method="mean_diff")
    >>> int(np.argmax(np.abs(d.vector)))
    2
    >>> bool(d.score(X[y == "pos"]).mean() > 0 > d.score(X[y == "neg"]).mean())
    True
    """
    check_in(method, ["mean_diff", "probe", "cav"], "method")
    arr = check_matrix(X, dtype=np.float64)
    labels, classes, _ = check_classification_targets(arr, y)
    mask, pos_label, neg_label = _binary_mask(labels, classes, positive)
    pos, neg = arr[mask], arr[~mask]

    if method == "mean_diff":
        mid = (pos.mean(axis=0) + neg.mean(axis=0)) / 2.0
        vector = _unit(pos.mean(axis=0) - neg.mean(axis=0), "difference of the class means")
        return ConceptDirection(vector, float(mid @ vector), method, pos_label, neg_label)

    if probe is None:
        from probes.linear import LinearProbe

        probe = LinearProbe()

    def fit_direction(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, float]:
        data = np.concatenate([A, B])
        target = np.concatenate([np.ones(len(A), np.int64), np.zeros(len(B), np.int64)])
        model = clone(probe).fit(data, target)
        coef = np.asarray(model.coef_, dtype=np.float64).reshape(-1)
        intercept = float(np.asarray(model.intercept_, dtype=np.float64).reshape(-1)[0])
        if coef.shape[0] != arr.shape[1]:
            raise ValueError(
                f"the probe's coef_ has shape {np.shape(model.coef_)}; a binary linear probe with "
                f"coef_ of shape (1, {arr.shape[1]}) is needed."
            )
        norm = float(np.linalg.norm(coef))
        return _unit(coef, "probe weight vector"), -intercept / norm if norm > 0 else 0.0

    if method == "probe":
        vector, offset = fit_direction(pos, neg)
        return ConceptDirection(vector, offset, method, pos_label, neg_label)

    if int(n_runs) < 1:
        raise ValueError(f"n_runs must be at least 1, got {n_runs}.")
    rng = rng_from(random_state)
    size = min(len(pos), len(neg))
    vectors, offsets = [], []
    for _ in range(int(n_runs)):
        counter = neg[rng.choice(len(neg), size=size, replace=False)]
        concept = pos[rng.choice(len(pos), size=size, replace=False)]
        v, o = fit_direction(concept, counter)
        vectors.append(v)
        offsets.append(o)
    stacked = np.stack(vectors)
    vector = _unit(stacked.mean(axis=0), "average CAV")
    return ConceptDirection(
        vector,
        float(np.mean(offsets)),
        method,
        pos_label,
        neg_label,
        stability=float(np.mean(stacked @ vector)),
    )


def _direction_vector(direction: ConceptDirection | Any) -> tuple[np.ndarray, float]:
    if isinstance(direction, ConceptDirection):
        return direction.vector, direction.offset
    v = np.asarray(direction, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(
            f"direction must be a ConceptDirection or a 1-D vector, got shape {v.shape}."
        )
    return _unit(v, "direction"), 0.0


def score(X: Any, direction: ConceptDirection | Any, *, embedder: Any = None) -> np.ndarray:
    """Position of each vector (or text, with ``embedder``) along a concept direction.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), or a list of str with ``embedder``
        Embeddings, or texts to embed first.
    direction : ConceptDirection or array of shape (n_features,)
        A raw vector is normalised and used without an offset.
    embedder : object with ``embed(texts)``, optional
        Used when ``X`` is a list of texts.

    Returns
    -------
    ndarray of shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> from probes import score
    >>> score(np.array([[1.0, 2.0], [3.0, -1.0]]), np.array([0.0, 2.0])).tolist()
    [2.0, -1.0]
    """
    if isinstance(X, str) or (isinstance(X, Sequence) and len(X) > 0 and isinstance(X[0], str)):
        if embedder is None:
            raise TypeError(
                "score got texts but no embedder: pass embedder=... (anything with "
                ".embed(texts)) or embeddings."
            )
        X = embedder.embed([X] if isinstance(X, str) else list(X))
    vector, offset = _direction_vector(direction)
    arr = check_matrix(X, dtype=np.float64)
    if arr.shape[1] != vector.shape[0]:
        raise ValueError(
            f"X has {arr.shape[1]} features but the direction has {vector.shape[0]}; use "
            f"embeddings from the model the direction was found in."
        )
    return np.asarray(arr @ vector - offset, dtype=np.float64)


def shift(
    X: Any,
    direction: ConceptDirection | Any,
    alpha: float | Any,
    *,
    renormalize: bool = False,
) -> np.ndarray:
    """Move vectors along a concept direction: ``X + alpha * unit(direction)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    direction : ConceptDirection or array of shape (n_features,)
    alpha : float or array of shape (n_samples,)
        Step length per row, in the units of ``X``.
    renormalize : bool, default=False
        Rescale every shifted row to its original norm (for unit-norm embedding spaces).

    Returns
    -------
    ndarray of shape (n_samples, n_features), dtype of ``X``

    Examples
    --------
    >>> import numpy as np
    >>> from probes import shift
    >>> shift(np.zeros((1, 3)), np.array([0.0, 0.0, 5.0]), alpha=2.0).tolist()
    [[0.0, 0.0, 2.0]]
    """
    arr = check_matrix(X)
    vector, _ = _direction_vector(direction)
    if arr.shape[1] != vector.shape[0]:
        raise ValueError(f"X has {arr.shape[1]} features but the direction has {vector.shape[0]}.")
    steps = np.asarray(alpha, dtype=np.float64)
    if steps.ndim == 1 and steps.shape[0] == arr.shape[0]:
        steps = steps[:, None]
    elif steps.ndim != 0:
        raise ValueError(
            f"alpha must be a number or one number per row of X ({arr.shape[0]}), got shape "
            f"{steps.shape}."
        )
    if not np.isfinite(steps).all():
        raise ValueError("alpha must be finite.")
    moved = arr + steps * vector
    if renormalize:
        before = np.linalg.norm(arr, axis=1, keepdims=True)
        after = np.linalg.norm(moved, axis=1, keepdims=True)
        moved = moved * np.divide(before, after, out=np.ones_like(after), where=after > 0)
    return moved.astype(arr.dtype, copy=False)
