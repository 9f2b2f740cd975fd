"""Minimum description length probing with the online code (Voita & Titov, 2020).

The data are shuffled and cut at ``t_1 < t_2 < ... < t_S = n``. The first ``t_1`` labels are sent
with the uniform code (``log2 K`` bits each); then, for each block, a probe trained on everything
sent so far encodes the next block's labels with ``-log2 p(y | x)`` bits. The sum is the online
codelength: a representation that makes the labels easy to learn from few examples compresses
them well. Compression is ``uniform codelength / online codelength``.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone

from probes._utils import progress_bar, rng_from
from probes._validation import check_classification_targets, check_matrix, check_positive

logger = logging.getLogger(__name__)

#: Voita & Titov's schedule: 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.25, 12.5, 25, 50 and 100 % of the data.
DEFAULT_BLOCKS: tuple[float, ...] = (
    0.001,
    0.002,
    0.004,
    0.008,
    0.016,
    0.032,
    0.0625,
    0.125,
    0.25,
    0.5,
    1.0,
)

#: Regularisation strengths mixed by default (LinearProbe's C, scikit-learn's scale).
DEFAULT_C_GRID: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0)


@dataclass(frozen=True)
class MDLResult:
    """Online codelength of the labels given the representation.

    Attributes
    ----------
    codelength : float
        Online codelength in bits.
    uniform_codelength : float
        ``n * log2(K)`` bits.
    compression : float
        ``uniform_codelength / codelength``; about 1 when the labels cannot be learnt.
    n_samples, n_classes : int
    block_ends : tuple of int
        ``t_1 .. t_S``; block ``i`` holds samples ``t_(i-1) .. t_i`` (``t_0 = 0``).
    block_codelengths : tuple of float
        Bits spent on each block; the first is the uniform code of the first ``t_1`` labels.
    candidates : tuple of str
        The probe(s) mixed, as ``repr`` shows them.
    candidate_codelengths : tuple of float
        The online codelength each candidate would have reached alone.
    """

    codelength: float
    uniform_codelength: float
    compression: float
    n_samples: int
    n_classes: int
    block_ends: tuple[int, ...]
    block_codelengths: tuple[float, ...]
    candidates: tuple[str, ...] = ()
    candidate_codelengths: tuple[float, ...] = ()

    @property
    def bits_per_sample(self) -> tuple[float, ...]:
        """Average bits per label in each block."""
        starts = (0, *self.block_ends[:-1])
        return tuple(
            bits / (end - start)
            for bits, start, end in zip(
                self.block_codelengths, starts, self.block_ends, strict=True
            )
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python summary (JSON-serialisable)."""
        return {
            "codelength": self.codelength,
            "uniform_codelength": self.uniform_codelength,
            "compression": self.compression,
            "n_samples": self.n_samples,
            "n_classes": self.n_classes,
            "block_ends": list(self.block_ends),
            "block_codelengths": list(self.block_codelengths),
            "candidates": list(self.candidates),
            "candidate_codelengths": list(self.candidate_codelengths),
        }

    def figure(self) -> Any:
        """Bits per label in each block against the uniform code, by examples already sent.

        Returns
        -------
        plotly.graph_objects.Figure
        """
        import plotly.graph_objects as go

        x = list(self.block_ends)
        uniform = math.log2(self.n_classes)
        fig = go.Figure()
        fig.add_trace(
            go.Scatter(name="online code", x=x, y=list(self.bits_per_sample), mode="lines+markers")
        )
        fig.add_trace(
            go.Scatter(
                name="uniform code",
                x=[x[0], x[-1]],
                y=[uniform, uniform],
                mode="lines",
                line={"dash": "dash", "color": "gray"},
            )
        )
        fig.update_layout(
            title=(
                f"MDL online code: {self.codelength / 1000:.2f} kbits vs uniform "
                f"{self.uniform_codelength / 1000:.2f} kbits (compression {self.compression:.2f})"
            ),
            xaxis={"title": "examples transmitted", "type": "log"},
            yaxis_title="bits per label in block",
        )
        return fig


def block_ends(blocks: Sequence[float], n: int) -> tuple[int, ...]:
    """Turn a schedule (fractions in (0, 1] ending at 1, or increasing sizes ending at n) into ends."""
    values = list(blocks)
    if not values:
        raise ValueError("blocks is empty: pass an increasing schedule such as (0.1, 0.5, 1.0).")
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise ValueError(f"blocks must be strictly increasing, got {values}.")
    sizes = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values)
    if sizes and values[-1] != 1:
        if values[0] < 1 or values[-1] != n:
            raise ValueError(
                f"block sizes must be positive and end at the number of samples ({n}), got "
                f"{values}. Pass fractions ending at 1.0, or sizes ending at {n}."
            )
        ends = [int(v) for v in values]
    else:
        if values[0] <= 0 or values[-1] != 1:
            raise ValueError(
                f"blocks must be fractions in (0, 1] ending at 1.0 (all the data), got {values}."
            )
        # On small data several fractions can round to the same size: keep each size once.
        ends = sorted({max(1, round(float(v) * n)) for v in values})
    if len(ends) < 2:
        raise ValueError(
            f"the schedule {values} gives a single block for {n} samples; the online code needs at "
            f"least two (one sent uniformly, one predicted)."
        )
    return tuple(ends)


def _candidates(probe: Any) -> list[Any]:
    if probe is None:
        from probes.linear import LinearProbe

        return [LinearProbe(C=c) for c in DEFAULT_C_GRID]
    if isinstance(probe, (list, tuple)):
        if not probe:
            raise ValueError("probe is an empty list: pass an estimator or a list of estimators.")
        return list(probe)
    return [probe]


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    top = a.max(axis=axis, keepdims=True)
    return np.asarray(top + np.log(np.exp(a - top).sum(axis=axis, keepdims=True)))


def mdl_probe(
    X: Any,
    y: Any,
    probe: Any = None,
    *,
    blocks: Sequence[float] = DEFAULT_BLOCKS,
    smoothing: float = 1e-3,
    random_state: int | np.random.Generator | None = 0,
    progress: bool | None = None,
) -> MDLResult:
    """Online MDL codelength of the labels ``y`` given embeddings ``X``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Embeddings.
    y : array-like of shape (n_samples,)
        Class labels.
    probe : classifier, or a list of classifiers, optional
        Needs ``predict_proba`` and ``classes_``; cloned and refit on every prefix. A list is
        combined as a Bayesian mixture: each label is coded with the candidates' probabilities
        weighted by how well each coded the labels before it, so the total is at most
        ``log2(len(probe))`` bits above the best candidate in hindsight and no regularisation
        strength has to be tuned on the data being measured. Default: ``LinearProbe(C=c)`` for
        ``c`` in ``DEFAULT_C_GRID`` (0.01, 0.1, 1, 10).
    blocks : sequence, default=DEFAULT_BLOCKS
        The block schedule: fractions of the data in (0, 1] ending at 1.0, or sample counts
        ending at ``n_samples``. The default is Voita & Titov's (0.1 % ... 50 %, 100 %).
    smoothing : float, default=1e-3
        Weight of the uniform distribution mixed into every prediction, so that a class the probe
        has not seen yet still gets a finite code (at most ``log2(K / smoothing)`` bits); it costs
        at most ``-log2(1 - smoothing)`` bits (0.0014) per label otherwise.
    random_state : int, Generator or None, default=0
        Seeds the shuffle that fixes the transmission order.
    progress : bool or None, default=None
        Progress bar over blocks; ``None`` shows it only in interactive sessions.

    Returns
    -------
    MDLResult

    Examples
    --------
    >>> import numpy as np
    >>> from probes import mdl_probe
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(1000, 8))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> result = mdl_probe(X, y, blocks=(0.05, 0.1, 0.25, 0.5, 1.0))
    >>> result.compression > 2
    True
    """
    X = check_matrix(X)
    _, classes, codes = check_classification_targets(X, y)
    smoothing = check_positive(smoothing, "smoothing", strict=False)
    if smoothing >= 1.0:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing}.")
    n, k = len(codes), len(classes)
    ends = block_ends(blocks, n)
    order = rng_from(random_state).permutation(n)
    Xs, ys, cs = X[order], classes[codes[order]], codes[order]
    candidates = _candidates(probe)
    m = len(candidates)

    uniform_bits = math.log2(k)
    costs = [ends[0] * uniform_bits]
    alone = np.full(m, ends[0] * uniform_bits)  # each candidate's own codelength
    log_w = np.full(m, -math.log(m))  # posterior weights of the candidates, natural log
    total_fits = (len(ends) - 1) * m
    with progress_bar(progress, total=total_fits, desc="MDL fits", unit="fit") as bar:
        for start, end in itertools.pairwise(ends):
            size = end - start
            truth = cs[start:end]
            seen = np.bincount(cs[:start], minlength=k)
            P = np.empty((size, m))
            if (seen > 0).sum() < 2:
                # One class seen so far: no probe can be fitted; send with add-one frequencies.
                P[:] = ((seen + 1.0) / (start + k))[truth][:, None]
                bar.update(m)
            else:
                for j, candidate in enumerate(candidates):
                    model = clone(candidate).fit(Xs[:start], ys[:start])
                    proba = np.asarray(model.predict_proba(Xs[start:end]), dtype=np.float64)
                    cols = np.searchsorted(classes, np.asarray(model.classes_))
                    full = np.zeros((size, k))
                    full[:, cols] = proba
                    P[:, j] = full[np.arange(size), truth]
                    bar.update(1)
            P = np.maximum((1.0 - smoothing) * P + smoothing / k, 1e-300)
            logP = np.log(P)
            # Sequential Bayes within the block: weights before each label.
            before = np.vstack([np.zeros((1, m)), np.cumsum(logP, axis=0)[:-1]])
            lw = log_w + before
            lw = lw - _logsumexp(lw, axis=1)
            mixed = (np.exp(lw) * P).sum(axis=1)
            costs.append(float(-np.log2(mixed).sum()))
            alone += -logP.sum(axis=0) / math.log(2.0)
            log_w = log_w + logP.sum(axis=0)
            log_w = log_w - _logsumexp(log_w, axis=0)
    total = float(sum(costs))
    uniform = n * uniform_bits
    logger.debug("MDL: %.1f bits online vs %.1f uniform", total, uniform)
    return MDLResult(
        codelength=total,
        uniform_codelength=uniform,
        compression=uniform / total if total > 0 else math.inf,
        n_samples=n,
        n_classes=k,
        block_ends=ends,
        block_codelengths=tuple(costs),
        candidates=tuple(repr(c) for c in candidates),
        candidate_codelengths=tuple(float(a) for a in alone),
    )
