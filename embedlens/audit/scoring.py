"""Scoring an attack's output: per-record token F1 and facts recovered, rates with intervals.

:func:`score_batch` scores a batch of ``(reference, hypothesis, fields)`` records (the unit an
engine ships to its workers); :func:`aggregate` turns the per-record counts into a recovery rate
per fact type with bootstrap intervals (:mod:`embedlens.stats`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlens.stats import bootstrap_sums, ratio_ci

if TYPE_CHECKING:
    from embedlens.data import Corpus

__all__ = ["aggregate", "finite", "prior_rates", "record_leakage", "score_batch"]


def score_batch(items: list[tuple[str, str, dict[str, str] | None]]) -> list[dict[str, Any]]:
    """Per-record scores of ``(reference, hypothesis, fields)`` items (an engine batch).

    Each result holds the token F1 and, per fact type, ``[recovered, total]`` with the recovered
    values: ground-truth fields when given (matched by :mod:`embedlens.facts`, a name
    counted as full, first and last name), else spaCy entities of the reference when spaCy and
    its English model are installed, else no facts. A module-level function, so the Ray engine
    can ship it to workers.
    """
    from embedlens.facts import fact_checks
    from inversion import entity_recovery
    from inversion.entities import PII_FIELDS
    from inversion.metrics import token_prf

    refs = [r for r, _, _ in items]
    hyps = [h for _, h, _ in items]
    f1 = [token_prf(r, h)[2] for r, h in zip(refs, hyps, strict=True)]
    records = [f for _, _, f in items]
    per_example: list[dict[str, list[tuple[str, bool]]]]
    if all(f is not None for f in records):
        present = {k for f in records if f for k in f}
        names = [k for k in PII_FIELDS if k in present] or sorted(present)
        per_example = [fact_checks(f or {}, h, names) for f, h in zip(records, hyps, strict=True)]
    else:
        try:
            per_example = entity_recovery(refs, hyps, bootstrap=0).per_example
        except ImportError:
            per_example = [{} for _ in items]
    out = []
    for score, facts in zip(f1, per_example, strict=True):
        found = {k: [sum(ok for _, ok in vals), len(vals)] for k, vals in facts.items() if vals}
        values = sorted({v for vals in facts.values() for v, ok in vals if ok}, key=len)
        out.append({"token_f1": float(score), "found": found, "values": values})
    return out


def aggregate(
    per_record: list[dict[str, Any]], *, bootstrap: int, seed: int, confidence: float = 0.95
) -> dict[str, Any]:
    """Recovery rate per fact type with percentile-bootstrap intervals, and overall."""
    kinds = sorted({k for r in per_record for k in r["found"]})
    n = len(per_record)
    table = np.zeros((n, 2 * len(kinds) + 2))
    for i, rec in enumerate(per_record):
        for j, k in enumerate(kinds):
            hit, tot = rec["found"].get(k, [0, 0])
            table[i, j], table[i, len(kinds) + j] = hit, tot
        table[i, -2] = sum(h for h, _ in rec["found"].values())
        table[i, -1] = sum(t for _, t in rec["found"].values())
    sums = bootstrap_sums(table, bootstrap, seed) if bootstrap and n else None
    fields: dict[str, Any] = {}
    for j, k in enumerate(kinds):
        got, tot = float(table[:, j].sum()), float(table[:, len(kinds) + j].sum())
        ci = None if sums is None else list(ratio_ci(sums[:, [j, len(kinds) + j]], confidence))
        fields[k] = {
            "rate": got / tot if tot else 0.0,
            "ci": ci,
            "recovered": int(got),
            "total": int(tot),
        }
    hits, tots = float(table[:, -2].sum()), float(table[:, -1].sum())
    overall_ci = None if sums is None else list(ratio_ci(sums[:, -2:], confidence))
    return {"fields": fields, "overall": hits / tots if tots else 0.0, "overall_ci": overall_ci}


def record_leakage(per_record: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Each record's share of facts recovered (its token F1 where it has no facts)."""
    out = np.zeros(len(per_record))
    for i, rec in enumerate(per_record):
        tot = sum(t for _, t in rec["found"].values())
        out[i] = sum(h for h, _ in rec["found"].values()) / tot if tot else rec["token_f1"]
    return out


def finite(value: float) -> float | None:
    """A float for JSON: None instead of NaN or inf."""
    return float(value) if value is not None and math.isfinite(value) else None


def prior_rates(victims: Corpus, own: Corpus) -> dict[str, float]:
    """Per field, the recovery rate of a guess that needs no vector at all.

    The attacker answers every victim with the most common value of each field among its own
    records (the commonest condition, state, city...); an attack leaks a field only where it
    beats this rate.
    """
    from collections import Counter

    if not victims.fields or not own.fields:
        return {}
    names = sorted({k for f in own.fields for k in f})
    common = [
        Counter(str(f[k]) for f in own.fields if f.get(k)).most_common(1)[0][0]
        for k in names
        if any(f.get(k) for f in own.fields)
    ]
    # a name is guessed part by part too: the commonest first name and the commonest surname
    full = [str(f["name"]).split() for f in own.fields if f.get("name")]
    for pos in (0, -1):
        parts = Counter(p[pos] for p in full if len(p) >= 2)
        if parts:
            common.append(parts.most_common(1)[0][0])
    guess = " ; ".join(common)
    items: list[tuple[str, str, dict[str, str] | None]] = [
        (t, guess, f) for t, f in zip(victims.texts, victims.fields, strict=True)
    ]
    fields = aggregate(score_batch(items), bootstrap=0, seed=0)["fields"]
    return {k: float(v["rate"]) for k, v in fields.items()}
