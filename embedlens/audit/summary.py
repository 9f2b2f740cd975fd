"""The audit's verdict: the risk rule, the headline, the status and the best defense.

The rule (:data:`RISK_RULE`, printed on the report) compares what the attacks recovered with
the prior (what a guess without any vector recovers, :func:`embedlens.audit.run.audit` measures
it per field) and what the probes infer with their majority baseline. Every rate is a lower
bound: what *these* attacks found within *this* budget. An audit whose attacks did not all run
is ``inconclusive``: a low risk measured by fewer attacks than asked is no all-clear.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

__all__ = [
    "IDENTIFYING",
    "RISK_RULE",
    "THRESHOLDS",
    "Risk",
    "best_defense",
    "risk_level",
    "summarize",
]

Risk = Literal["high", "moderate", "low"]
#: facts that identify a person on their own (a first name alone does not)
IDENTIFYING: tuple[str, ...] = ("full_name", "last_name", "email", "phone", "address", "dob")
#: the thresholds of the risk rule (fractions of records, or of probe accuracy)
THRESHOLDS: dict[str, float] = {
    "high_identifying": 0.20,
    "high_attribute_gain": 0.20,
    "moderate_identifying": 0.02,
    "moderate_any_fact": 0.20,
    "moderate_attribute_gain": 0.05,
}
RISK_RULE = (
    "Risk is high when some attack recovers an identifying fact (full name, last name, email, "
    "phone, address or date of birth) of at least 20% of the records beyond the prior (what a "
    "guess without the vectors recovers), or a probe infers an attribute at least 20 points "
    "above its majority baseline; moderate at 2% for an identifying fact, 20% for any other "
    "fact, or 5 points for an attribute; low otherwise. When an attack asked for did not run, "
    "the audit is inconclusive unless what did run already shows high risk."
)


def risk_level(identifying: float, any_fact: float, attribute_gain: float) -> Risk:
    """The risk rule (:data:`RISK_RULE`) on the three excesses it reads.

    Examples
    --------
    >>> risk_level(0.2, 0.0, 0.0), risk_level(0.0, 0.2, 0.0), risk_level(0.0, 0.0, 0.049)
    ('high', 'moderate', 'low')
    """
    t = THRESHOLDS
    if identifying >= t["high_identifying"] or attribute_gain >= t["high_attribute_gain"]:
        return "high"
    if (
        identifying >= t["moderate_identifying"]
        or any_fact >= t["moderate_any_fact"]
        or attribute_gain >= t["moderate_attribute_gain"]
    ):
        return "moderate"
    return "low"


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def _ci(ci: Any) -> str:
    return "" if not ci else f", 95% CI {100 * ci[0]:.1f}-{100 * ci[1]:.1f}%"


def _fact_claim(f: str, v: Mapping[str, Any], n_attacked: int | None) -> str:
    """'the search attack recovered the full name of 1 of 84 attacked records (1.2%, 95% CI
    0.0-3.6%; a guess without the vectors: 0.0%)'."""
    k, total = v.get("recovered"), v.get("total")
    count = f"{k} of {total} attacked records" if k is not None and total else _pct(v["rate"])
    if n_attacked and total and n_attacked != total:
        count += f" (those with one, of {n_attacked} attacked)"
    prior = v.get("prior")
    return (
        f"the {v['attack']} attack recovered the {f.replace('_', ' ')} of {count} "
        f"({_pct(v['rate'])}{_ci(v.get('ci'))}"
        + ("" if prior is None else f"; a guess without the vectors: {_pct(prior)}")
        + ")"
    )


def _attribute_claim(a: str, r: Mapping[str, Any]) -> str:
    k, n = r.get("correct"), r.get("n")
    count = f"{k} of {n} records" if k is not None and n else "the records"
    return (
        f"a linear probe on the vectors infers the {a.replace('_', ' ')} of {count} "
        f"({_pct(r['accuracy'])}{_ci(r.get('ci'))}) against a majority baseline of "
        f"{_pct(r['baseline'])}"
    )


def _attacker(attacker_records: int | None, plan: Any) -> str:
    own = f"{attacker_records:,} records of its own" if attacker_records else "its own records"

    used = getattr(plan, "spent_queries", None)
    queries = f" ({used:,} queries used)" if used else ""
    return (
        f"The attacker, as the threat model says, holds the stored vectors, {own} and query "
        f"access to the embedding model{queries}."
    )


def best_defense(defenses: list[dict[str, Any]], utility: Mapping[str, Any]) -> dict[str, Any]:
    """The ranking rule of :mod:`embedlens.audit.separation` applied to the defenses.

    A defense *beats none* when it keeps 90% of the clean recall@10, every attack that ran met
    it without a failure, and its strongest attack's leakage is separably lower than none's
    (``vs_none.verdict == "lower"``). Returns ``{"best", "shown", "why"}``: the least leaky of
    those (None when there is none), all of them (they are not ranked against each other),
    and, when there is none, why in plain words.
    """
    clean = utility.get("recall@10")
    rows = [d for d in defenses if d["name"] != "none"]
    if not rows:
        return {"best": None, "shown": [], "why": "no defense was measured"}
    if not clean:
        return {"best": None, "shown": [], "why": "the clean recall@10 is zero"}
    keep = [d for d in rows if d["utility"]["recall@10"] >= 0.9 * float(clean)]
    whole = [d for d in keep if not d.get("failed") and not d.get("not_measured")]
    shown = [d for d in whole if (d.get("vs_none") or {}).get("verdict") == "lower"]
    if shown:
        best = min(shown, key=lambda d: d["leakage_score"])
        return {
            "best": {
                "name": best["name"],
                "recall@10": best["utility"]["recall@10"],
                "leakage": best["leakage_score"],
                "leakage_ci": best.get("leakage_ci"),
                "undefended": best["leakage_score"] - best["vs_none"]["diff"],
                "diff_ci": best["vs_none"].get("diff_ci"),
                "n": best["vs_none"].get("n"),
                "attack": best.get("leakage_attack"),
            },
            "shown": [d["name"] for d in shown],
            "why": None,
        }
    if not keep:
        why = "no defense keeps 90% of the clean recall@10"
    elif not whole:
        why = "no defense that keeps 90% of the clean recall@10 met every attack that ran"
    else:
        ns = sorted({int((d.get("vs_none") or {}).get("n") or 0) for d in whole})
        at = " or ".join(str(x) for x in ns)
        why = (
            "no defense that keeps 90% of the clean recall@10 separates from none against "
            f"the strongest attack at n = {at} records"
        )
    return {"best": None, "shown": [], "why": why}


def summarize(
    attacks: Mapping[str, Mapping[str, Any]],
    attributes: Mapping[str, Mapping[str, Any]],
    utility: Mapping[str, Any],
    defenses: list[dict[str, Any]],
    plan: Any,
    prior: Mapping[str, float] | None = None,
    *,
    attacker_records: int | None = None,
) -> dict[str, Any]:
    """The report's summary: status, risk, what set it, the headline and the best defense.

    ``status`` is ``"complete"`` when every attack asked for ran, else ``"inconclusive"``;
    ``risk`` is :func:`risk_level` of the best rates over the prior, or ``"inconclusive"``
    when no attack ran, or when some did not and the rest do not already show high risk
    (``risk_found`` keeps what the attacks that ran showed). The headline leads with what set
    the rating (``set_by``), counts as "k of n attacked records" with intervals, and describes
    the attacker as the threat model does. The best defense follows :func:`best_defense`.
    """
    prior = dict(prior or {})
    top: dict[str, dict[str, Any]] = {}
    for name, att in attacks.items():
        if att.get("status") != "ran":
            continue
        for fname, f in att["fields"].items():
            if fname not in top or f["rate"] > top[fname]["rate"]:
                top[fname] = {
                    "rate": f["rate"],
                    "attack": name,
                    "recovered": f.get("recovered"),
                    "total": f.get("total"),
                    "ci": f.get("ci"),
                    "prior": prior.get(fname),
                }
    # rounded: 0.3 - 0.1 is 0.19999999999999998 in floating point, and 20% must read as 20%
    excess = {f: round(v["rate"] - (prior.get(f) or 0.0), 9) for f, v in top.items()}
    ident_fields = [f for f in IDENTIFYING if f in excess]
    ident = max((excess[f] for f in ident_fields), default=0.0)
    any_fact = max(excess.values(), default=0.0)
    gains = {
        a: round(r["accuracy"] - r["baseline"], 9) for a, r in attributes.items() if "accuracy" in r
    }
    gain = max(gains.values(), default=0.0)
    found = risk_level(ident, any_fact, gain)
    ran = [n for n, a in attacks.items() if a.get("status") == "ran"]
    skipped = {n: str(a.get("reason")) for n, a in attacks.items() if a.get("status") != "ran"}
    status = "complete" if ran and not skipped else "inconclusive"
    risk = found if status == "complete" or found == "high" else "inconclusive"

    n_of = {name: att.get("n_attacked") for name, att in attacks.items()}
    best_ident = max(ident_fields, key=lambda f: excess[f], default=None)
    best_fact = max(excess, key=lambda f: excess[f], default=None)
    best_attr = max(gains, key=lambda a: gains[a], default=None)
    t = THRESHOLDS
    level = {"high": ("high_", "high_"), "moderate": ("moderate_", "moderate_")}.get(found)
    set_by: list[dict[str, Any]] = []
    if level is not None:
        if best_attr is not None and gain >= t[level[0] + "attribute_gain"]:
            set_by.append({"kind": "attribute", "attribute": best_attr})
        if best_ident is not None and ident >= t[level[0] + "identifying"]:
            set_by.append({"kind": "identifying", "field": best_ident})
        elif found == "moderate" and best_fact is not None and any_fact >= t["moderate_any_fact"]:
            set_by.append({"kind": "fact", "field": best_fact})
    what = {"attribute": "attribute inference", "identifying": "an identifying fact"}
    claims = []
    for item in set_by:
        if item["kind"] == "attribute":
            claim = _attribute_claim(item["attribute"], attributes[item["attribute"]])
        else:
            f = item["field"]
            claim = _fact_claim(f, top[f], n_of.get(top[f]["attack"]))
        claims.append(f"{what.get(item['kind'], 'a recovered fact')}: {claim}")
    lead = "; and ".join(claims)
    rest = []
    if best_ident is not None and not any(i.get("field") == best_ident for i in set_by):
        v = top[best_ident]
        if v["rate"] > 0:
            rest.append(
                "Identifying facts: " + _fact_claim(best_ident, v, n_of.get(v["attack"])) + "."
            )
        else:
            rest.append("No attack recovered an identifying fact of any record.")
    attacker = _attacker(attacker_records, plan)
    if not ran:
        headline = (
            "Inconclusive: no attack ran ("
            + "; ".join(f"{k}: {v}" for k, v in skipped.items())
            + "), so this audit cannot judge the risk."
        )
    else:
        if found == "low":
            opening = (
                f"Risk {risk}: no attack recovered an identifying fact of 2% of the records "
                "beyond a guess without the vectors, no other fact of 20%, and no probe beat "
                "its majority baseline by 5 points."
            )
            if status == "inconclusive":
                opening = (
                    f"Inconclusive: {', '.join(skipped)} did not run; the attacks that ran "
                    f"show risk low: {opening[len(f'Risk {risk}: ') :]}"
                )
        elif status == "inconclusive" and risk != "high":
            opening = (
                f"Inconclusive: {', '.join(skipped)} did not run; the attacks that ran show "
                f"risk {found}, set by {lead}."
            )
        else:
            opening = f"Risk {found}, set by {lead}."
            if status == "inconclusive":
                opening += f" ({', '.join(skipped)} did not run.)"
        headline = " ".join([opening, *rest, attacker])
    chosen = best_defense(defenses, utility)
    return {
        "status": status,
        "risk": risk,
        "risk_found": found,
        "risk_rule": RISK_RULE,
        "headline": headline,
        "set_by": set_by,
        "identifying_fact": best_ident if best_ident and top[best_ident]["rate"] > 0 else None,
        "top_fields": top,
        "identifying_rate": ident,
        "any_fact_rate": any_fact,
        "attribute_gain": gain,
        "ran": ran,
        "skipped": skipped,
        "budget": plan.text,
        "best_defense": chosen["best"],
        "defenses_shown": chosen["shown"],
        "no_best_defense": chosen["why"],
        "prior_fields": prior,
    }
