"""Redaction a reviewer cannot fault (issues 25 and 28): every output of a redacted report
searched for the identifiers of everyone in it, with and without ground-truth fields."""

from __future__ import annotations

import copy
import json
import re

import pytest
from redaction_check import data_texts, identifier_leaks, report_outputs

from embedlens.audit import audit
from embedlens.audit.identifiers import find_terms
from embedlens.audit.redact import mask, redacted
from embedlens.audit.report import render_html
from embedlens.data import load_corpus

CHROMIUM = __import__("interpret.maps.export", fromlist=["find_chromium"]).find_chromium()


def test_a_mask_covers_stems_strangers_local_parts_and_digits():
    me = {
        "name": "Kathy Baker",
        "email": "kbaker77@mail.com",
        "phone": "(555) 123-4567",
        "address": "12 Elm Row",
        "city": "Kathyview",
        "dob": "1980-02-03",
    }
    everyone, own = find_terms(["Joe Smith wrote to Kathy."], [me])
    text = (
        "kathy BAKER, Kathymouth near Johntown and Smithhaven; ask Joe Smith or pattylawrence; "
        "kbaker77; 555.123.4567 x12; 5551234567; born 3 February 1980; 12 Elm Row, Kathyview"
    )
    out = mask(text, everyone, own[0])
    assert out == (
        "[first name] [last name], [place] near [place] and [place]; ask [name] [name] or "
        "[name]; [email]; [phone]; [phone]; born [date of birth]; [address], [city]"
    )
    # an initial glued to a name is an e-mail's local part, whoever's it is
    assert mask("write to pthompson in time", everyone) == "write to [email] in time"
    # another record's text: the same words get the generic labels
    assert mask("Kathy Baker of Kathyview", everyone) == "[name] [name] of [place]"
    # with ground truth, a state is an attribute and stays; a condition's words stay
    assert mask("Maryland, Virginia: major depressive disorder", everyone) == (
        "Maryland, Virginia: major depressive disorder"
    )


def test_without_ground_truth_names_places_emails_phones_and_dates_are_found():
    texts = [
        "Clinic intake note: Cindy Harmon (DOB 1961-07-02) of 364 Sabrina Trafficway, "
        "Mooreland, Ohio. Contact cindy.h@example.org or 212 555 0199.",
        "Support ticket from Orrin Vasquez-Teller, 88 Quay Lane, Brightwater.",
    ]
    everyone, _ = find_terms(texts)
    out = [mask(t, everyone) for t in texts]
    assert out == [
        "Clinic intake note: [name] [name] (DOB [date]) of [address], [place]. Contact [email] "
        "or [number].",
        "Support ticket from [name] [name]-[name], [address].",
    ]
    # a name no gazetteer holds is found by spaCy, and masked in every text it stands in
    assert mask("orrin said hello", everyone) == "[name] said hello"


def _prose_words(result):
    """The words the report writes itself (its page with every record text blanked)."""
    blank = copy.deepcopy(result)
    blank.records["texts"] = ["" for _ in blank.records["texts"]]
    for att in blank.attacks.values():
        for rec in att.get("records", []):
            rec["hypothesis"], rec["values"] = "", []
    page = re.sub(
        r"<script type=\"text/javascript\">.*?</script>",
        " ",
        render_html(blank),
        count=1,
        flags=re.S,
    )
    return set(re.findall(r"[^\W\d_]+", page.casefold()))  # plotly.js is no prose


def _check_every_output(folder, people, result):
    outputs = report_outputs(folder)
    assert set(outputs) >= {"index.html", "result.json"}
    skip = _prose_words(result)
    for name, text in outputs.items():
        leaks = identifier_leaks(text, people, skip=skip)
        assert leaks == [], (name, leaks[:10])
    # the data alone, where a name that is also a word of the prose ('White') is searched too
    leaks = identifier_leaks(data_texts(folder), people)
    assert leaks == [], ("texts", leaks[:10])
    return outputs


@pytest.fixture(scope="module")
def ground_truth_audit(toy, join_corpora):
    victims = load_corpus("pii", n=30, seed=0)
    others = load_corpus("pii", n=20, seed=5)
    result = audit(
        toy,
        victims,
        attacker_corpus=join_corpora(others, victims.subset(range(15))),
        attacks=["nn"],
        defenses=["noise:0.05"],
        bootstrap=20,
        progress=False,
    )
    return result, [*victims.fields, *others.fields]


def test_a_redacted_report_holds_no_identifier_of_anyone(ground_truth_audit, tmp_path):
    result, people = ground_truth_audit
    unmasked = result.to_html(tmp_path / "plain").parent
    assert identifier_leaks(report_outputs(unmasked)["index.html"], people)  # the check works
    folder = result.to_html(tmp_path / "masked", redact=True, pdf=CHROMIUM is not None).parent
    outputs = _check_every_output(folder, people, result)
    if CHROMIUM is not None:
        assert "[first name]" in outputs["report.pdf"] or "[name]" in outputs["report.pdf"]
    data = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    # the facts stay marked and countable; the numbers are as measured
    page = outputs["index.html"]
    assert re.search(r"<mark>[^<]*\[(?:first |last )?name\][^<]*</mark>", page)
    nn = data["attacks"]["nearest-neighbour"]
    assert nn["fields"] == result.attacks["nearest-neighbour"]["fields"]
    # every run of three digits or more in a text is masked
    texts = data["records"]["texts"] + [r["hypothesis"] for r in nn["records"]]
    assert not any(re.search(r"\d{3}", t) for t in texts)


def test_redaction_without_ground_truth_on_a_corpus_file(toy, tmp_path):
    """A user's own corpus: names, addresses, cities, e-mails, phones and dates found by NER and
    patterns are masked everywhere, including the other people's records the attack returns."""
    people = load_corpus("pii", n=40, seed=3)
    notes = tmp_path / "notes.txt"
    notes.write_text("\n".join(people.texts) + "\n", encoding="utf-8")
    result = audit(
        toy, str(notes), attacks=["nn"], defenses=[], bootstrap=0, records=None, progress=False
    )
    assert not result.config["corpus"]["fields"]
    folder = result.to_html(tmp_path / "r", redact=True, pdf=CHROMIUM is not None).parent
    _check_every_output(folder, people.fields, result)
    plain = redacted(result)
    answers = [r["hypothesis"] for r in plain.attacks["nearest-neighbour"]["records"]]
    assert all("[name]" in a for a in answers)  # the other people's records, masked too
