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

from embedlens.facts import NAME_PARTS

__all__ = ["IDENTIFYING", "RISK_RULE", "THRESHOLDS", "Risk", "risk_level", "summarize"]

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


def summarize(
    attacks: Mapping[str, Mapping[str, Any]],
    attributes: Mapping[str, Mapping[str, Any]],
    utility: Mapping[str, Any],
    defenses: list[dict[str, Any]],
    plan: Any,
    prior: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The report's summary: status, risk, headline, what ran and the best defense.

    ``status`` is ``"complete"`` when every attack asked for ran, else ``"inconclusive"``;
    ``risk`` is :func:`risk_level` of the best rates over the prior, or ``"inconclusive"``
    when no attack ran, or when some did not and the rest do not already show high risk
    (``risk_found`` keeps what the attacks that ran showed). The best defense is the least
    leaky one (its strongest attack) that was measured against every attack without a failure
    and keeps 90% of the clean recall@10.
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
                    "prior": prior.get(fname),
                }
    # rounded: 0.3 - 0.1 is 0.19999999999999998 in floating point, and 20% must read as 20%
    excess = {f: round(v["rate"] - (prior.get(f) or 0.0), 9) for f, v in top.items()}
    ident = max((excess[f] for f in IDENTIFYING if f in excess), default=0.0)
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

    parts = []
    names = [(f, top[f]) for f in NAME_PARTS if f in top and top[f]["rate"] > 0]
    if names:
        parts.append(
            "an attacker holding only the vectors recovers names: "
            + ", ".join(
                f"the {f.replace('_', ' ')} of {_pct(v['rate'])} of the records ({v['attack']})"
                for f, v in names
            )
        )
    others = {f: v for f, v in top.items() if f not in NAME_PARTS and v["rate"] > 0}
    if others:
        f, v = max(others.items(), key=lambda kv: excess[kv[0]])
        lead = "and " if names else "an attacker holding only the vectors recovers "
        parts.append(f"{lead}the {f} of {_pct(v['rate'])} of the records ({v['attack']})")
    if gains:
        a = max(gains, key=lambda k: gains[k])
        r = attributes[a]
        parts.append(
            f"infers the {a} with {_pct(r['accuracy'])} accuracy against a "
            f"{_pct(r['baseline'])} majority baseline"
        )
    found_text = "; ".join(parts) or "no attack recovered anything measurable"
    if not ran:
        headline = (
            "Inconclusive: no attack ran ("
            + "; ".join(f"{k}: {v}" for k, v in skipped.items())
            + "), so this audit cannot judge the risk."
        )
    elif status == "inconclusive":
        headline = (
            f"{'Risk high' if risk == 'high' else 'Inconclusive'}: "
            f"{', '.join(skipped)} did not run; the attacks that ran show risk {found}: "
            f"{found_text}."
        )
    else:
        headline = f"Risk {risk}: {found_text}."
    best_def = None
    candidates = [
        d
        for d in defenses
        if d["name"] != "none" and d.get("leakage_score") is not None and not d.get("failed")
    ]
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
        "status": status,
        "risk": risk,
        "risk_found": found,
        "risk_rule": RISK_RULE,
        "headline": headline,
        "top_fields": top,
        "identifying_rate": ident,
        "any_fact_rate": any_fact,
        "attribute_gain": gain,
        "ran": ran,
        "skipped": skipped,
        "budget": plan.text,
        "best_defense": best_def,
        "prior_fields": prior,
    }
