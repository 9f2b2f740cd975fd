"""Known-truth audits: fixtures whose right answers are known, so the numbers themselves are
checked (issue 19), not only their shape. A hashed bag-of-words toy embedder (conftest) keeps them fast;
distinct texts get distinct vectors, so a nearest neighbour finds an identical text exactly."""

from __future__ import annotations

import pytest

from embedlens.audit import audit
from embedlens.audit.summary import IDENTIFYING, THRESHOLDS, risk_level, summarize
from embedlens.data import load_corpus

N = 40


@pytest.fixture(scope="module")
def victims():
    return load_corpus("pii", n=N, seed=0)


@pytest.fixture(scope="module")
def insider(toy, victims, join_corpora):
    """The attacker's corpus holds the victims' own records (among others)."""
    others = load_corpus("pii", n=30, seed=5)
    return audit(
        toy,
        victims,
        attacker_corpus=join_corpora(others, victims),
        attacks=["nn"],
        defenses=["noise:1000"],
        bootstrap=0,
        progress=False,
    )


@pytest.fixture(scope="module")
def outsider(toy, victims):
    """The attacker holds only records of other people (the pii corpus of another seed)."""
    return audit(
        toy,
        victims,
        attacker_corpus=load_corpus("pii", n=200, seed=7),
        attacks=["nn"],
        defenses=["noise:1000"],
        bootstrap=0,
        progress=False,
    )


def test_an_attacker_holding_the_victims_recovers_every_fact(insider):
    nn = insider.attacks["nearest-neighbour"]
    assert nn["status"] == "ran" and nn["n_attacked"] == N
    assert {r["hypothesis"] for r in nn["records"]} == set(insider.records["texts"])
    for name, f in nn["fields"].items():
        assert f["rate"] == 1.0 and f["recovered"] == f["total"] == N, name
    assert nn["overall"] == 1.0  # facts over facts: not divided by the records
    s = insider.summary
    assert s["status"] == "complete" and s["risk"] == "high"
    assert s["headline"].startswith(
        "Risk high, set by an identifying fact: the nearest-neighbour attack recovered the "
    )
    assert f"of {N} of {N} attacked records (100.0%, 95% CI" not in s["headline"]  # bootstrap=0
    assert f"of {N} of {N} attacked records (100.0%; a guess without the vectors" in s["headline"]


def test_unrelated_attacker_texts_leave_identifying_facts_at_the_prior(outsider):
    nn = outsider.attacks["nearest-neighbour"]
    prior = outsider.summary["prior_fields"]
    for f in IDENTIFYING:
        assert nn["fields"][f]["rate"] <= prior[f] + 0.05, f
    assert nn["fields"]["email"]["rate"] == nn["fields"]["phone"]["rate"] == 0.0
    assert outsider.summary["identifying_rate"] < THRESHOLDS["high_identifying"]
    # what is listed as recovered really occurs in what the attack wrote
    from embedlens.facts import found

    for rec, fields in zip(nn["records"], load_corpus("pii", n=N, seed=0).fields, strict=True):
        for v in rec["values"]:
            kinds = [k for k, val in fields.items() if str(val) == v or v in str(val).split()]
            assert any(found(k, v, rec["hypothesis"]) for k in kinds) or any(
                w.lower() in rec["hypothesis"].lower() for w in v.split()
            )


@pytest.mark.parametrize("fixture", ["insider", "outsider"])
def test_a_defense_that_destroys_the_vectors_leaks_the_prior_at_chance_utility(fixture, request):
    r = request.getfixturevalue(fixture)
    d = r.defense("noise:1000")
    assert d["utility"]["recall@10"] <= 10 / N + 0.15  # chance: 10 of N
    prior = r.summary["prior_fields"]
    for mode in ("adaptive", "non_adaptive"):
        fields = d["leakage"][mode]["nearest-neighbour"]["fields"]
        for f in ("full_name", "email", "phone", "dob", "address"):
            assert fields[f] <= prior[f] + 0.05, (mode, f)
    for attr, acc in d["attributes"].items():
        if acc is not None:
            base = r.attributes[attr]["baseline"]
            assert acc <= base + 0.1, attr


@pytest.mark.parametrize(
    "ident, any_fact, gain, risk",
    [
        (0.1999, 0.0, 0.0, "moderate"),
        (0.2, 0.0, 0.0, "high"),
        (0.0, 0.0, 0.1999, "moderate"),
        (0.0, 0.0, 0.2, "high"),
        (0.0199, 0.0, 0.0, "low"),
        (0.02, 0.0, 0.0, "moderate"),
        (0.0, 0.1999, 0.0, "low"),
        (0.0, 0.2, 0.0, "moderate"),
        (0.0, 0.0, 0.0499, "low"),
        (0.0, 0.0, 0.05, "moderate"),
        (0.0, 0.0, 0.0, "low"),
    ],
)
def test_risk_rule_at_each_threshold(ident, any_fact, gain, risk):
    assert risk_level(ident, any_fact, gain) == risk


def _att(rates):
    fields = {k: {"rate": v, "recovered": int(v * 100), "total": 100} for k, v in rates.items()}
    return {"status": "ran", "fields": fields}


class _Plan:
    text = "1 s"


def test_summary_reads_rates_over_the_prior_and_runs_the_rule():
    # 25% of full names but a prior of 10%: 15% beyond it, so moderate, not high
    s = summarize({"a": _att({"full_name": 0.25})}, {}, {}, [], _Plan(), {"full_name": 0.1})
    assert s["risk"] == "moderate" and s["identifying_rate"] == pytest.approx(0.15)
    s = summarize({"a": _att({"full_name": 0.3})}, {}, {}, [], _Plan(), {"full_name": 0.1})
    assert s["risk"] == "high"
    assert (
        "the a attack recovered the full name of 30 of 100 attacked records (30.0%; a guess "
        "without the vectors: 10.0%)" in s["headline"]
    )
    # a first name alone is no identifying fact: the rating is set by "a recovered fact"
    s = summarize({"a": _att({"first_name": 0.5})}, {}, {}, [], _Plan())
    assert s["risk"] == "moderate" and s["set_by"] == [{"kind": "fact", "field": "first_name"}]
    assert s["headline"].startswith("Risk moderate, set by a recovered fact: the a attack")
    # a probe sets the rating: the headline leads with it, names come after
    attrs = {"state": {"accuracy": 0.40, "baseline": 0.2, "correct": 40, "n": 100}}
    s = summarize({"a": _att({"full_name": 0.01})}, attrs, {}, [], _Plan(), attacker_records=300)
    assert s["risk"] == "high" and s["set_by"] == [{"kind": "attribute", "attribute": "state"}]
    assert s["headline"].startswith(
        "Risk high, set by attribute inference: a linear probe on the vectors infers the state "
        "of 40 of 100 records (40.0%) against a majority baseline of 20.0%."
    )
    assert (
        "Identifying facts: the a attack recovered the full name of 1 of 100 attacked"
        in (s["headline"])
    )
    assert "holds the stored vectors, 300 records of its own and query access" in s["headline"]


def test_no_attack_ran_is_inconclusive_never_low():
    skipped = {"guided": {"status": "skipped", "reason": "not available"}}
    s = summarize(skipped, {}, {}, [], _Plan())
    assert s["status"] == s["risk"] == "inconclusive"
    assert s["headline"].startswith("Inconclusive: no attack ran")
    both = {**skipped, "a": _att({"email": 0.0})}
    s = summarize(both, {}, {}, [], _Plan())
    assert s["status"] == s["risk"] == "inconclusive" and s["risk_found"] == "low"
    high = {**skipped, "a": _att({"email": 0.5})}
    s = summarize(high, {}, {}, [], _Plan())
    assert s["status"] == "inconclusive" and s["risk"] == "high"


# --------------------------------------------------------------------------- the ranking rule


@pytest.fixture(scope="module")
def ranked(toy, victims, join_corpora):
    """The insider attack against a defense that destroys the vectors and one that does
    nothing, with intervals (bootstrap on)."""
    others = load_corpus("pii", n=30, seed=5)
    return audit(
        toy,
        victims,
        attacker_corpus=join_corpora(others, victims),
        attacks=["nn"],
        defenses=["noise:1000", "noise:1e-9"],
        bootstrap=200,
        progress=False,
    )


def test_the_ranking_rule_ranks_a_real_defense_and_not_a_null_one(ranked):
    strong, null = ranked.defense("noise:1000"), ranked.defense("noise:1e-09")
    assert strong["vs_none"]["verdict"] == "lower" and strong["vs_none"]["n"] == N
    assert strong["vs_none"]["diff_ci"][1] < 0
    assert null["vs_none"]["verdict"] == "not separable" and null["vs_none"]["diff"] == 0.0
    for row in null["leakage"]["non_adaptive"].values():
        assert row["vs_none"]["verdict"] == "not separable"
    # neither is the best defense: one loses retrieval, the other separates from nothing
    s = ranked.summary
    assert s["best_defense"] is None and s["defenses_shown"] == []
    assert s["no_best_defense"] == (
        "no defense that keeps 90% of the clean recall@10 separates from none against the "
        f"strongest attack at n = {N} records"
    )


def test_too_few_records_are_not_separable(toy, join_corpora):
    few = load_corpus("pii", n=12, seed=0)
    r = audit(
        toy,
        few,
        attacker_corpus=join_corpora(load_corpus("pii", n=30, seed=5), few),
        attacks=["nn"],
        defenses=["noise:1000"],
        bootstrap=200,
        progress=False,
    )
    d = r.defense("noise:1000")
    assert d["leakage_score"] < 0.5 * r.defense("none")["leakage_score"]  # truly lower...
    assert d["vs_none"]["verdict"] == "not separable" and d["vs_none"]["n"] == 12  # ...unranked
