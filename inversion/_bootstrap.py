"""Seeded percentile-bootstrap helpers shared by the inversion metrics.

Only numpy is used; the global RNG is never touched.
"""

from __future__ import annotations

import numpy as np


def bootstrap_sums(
    columns: np.ndarray, rounds: int, seed: int, *, budget: int = 2_000_000
) -> np.ndarray:
    """Column sums of ``columns`` ``(n, k)`` over ``rounds`` resamples of its rows ``(rounds, k)``.

    Each round draws ``n`` rows with replacement from a private generator seeded by ``seed``
    (the global RNG is never touched). A round is represented by how often it drew each row, so
    memory stays at ``budget`` counts whatever ``k`` is.
    """
    n = columns.shape[0]
    rng = np.random.default_rng(seed)
    step = max(1, budget // n)
    out = []
    for start in range(0, rounds, step):
        block = min(step, rounds - start)
        draws = rng.integers(0, n, size=(block, n)) + n * np.arange(block)[:, None]
        counts = np.bincount(draws.ravel(), minlength=block * n).reshape(block, n)
        out.append(counts @ columns)
    return np.concatenate(out)


def percentile_ci(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = 100.0 * (1.0 - confidence) / 2.0
    lo, hi = np.percentile(samples, [tail, 100.0 - tail])
    return float(lo), float(hi)


def ratio_ci(sums: np.ndarray, confidence: float) -> tuple[float, float]:
    """Percentile CI of ``hits / totals`` from bootstrap sums ``(rounds, 2)``."""
    num, den = sums[:, 0], sums[:, 1]
    ratio = np.divide(num, den, out=np.zeros(len(sums)), where=den > 0)
    return percentile_ci(ratio, confidence)


def check_bootstrap(bootstrap: int, confidence: float) -> None:
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, (int, np.integer)):
        raise TypeError(f"bootstrap must be an int (0 disables intervals), got {bootstrap!r}")
    if bootstrap < 0:
        raise ValueError(f"bootstrap must be >= 0 (0 disables intervals), got {bootstrap}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), e.g. 0.95, got {confidence!r}")
