"""Statistics for probe evaluation: metrics from confusion matrices, R², cluster codes.

The bootstrap itself is :mod:`embedlens.stats`, shared with the inversion metrics and the audit.
"""

from __future__ import annotations

from typing import Any

import numpy as np


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


def cluster_codes(clusters: Any, index: np.ndarray) -> np.ndarray | None:
    if clusters is None:
        return None
    values = np.asarray(clusters)[index]
    return np.unique(values, return_inverse=True)[1].reshape(-1)
