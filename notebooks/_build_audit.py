"""Write notebooks/audit.ipynb, executed (run: .venv/bin/python notebooks/_build_audit.py).

Its first code cell is tagged "parameters": SMOKE = True picks a budget that runs in well under
a minute on two CPU cores (120 records, the two cheap attacks, four defenses); SMOKE = False runs
the default audit (`make demo`'s). The reports go to ``audit-out/`` beside the notebook and are
shown inline; tests/notebooks/test_audit_notebook.py executes it and checks what it claims.
"""

from __future__ import annotations

from _nbbuild import write_notebook

CELLS: list[tuple[str, str]] = [
    (
        "md",
        """# The privacy audit: what do these vectors give away, and what does a defense cost?

Vector databases and embedding APIs hold vectors of private text as if they were anonymous. The
audit answers the questions an auditor has, in one call:

1. **What leaks.** Attacks that hold only the vectors (and made-up records of other people)
   try to write the text back; every private fact of every record (full name, first name and
   last name counted separately, email, phone, address, date of birth, city, state, condition)
   is checked in what they wrote, with bootstrap intervals and the embedder queries each attack
   needed.
2. **What can be inferred.** Linear probes from the vectors to sensitive attributes
   (condition, state, age band) against the majority baseline.
3. **What defenses buy.** Gaussian noise, int8 and binary quantization, dimension truncation and
   LEACE erasure of an attribute: retrieval quality (recall@1/@10 of queries made from a
   record's name and city) against leakage, for an attacker trained on clean vectors
   (non-adaptive) and one retrained on defended vectors (adaptive). Every learned defense is
   fitted out of fold, and each faces every attack that ran.

The verdict follows a rule printed on the report: a status (*complete*, or *inconclusive* when
an attack asked for did not run) and a risk (high, moderate, low). The tests of this repository
run this notebook and check every claim its text makes.

This notebook runs an audit from Python, reads the result object, plots one curve, compares two
defenses and writes the HTML report. `embedlens audit` (and `make demo`) do the same from the
command line.""",
    ),
    (
        "params",
        """# Parameters
SMOKE = True     # True: a CI-sized audit (under a minute on 2 CPU cores); False: the default audit
SEED = 0
THREADS = 1      # torch threads: on a shared 2-core CPU one thread is the fast choice
RECORDS = None   # victim records (120 / 300)
BUDGET = None    # the attacks' time budget ("1m" / "5m")
OUT_DIR = "audit-out"  # the reports, beside this notebook""",
    ),
    (
        "code",
        """from pathlib import Path

import pandas as pd
import torch

import embedlens
from embedlens.audit import audit
from embedlens.notebook import show_page, static_figures

static_figures()  # each figure below also carries a picture, for GitHub and other static viewers
torch.set_num_threads(THREADS)
records = RECORDS or (120 if SMOKE else 300)
budget = BUDGET or ("1m" if SMOKE else "5m")
attacks = ["nearest-neighbour", "bag-of-words"] if SMOKE else ["nearest-neighbour", "bag-of-words", "guided"]
defenses = ["noise:0.05", "noise:1", "noise:3", "leace:condition"] if SMOKE else None  # None: the full sweep
options = {"bag-of-words": {"epochs": 60}} if SMOKE else None
print(f"SMOKE={SMOKE}: {records} records, attacks {attacks}, budget {budget}")""",
    ),
    (
        "md",
        """## 1. Run the audit

`embedder` is any embedder spec (here the built-in MiniLM); `corpus` the built-in `pii` corpus of
synthetic personal records, whose ground truth is kept. The attacker's own data are records of
*other* people (another seed), so nothing it recovers is a lookup of the victim.""",
    ),
    (
        "code",
        """result = audit(
    embedder="minilm",
    corpus="pii",
    records=records,
    attacks=attacks,
    defenses=defenses,
    budget=budget,
    seed=SEED,
    attack_options=options,
    bootstrap=50 if SMOKE else 1000,
    progress=False,
)
print(result.summary["headline"])
print("ran:", result.summary["ran"], "| skipped:", result.summary["skipped"] or "none")
print("status:", result.status, "| risk:", result.risk)""",
    ),
    (
        "md",
        """The risk rule, as the report prints it (rates are taken above the *prior*: what a guess
without any vector recovers, e.g. the commonest condition):""",
    ),
    (
        "code",
        """print(result.summary["risk_rule"])
pd.Series(result.summary["prior_fields"], name="prior").round(3).to_frame().T""",
    ),
    (
        "md",
        """## 2. Read the result

`AuditResult` is plain data: `status` and `risk`, `summary` (headline, risk rule, prior, best
defense), `attacks` (per attack: metrics, per-field recovery with intervals, records attacked of
the total, queries per record, what was capped), `attributes`, `utility`, `defenses`, `records`
(per-record leakage and map coordinates). `leakage_table()` flattens the per-field numbers: one
row per attack and fact, a name counted as `full_name`, `first_name` and `last_name`.""",
    ),
    (
        "code",
        """table = pd.DataFrame(result.leakage_table())
table[["attack", "field", "rate", "ci", "recovered", "total"]]""",
    ),
    (
        "code",
        """pd.DataFrame({
    name: {**att["metrics"], "queries/record": att["queries_per_record"],
           "attacked": att["n_attacked"], "of": att["n_records"], "capped": att["capped"]}
    for name, att in result.attacks.items() if att["status"] == "ran"
}).T""",
    ),
    (
        "code",
        """pd.DataFrame(result.attributes).T""",
    ),
    (
        "md",
        """## 3. One curve: Gaussian noise

Each point is one noise strength (noise norm relative to the mean record norm), starting at the
undefended vectors; filled markers are the adaptive attacker, hollow ones the non-adaptive one,
and the dashed line is the Pareto front (no other defense is both more useful and less leaky).""",
    ),
    (
        "code",
        """result.figure("tradeoff", family="noise")""",
    ),
    (
        "md",
        """## 4. Compare two defenses

Noise blurs every direction of the space; LEACE removes exactly the directions that predict the
condition. Compare what each keeps of retrieval and what it takes away from the attacker.""",
    ),
    (
        "code",
        """def row(d):
    return {
        "recall@1": d["utility"]["recall@1"],
        "recall@10": d["utility"]["recall@10"],
        "leakage (strongest attack)": d["leakage_score"],
        "leakage (non-adaptive)": d["leakage_score_non_adaptive"],
        **{f"{a} probe": v for a, v in d["attributes"].items() if v is not None},
        **{f"{a} side effect": v for a, v in d["side_effects"].items()},
    }


pd.DataFrame({name: row(result.defense(name)) for name in ("none", "noise:1", "leace:condition")}).T.round(3)""",
    ),
    (
        "md",
        """## 5. The report

`to_html` writes `index.html` (self-contained: plotly.js inlined, every corpus text escaped) and
`result.json` with every number; `embedlens audit --compare A B` diffs two such results. The page
holds the threat model, methodology, glossary, limitations and recommendations an auditor signs.
It shows the original records beside what was recovered, so it is itself sensitive: without
`redact=True` a warning says so at the top; with it, each record's name, email, phone, address,
date of birth and city are masked on the page and in `result.json` (`pdf=True` also prints
`report.pdf` through headless Chromium; `embedlens report` re-renders a saved result).""",
    ),
    (
        "code",
        """out = Path(OUT_DIR)
page = result.to_html(out / "audit", overwrite=True)
redacted = result.to_html(out / "audit-redacted", redact=True, overwrite=True)
print(page, f"{page.stat().st_size / 1e6:.1f} MB:", sorted(p.name for p in page.parent.iterdir()))
print("the JSON holds the same result:", embedlens.AuditResult.from_json(page.parent) == result)
show_page(page)""",
    ),
    (
        "md",
        """The redacted copy, safe to hand over: the same numbers, the records masked.""",
    ),
    ("code", """show_page(redacted)"""),
    (
        "md",
        """**Reading the numbers.** The nearest-neighbour attack can only answer with someone else's
record, so it never recovers a victim's full name (a first name shared with someone else may
count: the rule prefers over-reporting to missing a disclosure); yet it returns a record with the
victim's medical condition far more often than the prior, because the condition is what MiniLM's
vector of such a note encodes most strongly, and the probe reads the condition off the vector
almost perfectly. Small noise leaves retrieval and leakage nearly where they were; large noise
removes the leak only by destroying retrieval. LEACE of the condition, fitted inside the folds,
takes the condition probe to its majority baseline (chance, no lower) and removes most of the
leak, while keeping almost all of the retrieval quality: for this attribute it is the better
trade, and the audit names it the best defense. Its side effects on the other attributes'
probes are listed beside it: LEACE protects only the attribute it was given.
In smoke mode the corpus is small and the intervals wide; `SMOKE = False` runs the default audit
(300 records, zero-shot guided decoding, the full defense sweep).""",
    ),
    (
        "code",
        """nn = result.attacks["nearest-neighbour"]["fields"]
prior = result.summary["prior_fields"]
clean = result.defense("none")
noises = sorted((d for d in result.defenses if d["name"].startswith("noise:")),
                key=lambda d: float(d["name"].split(":")[1]))
print(f"nearest neighbour: full name {nn['full_name']['rate']:.0%}, condition "
      f"{nn['condition']['rate']:.0%} (prior {prior['condition']:.0%}); condition probe "
      f"{result.attributes['condition']['accuracy']:.0%}; best defense: "
      f"{result.summary['best_defense']['name']}")
pd.DataFrame({
    d["name"]: {"recall@10": d["utility"]["recall@10"], "leakage": d["leakage_score"],
                "condition probe": d["attributes"].get("condition")}
    for d in [clean, noises[0], noises[-1], result.defense("leace:condition")]
}).T.round(3)""",
    ),
]


if __name__ == "__main__":
    write_notebook(CELLS, "audit.ipynb")
