"""Defenses a vector store can apply, and the retrieval utility that they cost.

A defense changes the vectors that are stored (and shipped, and stolen). Each one here knows
three maps:

- ``records(X)``: the stored vectors of a collection;
- ``queries(Q)``: what a legitimate user's query vector becomes before the search;
- ``restore(Xd)``: the stored vectors mapped back into the clean space as well as a naive
  attacker can, who trained on clean vectors and does not adapt (zero padding for a truncation,
  a rescaled sign for binary codes).

An *adaptive* attacker instead applies the defense to its own clean vectors and trains on the
result (Kerckhoffs: the mechanism is known, the defender's random draws are not).

Defense names (``parse_defenses``):

- ``noise`` (a sweep) or ``noise:S``: Gaussian noise whose expected norm is ``S`` times the mean
  record norm;
- ``int8``: symmetric per-dimension int8 quantization (stored codes and scales, dequantized);
- ``binary``: the sign of each coordinate (queries are binarized too: a Hamming search);
- ``truncate`` (a sweep: d/2, d/4, d/8) or ``truncate:K``: keep the first ``K`` dimensions;
- ``leace:ATTR``: LEACE erasure (``probes.LEACE``) of the named label column.

A defense is never evaluated on the records it was fitted on (a LEACE eraser fitted on every
record before cross-validation memorises the folds and drives a probe below chance):
:meth:`Defense.records` refuses rows it was fitted on unless the caller says they are training
rows (``allow_fitted=True``), and :func:`cross_fit` gives every record its stored form from a
defense fitted on the other folds, so each evaluation sees out-of-fold vectors only.

:func:`recall_at` measures what a defense costs (retrieval utility); :func:`pareto_front` keeps
the defenses that no other beats on both leakage and utility.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from embedlens.params import Params

__all__ = [
    "DEFENSE_KINDS",
    "NOISE_SWEEP",
    "CrossFitted",
    "Defense",
    "DefenseSpec",
    "cross_fit",
    "pareto_front",
    "parse_defenses",
    "recall_at",
]

DEFENSE_KINDS: tuple[str, ...] = ("noise", "int8", "binary", "truncate", "leace")
#: strengths of the ``noise`` sweep (noise norm / mean record norm)
NOISE_SWEEP: tuple[float, ...] = (0.05, 0.2, 0.5, 1.0, 3.0)
#: fractions of the dimension kept by the ``truncate`` sweep
TRUNCATE_SWEEP: tuple[float, ...] = (0.5, 0.25, 0.125)
_VALID = "noise, noise:S, int8, binary, truncate, truncate:K, leace:ATTRIBUTE"


@dataclass(frozen=True)
class DefenseSpec:
    """One defense at one strength, as parsed from a name such as ``"noise:0.5"``."""

    kind: str
    strength: float | None = None
    attribute: str | None = None

    @property
    def name(self) -> str:
        if self.kind == "noise":
            return f"noise:{self.strength:g}"
        if self.kind == "truncate":
            return f"truncate:{int(self.strength or 0)}"
        if self.kind == "leace":
            return f"leace:{self.attribute}"
        return self.kind


def parse_defenses(
    names: Sequence[str] | str, *, dim: int, labels: Mapping[str, Any] | None = None
) -> list[DefenseSpec]:
    """Parse defense names into specs, expanding the ``noise`` and ``truncate`` sweeps.

    Raises ``ValueError`` naming the valid defenses for an unknown name, a bad strength, or a
    LEACE attribute the corpus has no labels for.

    Examples
    --------
    >>> [s.name for s in parse_defenses(["noise:0.1", "truncate", "int8"], dim=64)]
    ['noise:0.1', 'truncate:32', 'truncate:16', 'truncate:8', 'int8']
    """
    items = [names] if isinstance(names, str) else list(names)
    out: list[DefenseSpec] = []
    for raw in items:
        if not isinstance(raw, str):
            raise TypeError(f"defense names must be strings, got {type(raw).__name__}")
        name = raw.strip()
        kind, _, arg = name.partition(":")
        if kind not in DEFENSE_KINDS:
            raise ValueError(f"unknown defense {raw!r}: valid defenses are {_VALID}")
        if kind == "noise":
            strengths = NOISE_SWEEP if not arg else (_number(raw, arg),)
            for s in strengths:
                if not s > 0:
                    raise ValueError(f"defense {raw!r}: the noise strength must be > 0")
                out.append(DefenseSpec("noise", float(s)))
        elif kind == "truncate":
            sweep = sorted({max(1, int(dim * f)) for f in TRUNCATE_SWEEP}, reverse=True)
            ks = [int(_number(raw, arg))] if arg else sweep
            for k in ks:
                if not 1 <= k < dim:
                    raise ValueError(
                        f"defense {raw!r}: keep between 1 and {dim - 1} of the {dim} dimensions"
                    )
                out.append(DefenseSpec("truncate", float(k)))
        elif kind == "leace":
            known = sorted(labels or {})
            if not arg:
                raise ValueError(
                    f"defense {raw!r} needs the attribute to erase, e.g. leace:condition "
                    f"(this corpus has labels: {', '.join(known) or 'none'})"
                )
            if arg not in known:
                raise ValueError(
                    f"defense {raw!r}: the corpus has no label column {arg!r}; it has "
                    f"{', '.join(known) or 'no labels'}"
                )
            out.append(DefenseSpec("leace", attribute=arg))
        else:
            if arg:
                raise ValueError(f"defense {raw!r} takes no argument: write {kind!r}")
            out.append(DefenseSpec(kind))
    unique: dict[str, DefenseSpec] = {}
    for spec in out:
        unique.setdefault(spec.name, spec)
    return list(unique.values())


def _number(raw: str, arg: str) -> float:
    """``arg`` as a finite number, or a ``ValueError`` naming the defense ``raw``."""
    try:
        value = float(arg)
    except ValueError:
        raise ValueError(f"defense {raw!r}: {arg!r} is not a number; valid: {_VALID}") from None
    if not math.isfinite(value):
        raise ValueError(f"defense {raw!r}: {arg!r} is not a finite number; valid: {_VALID}")
    return value


class Defense(Params):
    """A defense fitted on the defender's records (see the module docstring).

    Parameters
    ----------
    spec
        What to apply.
    seed
        Seeds the noise draws (a private generator; the global RNG is never touched).

    Examples
    --------
    >>> X = np.eye(4, dtype=np.float32)
    >>> d = Defense(DefenseSpec("truncate", 2.0)).fit(X[:2])
    >>> d.records(X[2:]).shape, d.restore(d.records(X[2:])).shape
    ((2, 2), (2, 4))
    """

    def __init__(self, spec: DefenseSpec, *, seed: int = 0) -> None:
        self.spec = spec
        self.seed = seed

    def fit(self, X: np.ndarray, labels: Mapping[str, Any] | None = None) -> Defense:
        """Learn what the defense needs from the records (norms, scales, the LEACE eraser)."""
        X = np.asarray(X, dtype=np.float32)
        self.fitted_rows_ = _row_keys(X)
        self.dim_ = int(X.shape[1])
        self.mean_norm_ = float(np.linalg.norm(X, axis=1).mean()) or 1.0
        self._rng = np.random.default_rng(self.seed)
        kind = self.spec.kind
        if kind == "int8":
            self.scale_ = np.maximum(np.abs(X).max(axis=0), 1e-12) / 127.0
        elif kind == "leace":
            from probes import LEACE

            y = np.asarray((labels or {})[str(self.spec.attribute)])
            self.eraser_ = LEACE().fit(X, y)
        return self

    def records(self, X: np.ndarray, *, allow_fitted: bool = False) -> np.ndarray:
        """The stored form of vectors ``X`` (fresh noise on every call).

        Rows the defense was fitted on are refused (``ValueError``): measuring a defense on
        them overstates it. Pass ``allow_fitted=True`` only for rows that train something (a
        probe's training fold, an adaptive attacker's own records), never for evaluated ones.
        """
        X = np.asarray(X, dtype=np.float32)
        if not allow_fitted and self.fitted_rows_ & _row_keys(X):
            raise ValueError(
                f"defense {self.spec.name!r}: {len(self.fitted_rows_ & _row_keys(X))} of these "
                "vectors are rows it was fitted on; evaluating it on them overstates it (a "
                "fitted eraser memorises them): fit it on other records (cross_fit does it "
                "per fold), or pass allow_fitted=True for training rows"
            )
        kind = self.spec.kind
        if kind == "noise":
            std = float(self.spec.strength or 0.0) * self.mean_norm_ / np.sqrt(self.dim_)
            return (X + self._rng.normal(0.0, std, size=X.shape)).astype(np.float32)
        if kind == "int8":
            codes = np.clip(np.rint(X / self.scale_), -127, 127).astype(np.int8)
            return (codes.astype(np.float32) * self.scale_).astype(np.float32)
        if kind == "binary":
            return np.where(X > 0, 1.0, -1.0).astype(np.float32)
        if kind == "truncate":
            return np.ascontiguousarray(X[:, : int(self.spec.strength or 0)])
        if kind == "leace":
            return np.asarray(self.eraser_.transform(X), dtype=np.float32)
        raise ValueError(f"unknown defense kind {kind!r}")  # parse_defenses prevents this

    def queries(self, Q: np.ndarray) -> np.ndarray:
        """What a query vector becomes before searching the stored vectors."""
        kind = self.spec.kind
        if kind in ("noise", "int8"):
            return np.asarray(Q, dtype=np.float32)  # the user's own query stays exact
        return self.records(Q, allow_fitted=True)  # a query is no stored record

    def restore(self, Xd: np.ndarray) -> np.ndarray:
        """Stored vectors mapped back into the clean space, for a non-adaptive attacker."""
        kind = self.spec.kind
        if kind == "truncate":
            out = np.zeros((Xd.shape[0], self.dim_), dtype=np.float32)
            out[:, : Xd.shape[1]] = Xd
            return out
        if kind == "binary":
            return (Xd * (self.mean_norm_ / np.sqrt(self.dim_))).astype(np.float32)
        return np.asarray(Xd, dtype=np.float32)


def _row_keys(X: np.ndarray) -> set[bytes]:
    """One short hash per row: which vectors a defense was fitted on."""
    import hashlib

    A = np.ascontiguousarray(X, dtype=np.float32)
    return {hashlib.blake2b(row.tobytes(), digest_size=12).digest() for row in A}


@dataclass
class CrossFitted:
    """A defense fitted per fold: each record stored by the defense fitted without its fold.

    Attributes
    ----------
    defenses : list of Defense
        One per fold, fitted on the other folds.
    fold : ndarray
        The fold of each record.
    records : ndarray
        The stored (defended) form of every record, each out of fold.
    """

    defenses: list[Defense]
    fold: np.ndarray
    records: np.ndarray

    def restore(self, Xd: np.ndarray) -> np.ndarray:
        """The stored records mapped back as a non-adaptive attacker does (per fold)."""
        out: np.ndarray | None = None
        for j, d in enumerate(self.defenses):
            rows = np.flatnonzero(self.fold == j)
            part = d.restore(Xd[rows])
            if out is None:
                out = np.zeros((Xd.shape[0], part.shape[1]), dtype=np.float32)
            out[rows] = part
        if out is None:  # cross_fit makes at least two folds: this is a broken object
            raise RuntimeError("CrossFitted holds no fold: build it with cross_fit")
        return out

    def queries(self, Q: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Query ``i`` as the defense of its target record's fold transforms it."""
        parts = [d.queries(Q) for d in self.defenses]
        out = np.zeros((Q.shape[0], parts[0].shape[1]), dtype=np.float32)
        which = self.fold[np.asarray(targets, dtype=np.int64)]
        for j, part in enumerate(parts):
            out[which == j] = part[which == j]
        return out


def cross_fit(
    spec: DefenseSpec,
    X: np.ndarray,
    labels: Mapping[str, Any] | None = None,
    *,
    folds: int = 5,
    seed: int = 0,
) -> CrossFitted:
    """Fit ``spec`` once per fold on the other folds; store every record out of fold.

    This is how the audit measures every defense, learned or not, so no evaluated vector was
    ever seen by the defense that stored it.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    >>> cf = cross_fit(DefenseSpec("int8"), X, folds=2)
    >>> cf.records.shape, sorted(set(cf.fold.tolist()))
    ((10, 4), [0, 1])
    """
    import hashlib

    X = np.ascontiguousarray(X, dtype=np.float32)
    n = X.shape[0]
    if n < 2:
        raise ValueError(f"cross-fitting a defense needs at least 2 records, got {n}")
    # identical vectors (duplicate texts) share a fold: one is never evaluated as the other
    keys = [hashlib.blake2b(r.tobytes(), digest_size=12).digest() for r in X]
    group = np.unique(np.asarray(keys, dtype=object), return_inverse=True)[1].reshape(-1)
    n_groups = int(group.max()) + 1
    if n_groups < 2:
        raise ValueError("cross-fitting a defense needs at least 2 distinct vectors")
    k = max(2, min(folds, n_groups))
    fold = np.random.default_rng(seed).permutation(np.arange(n_groups) % k)[group]
    defenses: list[Defense] = []
    stored: np.ndarray | None = None
    for j in range(k):
        train, test = np.flatnonzero(fold != j), np.flatnonzero(fold == j)
        sub = {a: np.asarray(v)[train] for a, v in (labels or {}).items()}
        d = Defense(spec, seed=seed + j).fit(X[train], sub)
        part = d.records(X[test])
        if stored is None:
            stored = np.zeros((n, part.shape[1]), dtype=np.float32)
        stored[test] = part
        defenses.append(d)
    if stored is None:  # the folds above are never empty; say so if that ever changes
        raise RuntimeError(f"cross_fit made no fold for {n} records")
    return CrossFitted(defenses, fold, stored)


def recall_at(
    Q: np.ndarray,
    X: np.ndarray,
    ks: Sequence[int] = (1, 10),
    *,
    targets: Sequence[int] | np.ndarray | None = None,
) -> dict[str, float]:
    """Recall@k by cosine similarity when query ``i`` should retrieve record ``targets[i]``
    (default: record ``i``).

    Ties count against the query (a record only counts as found at rank ``r`` when fewer than
    ``r`` other records score strictly higher), so an all-equal space scores as chance.

    Examples
    --------
    >>> X = np.eye(3, dtype=np.float32)
    >>> recall_at(X, X, ks=(1,))
    {'recall@1': 1.0}
    """
    qn = _unit(np.asarray(Q, dtype=np.float64))
    xn = _unit(np.asarray(X, dtype=np.float64))
    n = qn.shape[0]
    want = np.arange(n) if targets is None else np.asarray(targets, dtype=np.int64)
    if want.shape != (n,):
        raise ValueError(f"targets must give one record per query: {want.shape} for {n} queries")
    ranks = np.empty(n, dtype=np.int64)
    step = max(1, 4_000_000 // max(xn.shape[0], 1))
    for s in range(0, n, step):
        sims = qn[s : s + step] @ xn.T
        own = sims[np.arange(sims.shape[0]), want[s : s + sims.shape[0]]]
        ranks[s : s + step] = (sims >= own[:, None]).sum(axis=1) - 1
    return {f"recall@{k}": float((ranks < k).mean()) for k in ks}


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points ``(leakage, utility)`` that no other point beats on both.

    A point is dominated when another has leakage <= and utility >= with one strict.

    Examples
    --------
    >>> pareto_front([(0.5, 0.9), (0.2, 0.8), (0.3, 0.7), (0.0, 0.1)])
    [0, 1, 3]
    """
    front = []
    for i, (leak, util) in enumerate(points):
        dominated = any(
            (lk <= leak and ut >= util) and (lk < leak or ut > util)
            for j, (lk, ut) in enumerate(points)
            if j != i
        )
        if not dominated:
            front.append(i)
    return front


def _unit(A: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(A, axis=1, keepdims=True)
    return np.divide(A, norms, out=np.zeros_like(A), where=norms > 0)
