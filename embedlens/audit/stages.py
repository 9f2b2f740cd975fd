"""The stages of :func:`embedlens.audit`: attribute probes, attacks, defenses and the map
(the summary is :mod:`embedlens.audit.summary`).

Each stage takes arrays and a :class:`~embedlens.data.Corpus` and returns plain dicts for the
:class:`~embedlens.audit.result.AuditResult`; :func:`embedlens.audit.run.audit` runs them in order.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from embedlens.audit.attacks import AttackContext, AttackSpec, run_attack
from embedlens.audit.defenses import Defense, DefenseSpec, cross_fit, recall_at
from embedlens.audit.scoring import aggregate, finite, record_leakage, score_batch
from embedlens.data import Corpus

logger = logging.getLogger(__name__)

__all__ = [
    "attribute_inference",
    "defended_probe_accuracy",
    "map_records",
    "run_attacks",
    "run_defenses",
]

#: settings of the attacks retrained against every defense (user attack_options override them):
#: fewer bag-of-words epochs keep a sweep of a dozen defenses within the demo's time
ADAPTIVE_OPTIONS: dict[str, dict[str, Any]] = {"bag-of-words": {"epochs": 60}}


# --------------------------------------------------------------------------- measuring


def attribute_inference(
    X: np.ndarray, labels: Mapping[str, Sequence[str]], *, seed: int = 0, n_bootstrap: int = 200
) -> dict[str, dict[str, Any]]:
    """5-fold accuracy of a linear-probe attacker per attribute, with its CI and the baseline.

    Attributes with fewer than 2 classes or a class of fewer than 5 records are skipped with
    the reason (k-fold accuracy on them would be noise).
    """
    from probes import LinearProbe, evaluate_probe

    out: dict[str, dict[str, Any]] = {}
    for attr, values in labels.items():
        y = np.asarray(values)
        classes, counts = np.unique(y, return_counts=True)
        common = classes[counts >= 5]
        keep = np.isin(y, common)
        if len(common) < 2 or keep.sum() < 20:
            out[attr] = {
                "skipped": f"{len(classes)} classes, {len(common)} of them with at least 5 "
                "records: too few for 5-fold probing"
            }
            continue
        note = None
        if len(common) < len(classes):
            note = (
                f"restricted to the {len(common)} of {len(classes)} classes with at least 5 "
                f"records ({int(keep.sum())} of {len(y)} records)"
            )
        res = evaluate_probe(
            X[keep],
            y[keep],
            LinearProbe(C=10.0, progress=False),
            cv=5,
            n_bootstrap=n_bootstrap,
            random_state=seed,
            progress=False,
        )
        out[attr] = {
            "accuracy": res.score,
            "ci": list(res.ci) if n_bootstrap else None,
            "baseline": res.baseline,
            "classes": len(common),
            "n": int(keep.sum()),
            "note": note,
        }
    return out


def _score(
    eng: Any, victims: Corpus, hyps: list[str], bootstrap: int, seed: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
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
        per, agg = _score(eng, victims.subset(range(k)), run.hypotheses, bootstrap, seed)
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


#: share of a time (or query) budget kept for attacking the defenses with the expensive
#: attacks (search, guided, inverters), which run on a fixed sample of records
DEFENSE_SHARE = 0.2
#: at most this many records in that sample
DEFENSE_SAMPLE_MAX = 50


def defended_probe_accuracy(
    X: np.ndarray,
    labels: Mapping[str, Sequence[str]],
    defense: DefenseSpec | None = None,
    *,
    seed: int = 0,
    folds: int = 5,
) -> dict[str, float | None]:
    """Per attribute, the k-fold accuracy of a linear probe on the defended vectors.

    The defense is fitted inside each fold, on the training rows only (with their labels),
    and the probe is scored on held-out rows that neither the defense nor the probe saw;
    identical vectors stay in one fold. ``defense=None`` measures the clean vectors by the same
    folds, so the two can be compared (a defense's side effects). Attributes
    :func:`attribute_inference` would skip are ``None``.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    from embedlens.audit.defenses import _row_keys
    from probes import LinearProbe

    keys = [next(iter(_row_keys(X[i : i + 1]))) for i in range(X.shape[0])]
    groups = np.unique(np.asarray(keys, dtype=object), return_inverse=True)[1].reshape(-1)
    out: dict[str, float | None] = {}
    for attr, values in labels.items():
        y = np.asarray(values)
        classes, counts = np.unique(y, return_counts=True)
        common = classes[counts >= 5]
        idx = np.flatnonzero(np.isin(y, common))
        if len(common) < 2 or len(idx) < 20:
            out[attr] = None
            continue
        correct = 0
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
            correct += int((probe.predict(B) == y[te]).sum())
        out[attr] = correct / len(idx)
    return out


def defense_sample(
    attack: Mapping[str, Any], plan: Any, n_defenses: int, *, cap: int = DEFENSE_SAMPLE_MAX
) -> int:
    """How many records (the first ones) an expensive attack decodes under each defense.

    Its pace in the main run and the budget kept for the defenses (:data:`DEFENSE_SHARE`)
    decide; at least :data:`~embedlens.audit.attacks.CHUNK`, at most ``cap`` and what it
    attacked undefended.
    """
    from embedlens.audit.attacks import CHUNK

    done = int(attack.get("n_attacked") or 0)
    if done == 0:
        return 0
    m = min(done, cap)
    per_second = max(float(attack["seconds"]) - float(attack["train_seconds"]), 1e-6) / done
    if plan.seconds is not None:
        m = min(m, int(plan.seconds * DEFENSE_SHARE / max(n_defenses, 1) / per_second))
    per_query = float(attack.get("queries_per_record") or 0.0)
    if plan.queries is not None and per_query > 0:
        m = min(m, int(plan.queries * DEFENSE_SHARE / max(n_defenses, 1) / per_query))
    return max(min(CHUNK, done), m)


def run_defenses(
    dspecs: list[DefenseSpec],
    adaptive_specs: list[AttackSpec],
    ctx: AttackContext,
    X: np.ndarray,
    queries: tuple[np.ndarray, np.ndarray],
    victims: Corpus,
    fitted: dict[str, Any],
    eng: Any,
    seed: int,
    say: Callable[[str], None],
    *,
    attacks: Mapping[str, Mapping[str, Any]] | None = None,
    plan: Any = None,
) -> list[dict[str, Any]]:
    """Each defense, cross-fitted (:func:`~embedlens.audit.defenses.cross_fit`), against every
    attack that ran: the trainable ones (``adaptive_specs``) on every record, non-adaptive and
    retrained on the defended vectors; the expensive ones (``attacks`` that ran, with their
    fitted attack in ``fitted``) non-adaptive on a fixed sample of the first records, sized by
    :func:`defense_sample`. Utility, probe accuracy and its change on every attribute (the
    side effects) come with each."""
    from embedlens.audit.attacks import Budget

    out: list[dict[str, Any]] = []
    if not dspecs:
        return out
    Q, targets = queries  # query vectors and the record each should find
    plan = plan if plan is not None else Budget()
    adaptive_names = {s.name for s in adaptive_specs}
    sampled = {
        name: (spec_of(name), defense_sample(att, plan, len(dspecs)))
        for name, att in (attacks or {}).items()
        if att.get("status") == "ran" and name not in adaptive_names and name in fitted
    }
    # the undefended point anchors every curve: the same attacks, on the clean vectors
    points: list[tuple[str, DefenseSpec | None]] = [("none", None), *[(d.name, d) for d in dspecs]]
    merged = {
        k: {**ADAPTIVE_OPTIONS.get(k, {}), **ctx.options.get(k, {})}
        for k in {*ADAPTIVE_OPTIONS, *ctx.options}
    }
    adaptive_ctx = dataclasses.replace(ctx, options=merged)
    clean_probe: dict[str, float | None] = {}
    for name, dspec in points:
        t = time.perf_counter()
        entry: dict[str, Any] = {"name": name, "kind": "none" if dspec is None else dspec.kind}
        entry["strength"] = None if dspec is None else dspec.strength
        if dspec is None:
            Xd, Qd, restored, own_restored = X, Q, X, ctx.own_X
        else:
            cf = cross_fit(dspec, X, victims.labels, seed=seed)
            Xd, Qd = cf.records, cf.queries(Q, targets)
            restored = cf.restore(Xd)
            # the adaptive attacker knows the mechanism: it stores its own records the same way
            attacker_side = cf.defenses[0]
            own_restored = attacker_side.restore(
                attacker_side.records(ctx.own_X, allow_fitted=True)
            )
        entry["utility"] = recall_at(Qd, Xd, targets=targets)
        leakage: dict[str, dict[str, Any]] = {"non_adaptive": {}, "adaptive": {}}
        for spec in adaptive_specs:
            for mode in ("non_adaptive", "adaptive"):
                try:
                    if mode == "non_adaptive":  # the attack trained on clean vectors, as is
                        run = run_attack(spec, ctx, restored, attack=fitted.get(spec.name))
                        fitted.setdefault(spec.name, run.attack)
                    else:  # retrained on the defended vectors of the attacker's own records
                        run = run_attack(spec, adaptive_ctx, restored, X_train=own_restored)
                    per, agg = _score(eng, victims, run.hypotheses, 0, seed)
                    leakage[mode][spec.name] = _leak_row(per, agg)
                except Exception as err:
                    logger.warning("defense %s, attack %s failed", name, spec.name, exc_info=True)
                    leakage[mode][spec.name] = {"failed": f"{type(err).__name__}: {err}"}
        for att_name, (spec, m) in sampled.items():
            try:
                if dspec is None:  # the undefended run already decoded these records
                    per = [
                        {k: r[k] for k in ("token_f1", "found", "values")}
                        for r in (attacks or {})[att_name]["records"][:m]
                    ]
                    agg = aggregate(per, bootstrap=0, seed=seed)
                else:
                    run = run_attack(spec, ctx, restored[:m], attack=fitted[att_name])
                    per, agg = _score(eng, victims.subset(range(m)), run.hypotheses, 0, seed)
                leakage["non_adaptive"][att_name] = {**_leak_row(per, agg), "n": m}
            except Exception as err:
                logger.warning("defense %s, attack %s failed", name, att_name, exc_info=True)
                leakage["non_adaptive"][att_name] = {"failed": f"{type(err).__name__}: {err}"}
        entry["leakage"] = leakage
        entry["leakage_score"] = _worst(
            {**leakage["non_adaptive"], **leakage["adaptive"]}, both=leakage
        )
        entry["leakage_score_non_adaptive"] = _worst(leakage["non_adaptive"])
        entry["failed"] = sorted(
            f"{a} ({mode})"
            for mode, rows in leakage.items()
            for a, r in rows.items()
            if "failed" in r
        )
        entry["attributes"] = defended_probe_accuracy(X, victims.labels, dspec, seed=seed)
        if dspec is None:
            clean_probe = entry["attributes"]
        entry["side_effects"] = {
            a: v - clean_probe[a]
            for a, v in entry["attributes"].items()
            if v is not None and clean_probe.get(a) is not None
        }
        entry["seconds"] = time.perf_counter() - t
        out.append(entry)
        say(
            f"defense {name}: recall@10 {entry['utility']['recall@10']:.1%}, leakage "
            f"{entry['leakage_score'] or 0:.1%} (strongest attack) / "
            f"{entry['leakage_score_non_adaptive'] or 0:.1%} non-adaptive"
        )
    return out


def spec_of(name: str) -> AttackSpec:
    """The spec of an attack by its name in a result (``"inverter:PATH"`` included)."""
    from embedlens.audit.attacks import parse_attacks

    return parse_attacks([name])[0]


def _leak_row(per: list[dict[str, Any]], agg: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "overall": agg["overall"],
        "token_f1": float(np.mean([p["token_f1"] for p in per])) if per else 0.0,
        "fields": {k: v["rate"] for k, v in agg["fields"].items()},
    }


def _worst(by_attack: Mapping[str, Mapping[str, Any]], both: Any = None) -> float | None:
    """The leakage of the strongest attack: facts recovered, or token F1 when no facts
    (``both``: the non-adaptive and adaptive rows of one defense, all of them counted)."""
    rows = list(by_attack.values())
    if both is not None:
        rows = [r for mode in both.values() for r in mode.values()]
    scores = []
    for row in rows:
        if "failed" in row:
            continue
        scores.append(row["overall"] if row["fields"] else row["token_f1"])
    return max(scores) if scores else None


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
