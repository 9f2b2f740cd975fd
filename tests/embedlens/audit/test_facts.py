"""The audit's fact matcher, both ways: what must count and what must not (issue 19)."""

from __future__ import annotations

import pytest

from embedlens.facts import date_mentions, fact_checks, found


@pytest.mark.parametrize(
    "kind, value, hypothesis",
    [
        ("condition", "Crohn's disease", "crohn crohn"),
        ("condition", "rheumatoid arthritis", "arthritis of the joints, rheumatoid"),
        ("condition", "Major Depressive Disorder", "depressive ... major"),
        ("city", "West Ryanborough", "in ryanborough west"),
        ("state", "New York", "lives in new york"),
        ("address", "19489 Kyle Stream Apt. 578", "kyle stream 19489, 578"),
        ("phone", "555-123-4567", "call (555) 123 4567"),
        ("phone", "555.123.4567", "+1 555 123 4567"),
        ("phone", "5551234567", "555-123-4567 and 1990"),
        ("phone", "555-123-4567", "from (555) 123 - 4567, mail"),  # spaces around a dash
        ("name", "Dr. Ann Lee", "LEE, Ann"),  # titles are no part of a name
        ("dob", "1990-03-07", "born 1990-03-07"),
        ("dob", "1990-03-07", "born 7 March 1990"),
        ("dob", "1990-03-07", "born March 7th, 1990"),
        ("dob", "1990-03-07", "dob 07/03/1990"),
        ("dob", "1990-03-07", "dob 03/07/1990"),
        ("dob", "1990-03-07", "dob 19900307"),
        ("email", "a.lee@example.com", "mail A.Lee@Example.com now"),
    ],
)
def test_facts_that_must_count(kind, value, hypothesis):
    assert found(kind, value, hypothesis)


@pytest.mark.parametrize(
    "kind, value, hypothesis",
    [
        ("condition", "breast cancer", "cancer"),  # half a condition is not the condition
        ("condition", "celiac disease", "celiacs disease"),
        ("city", "Masseyhaven", "massey haven"),
        ("state", "New York", "new jersey"),
        ("phone", "555-123-4567", "call 555 or 1234567"),  # two numbers, never joined
        ("phone", "555-123-4567", "555-123, 4567"),
        ("phone", "555-123-4567", "555-123-4568"),
        ("dob", "1990-03-07", "born 1990, on 03 07"),  # digits across separate numbers
        ("dob", "1990-03-07", "born 8 March 1990"),
        ("dob", "1990-03-07", "dob 1990-07-08"),
        ("dob", "1990-03-07", "19900307123"),
        ("email", "a.lee@example.com", "a.lee@example.org"),
    ],
)
def test_facts_that_must_not_count(kind, value, hypothesis):
    assert not found(kind, value, hypothesis)


def test_names_count_three_ways_and_never_inside_other_words():
    def parts(name, hyp):
        checks = fact_checks({"name": name}, hyp, ["name"])
        return {k: v[0][1] for k, v in checks.items()}

    assert parts("Ann Gould", "gould was here") == {
        "full_name": False,
        "first_name": False,
        "last_name": True,
    }
    assert parts("Ann Gould", "Gould, Ann") == dict.fromkeys(
        ("full_name", "first_name", "last_name"), True
    )
    # substrings of other words: Ann in annual, Lee in Leeds, Gould in Goulden
    assert not any(parts("Ann Lee", "the annual leeds report").values())
    assert not any(parts("Ann Gould", "annabel goulden").values())
    assert parts("Dr. Ann Gould MD", "ann")["first_name"]  # titles are no name
    assert parts("Mary-Jane O'Neil", "mary jane o neil")["full_name"]


def test_date_mentions_reads_several_formats():
    assert date_mentions("1990-03-07") == {(1990, 3, 7)}
    assert date_mentions("7 Mar 1990") == {(1990, 3, 7)}
    assert date_mentions("March 7, 1990") == {(1990, 3, 7)}
    assert date_mentions("1990/13/45") == set()  # no such date
    assert date_mentions("no date here 1990") == set()


def test_score_batch_counts_facts_and_lists_only_those_recovered():
    from embedlens.audit.scoring import aggregate, score_batch

    fields = {"name": "Ann Gould", "phone": "555-123-4567", "condition": "Crohn's disease"}
    per = score_batch([("ref", "gould has crohn crohn; call 555 or 1234567", fields)])
    assert per[0]["found"] == {
        "full_name": [0, 1],
        "first_name": [0, 1],
        "last_name": [1, 1],
        "phone": [0, 1],
        "condition": [1, 1],
    }
    assert sorted(per[0]["values"]) == ["Crohn's disease", "Gould"]
    agg = aggregate(per * 4, bootstrap=0, seed=0)
    assert agg["overall"] == pytest.approx(2 / 5)  # facts recovered over facts, not records
