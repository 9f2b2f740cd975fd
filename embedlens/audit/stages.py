"""The stages of :func:`embedlens.audit`: attribute probes, attacks and the map (the defenses
are :mod:`embedlens.audit.defended`, the summary :mod:`embedlens.audit.summary`).

Each stage takes arrays and a :class:`~embedlens.data.Corpus` and returns plain dicts for the
:class:`~embedlens.audit.result.AuditResult`; :func:`embedlens.audit.run.audit` runs them in order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from embedlens.audit.attacks import AttackContext, AttackSpec, run_attack
from embedlens.audit.defenses import Defense, DefenseSpec
from embedlens.audit.scoring import aggregate, finite, record_leakage, score_batch
from embedlens.audit.separation import counts_of, proportion
from embedlens.data import Corpus

logger = logging.getLogger(__name__)

__all__ = [
    "ProbeOutcome",
    "attribute_inference",
    "defended_probe_accuracy",
    "map_records",
    "probe_outcomes",
    "run_attacks",
    "score",
]


# --------------------------------------------------------------------------- probes


@dataclass(frozen=True)
class ProbeOutcome:
    """A linear probe's held-out predictions of one attribute, record by record.

    Attributes
    ----------
    correct : ndarray of bool
        Whether each kept record's held-out prediction was right.
    baseline : float
        Share of the kept records in the commonest class (always guessing it).
    classes : int
        Classes kept (those with at least 5 records).
    note : str or None
        Which records were kept, when not all.
    """

    correct: np.ndarray
    baseline: float
    classes: int
    note: str | None = None


def _fold_groups(X: np.ndarray) -> np.ndarray:
    """One group per distinct vector: identical vectors (duplicate texts) share a fold."""
    from embedlens.audit.defenses import _row_keys

    keys = [next(iter(_row_keys(X[i : i + 1]))) for i in range(X.shape[0])]
    return np.unique(np.asarray(keys, dtype=object), return_inverse=True)[1].reshape(-1)


def probe_outcomes(
    X: np.ndarray,
    labels: Mapping[str, Sequence[str]],
    defense: DefenseSpec | None = None,
    *,
    seed: int = 0,
    folds: int = 5,
) -> dict[str, ProbeOutcome | str]:
    """Per attribute, a linear probe's k-fold predictions on the (defended) vectors.

    The folds are the same for the clean vectors and for every defense (stratified by the
    attribute, identical vectors in one fold, seeded), so a defense's probe accuracy is paired
    with the clean one record by record. A defense is fitted inside each fold, on the training
    rows only, and the probe is scored on held-out rows that neither saw. An attribute with
    fewer than 2 classes of at least 5 records, or fewer than 20 such records, is skipped: its
    entry is the reason.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    from probes import LinearProbe

    groups = _fold_groups(X)
    out: dict[str, ProbeOutcome | str] = {}
    for attr, values in labels.items():
        y = np.asarray(values)
        classes, counts = np.unique(y, return_counts=True)
        common = classes[counts >= 5]
        idx = np.flatnonzero(np.isin(y, common))
        if len(common) < 2 or len(idx) < 20:
            out[attr] = (
                f"{len(classes)} classes, {len(common)} of them with at least 5 records: too "
                "few for 5-fold probing"
            )
            continue
        correct = np.zeros(len(y), dtype=bool)
        splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
        for tr, te in splitter.split(idx, y[idx], groups[idx]):
            tr, te = idx[tr], idx[te]
            if defense is None:
                A, B = X[tr], X[te]
            else:
                sub = {a: np.asarray(v)[tr] for a, v in labels.items()}
                d = Defense(defense, seed=seed).fit(X[tr], sub)
                A, B = d.records(X[tr], allow_fitted=True), d.records(X[te])
            probe = LinearProbe(C=10.0, progress=False).fit(A, y[tr])
            correct[te] = probe.predict(B) == y[te]
        note = None
        if len(common) < len(classes):
            note = (
                f"restricted to the {len(common)} of {len(classes)} classes with at least 5 "
                f"records ({len(idx)} of {len(y)} records)"
            )
        share = float(np.max(np.unique(y[idx], return_counts=True)[1])) / len(idx)
        out[attr] = ProbeOutcome(correct[idx], share, len(common), note)
    return out


def attribute_inference(
    X: np.ndarray,
    labels: Mapping[str, Sequence[str]],
    *,
    seed: int = 0,
    n_bootstrap: int = 200,
    outcomes: Mapping[str, ProbeOutcome | str] | None = None,
) -> dict[str, dict[str, Any]]:
    """k-fold accuracy of a linear-probe attacker per attribute: ``correct`` of ``n`` records,
    its bootstrap interval and the majority baseline (``outcomes``: from
    :func:`probe_outcomes`, computed when not given).

    Attributes with fewer than 2 classes or a class of fewer than 5 records are skipped with
    the reason (k-fold accuracy on them would be noise).
    """
    found = probe_outcomes(X, labels, seed=seed) if outcomes is None else outcomes
    out: dict[str, dict[str, Any]] = {}
    for attr, res in found.items():
        if isinstance(res, str):
            out[attr] = {"skipped": res}
            continue
        r = proportion(res.correct, rounds=n_bootstrap, seed=seed)
        out[attr] = {
            "accuracy": r["rate"],
            "ci": r["ci"],
            "correct": int(r["k"]),
            "baseline": res.baseline,
            "classes": res.classes,
            "n": r["n"],
            "note": res.note,
        }
    return out


def defended_probe_accuracy(
    X: np.ndarray,
    labels: Mapping[str, Sequence[str]],
    defense: DefenseSpec | None = None,
    *,
    seed: int = 0,
    folds: int = 5,
) -> dict[str, float | None]:
    """Per attribute, the k-fold accuracy of :func:`probe_outcomes` (None where skipped).

    ``defense=None`` measures the clean vectors by the same folds, so the two compare.
    """
    found = probe_outcomes(X, labels, defense, seed=seed, folds=folds)
    return {a: None if isinstance(r, str) else float(r.correct.mean()) for a, r in found.items()}


# --------------------------------------------------------------------------- attacks


def score(
    eng: Any, victims: Corpus, hyps: list[str], bootstrap: int, seed: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """What ``hyps`` (one per record of ``victims``, in order) recovered: the per-record scores
    of :func:`~embedlens.audit.scoring.score_batch` (on the engine) and their aggregate."""
    fields = victims.fields
    items = [
        (victims.texts[i], h, None if fields is None else fields[i]) for i, h in enumerate(hyps)
    ]
    per = eng.map_batches(score_batch, items, batch_size=256, progress=False)
    return per, aggregate(per, bootstrap=bootstrap, seed=seed)


def run_attacks(
    specs: list[AttackSpec],
    ctx: AttackContext,
    X: np.ndarray,
    victims: Corpus,
    eng: Any,
    plan: Any,
    bootstrap: int,
    seed: int,
    say: Callable[[str], None],
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    from inversion import evaluate

    results: dict[str, dict[str, Any]] = {}
    fitted: dict[str, Any] = {}
    for left, spec in zip(range(len(specs), 0, -1), specs, strict=True):
        seconds, queries = plan.share(left)
        spent = seconds is not None and seconds <= 0
        if spent or (queries is not None and queries <= 0 and spec.kind in ("search", "guided")):
            results[spec.name] = {
                "status": "skipped",
                "reason": f"the budget ({plan.text}) was spent before it",
            }
            say(f"attack {spec.name}: skipped, budget spent")
            continue
        try:
            run = run_attack(spec, ctx, X, seconds=seconds, queries=queries)
        except ImportError as err:
            results[spec.name] = {"status": "skipped", "reason": f"not available: {err}"}
            say(f"attack {spec.name}: skipped ({err})")
            continue
        except Exception as err:  # an attack that breaks must not stop the audit
            logger.warning("attack %s failed", spec.name, exc_info=True)
            results[spec.name] = {"status": "failed", "reason": f"{type(err).__name__}: {err}"}
            say(f"attack {spec.name}: failed ({type(err).__name__}: {err})")
            continue
        plan.spent_seconds += run.seconds
        plan.spent_queries += int(run.queries.sum())
        fitted[spec.name] = run.attack
        k = len(run.hypotheses)
        per, agg = score(eng, victims.subset(range(k)), run.hypotheses, bootstrap, seed)
        scores = evaluate(
            victims.texts[:k],
            run.hypotheses,
            embedder=ctx.embedder,
            reference_embeddings=X[:k],
            entities="none",
            bootstrap=bootstrap,
            seed=seed,
            progress=ctx.progress,
        )
        metrics = {k2: finite(v) for k2, v in scores.metrics.items()}
        counts = [round(float(c), 6) for c in counts_of(per).sum(axis=0)]
        results[spec.name] = {
            "status": "ran",
            "reason": None,
            "note": run.note,
            "n_attacked": k,
            "n_records": len(victims),
            "capped": k < len(victims),
            "queries_used": int(run.queries.sum()),
            "seconds": run.seconds,
            "train_seconds": run.train_seconds,
            "queries_per_record": float(run.queries.mean()) if k else 0.0,
            "training_queries": run.training_queries,
            "metrics": metrics,
            "metrics_ci": {k2: list(v) for k2, v in scores.ci.items()},
            **agg,
            "overall_recovered": counts[0],
            "overall_total": counts[1],
            "records": [
                {"index": i, "hypothesis": h, **p}
                for i, (h, p) in enumerate(zip(run.hypotheses, per, strict=True))
            ],
        }
        say(
            f"attack {spec.name}: {k} records in {run.seconds:.1f}s, token F1 "
            f"{metrics.get('token_f1') or 0:.2f}, facts recovered {agg['overall']:.2f}"
            + (f" ({run.note})" if run.note else "")
        )
    return results, fitted


def map_records(
    X: np.ndarray, victims: Corpus, attacks: Mapping[str, Mapping[str, Any]], method: str, seed: int
) -> dict[str, Any]:
    from interpret import EmbeddingMap

    leak = np.zeros(len(victims))
    best = [""] * len(victims)
    for name, att in attacks.items():
        if att.get("status") != "ran":
            continue
        vals = record_leakage(att["records"])
        for i, v in enumerate(vals):
            if not best[i] or v > leak[i]:
                leak[i], best[i] = v, name
    coords = np.zeros((len(victims), 2), dtype=np.float32)
    if len(victims) >= 3:
        coords = EmbeddingMap(method=method, random_state=seed, progress=False).fit_transform(X)  # type: ignore[arg-type]
    return {
        "texts": list(victims.texts),
        "x": [float(v) for v in coords[:, 0]],
        "y": [float(v) for v in coords[:, 1]],
        "leakage": [float(v) for v in leak],
        "best_attack": best,
        "map_method": method,
    }
