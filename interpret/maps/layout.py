"""Layouts for embedding maps: UMAP, PCA and t-SNE behind one interface, with clear errors.

This module computes and draws nothing else. umap and scikit-learn are imported inside the
functions that need them, so importing it costs only numpy.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from embedlens._utils import in_interactive_session, progress_bar

logger = logging.getLogger(__name__)

Method = Literal["umap", "pca", "tsne"]
METHODS: tuple[str, ...] = ("umap", "pca", "tsne")

#: rows per ``transform`` call when the rest of a sampled UMAP layout is placed
TRANSFORM_CHUNK = 20_000


@dataclass
class Layout:
    """What :func:`fit_layout` returns: the fitted reducer, the coordinates and the sample."""

    reducer: Any
    embedding: np.ndarray
    sample: np.ndarray | None
    seconds: float


def check_method(method: Any) -> str:
    """Return ``method`` if it is a known layout method, else raise a ``ValueError``."""
    if method not in METHODS:
        raise ValueError(
            f"unknown map method {method!r}: expected one of {', '.join(map(repr, METHODS))} "
            "(umap for neighbourhoods at scale, pca for a fast linear view, tsne for small sets)"
        )
    return str(method)


def check_n_components(n_components: Any) -> int:
    """A map is drawn in 2 or 3 dimensions; anything else raises a ``ValueError``."""
    if isinstance(n_components, bool) or n_components not in (2, 3):
        raise ValueError(
            f"n_components must be 2 or 3 (a map is drawn in 2-D or 3-D), got {n_components!r}"
        )
    return int(n_components)


def reducer_class(method: str) -> Any:
    """The class behind a method (imported here, not at module import)."""
    if method == "umap":
        from umap import UMAP

        return UMAP
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA
    from sklearn.manifold import TSNE

    return TSNE


def check_params(method: str, params: Mapping[str, Any]) -> None:
    """Refuse method parameters the underlying class does not take, naming those it does."""
    cls = reducer_class(method)
    accepted = set(inspect.signature(cls).parameters) - {"n_components", "random_state", "metric"}
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise TypeError(
            f"{cls.__module__.split('.')[0]}.{cls.__name__} (method={method!r}) has no "
            f"parameter {', '.join(map(repr, unknown))}: pass any of {', '.join(sorted(accepted))}"
        )


def min_points(method: str, n_components: int, params: Mapping[str, Any]) -> tuple[int, str]:
    """The fewest points ``method`` can lay out, and the parameter that decides it."""
    if method == "umap":
        k = int(params.get("n_neighbors", 15))
        return max(k + 1, n_components + 2), f"n_neighbors={k}"
    if method == "tsne":
        perplexity = float(params.get("perplexity", 30.0))
        return int(np.floor(perplexity)) + 1, f"perplexity={perplexity:g}"
    return n_components, f"n_components={n_components}"


def check_enough_points(n: int, dim: int, method: str, n_components: int, params: Any) -> None:
    """Raise a ``ValueError`` when there are too few points or dimensions for the method."""
    need, why = min_points(method, n_components, params)
    if n < need:
        fixes = {
            "umap": "pass a smaller n_neighbors (e.g. n_neighbors=max(2, n // 3)), more points, "
            "or method='pca'",
            "tsne": "pass a smaller perplexity (e.g. perplexity=max(1, n / 4)), more points, "
            "or method='pca'",
            "pca": "pass more points",
        }
        raise ValueError(
            f"Fewer points than the method needs: {method} with {why} needs at least {need} "
            f"points, got {n}: {fixes[method]}"
        )
    if dim < n_components:
        raise ValueError(
            f"X has {dim} column(s), fewer than n_components={n_components}: a {n_components}-D "
            "map needs vectors with at least that many dimensions"
        )


def prepare(X: np.ndarray, method: str, metric: str) -> np.ndarray:
    """Input as the reducer should see it: PCA with ``metric='cosine'`` sees unit vectors."""
    if method != "pca" or metric == "euclidean":
        return X
    if metric != "cosine":
        raise ValueError(
            f"method='pca' supports metric='cosine' (rows scaled to unit length) or "
            f"'euclidean', got {metric!r}: use method='umap' or 'tsne' for other metrics"
        )
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.maximum(norms, np.float32(1e-12))


def make_reducer(
    method: str,
    n_components: int,
    metric: str,
    random_state: int | None,
    params: Mapping[str, Any],
    *,
    progress: bool,
) -> Any:
    """Build the umap/sklearn estimator with the map's settings and the passed-through params."""
    cls = reducer_class(method)
    kwargs: dict[str, Any] = {"n_components": n_components, "random_state": random_state}
    if method == "umap":
        kwargs["metric"] = metric
        tqdm_kwds = {"disable": not progress, "desc": "UMAP epochs", "leave": False}
        kwargs["tqdm_kwds"] = {**tqdm_kwds, **dict(params.get("tqdm_kwds") or {})}
        if random_state is not None:
            # umap-learn runs single-threaded with a seed anyway; saying so up front spares
            # users its "n_jobs overridden" warning
            kwargs["n_jobs"] = 1
    elif method == "tsne":
        kwargs["metric"] = metric
        kwargs["init"] = "pca"
    kwargs.update({k: v for k, v in params.items() if k != "tqdm_kwds"})
    return cls(**kwargs)


def fit_layout(
    X: np.ndarray,
    *,
    method: str,
    n_components: int,
    metric: str,
    random_state: int | None,
    params: Mapping[str, Any],
    max_fit_points: int | None,
    progress: bool | None,
) -> Layout:
    """Fit the layout of ``X``; UMAP above ``max_fit_points`` fits a sample and places the rest.

    ``X`` must already be checked (2-D float32, finite). Returns float32 coordinates.
    ``progress=None`` shows progress bars in interactive sessions only.
    """
    n = X.shape[0]
    progress = in_interactive_session() if progress is None else bool(progress)
    check_enough_points(n, X.shape[1], method, n_components, params)
    reducer = make_reducer(method, n_components, metric, random_state, params, progress=progress)
    data = prepare(X, method, metric)
    start = time.perf_counter()
    sample: np.ndarray | None = None
    if method == "umap" and max_fit_points is not None and n > max_fit_points:
        rng = np.random.default_rng(random_state)
        sample = np.sort(rng.choice(n, size=max_fit_points, replace=False))
        logger.info(
            "UMAP: fitting on a sample of %d of %d points, then placing the rest with transform",
            max_fit_points,
            n,
        )
        embedding = np.empty((n, n_components), dtype=np.float32)
        embedding[sample] = reducer.fit_transform(data[sample])
        rest = np.setdiff1d(np.arange(n), sample, assume_unique=True)
        embedding[rest] = transform_points(reducer, method, metric, data[rest], progress=progress)
    else:
        logger.info("%s: laying out %d points of dimension %d", method, n, X.shape[1])
        embedding = np.asarray(reducer.fit_transform(data), dtype=np.float32)
    seconds = time.perf_counter() - start
    logger.info("%s layout of %d points took %.1f s", method, n, seconds)
    return Layout(reducer, np.ascontiguousarray(embedding, dtype=np.float32), sample, seconds)


def transform_points(
    reducer: Any, method: str, metric: str, X: np.ndarray, *, progress: bool | None
) -> np.ndarray:
    """Place new points in a fitted layout, in chunks (with a progress bar) for large inputs."""
    if method == "tsne":
        raise NotImplementedError(
            "t-SNE cannot place new points in a fitted map (it has no transform): refit on "
            "all points together, or use method='umap' or method='pca'"
        )
    data = prepare(X, method, metric)
    starts = range(0, data.shape[0], TRANSFORM_CHUNK)
    chunks = [
        np.asarray(reducer.transform(data[s : s + TRANSFORM_CHUNK]), dtype=np.float32)
        for s in progress_bar(
            starts, progress=progress, total=len(starts), desc=f"{method} transform", unit="chunk"
        )
    ]
    return np.concatenate(chunks, axis=0)
