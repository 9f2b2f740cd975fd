"""notebooks/audit.ipynb runs, shows its figure and reports, and its claims hold."""

from __future__ import annotations

import pytest
from notebook_runs import executed, images, output_problems

pytestmark = pytest.mark.slow

FACTS = """
import html as _html
victim = embedlens.load_corpus("pii", n=records, seed=SEED).fields[0]
text = page.read_text(encoding="utf-8")
masked = redacted.read_text(encoding="utf-8")
FACTS["status"] = result.status
FACTS["skipped"] = result.summary["skipped"]
FACTS["ran"] = list(result.summary["ran"])
FACTS["attacks"] = list(attacks)
FACTS["risk"] = [result.risk, result.summary["risk_found"]]
FACTS["fields"] = sorted(set(table["field"]))
FACTS["totals"] = sorted(set(map(int, table["total"])))
FACTS["table_attacks"] = sorted(set(table["attack"]))
FACTS["records"] = records
FACTS["json_same"] = embedlens.AuditResult.from_json(page.parent) == result
FACTS["sections"] = {s: [s in text, s in masked] for s in
                     ("Threat model", "Methodology", "Glossary", "Limitations", "Recommendations")}
FACTS["victim"] = {k: [_html.escape(victim[k]) in text, _html.escape(victim[k]) in masked]
                   for k in ("email", "phone")}
FACTS["warning"] = ["This report is sensitive" in text, "This report is sensitive" in masked]
FACTS["nn"] = {k: nn[k]["rate"] for k in ("full_name", "condition")}
FACTS["prior_condition"] = prior["condition"]
FACTS["cond"] = [result.attributes["condition"]["accuracy"], result.attributes["condition"]["baseline"]]
def _d(d):
    return {"recall10": d["utility"]["recall@10"], "leak": d["leakage_score"],
            "cond": d["attributes"].get("condition"), "failed": bool(d["failed"]),
            "side": sorted(d["side_effects"]),
            "attrs": sorted(a for a, v in d["attributes"].items() if v is not None)}
FACTS["clean"] = _d(clean)
FACTS["small"] = _d(noises[0])
FACTS["large"] = _d(noises[-1])
FACTS["leace"] = _d(result.defense("leace:condition"))
FACTS["best"] = result.summary["best_defense"]["name"]
"""


run = executed("audit.ipynb", FACTS)


def test_it_runs_and_shows_the_curve_and_both_reports(run):
    nb, _ = run
    assert output_problems(nb) == []
    pictures = images(nb)
    assert len(pictures) >= 3  # the trade-off curve, the report and its redacted copy
    pages = [
        data
        for _, data in pictures
        if "text/html" in data and "open index.html" in data["text/html"]
    ]
    assert len(pages) == 2 and all('href="audit-out/audit' in p["text/html"] for p in pages)


def test_every_attack_ran_so_the_audit_is_complete(run):
    _, f = run
    assert f["status"] == "complete" and not f["skipped"]
    assert set(f["ran"]) == set(f["attacks"])
    assert f["risk"][0] in ("high", "moderate", "low") and f["risk"][0] == f["risk"][1]


def test_every_fact_of_every_record_is_checked(run):
    _, f = run
    assert f["fields"] == sorted(
        ["full_name", "first_name", "last_name", "email", "phone", "address", "dob", "city",
         "state", "condition"]
    )  # fmt: skip
    assert f["totals"] == [f["records"]] and f["table_attacks"] == sorted(f["attacks"])


def test_the_report_and_its_redacted_copy(run):
    _, f = run
    assert f["json_same"]
    assert all(both == [True, True] for both in f["sections"].values()), f["sections"]
    assert f["victim"] == {"email": [True, False], "phone": [True, False]}
    assert f["warning"] == [True, False]


def test_reading_the_numbers(run):
    _, f = run
    assert f["nn"]["full_name"] == 0.0
    assert f["nn"]["condition"] > 3 * f["prior_condition"] and f["nn"]["condition"] > 0.5
    accuracy, baseline = f["cond"]
    assert accuracy >= 0.9
    clean, small, large, leace = f["clean"], f["small"], f["large"], f["leace"]
    assert abs(small["recall10"] - clean["recall10"]) <= 0.05
    assert abs(small["leak"] - clean["leak"]) <= 0.02
    assert large["leak"] < clean["leak"] and large["recall10"] < clean["recall10"] - 0.2
    assert abs(leace["cond"] - baseline) <= 0.05
    assert leace["leak"] < 0.6 * clean["leak"] and leace["recall10"] >= 0.95 * clean["recall10"]
    assert not leace["failed"] and f["best"] == "leace:condition"
    assert leace["side"] == leace["attrs"]
