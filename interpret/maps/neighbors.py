"""Nearest neighbours in the original space, and how much two spaces agree on them."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


def neighbor_index(X: np.ndarray, metric: str) -> Any:
    """A scikit-learn ``NearestNeighbors`` over ``X`` (exact; brute force for cosine)."""
    from sklearn.neighbors import NearestNeighbors

    algorithm = "brute" if metric == "cosine" else "auto"
    return NearestNeighbors(metric=metric, algorithm=algorithm).fit(X)


def check_k(k: object, n: int, what: str = "k") -> int:
    """``k`` must be a positive int below the number of points."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{what} must be a positive integer, got {k!r}")
    if k >= n:
        raise ValueError(
            f"Fewer points than the method needs: {what}={k} neighbours need at least "
            f"{k + 1} points, got {n}: pass {what} <= {max(1, n - 1)}"
        )
    return int(k)


def neighbors_of(
    X: np.ndarray, rows: np.ndarray, k: int, metric: str, *, index: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest other points of ``X[rows]`` in ``X``: (indices, distances), each (m, k).

    A point is never its own neighbour (exact duplicates of it can be).
    """
    nn = index if index is not None else neighbor_index(X, metric)
    dist, ind = nn.kneighbors(X[rows], n_neighbors=k + 1)
    return _drop_self(ind, dist, rows, k)


def _drop_self(
    ind: np.ndarray, dist: np.ndarray, rows: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    is_self = ind == rows[:, None]
    # drop the first column equal to the row itself, or the farthest when it is absent
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), ind.shape[1] - 1)
    keep = np.ones(ind.shape, dtype=bool)
    keep[np.arange(ind.shape[0]), drop] = False
    return ind[keep].reshape(-1, k), dist[keep].reshape(-1, k)


def knn_indices(X: np.ndarray, k: int, metric: str) -> np.ndarray:
    """The ``k`` nearest other points of every point of ``X``: an int array ``(n, k)``.

    Exact search: O(n² · dim) time, in chunks of bounded memory (scikit-learn's).
    """
    rows = np.arange(X.shape[0])
    return neighbors_of(X, rows, k, metric)[0]


def overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per row, the fraction of neighbours that two ``(n, k)`` neighbour lists share."""
    if a.shape != b.shape:
        raise ValueError(f"neighbour lists differ in shape: {a.shape} and {b.shape}")
    both = np.sort(np.concatenate([a, b], axis=1), axis=1)
    shared = (both[:, 1:] == both[:, :-1]).sum(axis=1)
    return (shared / a.shape[1]).astype(np.float32)


def export_neighbors(
    X: np.ndarray,
    k: int,
    metric: str,
    *,
    exact_limit: int = 50_000,
    index: Any = None,
    random_state: int | None = None,
) -> tuple[np.ndarray, bool]:
    """The ``k`` nearest other points of every row, for a page: ``(indices (n, k), exact)``.

    Exact (brute force, scikit-learn) up to ``exact_limit`` rows; above, approximate with
    NN-descent (pynndescent, which umap-learn installs), in ``O(n log n)``-like time.
    """
    n = X.shape[0]
    if k <= 0:
        return np.empty((n, 0), dtype=np.int64), True
    rows = np.arange(n)
    if n <= exact_limit:
        return neighbors_of(X, rows, k, metric, index=index)[0], True
    try:
        from pynndescent import NNDescent
    except ImportError:  # pragma: no cover - umap-learn depends on it
        logger.warning("pynndescent is not installed: exact neighbours of %d points (slow)", n)
        return neighbors_of(X, rows, k, metric, index=index)[0], True
    logger.info("approximate %d-NN of %d points with NN-descent", k, n)
    nnd = NNDescent(X, n_neighbors=k + 1, metric=metric, random_state=random_state, low_memory=True)
    ind, dist = nnd.neighbor_graph
    ind = np.where(ind < 0, rows[:, None], ind)  # a missing neighbour: itself, dropped next
    return _drop_self(ind.astype(np.int64), dist, rows, k)[0], False
