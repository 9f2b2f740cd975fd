"""The stages of :func:`embedlens.audit`: attribute probes, attacks, defenses, map, summary.

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
from embedlens.audit.defenses import Defense, recall_at
from embedlens.audit.scoring import aggregate, finite, record_leakage, score_batch
from embedlens.data import Corpus

logger = logging.getLogger(__name__)

__all__ = [
    "IDENTIFYING",
    "attribute_inference",
    "map_records",
    "run_attacks",
    "run_defenses",
    "summarize",
]

#: settings of the attacks retrained against every defense (user attack_options override them):
#: fewer bag-of-words epochs keep a sweep of a dozen defenses within the demo's time
ADAPTIVE_OPTIONS: dict[str, dict[str, Any]] = {"bag-of-words": {"epochs": 60}}
#: facts that identify a person; recovering them makes the risk high
IDENTIFYING = ("name", "email", "phone", "address", "dob")


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


def run_defenses(
    dspecs: list[Any],
    adaptive_specs: list[AttackSpec],
    ctx: AttackContext,
    X: np.ndarray,
    queries: tuple[np.ndarray, np.ndarray],
    victims: Corpus,
    fitted: dict[str, Any],
    eng: Any,
    seed: int,
    say: Callable[[str], None],
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if not dspecs:
        return out
    Q, targets = queries  # query vectors and the record each should find
    # the undefended point anchors every curve: the same attacks, on the clean vectors
    points: list[tuple[str, Any]] = [("none", None), *[(d.name, d) for d in dspecs]]
    merged = {
        k: {**ADAPTIVE_OPTIONS.get(k, {}), **ctx.options.get(k, {})}
        for k in {*ADAPTIVE_OPTIONS, *ctx.options}
    }
    adaptive_ctx = dataclasses.replace(ctx, options=merged)
    for name, dspec in points:
        t = time.perf_counter()
        entry: dict[str, Any] = {"name": name, "kind": "none" if dspec is None else dspec.kind}
        entry["strength"] = None if dspec is None else dspec.strength
        if dspec is None:
            Xd, Qd, restored, own_restored = X, Q, X, ctx.own_X
        else:
            d = Defense(dspec, seed=seed).fit(X, victims.labels)
            Xd, Qd = d.records(X), d.queries(Q)
            restored, own_restored = d.restore(Xd), d.restore(d.records(ctx.own_X))
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
                    leakage[mode][spec.name] = {
                        "overall": agg["overall"],
                        "token_f1": float(np.mean([p["token_f1"] for p in per])),
                        "fields": {k: v["rate"] for k, v in agg["fields"].items()},
                    }
                except Exception as err:
                    logger.warning("defense %s, attack %s failed", name, spec.name, exc_info=True)
                    leakage[mode][spec.name] = {"failed": f"{type(err).__name__}: {err}"}
        entry["leakage"] = leakage
        entry["leakage_score"] = _worst(leakage["adaptive"])
        entry["leakage_score_non_adaptive"] = _worst(leakage["non_adaptive"])
        entry["attributes"] = {
            k: v.get("accuracy")
            for k, v in attribute_inference(Xd, victims.labels, seed=seed, n_bootstrap=0).items()
        }
        entry["seconds"] = time.perf_counter() - t
        out.append(entry)
        say(
            f"defense {name}: recall@10 {entry['utility']['recall@10']:.2f}, leakage "
            f"{entry['leakage_score'] or 0:.2f} adaptive / {entry['leakage_score_non_adaptive'] or 0:.2f} non-adaptive"
        )
    return out


def _worst(by_attack: Mapping[str, Mapping[str, Any]]) -> float | None:
    """The leakage of the strongest attack: facts recovered, or token F1 when no facts."""
    scores = []
    for row in by_attack.values():
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


def summarize(
    attacks: Mapping[str, Mapping[str, Any]],
    attributes: Mapping[str, Mapping[str, Any]],
    utility: Mapping[str, Any],
    defenses: list[dict[str, Any]],
    plan: Any,
) -> dict[str, Any]:
    """The report's summary: the risk in plain words, headline rates, what ran and the best defense.

    Risk is **high** when some attack recovers an identifying fact (:data:`IDENTIFYING`) of at
    least 20% of the records, or a probe beats its majority baseline by 20 points; **moderate**
    at 2% identifying, 20% of any other fact, or 5 points; **low** otherwise. The best defense
    is the least leaky one (adaptive attacker) that keeps 90% of the clean recall@10.
    """
    top: dict[str, dict[str, Any]] = {}
    for name, att in attacks.items():
        if att.get("status") != "ran":
            continue
        for fname, f in att["fields"].items():
            if fname not in top or f["rate"] > top[fname]["rate"]:
                top[fname] = {"rate": f["rate"], "attack": name}
    ident = max((top[f]["rate"] for f in IDENTIFYING if f in top), default=0.0)
    any_field = max((v["rate"] for v in top.values()), default=0.0)
    gains = {a: r["accuracy"] - r["baseline"] for a, r in attributes.items() if "accuracy" in r}
    gain = max(gains.values(), default=0.0)
    if ident >= 0.2 or gain >= 0.2:
        risk = "high"
    elif ident >= 0.02 or any_field >= 0.2 or gain >= 0.05:
        risk = "moderate"
    else:
        risk = "low"
    parts = []
    if top:
        f, v = max(top.items(), key=lambda kv: kv[1]["rate"])
        parts.append(
            f"an attacker holding only the vectors recovers the {f} of {v['rate']:.0%} of the records ({v['attack']})"
        )
    if gains:
        a = max(gains, key=lambda k: gains[k])
        r = attributes[a]
        parts.append(
            f"infers the {a} with {r['accuracy']:.0%} accuracy against a {r['baseline']:.0%} majority baseline"
        )
    headline = f"Risk {risk}: {'; '.join(parts) or 'no attack recovered anything measurable'}."
    ran = [n for n, a in attacks.items() if a.get("status") == "ran"]
    skipped = {n: a["reason"] for n, a in attacks.items() if a.get("status") != "ran"}
    best_def = None
    candidates = [d for d in defenses if d["name"] != "none" and d.get("leakage_score") is not None]
    if candidates and utility.get("recall@10"):
        keep = [
            d for d in candidates if d["utility"]["recall@10"] >= 0.9 * float(utility["recall@10"])
        ]
        if keep:
            best = min(keep, key=lambda d: d["leakage_score"])
            best_def = {
                "name": best["name"],
                "recall@10": best["utility"]["recall@10"],
                "leakage": best["leakage_score"],
            }
    return {
        "risk": risk,
        "headline": headline,
        "top_fields": top,
        "identifying_rate": ident,
        "attribute_gain": gain,
        "ran": ran,
        "skipped": skipped,
        "budget": plan.text,
        "best_defense": best_def,
    }
