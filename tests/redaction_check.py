"""Search the outputs of a redacted report for the identifiers of the people in it.

Written apart from the redaction itself (``embedlens.audit.identifiers``): it knows the records'
ground truth and looks for each identifier the way a reviewer would, in the page (the text a
reader sees and the figures' data, not plotly.js), in ``result.json`` and in the PDF's text.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from embedlens.facts import date_mentions

#: the place suffixes of Faker's en_US cities, and a plural "s": a name glued to one is a stem
SUFFIXES = [
    "town",
    "ton",
    "land",
    "ville",
    "berg",
    "burgh",
    "borough",
    "bury",
    "view",
    "port",
    "mouth",
    "stad",
    "furt",
    "chester",
    "fort",
    "haven",
    "side",
    "shire",
    "s",
]
#: US states (a state is an attribute of these records, and "Maryland" no stem of "Mary")
_STATES = {
    w.casefold()
    for s in __import__("faker.providers.address.en_US", fromlist=["Provider"]).Provider.states
    for w in s.split()
}
#: words of an address or city that identify no one: street kinds ("Mountains") and prefixes
_GENERIC = {
    w.casefold()
    for w in [
        *__import__(
            "faker.providers.address.en_US", fromlist=["Provider"]
        ).Provider.street_suffixes,
        *[
            "apt",
            "suite",
            "unit",
            "north",
            "east",
            "west",
            "south",
            "new",
            "lake",
            "port",
            "the",
            "of",
            "and",
            "mr",
            "mrs",
            "ms",
            "dr",
        ],
    ]
}


def page_text(index_html: str | Path) -> str:
    """What the page shows and carries as data: its HTML without plotly.js (the first, largest
    script, a library whose code is full of words such as 'case' and 'key'), unescaped."""
    text = Path(index_html).read_text(encoding="utf-8")
    text = re.sub(r"<script type=\"text/javascript\">.*?</script>", " ", text, count=1, flags=re.S)
    return html.unescape(text)


def pdf_text(pdf: str | Path) -> str:
    """The text of every page of a PDF (pypdf, a dev dependency), ligatures such as 'ﬁ'
    unfolded (NFKC), so that 'Griﬃn' is searched as 'Griffin'."""
    import unicodedata

    from pypdf import PdfReader

    text = "\n".join(page.extract_text() or "" for page in PdfReader(str(pdf)).pages)
    return unicodedata.normalize("NFKC", text)


def report_outputs(folder: str | Path) -> dict[str, str]:
    """``{name: text}`` of every output of a report folder: index.html, result.json, report.pdf."""
    folder = Path(folder)
    out = {"index.html": page_text(folder / "index.html")}
    out["result.json"] = "\n".join(_strings(json.loads((folder / "result.json").read_text())))
    if (folder / "report.pdf").is_file():
        out["report.pdf"] = pdf_text(folder / "report.pdf")
    return out


def data_texts(folder: str | Path) -> str:
    """The texts a report's ``result.json`` shows (records, what the attacks wrote, the facts
    they recovered): data only, where no word of the report's own prose can stand."""
    data = json.loads((Path(folder) / "result.json").read_text(encoding="utf-8"))
    texts = list(data["records"]["texts"])
    for att in data["attacks"].values():
        for rec in att.get("records", []):
            texts += [rec["hypothesis"], *rec.get("values", [])]
    return "\n".join(texts)


def _strings(node: Any) -> Iterable[str]:
    """Every string of a JSON document, keys included (its numbers are measurements)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)


def _words(value: str) -> list[str]:
    return [w.casefold() for w in re.findall(r"[^\W\d_]+", value)]


def _numbers(text: str) -> list[str]:
    """The digits of each number in ``text``, separators (spaces, dots, dashes, brackets)
    allowed; a measurement with five or more decimals (a plotted coordinate) is no number here."""
    runs = re.findall(r"\+?\(?\d[\d\s().\-/x]*\d|\d", text)
    return [re.sub(r"\D", "", m) for m in runs if not re.search(r"\d\.\d{5}", m)]


def identifier_leaks(
    text: str, fields: Iterable[Mapping[str, Any]], *, skip: Iterable[str] = ()
) -> list[str]:
    """Every identifier of the ``fields`` (one dict per person) found in ``text``.

    Names, street and city words as words, or as the stem of a word ending in a place suffix
    ('Kathyview'); e-mails, and their local parts (inside any word when 4 characters or
    longer, else as a word); phone numbers by their last 7 digits within any number; dates of
    birth as dates. Words in ``skip`` (the report's own prose, such as 'best') are not searched
    for as words or stems.
    """
    low = text.casefold()
    words = set(re.findall(r"[^\W\d_]+", low))
    numbers = _numbers(text)
    dates = date_mentions(text)
    skip = {s.casefold() for s in skip}
    found: list[str] = []
    for f in fields:
        parts = [w for w in _words(str(f.get("name", ""))) if len(w) >= 3 and w not in _GENERIC]
        places = [
            w
            for k in ("address", "city")
            for w in _words(str(f.get(k, "")))
            if len(w) >= 3 and w not in _GENERIC
        ]
        for w in [*parts, *places]:
            if w in words and w not in skip:
                found.append(f"word {w!r}")
            stems = [
                x for x in words - skip - _STATES if x.startswith(w) and x[len(w) :] in SUFFIXES
            ]
            found.extend(f"stem {x!r} of {w!r}" for x in stems)
        email = str(f.get("email", "")).casefold()
        if email:
            local = email.partition("@")[0]
            if email in low or (len(local) >= 4 and local in low) or local in words:
                found.append(f"email {email!r}")
        phone = re.sub(r"\D", "", str(f.get("phone", "")))[-7:]
        if phone and any(phone in n for n in numbers):
            found.append(f"phone {f['phone']!r}")
        if f.get("dob") and date_mentions(str(f["dob"])) & dates:
            found.append(f"date of birth {f['dob']!r}")
    return found
