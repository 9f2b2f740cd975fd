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
    """Coverage and sample sizes first, then what the attacker could have had and did not."""
    items = []
    for name, a in r.attacks.items():
        if a.get("status") != "ran":
            items.append(f"<li><b>{_e(name)}</b> did not run ({_e(a.get('reason'))}).</li>")
        elif a.get("n_attacked", 0) < a.get("n_records", 0):
            items.append(
                f"<li><b>Coverage.</b> The {_e(name)} attack decoded {a['n_attacked']} of the "
                f"{a['n_records']} records within its share of the budget; its rates are over "
                f"those {a['n_attacked']}, and their intervals are as wide as that sample "
                "makes them.</li>"
            )
    for name, smp in (r.config.get("defense_sample") or {}).items():
        met = ", ".join(smp["defenses"]) or "no defense"
        items.append(
            f"<li><b>Defense sample.</b> The {_e(name)} attack met {_e(met)} on "
            f"{smp['records']} records ({'at least' if smp['records'] >= smp['minimum'] else 'fewer than'} "
            f"the {smp['minimum']} aimed at; {_e(smp['why'])}); the other defenses were "
            "measured by the cheaper attacks only, and none of them can be named the best "
            "defense. A larger --budget buys more.</li>"
        )
    probed = [(a, v) for a, v in r.attributes.items() if "accuracy" in v]
    if probed:
        items.append(
            "<li><b>Probe samples.</b> "
            + "; ".join(f"{_e(a)}: {v['n']} records, {v['classes']} classes" for a, v in probed)
            + " (5 folds).</li>"
        )
    items.append(
        f"<li><b>Retrieval</b> is measured with {r.utility.get('n', 'n/a')} queries built from "
        f"{_e(r.utility.get('queries', 'parts of each record'))}; every interval is a 95% "
        f"percentile bootstrap over records ({r.config.get('bootstrap', 'n/a')} rounds).</li>"
    )
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
    items.append(f"<li>{_e(STRONGER_ATTACKER)}</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _leak_words(s: dict[str, Any], attributes: dict[str, Any]) -> str:
    """What set the rating, in a client's words: 'the condition of almost every person'."""
    parts = []
    for item in s.get("set_by", []):
        if item["kind"] == "attribute":
            row = attributes[item["attribute"]]
            parts.append(
                f"the {item['attribute'].replace('_', ' ')} of {row.get('correct')} of "
                f"{row.get('n')} people"
            )
        else:
            v = s["top_fields"][item["field"]]
            parts.append(
                f"the {item['field'].replace('_', ' ')} of {v.get('recovered')} of "
                f"{v.get('total')} people attacked"
            )
    return " and ".join(parts)


def recommendations(r: Any) -> str:
    """Three actions, ranked, in the client's words, each tied to what the audit measured."""
    s = r.summary
    out: list[str] = []
    if s.get("status") == "inconclusive":
        out.append(
            "<b>Finish the audit before relying on it.</b> Some attacks did not run (see the "
            "limits); until they do, its verdict is no all-clear."
        )
    what = _leak_words(s, r.attributes)
    if s.get("risk_found") in ("high", "moderate") and what:
        out.append(
            "<b>Protect the stored vectors as you protect the records.</b> Anyone who obtains "
            f"them can learn {_e(what)}: keep them under the same access control, encryption, "
            "retention limits and breach-notification duties as the texts, and do not share "
            "them with a vendor you would not show the records to."
        )
    best = s.get("best_defense")
    if best:
        extra = ""
        if best["name"].startswith("leace:"):
            attr = best["name"].partition(":")[2]
            extra = (
                f" It removes only what a linear model reads of the {_e(attr)}, needs that label "
                "for the records it is fitted on, and leaves names and other facts where they "
                "were."
            )
        out.append(
            f"<b>Apply {_e(best['name'])} before vectors are stored.</b> It lowered what the "
            f"strongest attack recovers from {_pct(best['undefended'])} to "
            f"{_pct(best['leakage'])} of the facts on the same {best['n']} records, and "
            f"retrieval still finds {_pct(best['recall@10'])} of the records in the top 10." + extra
        )
    elif r.defenses:
        out.append(
            "<b>Do not count on the defenses tested.</b> "
            + _e((s.get("no_best_defense") or "none was shown to help").capitalize())
            + ": noise, quantization and truncation at strengths that keep retrieval did not "
            "measurably lower what the attacks recover. Restrict who can read the vectors "
            "instead."
        )
    ident = [
        f
        for f in ("full_name", "last_name", "email", "phone", "address", "dob")
        if (s.get("top_fields", {}).get(f) or {}).get("recovered")
    ]
    if ident:
        out.append(
            "<b>Keep identifying details out of the text you embed.</b> The attacks recovered "
            + ", ".join(_e(f.replace("_", " ")) for f in ident)
            + " from the vectors: replace names, e-mail addresses, phone numbers and addresses "
            "with placeholders before embedding, where search does not need them."
        )
    small = [
        n
        for n, a in r.attacks.items()
        if a.get("status") == "ran" and a.get("n_attacked", 0) < a.get("n_records", 0)
    ]
    out.append(
        "<b>Re-run the audit with a larger budget</b> before the next release"
        + (
            f": the {_e(', '.join(small))} attack covered only part of the records, so its "
            "rates are lower bounds with wide intervals."
            if small
            else ", and after any change of model or of the texts you embed."
        )
    )
    if s.get("risk") == "low" and s.get("status") == "complete":
        out.append(
            "<b>Keep the rating in proportion.</b> Risk is low against these attacks within "
            "this budget; it is a lower bound, not a proof of safety."
        )
    return (
        '<p class="muted">Ranked: the first matters most. Each follows from a number above.</p>'
        "<ol>" + "".join(f"<li>{x}</li>" for x in out[:3]) + "</ol>"
    )
