"""The defense stage of :func:`embedlens.audit`: every defense against the attacks that ran.

Each defense is cross-fitted (:func:`~embedlens.audit.defenses.cross_fit`: no record is
evaluated by a defense fitted on it) and measured three ways:

1. **every defense**: retrieval utility, the cheap attacks on every record (non-adaptive, and
   adaptive: retrained on the defended vectors of the attacker's own records) and the
   attribute probes on the same folds as the clean ones (its side effects, paired);
2. **the candidates**: the expensive attacks (search, guided, inverters) cost seconds a record,
   so they meet only the defenses that could be recommended: those keeping
   :data:`CANDIDATE_UTILITY` of the clean recall@10 whose leakage under the cheap attacks is
   separably lower than none's. The budget kept for them (:data:`DEFENSE_SHARE`) is spent on
   samples of :data:`DEFENSE_SAMPLE_MIN` records or more: on as many candidates as it affords
   (the least leaky first), and says plainly what it could not afford;
3. **against none**: every leakage (each attack, and the strongest of them) is ``k`` of ``n``
   with an interval, compared paired with no defense on the same records
   (:mod:`embedlens.audit.separation`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embedlens.audit.attacks import AttackContext, AttackSpec, run_attack
from embedlens.audit.defenses import DefenseSpec, cross_fit, recall_at
from embedlens.audit.separation import counts_of, padded, paired, proportion, rate
from embedlens.audit.stages import ProbeOutcome, probe_outcomes, score
from embedlens.data import Corpus

logger = logging.getLogger(__name__)

__all__ = [
    "CANDIDATE_UTILITY",
    "DEFENSE_SAMPLE_MIN",
    "DEFENSE_SHARE",
    "run_defenses",
    "sample_plan",
    "utility_of",
]

#: settings of the attacks retrained against every defense (user attack_options override them):
#: fewer bag-of-words epochs keep a sweep of a dozen defenses within the demo's time
ADAPTIVE_OPTIONS: dict[str, dict[str, Any]] = {"bag-of-words": {"epochs": 60}}
#: share of a time (or query) budget kept for the expensive attacks against the defenses
DEFENSE_SHARE = 0.4
#: the sample an expensive attack meets a defense on, when the budget affords it
DEFENSE_SAMPLE_MIN = 50
#: a defense is a candidate when it keeps this share of the clean recall@10
CANDIDATE_UTILITY = 0.9
Key = tuple[str, str]  # (mode, attack)


@dataclass
class _Point:
    """One defense (or none) while it is measured: its entry and its per-record tables."""

    entry: dict[str, Any]
    spec: DefenseSpec | None
    restored: np.ndarray
    tables: dict[Key, np.ndarray] = field(default_factory=dict)
    probes: dict[str, ProbeOutcome | str] = field(default_factory=dict)


def sample_plan(
    attack: Mapping[str, Any], plan: Any, candidates: int, *, minimum: int = DEFENSE_SAMPLE_MIN
) -> tuple[int, int, str]:
    """``(records, defenses, why)``: the sample an expensive attack meets each defense on, how
    many of the ``candidates`` it meets, and why not more, from the attack's pace in the main run
    and the budget kept for defenses (:data:`DEFENSE_SHARE`).

    The sample is at most what the main run attacked (no defense is measured on records its
    clean run did not decode). The budget buys ``minimum`` records for as many candidates as it
    can; one that cannot buy even that gives its one candidate what it affords.

    Examples
    --------
    >>> class Plan: seconds, queries = 100.0, None
    >>> sample_plan({"n_attacked": 80, "seconds": 80.0, "train_seconds": 0.0}, Plan(), 3)[:2]
    (40, 1)
    """
    done = int(attack.get("n_attacked") or 0)
    if done == 0 or candidates == 0:
        return 0, 0, "no record was attacked" if done == 0 else "no candidate"
    pace = max(float(attack["seconds"]) - float(attack.get("train_seconds") or 0.0), 1e-6) / done
    affordable = math.inf
    share = []
    if plan.seconds is not None:
        affordable = plan.seconds * DEFENSE_SHARE / pace
        share.append(f"{plan.seconds * DEFENSE_SHARE:.0f} s at {pace:.1f} s a record")
    per_query = float(attack.get("queries_per_record") or 0.0)
    if plan.queries is not None and per_query > 0:
        affordable = min(affordable, plan.queries * DEFENSE_SHARE / per_query)
        share.append(f"{plan.queries * DEFENSE_SHARE:.0f} queries at {per_query:.0f} a record")
    if math.isinf(affordable):
        return done, candidates, "the budget is unlimited"
    target = min(done, minimum)
    k = min(candidates, max(1, int(affordable // target)))
    m = min(done, max(2, int(affordable // k)))
    why = f"the budget kept for defenses ({', '.join(share)}) buys {int(affordable)} records"
    return m, k, why


def utility_of(
    Qd: np.ndarray, Xd: np.ndarray, targets: np.ndarray, rounds: int, seed: int
) -> dict[str, Any]:
    """Recall@1 and @10 of the queries ``Qd`` against the stored ``Xd``, each ``k`` of ``n``
    queries with its interval."""
    rates = recall_at(Qd, Xd, targets=targets)
    n = len(targets)
    out: dict[str, Any] = {**rates, "n": n, "k": {}, "ci": {}}
    for key, value in rates.items():
        k = round(value * n)
        out["k"][key] = k
        out["ci"][key] = proportion(np.arange(n) < k, rounds=rounds, seed=seed)["ci"]
    return out


def _row(
    table: np.ndarray, per: list[dict[str, Any]], agg: Mapping[str, Any], rounds: int, seed: int
) -> dict:
    r = rate(table, rounds=rounds, seed=seed)
    return {
        "overall": r["rate"],
        "recovered": r["k"],
        "total": r["total"],
        "n": r["n"],
        "ci": r["ci"],
        "token_f1": float(np.mean([p["token_f1"] for p in per])) if per else 0.0,
        "fields": {k: v["rate"] for k, v in agg["fields"].items()},
    }


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
    bootstrap: int = 200,
    clean_probes: Mapping[str, ProbeOutcome | str] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Each defense against every attack that ran (see the module notes).

    ``attacks`` are the main run's results and ``fitted`` their fitted attacks; the expensive
    ones meet the defenses on the first records, which their main run decoded already (the
    undefended row of those records is that run). ``clean_probes`` are the probes of the main
    table (:func:`~embedlens.audit.stages.probe_outcomes`), so the undefended row shows the
    same numbers. Returns the entries (the first is ``"none"``) and the plan of the expensive
    attacks' samples (per attack: records, defenses met, why).
    """
    from embedlens.audit.attacks import Budget

    if not dspecs:
        return [], {}
    plan = plan if plan is not None else Budget()
    Q, targets = queries
    merged = {
        k: {**ADAPTIVE_OPTIONS.get(k, {}), **ctx.options.get(k, {})}
        for k in {*ADAPTIVE_OPTIONS, *ctx.options}
    }
    adaptive_ctx = dataclasses.replace(ctx, options=merged)
    n = len(victims)
    points: list[_Point] = []
    for dspec in [None, *dspecs]:
        t = time.perf_counter()
        name = "none" if dspec is None else dspec.name
        entry: dict[str, Any] = {"name": name, "kind": "none" if dspec is None else dspec.kind}
        entry["strength"] = None if dspec is None else dspec.strength
        if dspec is None:
            Xd, Qd, restored, own_restored = X, Q, X, ctx.own_X
        else:
            cf = cross_fit(dspec, X, victims.labels, seed=seed)
            Xd, Qd = cf.records, cf.queries(Q, targets)
            restored = cf.restore(Xd)
            # the adaptive attacker knows the mechanism: it stores its own records the same way
            side = cf.defenses[0]
            own_restored = side.restore(side.records(ctx.own_X, allow_fitted=True))
        entry["utility"] = utility_of(Qd, Xd, targets, bootstrap, seed)
        point = _Point(entry, dspec, restored)
        entry["leakage"] = {"non_adaptive": {}, "adaptive": {}}
        for spec in adaptive_specs:
            for mode in ("non_adaptive", "adaptive"):
                try:
                    if mode == "non_adaptive":  # the attack trained on clean vectors, as is
                        run = run_attack(spec, ctx, restored, attack=fitted.get(spec.name))
                        fitted.setdefault(spec.name, run.attack)
                    else:  # retrained on the defended vectors of the attacker's own records
                        run = run_attack(spec, adaptive_ctx, restored, X_train=own_restored)
                    per, agg = score(eng, victims, run.hypotheses, 0, seed)
                    point.tables[(mode, spec.name)] = counts_of(per)
                    entry["leakage"][mode][spec.name] = _row(
                        point.tables[(mode, spec.name)], per, agg, bootstrap, seed
                    )
                except Exception as err:
                    logger.warning("defense %s, attack %s failed", name, spec.name, exc_info=True)
                    entry["leakage"][mode][spec.name] = {"failed": f"{type(err).__name__}: {err}"}
        if dspec is None and clean_probes is not None:
            point.probes = dict(clean_probes)  # the main table's probes: one source
        else:
            point.probes = probe_outcomes(X, victims.labels, dspec, seed=seed)
        entry["seconds"] = time.perf_counter() - t
        points.append(point)
        say(f"defense {name}: cheap attacks and probes in {entry['seconds']:.1f}s")
    sample = _expensive(points, attacks or {}, fitted, ctx, eng, victims, plan, bootstrap, seed)
    none = points[0]
    for point in points:
        _compare(point, none, n, bootstrap, seed)
        e = point.entry
        v = (e.get("vs_none") or {}).get("verdict")
        said = {"lower": ", lower than none", "higher": ", higher than none"}.get(
            str(v), "" if v is None else ", not separable from none"
        )
        say(
            f"defense {e['name']}: recall@10 {e['utility']['recall@10']:.1%}, leakage "
            f"{e['leakage_score'] or 0:.1%} (strongest attack measured{said})"
        )
    return [p.entry for p in points], sample


def _expensive(
    points: list[_Point],
    attacks: Mapping[str, Mapping[str, Any]],
    fitted: Mapping[str, Any],
    ctx: AttackContext,
    eng: Any,
    victims: Corpus,
    plan: Any,
    rounds: int,
    seed: int,
) -> dict[str, Any]:
    """The expensive attacks that ran, on the candidates the budget affords (module notes)."""
    from embedlens.audit.attacks import parse_attacks
    from embedlens.audit.scoring import aggregate

    none, n = points[0], len(victims)
    clean = float(none.entry["utility"]["recall@10"])
    cheap = list(none.tables)
    ranked: list[tuple[float, _Point]] = []
    for point in points[1:]:
        keep = point.entry["utility"]["recall@10"] >= CANDIDATE_UTILITY * clean
        keys = [k for k in cheap if k in point.tables]
        if keep and keys and len(keys) == len(cheap):
            cmp = paired(
                [point.tables[k] for k in keys],
                [none.tables[k] for k in keys],
                rounds=rounds,
                seed=seed,
            )
            if cmp["verdict"] == "lower":
                ranked.append((cmp["rate"], point))
    ranked.sort(key=lambda rp: rp[0])
    out: dict[str, Any] = {}
    for name, att in attacks.items():
        if att.get("status") != "ran" or name not in fitted or name in {a for _, a in cheap}:
            continue
        m, k, why = sample_plan(att, plan, len(ranked))
        chosen = [p for _, p in ranked[:k]]
        if not chosen:  # the undefended row is then the main run itself
            m = int(att["n_attacked"])
        base = [{k2: r[k2] for k2 in ("token_f1", "found", "values")} for r in att["records"][:m]]
        none.tables[("non_adaptive", name)] = padded(counts_of(base), n)
        none.entry["leakage"]["non_adaptive"][name] = _row(
            none.tables[("non_adaptive", name)][:m],
            base,
            aggregate(base, bootstrap=0, seed=seed),
            rounds,
            seed,
        )
        spec = parse_attacks([name])[0]  # "inverter:PATH" included
        for point in points[1:]:
            row = point.entry["leakage"]["non_adaptive"]
            if point not in chosen:
                row[name] = {"not_run": _not_run(point, clean, ranked, k)}
                continue
            try:
                run = run_attack(spec, ctx, point.restored[:m], attack=fitted[name])
                per, agg = score(eng, victims.subset(range(m)), run.hypotheses, 0, seed)
                point.tables[("non_adaptive", name)] = padded(counts_of(per), n)
                row[name] = _row(counts_of(per), per, agg, rounds, seed)
            except Exception as err:
                logger.warning(
                    "defense %s, attack %s failed", point.entry["name"], name, exc_info=True
                )
                row[name] = {"failed": f"{type(err).__name__}: {err}"}
        out[name] = {
            "records": m,
            "of": int(att["n_attacked"]),
            "defenses": [p.entry["name"] for p in chosen],
            "candidates": [p.entry["name"] for _, p in ranked],
            "why": why,
            "minimum": DEFENSE_SAMPLE_MIN,
        }
    return out


def _not_run(point: _Point, clean: float, ranked: list[tuple[float, _Point]], k: int) -> str:
    """Why an expensive attack did not meet a defense, in plain words."""
    if point.entry["utility"]["recall@10"] < CANDIDATE_UTILITY * clean:
        return (
            f"not run: the defense keeps under {CANDIDATE_UTILITY:.0%} of the clean recall@10, "
            "so it is no candidate"
        )
    if all(p is not point for _, p in ranked):
        return (
            "not run: the defense does not lower the cheap attacks' leakage separably, so it "
            "cannot be shown to beat none"
        )
    return f"not run: the budget kept for defenses afforded the {k} least leaky candidate(s)"


def _compare(point: _Point, none: _Point, n: int, rounds: int, seed: int) -> None:
    """Fill ``point.entry`` with each leakage against none's, the strongest attack's, the
    side effects on every probe, and the attacks that failed or did not meet it."""
    e = point.entry
    is_none = point is none
    for (mode, att), table in point.tables.items():
        if not is_none and (mode, att) in none.tables:
            cmp = paired([table], [none.tables[(mode, att)]], rounds=rounds, seed=seed)
            e["leakage"][mode][att]["vs_none"] = {
                k: cmp[k] for k in ("diff", "diff_ci", "verdict", "n")
            }
    for suffix, modes in (("", ("non_adaptive", "adaptive")), ("_non_adaptive", ("non_adaptive",))):
        keys = [k for k in point.tables if k[0] in modes and k in none.tables]
        if not keys:
            e["leakage_score" + suffix] = None
            continue
        cmp = paired(
            [point.tables[k] for k in keys],
            [none.tables[k] for k in keys],
            rounds=rounds,
            seed=seed,
        )
        e["leakage_score" + suffix] = cmp["rate"]
        if suffix:
            continue
        top = max(keys, key=lambda k: rate(point.tables[k], rounds=0, seed=0)["rate"])
        e["leakage_ci"], e["leakage_n"] = cmp["ci"], cmp["n"]
        e["leakage_attack"] = f"{top[1]} ({top[0].replace('_', '-')})"
        if not is_none:
            e["vs_none"] = {k: cmp[k] for k in ("diff", "diff_ci", "verdict", "n")}
    e["failed"] = sorted(
        f"{a} ({mode})"
        for mode, rows in e["leakage"].items()
        for a, r in rows.items()
        if "failed" in r
    )
    e["not_measured"] = sorted(
        a for rows in e["leakage"].values() for a, r in rows.items() if "not_run" in r
    )
    e["attributes"], e["attribute_counts"], e["side_effects"], e["side_effect_ci"] = {}, {}, {}, {}
    for attr, res in point.probes.items():
        if isinstance(res, str):
            e["attributes"][attr] = None
            continue
        r = proportion(res.correct, rounds=rounds, seed=seed)
        e["attributes"][attr] = r["rate"]
        e["attribute_counts"][attr] = {
            "accuracy": r["rate"],
            "k": int(r["k"]),
            "n": r["n"],
            "ci": r["ci"],
        }
        clean = none.probes.get(attr)
        if isinstance(clean, ProbeOutcome) and len(clean.correct) == len(res.correct):

            def tab(c: np.ndarray) -> np.ndarray:
                return np.column_stack([c, np.ones(len(c))]).astype(float)

            cmp = paired([tab(res.correct)], [tab(clean.correct)], rounds=rounds, seed=seed)
            e["side_effects"][attr] = cmp["diff"]
            e["side_effect_ci"][attr] = {"ci": cmp["diff_ci"], "verdict": cmp["verdict"]}
