"""The prose sections of an audit report: threat model, methodology, glossary, limitations and
recommendations tailored to what the audit found. Each returns HTML built from the result's
numbers only; every text from the data is escaped."""

from __future__ import annotations

import html
from typing import Any

from embedlens.facts import RULE

__all__ = [
    "STRONGER_ATTACKER",
    "glossary",
    "limitations",
    "methodology",
    "recommendations",
    "threat_model",
]

#: what a stronger attacker is known to reach (the published figure the report cites)
STRONGER_ATTACKER = (
    "A stronger attacker is known to reach much more: vec2text (Morris et al., 2023, 'Text "
    "Embeddings Reveal (Almost) As Much As Text', EMNLP) recovered 89% of full names from "
    "embeddings of clinical notes (MIMIC-III) with an inverter trained on a GPU, and 92% of "
    "32-token texts exactly. The rates here are lower bounds: what these attacks found within "
    "this budget on this machine."
)


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _pct(v: Any) -> str:
    return "n/a" if v is None else f"{100 * float(v):.1f}%"


def threat_model(r: Any) -> str:
    c = r.config
    att = c["attacker"]
    kinds = ", ".join(_e(a) for a in c.get("attacks", [])) or "none"
    return (
        "<ul>"
        "<li><b>What leaks</b>: the stored vectors of the victims' records (a stolen or shared "
        "vector database), without the texts.</li>"
        f"<li><b>What the attacker holds besides</b>: {_e(att['records'])} records of its own "
        f"({_e(att['source'])}), never the victims' texts.</li>"
        f"<li><b>Query access</b>: the attacker can embed texts of its choice with the same model "
        f"(black box: texts in, vectors out); the attacks {kinds} use it within the budget "
        f"({_e(c['budget']['text'])}). No attack reads the model's weights (no white-box "
        "access).</li>"
        "<li><b>Defenses</b>: the attacker knows each defense's mechanism (Kerckhoffs): the "
        "adaptive attacker applies it to its own records and retrains; the defender's random "
        "draws and fitted parameters stay secret.</li>"
        "</ul>"
    )


def methodology(r: Any) -> str:
    c = r.config
    return (
        "<ol>"
        f"<li>The victims' {_e(c['corpus']['records'])} records and the attacker's own are "
        f"embedded with {_e(c['embedder']['name'])}.</li>"
        "<li>Each attack decodes the victims' vectors to text, cheapest first; expensive "
        "attacks get an equal share of what is left of the budget and decode fewer records "
        "when it runs out (the table of limits says how many).</li>"
        "<li>Facts are matched against each record's ground truth by the rule below; each rate "
        "comes with a 95% percentile-bootstrap interval over records, and is compared with the "
        "prior (a guess that needs no vector).</li>"
        "<li>Attribute inference: a linear probe, 5-fold cross-validated, against the majority "
        "baseline.</li>"
        "<li>Defenses: every defense is fitted per fold and each record is stored by a defense "
        "fitted without it (a learned defense never sees the records it is measured on); probes "
        "on defended vectors fit the defense inside each probe fold. Each defense faces every "
        "attack that ran: the trainable ones on every record, non-adaptive and retrained "
        "(adaptive); the expensive ones non-adaptive on a fixed sample of the first records, "
        "within a share of the budget.</li>"
        "<li>Utility: recall@1 and @10 of queries built from parts of each record.</li>"
        "</ol>"
        f"<p><b>Fact matching rule.</b> {_e(RULE)}</p>"
    )


GLOSSARY = {
    "BLEU": "overlap of word n-grams (1 to 4) between the recovered and the original text, "
    "0 to 100.",
    "token F1": "harmonic mean of the precision and recall of the recovered words.",
    "exact match": "share of records recovered word for word.",
    "cosine": "similarity of the recovered text's vector to the original vector (1: same "
    "direction).",
    "leakage": "share of the facts (names, emails, conditions...) that an attack recovered; "
    "for a defense, that of its strongest attack.",
    "prior": "what a guess needs no vector for recovers: the most common value of each field "
    "among the attacker's own records.",
    "adaptive attacker": "one that applies the defense to its own records and retrains on the "
    "result; a non-adaptive one uses the attack trained on clean vectors.",
    "recall@k": "share of queries whose record is among the k most similar stored vectors.",
    "majority baseline": "accuracy of always guessing the most common class.",
    "lower bound": "what these attacks found within this budget; a stronger attack finds at "
    "least as much.",
}


def glossary(r: Any) -> str:
    rows = "".join(f"<tr><td><b>{_e(k)}</b></td><td>{_e(v)}</td></tr>" for k, v in GLOSSARY.items())
    return f"<table>{rows}</table>"


def limitations(r: Any) -> str:
    items = []
    for name, a in r.attacks.items():
        if a.get("status") != "ran":
            items.append(f"<li><b>{_e(name)}</b> did not run ({_e(a.get('reason'))}).</li>")
    if not r.config["corpus"].get("fields"):
        items.append(
            "<li>The corpus has no ground-truth fields: facts are spaCy's named entities of "
            "each record, which miss some and misread others.</li>"
        )
    items.append(
        "<li>The attacker's own records come from "
        f"{_e(r.config['attacker']['source'])}; an attacker with records closer to the victims' "
        "(or more of them) recovers more.</li>"
    )
    items.append(
        "<li>Expensive attacks meet each defense on a sample of records only; their rates "
        "there carry wide intervals.</li>"
    )
    items.append(f"<li>{_e(STRONGER_ATTACKER)}</li>")
    return "<ul>" + "".join(items) + "</ul>"


def recommendations(r: Any) -> str:
    s = r.summary
    out: list[str] = []
    risk = s.get("risk")
    if s.get("status") == "inconclusive":
        out.append(
            "<li><b>Re-run the audit</b> with the attacks that did not run fixed (see the "
            "limits): until then its verdict is no all-clear.</li>"
        )
    top = s.get("top_fields", {})
    leaked = [f for f, v in top.items() if v["rate"] - (v.get("prior") or 0.0) > 0.02]
    if leaked:
        out.append(
            "<li>Treat the stored vectors as the texts themselves: they give away "
            + ", ".join(_e(f.replace("_", " ")) for f in leaked)
            + ". Keep them under the same access control, retention and breach duties.</li>"
        )
    clean = r.utility.get("recall@10")
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for d in r.defenses:
        if d["name"] != "none" and d.get("leakage_score") is not None:
            by_kind.setdefault(d["kind"], []).append(d)
    base = next((d for d in r.defenses if d["name"] == "none"), None)
    base_leak = None if base is None else base.get("leakage_score")
    for kind, ds in by_kind.items():
        best = min(ds, key=lambda d: d["leakage_score"])
        cost = None if not clean else best["utility"]["recall@10"] - float(clean)
        line = (
            f"<li><b>{_e(best['name'])}</b>: leakage {_pct(best['leakage_score'])}"
            + (f" (undefended {_pct(base_leak)})" if base_leak is not None else "")
            + f", recall@10 {_pct(best['utility']['recall@10'])}"
            + (f" ({100 * cost:+.1f} points)" if cost is not None else "")
        )
        if kind == "leace":
            attr = best["name"].partition(":")[2]
            raised = {a: v for a, v in best.get("side_effects", {}).items() if v > 0.02}
            line += (
                f". LEACE needs the sensitive labels ({_e(attr)}) of the stored records and "
                f"protects only that attribute, not names or other facts"
                + (
                    "; here it raised "
                    + ", ".join(f"{_e(a)} by {100 * v:.1f} points" for a, v in raised.items())
                    if raised
                    else ""
                )
            )
        elif kind == "noise":
            line += ". Noise needs nothing but a strength; it costs retrieval as it protects"
        elif kind == "truncate":
            line += ". Truncation keeps the first dimensions only; it protects little"
        elif kind in ("int8", "binary"):
            line += ". Quantization saves space; it is no privacy defense on its own"
        out.append(line + ".</li>")
    best = s.get("best_defense")
    if best:
        out.append(
            f"<li>Of the defenses measured, <b>{_e(best['name'])}</b> leaks least while keeping "
            "90% of the clean recall@10.</li>"
        )
    elif r.defenses:
        out.append(
            "<li>No defense measured keeps 90% of the clean recall@10 while being measured "
            "against every attack: weigh the table above, or restrict access instead.</li>"
        )
    if risk in ("low",) and s.get("status") == "complete":
        out.append(
            "<li>Risk is low against these attacks within this budget; it is a lower bound, "
            "not a proof of safety (see the limitations).</li>"
        )
    return "<ul>" + "".join(out) + "</ul>"
