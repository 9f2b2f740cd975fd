"""Vectors that came from no text: centroids, midpoints, interpolations, shifts along a direction.

The arithmetic behind :meth:`Explainer.explain_centroid`, ``explain_midpoint``, ``interpolate``
and ``explain_direction``, plus the map labeler and the result of a direction's explanation.
A direction is a plain array or any object that carries one (``probes.ConceptDirection``'s
``vector``, a ``direction``/``direction_`` attribute, a binary linear model's ``coef_``): it is
read by duck typing, so neither ``interpret`` nor ``probes`` imports the other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlens._utils import check_matrix

if TYPE_CHECKING:
    from interpret.explain.prompting import ExplainerCore
    from interpret.maps import ClusterContext

__all__ = [
    "DirectionExplanation",
    "ExplainerLabeler",
    "centroids",
    "direction_vector",
    "interpolation_points",
    "shifted",
]

_DIRECTION_ATTRS = ("vector", "direction_", "direction", "coef_")


def direction_vector(direction: Any, dim: int) -> np.ndarray:
    """A unit ``(dim,)`` float32 vector from an array or an object that carries a direction.

    Raises ``ValueError`` for a zero (or non-finite) direction or the wrong dimension, and
    ``TypeError`` for an object with no direction.
    """
    source = direction
    if not isinstance(direction, (np.ndarray, list, tuple)) and not hasattr(direction, "__array__"):
        for attr in _DIRECTION_ATTRS:
            value = getattr(direction, attr, None)
            if value is not None:
                source = value
                break
        else:
            raise TypeError(
                f"direction is a {type(direction).__name__}: pass a {dim}-dim array, or an "
                f"object with one of the attributes {list(_DIRECTION_ATTRS)} (for example a "
                "probes.ConceptDirection or a fitted binary linear probe)"
            )
    arr = np.asarray(source, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[0] == 1:  # a binary linear model's coef_
        arr = arr[0]
    if arr.ndim != 1 or arr.shape[0] != dim:
        raise ValueError(
            f"the direction has shape {arr.shape}, expected ({dim},): a direction in the "
            f"{dim}-dim space of the explainer's embedder (a multi-class coef_ holds several; "
            "pick one row)"
        )
    norm = float(np.linalg.norm(arr))
    if not np.isfinite(norm) or norm == 0.0:
        raise ValueError(
            "the direction has zero norm (or NaN/inf values), so it points nowhere: pass a "
            "non-zero direction, for example the difference of two class means"
        )
    return (arr / norm).astype(np.float32)


def centroids(X: np.ndarray, labels: Sequence[Any]) -> tuple[list[Any], np.ndarray]:
    """The distinct labels (sorted where they can be) and the mean vector of each."""
    y = list(labels) if not isinstance(labels, np.ndarray) else labels.tolist()
    if len(y) != X.shape[0]:
        raise ValueError(
            f"labels has {len(y)} entries but X has {X.shape[0]} rows: pass one label per vector"
        )
    distinct = list(dict.fromkeys(y))
    with contextlib.suppress(TypeError):  # mixed types keep the order of first appearance
        distinct = sorted(distinct)
    index = {label: j for j, label in enumerate(distinct)}
    owner = np.array([index[v] for v in y], dtype=np.int64)
    means = np.stack([X[owner == j].mean(axis=0) for j in range(len(distinct))])
    return distinct, means.astype(np.float32)


def interpolation_points(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(t, vectors)``: ``n`` evenly spaced points ``(1 - t) a + t b`` from ``a`` to ``b``."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer >= 2 (both ends included), got {n!r}")
    t = np.linspace(0.0, 1.0, int(n), dtype=np.float32)
    return t, ((1 - t)[:, None] * a[None, :] + t[:, None] * b[None, :]).astype(np.float32)


def shifted(X: np.ndarray, unit: np.ndarray, alpha: float) -> tuple[float, np.ndarray, np.ndarray]:
    """``(step, X + step v, X - step v)`` with ``step = alpha`` times the median row norm."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not np.isfinite(alpha):
        raise ValueError(f"alpha must be a finite number, got {alpha!r}")
    if alpha <= 0:
        raise ValueError(
            f"alpha must be > 0 (how far to move, in units of the vectors' norm), got {alpha!r}"
        )
    scale = float(np.median(np.linalg.norm(X, axis=1)))
    step = float(alpha) * (scale if scale > 0 else 1.0)
    return step, X + step * unit[None, :], X - step * unit[None, :]


@dataclass(frozen=True)
class DirectionExplanation:
    """What the LM says on either side of a direction, for each context vector.

    Attributes
    ----------
    alpha, step : float
        The requested shift (in units of the context vectors' median norm) and its length.
    context : list of str
        Explanations of the context vectors themselves (empty without context).
    plus, minus : list of str
        Explanations of ``x + step v`` and ``x - step v`` (of ``+v`` and ``-v`` alone without
        context).
    task : str
    """

    alpha: float
    step: float
    context: list[str]
    plus: list[str]
    minus: list[str]
    task: str

    def figure(self) -> Any:
        """A plotly table: one row per context vector, the two sides beside what it was."""
        import plotly.graph_objects as go

        rows = max(len(self.plus), 1)
        columns = [list(range(rows)), self.minus, self.context or [""] * rows, self.plus]
        fig = go.Figure(
            go.Table(
                header={"values": ["#", "x - \u03b1v", "x", "x + \u03b1v"]},
                cells={"values": columns, "align": "left"},
            )
        )
        fig.update_layout(title=f"{self.task}: moving along the direction (\u03b1={self.alpha})")
        return fig


@dataclass
class ExplainerLabeler:
    """A cluster labeler for :meth:`interpret.maps.EmbeddingMap.cluster`: the explainer names
    each cluster's centroid.

    Examples
    --------
    >>> m.cluster("kmeans", n_clusters=8, labeler=ExplainerLabeler(explainer))  # doctest: +SKIP
    """

    explainer: ExplainerCore
    task: str = "topic"
    max_new_tokens: int | None = None

    def __call__(self, context: ClusterContext) -> list[str]:
        if not context.cluster_ids:
            return []
        X = check_matrix(context.centroids, what="cluster centroids")
        names = self.explainer.explain(
            X, task=self.task, max_new_tokens=self.max_new_tokens, progress=False
        )
        return [n if n else f"cluster {c}" for n, c in zip(names, context.cluster_ids, strict=True)]
