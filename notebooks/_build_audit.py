"""Write notebooks/audit.ipynb (run: .venv/bin/python notebooks/_build_audit.py).

The notebook is executed in CI (`pytest --nbmake`); its first code cell is tagged "parameters":
SMOKE = True picks a budget that runs in well under a minute on two CPU cores (120 records, the
two cheap attacks, four defenses); SMOKE = False runs the default audit (`make demo`'s).
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
   try to write the text back; every private fact of every record (name, email, phone, address,
   date of birth, city, state, condition) is checked in what they wrote, with bootstrap
   intervals and the embedder queries each attack needed.
2. **What can be inferred.** Linear probes from the vectors to sensitive attributes
   (condition, state, age band) against the majority baseline.
3. **What defenses buy.** Gaussian noise, int8 and binary quantization, dimension truncation and
   LEACE erasure of an attribute: retrieval quality (recall@1/@10 of queries made from a
   record's name and city) against leakage, for an attacker trained on clean vectors
   (non-adaptive) and one retrained on defended vectors (adaptive).

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
BUDGET = None    # the attacks' time budget ("1m" / "5m")""",
    ),
    (
        "code",
        """import tempfile

import pandas as pd
import torch

import embedlens
from embedlens.audit import audit

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
print("ran:", result.summary["ran"], "| skipped:", result.summary["skipped"] or "none")""",
    ),
    (
        "md",
        """## 2. Read the result

`AuditResult` is plain data: `attacks` (per attack: metrics, per-field recovery with intervals,
queries per record, what was scaled down), `attributes`, `utility`, `defenses`, `records`
(per-record leakage and map coordinates). `leakage_table()` flattens the per-field numbers.""",
    ),
    (
        "code",
        """pd.DataFrame(result.leakage_table())[["attack", "field", "rate", "ci", "recovered", "total"]]""",
    ),
    (
        "code",
        """pd.DataFrame({
    name: {**att["metrics"], "queries/record": att["queries_per_record"], "records": att["n_attacked"]}
    for name, att in result.attacks.items() if att["status"] == "ran"
}).T.round(3)""",
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
        "leakage (adaptive)": d["leakage_score"],
        "leakage (non-adaptive)": d["leakage_score_non_adaptive"],
        **{f"{a} probe": v for a, v in d["attributes"].items()},
    }


pd.DataFrame({name: row(result.defense(name)) for name in ("none", "noise:1", "leace:condition")}).T.round(3)""",
    ),
    (
        "md",
        """## 5. The report

`to_html` writes `index.html` (self-contained: plotly.js inlined, every corpus text escaped) and
`result.json` with every number; `embedlens audit --compare A B` diffs two such results.""",
    ),
    (
        "code",
        """with tempfile.TemporaryDirectory() as folder:
    page = result.to_html(f"{folder}/audit")
    print(page.name, f"{page.stat().st_size / 1e6:.1f} MB", sorted(p.name for p in page.parent.iterdir()))
    again = embedlens.AuditResult.from_json(page.parent)
print("the JSON holds the same result:", again == result)""",
    ),
    (
        "md",
        """**Reading the numbers.** The nearest-neighbour attack can only answer with someone else's
record, so it never names the victim; yet it returns a record with the victim's medical condition
far more often than chance, because the condition is what MiniLM's vector of such a note encodes
most strongly, and the probe reads the condition off the vector almost perfectly. Small noise
leaves retrieval and leakage nearly where they were; large noise removes the leak only by
destroying retrieval. LEACE of the condition takes the condition probe to or below the majority
baseline (below: the eraser is fitted on all records, so a probe trained on the other folds points
the wrong way) and removes most of the leak, while keeping almost all of the retrieval quality:
for this attribute it is the better trade.
In smoke mode the corpus is small and the intervals wide; `SMOKE = False` runs the default audit
(300 records, zero-shot guided decoding, the full defense sweep).""",
    ),
]


if __name__ == "__main__":
    write_notebook(CELLS, "audit.ipynb")
