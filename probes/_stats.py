"""Statistics for probe evaluation: metrics from confusion matrices, R², bootstrap helpers."""

from __future__ import annotations

from typing import Any

import numpy as np

from probes._validation import check_fraction


def r2_score(y: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination, averaged over targets like ``sklearn.metrics.r2_score``."""
    y2 = y.reshape(len(y), -1)
    p2 = pred.reshape(len(pred), -1)
    sse = ((y2 - p2) ** 2).sum(axis=0)
    sst = ((y2 - y2.mean(axis=0)) ** 2).sum(axis=0)
    r2 = np.where(sst > 0, 1.0 - sse / np.where(sst > 0, sst, 1.0), np.where(sse > 0, 0.0, 1.0))
    return float(r2.mean())


def confusion_metrics(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and macro F1 from confusion matrices of shape (..., K, K) (rows: truth).

    Macro F1 averages over the classes present in the truth or the predictions, as
    ``sklearn.metrics.f1_score(average="macro")`` does.
    """
    tp = np.diagonal(cm, axis1=-2, axis2=-1).astype(np.float64)
    true_n = cm.sum(axis=-1)
    pred_n = cm.sum(axis=-2)
    total = true_n.sum(axis=-1)
    accuracy = tp.sum(axis=-1) / total
    denom = true_n + pred_n
    present = denom > 0
    f1 = np.where(present, 2.0 * tp / np.where(present, denom, 1.0), 0.0)
    macro = f1.sum(axis=-1) / present.sum(axis=-1)
    return accuracy, macro


def percentile_interval(draws: np.ndarray, confidence: float) -> tuple[float, float]:
    """Percentile interval of bootstrap draws (NaN when there are none)."""
    if draws.size == 0:
        return (float("nan"), float("nan"))
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(draws, [alpha, 1.0 - alpha])
    return (float(lo), float(hi))


def resampled_sums(
    per_cluster: np.ndarray, n_bootstrap: int, rng: np.random.Generator
) -> np.ndarray:
    """Column sums of ``per_cluster`` (T, m) over bootstrap resamples of its T rows: (B, m)."""
    t = per_cluster.shape[0]
    out = np.empty((n_bootstrap, per_cluster.shape[1]))
    step = max(1, 2_000_000 // max(t, 1))
    uniform = np.full(t, 1.0 / t)
    for start in range(0, n_bootstrap, step):
        b = min(step, n_bootstrap - start)
        out[start : start + b] = rng.multinomial(t, uniform, size=b) @ per_cluster
    return out


def cluster_codes(clusters: Any, index: np.ndarray) -> np.ndarray | None:
    if clusters is None:
        return None
    values = np.asarray(clusters)[index]
    return np.unique(values, return_inverse=True)[1].reshape(-1)


def check_bootstrap(n_bootstrap: int, confidence: float) -> tuple[int, float]:
    """Validate the bootstrap settings."""
    if int(n_bootstrap) < 0:
        raise ValueError(f"n_bootstrap must be >= 0 (0 turns intervals off), got {n_bootstrap}.")
    return int(n_bootstrap), check_fraction(confidence, "confidence")
