"""The one bootstrap of embedlens: seeded percentile intervals from resampled column sums.

Every confidence interval in the package (inversion metrics, recovered entities, probe
accuracies and selectivity, the audit's leakage rates) comes from :func:`bootstrap_sums` and
:func:`percentile_ci`. Each statistic is written as sums over records (hits and totals, BLEU's
n-gram counts, confusion-matrix cells), so one resample of the records is one matrix product.
Only numpy is used, and the global random state is never touched.

Examples
--------
>>> import numpy as np
>>> hits = np.array([[1, 1], [0, 1], [1, 1], [1, 1]], dtype=float)  # (hit, total) per record
>>> sums = bootstrap_sums(hits, rounds=1000, seed=0)
>>> sums.shape
(1000, 2)
>>> lo, hi = ratio_ci(sums, 0.95)
>>> 0.0 <= lo <= 0.75 <= hi <= 1.0
True
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["bootstrap_sums", "check_bootstrap", "percentile_ci", "ratio_ci"]


def bootstrap_sums(
    columns: np.ndarray,
    rounds: int,
    seed: int | np.random.Generator,
    *,
    budget: int = 2_000_000,
) -> np.ndarray:
    """Column sums of ``columns`` ``(n, k)`` over ``rounds`` resamples of its rows: ``(rounds, k)``.

    Each round draws ``n`` rows with replacement, from a private generator seeded by ``seed``
    (or from the given generator). A round is held as how often it drew each row, so memory
    stays near ``budget`` counts whatever ``k`` is.
    """
    columns = np.asarray(columns, dtype=np.float64)
    if columns.ndim != 2:
        raise ValueError(f"bootstrap_sums expects a 2-D (n, k) array, got shape {columns.shape}")
    n = columns.shape[0]
    if n == 0 or rounds <= 0:
        return np.zeros((max(rounds, 0), columns.shape[1]))
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    step = max(1, budget // n)
    out = []
    for start in range(0, rounds, step):
        block = min(step, rounds - start)
        draws = rng.integers(0, n, size=(block, n)) + n * np.arange(block)[:, None]
        counts = np.bincount(draws.ravel(), minlength=block * n).reshape(block, n)
        out.append(counts @ columns)
    return np.concatenate(out)


def percentile_ci(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    """The central ``confidence`` percentile interval of bootstrap draws (NaN when there are none)."""
    samples = np.asarray(samples, dtype=np.float64)
    if samples.size == 0:
        return (float("nan"), float("nan"))
    tail = 100.0 * (1.0 - confidence) / 2.0
    lo, hi = np.percentile(samples, [tail, 100.0 - tail])
    return float(lo), float(hi)


def ratio_ci(sums: np.ndarray, confidence: float) -> tuple[float, float]:
    """Percentile interval of ``hits / totals`` from bootstrap sums ``(rounds, 2)`` (0 where no total)."""
    num, den = sums[:, 0], sums[:, 1]
    ratio = np.divide(num, den, out=np.zeros(len(sums)), where=den > 0)
    return percentile_ci(ratio, confidence)


def check_bootstrap(
    rounds: object, confidence: object, *, name: str = "bootstrap"
) -> tuple[int, float]:
    """Check the bootstrap settings and return them as ``(int, float)``.

    ``rounds`` is a non-negative integer (0 turns intervals off) and ``confidence`` lies strictly
    between 0 and 1; ``name`` is the caller's name for ``rounds`` in the message.
    """
    if isinstance(rounds, bool) or not isinstance(rounds, (int, np.integer)):
        raise TypeError(f"{name} must be an int (0 disables intervals), got {rounds!r}")
    if rounds < 0:
        raise ValueError(f"{name} must be >= 0 (0 disables intervals), got {rounds}")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float, np.floating)):
        raise TypeError(f"confidence must be a number strictly between 0 and 1, got {confidence!r}")
    value = float(confidence)
    if not (math.isfinite(value) and 0.0 < value < 1.0):
        raise ValueError(f"confidence must be strictly between 0 and 1 (e.g. 0.95), got {value!r}")
    return int(rounds), value
