"""Rates with their counts and intervals, and the rule that says when two of them differ.

Every rate the report prints is ``k`` of ``n`` with a 95% percentile-bootstrap interval over
records (:mod:`embedlens.stats`, the one bootstrap). Two measurements of the same records (a
defense and no defense, attacked on the same records) are compared *paired*: each bootstrap
round resamples the records once and takes the difference of the two rates on that resample.
The **ranking rule** (:data:`RANKING_RULE`) ranks a defense against no defense only where the
interval of that difference excludes zero; otherwise the two are "not separable at n = ...".

A measurement is a table ``(records, 2)`` of what each record gave and could give (facts
recovered and facts checked; 1 and 1 for a correct probe prediction); a record outside an
attack's sample is a row of zeros, so that several attacks on different samples of the same
records are resampled together (the strongest of them is their maximum, round by round).

Examples
--------
>>> import numpy as np
>>> none = np.array([[1, 1]] * 60 + [[0, 1]] * 40, dtype=float)  # 60 of 100 recovered
>>> half = np.array([[1, 1]] * 30 + [[0, 1]] * 70, dtype=float)  # 30 of the same 100
>>> paired([half], [none], rounds=500, seed=0)["verdict"]
'lower'
>>> paired([none], [none], rounds=500, seed=0)["verdict"]
'not separable'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from embedlens.stats import bootstrap_sums, percentile_ci

__all__ = [
    "MIN_RECORDS",
    "RANKING_RULE",
    "Verdict",
    "counts_of",
    "paired",
    "proportion",
    "rate",
    "verdict",
]

Verdict = Literal["lower", "higher", "not separable", "untested"]
#: fewer records than this are never separable: a percentile bootstrap over a handful of records
#: gives intervals far narrower than the truth (6 records ranked a 40% -> 20% change 16% of
#: the time in the known-truth tests, against 5% at 300)
MIN_RECORDS = 20
#: the ranking rule in plain words, as the report prints it
RANKING_RULE = (
    "A defense is ranked against no defense only where the sample separates them: the same "
    "records are attacked with and without it, and the 95% bootstrap interval of the "
    "difference (records resampled together) must lie wholly below zero (it lowers leakage) "
    "or wholly above it (it raises leakage), and at least 20 records must have been attacked "
    "both ways (a bootstrap interval over fewer is not trusted); otherwise the two are 'not "
    "separable at n = ...' records. The best defense is named only when it lowers the strongest attack's leakage "
    "by this rule and keeps 90% of the clean recall@10."
)


def counts_of(per_record: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """``(n, 2)``: facts recovered and facts checked of each scored record (its token F1 and
    1 when no record has any fact, as for a corpus without fields or entities)."""
    table = np.zeros((len(per_record), 2))
    for i, rec in enumerate(per_record):
        found = rec.get("found") or {}
        table[i] = (sum(h for h, _ in found.values()), sum(t for _, t in found.values()))
    if len(table) and not table[:, 1].any():
        table[:, 0] = [float(r.get("token_f1", 0.0)) for r in per_record]
        table[:, 1] = 1.0
    return table


def padded(table: np.ndarray, n: int) -> np.ndarray:
    """``table`` of the first records, with rows of zeros up to ``n`` records."""
    out = np.zeros((n, 2))
    out[: len(table)] = table[:n]
    return out


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num, dtype=float), where=den > 0)


def rate(table: np.ndarray, *, rounds: int, seed: int, confidence: float = 0.95) -> dict[str, Any]:
    """``{"rate", "k", "total", "n", "ci"}`` of one measurement: ``k`` of ``total`` (facts,
    or predictions) over ``n`` records (those with something to check), its interval."""
    table = np.asarray(table, dtype=float)
    k, total = float(table[:, 0].sum()), float(table[:, 1].sum())
    n = int((table[:, 1] > 0).sum())
    ci = None
    if rounds and n:
        sums = bootstrap_sums(table, rounds, seed)
        ci = list(percentile_ci(_ratio(sums[:, 0], sums[:, 1]), confidence))
    return {
        "rate": k / total if total else 0.0,
        "k": round(k, 6),
        "total": round(total, 6),
        "n": n,
        "ci": ci,
    }


def proportion(
    hits: np.ndarray | Sequence[bool], *, rounds: int, seed: int, confidence: float = 0.95
) -> dict[str, Any]:
    """:func:`rate` of yes/no outcomes (``k`` of ``n`` correct, found...)."""
    h = np.asarray(hits, dtype=float).reshape(-1)
    return rate(
        np.column_stack([h, np.ones_like(h)]), rounds=rounds, seed=seed, confidence=confidence
    )


def verdict(ci: Sequence[float] | None, n: int = MIN_RECORDS) -> Verdict:
    """``"lower"`` or ``"higher"`` when the interval of a difference over ``n`` records excludes
    zero and ``n`` is at least :data:`MIN_RECORDS`, else ``"not separable"``; ``"untested"``
    without an interval (no bootstrap)."""
    if ci is None:
        return "untested"
    if n < MIN_RECORDS:
        return "not separable"
    if ci[1] < 0:
        return "lower"
    if ci[0] > 0:
        return "higher"
    return "not separable"


def paired(
    defended: Sequence[np.ndarray],
    baseline: Sequence[np.ndarray],
    *,
    rounds: int,
    seed: int,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """The strongest of several attacks, with and without a defense, compared on the same records.

    ``defended[j]`` and ``baseline[j]`` are the ``(n, 2)`` tables of attack ``j`` on the same
    ``n`` records (rows of zeros outside its sample). The strongest attack's rate is the
    maximum over the attacks, in the full sample and in every bootstrap round.

    Returns
    -------
    dict
        ``rate`` and ``ci`` (the defended strongest rate), ``baseline``, ``diff`` (defended
        minus baseline) with its ``diff_ci``, the ``verdict`` (:func:`verdict`) and ``n``,
        the fewest records any of the attacks was measured on.
    """
    if len(defended) != len(baseline) or not defended:
        raise ValueError(
            f"paired() compares one table per attack on each side, got {len(defended)} "
            f"defended and {len(baseline)} baseline tables: pass one of each per attack"
        )
    a = [np.asarray(t, dtype=float) for t in defended]
    b = [np.asarray(t, dtype=float) for t in baseline]
    shapes = {t.shape for t in [*a, *b]}
    if len(shapes) != 1 or next(iter(shapes))[1] != 2:
        raise ValueError(
            f"paired() needs (records, 2) tables of the same records, got shapes {sorted(shapes)}"
        )

    def strongest(tables: list[np.ndarray]) -> float:
        return max(float(_ratio(t[:, :1].sum(0), t[:, 1:].sum(0))[0]) for t in tables)

    point_a, point_b = strongest(a), strongest(b)
    n = min(int(((x[:, 1] > 0) | (y[:, 1] > 0)).sum()) for x, y in zip(a, b, strict=True))
    out: dict[str, Any] = {
        "rate": point_a,
        "ci": None,
        "baseline": point_b,
        "diff": point_a - point_b,
        "diff_ci": None,
        "n": n,
    }
    if rounds and n:
        sums = bootstrap_sums(np.hstack([*a, *b]), rounds, seed)
        ratios = _ratio(sums[:, 0::2], sums[:, 1::2])  # one column per table
        top_a = ratios[:, : len(a)].max(axis=1)
        top_b = ratios[:, len(a) :].max(axis=1)
        out["ci"] = list(percentile_ci(top_a, confidence))
        out["diff_ci"] = list(percentile_ci(top_a - top_b, confidence))
    out["verdict"] = verdict(out["diff_ci"], n)
    return out
