"""The fact matcher: which private facts of a record a recovered text gives away.

One matcher for the whole house: the audit's scores (:mod:`embedlens.audit.scoring`, a name
counted three ways by :func:`fact_checks`) and :func:`inversion.entity_recovery` (each field, or
each spaCy entity, by :func:`found`) both read a text's facts through it.

The rule (the audit's report prints :data:`RULE`):

- **names** count three ways, separately: the first name, the last name and the full name. A
  name part counts when it occurs as a whole word (``"ann"`` is not found in ``"annual"``); the
  full name counts when every part occurs, in any order.
- **conditions, places and addresses** match by normalised token sets: case-folded, accents
  and punctuation removed, a possessive ``'s`` dropped, words such as *disease* or *apt* that
  say nothing about the person left out; the fact counts when every remaining token occurs as a
  word of the recovered text, in any order (``"arthritis ... rheumatoid"`` is rheumatoid
  arthritis, ``"crohn crohn"`` is Crohn's disease).
- **phone numbers** compare digits within one number: a run of digits that may hold a space,
  a dot, dash or slash (spaces around it allowed) or brackets between digit groups, never
  across words or commas (``"555 or
  1234567"`` is two numbers); a prefix beyond the last 10 digits is ignored.
- **dates** are read in several formats (``1990-03-07``, ``07/03/1990``, ``03/07/1990``,
  ``7 March 1990``, ``March 7, 1990``, ``19900307``) and compared as dates.
- **emails** compare case-folded, with whitespace removed.

The rule prefers over-reporting partial disclosure to missing it: a surname alone, or a
condition's words out of order, counts as recovered.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

__all__ = [
    "GENERIC",
    "NAME_PARTS",
    "NUMBER",
    "RULE",
    "TITLES",
    "date_mentions",
    "fact_checks",
    "found",
    "tokens",
]

#: what a ``name`` field is counted as
NAME_PARTS: tuple[str, ...] = ("full_name", "first_name", "last_name")
#: the matching rule in plain words, as the report prints it
RULE = (
    "Names count three ways, separately: first name, last name and full name, each part as a "
    "whole word (a name inside another word does not count), the full name when every part "
    "occurs in any order. Conditions, places and addresses match by normalised token sets "
    "(case, accents, punctuation and a possessive 's ignored; generic words such as 'disease', "
    "'disorder' or 'apt' left out): every remaining word must occur, in any order. Phone "
    "numbers compare digits within one number (never joined across separate numbers; a prefix "
    "beyond the last 10 digits ignored). Dates are read in several formats (ISO, day/month, "
    "month/day, '7 March 1990', 'March 7, 1990') and compared as dates. Emails compare "
    "case-insensitively without whitespace. The rule prefers over-reporting partial disclosure "
    "(a surname alone, a condition's words out of order) to missing it."
)
#: words that name no one: left out of a token-set fact
GENERIC = frozenset(
    [
        "the",
        "of",
        "and",
        "a",
        "an",
        "in",
        "on",
        "at",
        "disease",
        "disorder",
        "syndrome",
        "condition",
        "apt",
        "apt.",
        "suite",
        "unit",
        "ste",
        "no",
        "number",
    ]
)
#: titles and suffixes that are no part of a person's name
TITLES = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "miss",
        "dr",
        "prof",
        "md",
        "phd",
        "dds",
        "dvm",
        "jr",
        "sr",
        "ii",
        "iii",
        "iv",
    ]
)
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for m in names
}
#: one number: digit groups joined by one separator (a space; a dot, dash or slash with a space
#: either side or none; a bracket), so "555 123 - 4567" is one number, "555-123, 4567" two
NUMBER = re.compile(r"\+?\(?\d+(?:(?: ?[.\-/] ?| |\) ?)\(?\d+)*")
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_D_MONTH_Y = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH})\.?,?\s+(\d{{4}})\b")
_MONTH_D_Y = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b")


def tokens(text: str) -> list[str]:
    """Normalised words: case-folded, accents and punctuation removed, possessive 's dropped."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = re.sub(r"['’]s\b", "", text)
    return re.findall(r"[a-z0-9]+", text)


def _numbers(text: str) -> list[str]:
    """The digits of each separate number in ``text``."""
    return [re.sub(r"\D", "", m) for m in NUMBER.findall(text)]


def date_mentions(text: str) -> set[tuple[int, int, int]]:
    """Every ``(year, month, day)`` that ``text`` can be read to mention.

    Examples
    --------
    >>> sorted(date_mentions("born 7 March 1990"))
    [(1990, 3, 7)]
    >>> sorted(date_mentions("03/07/1990"))
    [(1990, 3, 7), (1990, 7, 3)]
    """
    low = text.casefold()
    out: set[tuple[int, int, int]] = set()
    for d, mon, y in _D_MONTH_Y.findall(low):
        out.add((int(y), _MONTHS[mon], int(d)))
    for mon, d, y in _MONTH_D_Y.findall(low):
        out.add((int(y), _MONTHS[mon], int(d)))
    for m in re.finditer(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b", low):
        out.add((int(m[1]), int(m[2]), int(m[3])))
    for m in re.finditer(r"\b(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})\b", low):
        a, b, y = int(m[1]), int(m[2]), int(m[3])
        out.update({(y, b, a), (y, a, b)})  # day/month and month/day: either reading
    for m in re.finditer(r"\b(\d{4})(\d{2})(\d{2})\b", low):
        out.add((int(m[1]), int(m[2]), int(m[3])))
    return {(y, mo, d) for y, mo, d in out if 1 <= mo <= 12 and 1 <= d <= 31}


def _content(value: str) -> set[str]:
    words = tokens(value)
    kept = {w for w in words if w not in GENERIC}
    return kept or set(words)


def found(kind: str, value: str, hypothesis: str) -> bool:
    """Whether the fact ``value`` of type ``kind`` occurs in ``hypothesis`` (see :data:`RULE`).

    Examples
    --------
    >>> found("condition", "Crohn's disease", "crohn crohn")
    True
    >>> found("phone", "555-123-4567", "call 555 or 1234567")
    False
    >>> found("dob", "1990-03-07", "born on March 7, 1990")
    True
    >>> found("name", "Dr. Ann Lee", "LEE, Ann")
    True
    """
    key = kind.casefold()
    if "phone" in key:
        digits = re.sub(r"\D", "", value)[-10:]
        return bool(digits) and any(digits in n for n in _numbers(hypothesis))
    if key in ("dob", "date", "birthdate") or "date" in key:
        want = date_mentions(value)
        if want:
            return bool(want & date_mentions(hypothesis))
    if "email" in key or "@" in value:
        squeezed = "".join(hypothesis.split()).casefold()
        needle = "".join(value.split()).casefold()
        return bool(needle) and needle in squeezed
    need = _content(value)
    if "name" in key or key == "person":  # "Dr. Ann Lee MD" is found as "ann lee"
        need = {w for w in need if w not in TITLES} or need
    return bool(need) and need <= set(tokens(hypothesis))


def fact_checks(
    fields: Mapping[str, Any], hypothesis: str, names: tuple[str, ...] | list[str]
) -> dict[str, list[tuple[str, bool]]]:
    """Per fact type, ``[(value, recovered)]`` for one record's ground-truth ``fields``.

    A ``name`` field is checked as :data:`NAME_PARTS` (full name, first name, last name).

    Examples
    --------
    >>> fact_checks({"name": "Ann Gould"}, "gould was here", ["name"])["last_name"]
    [('Gould', True)]
    """
    out: dict[str, list[tuple[str, bool]]] = {}
    words = set(tokens(hypothesis))
    for k in names:
        value = fields.get(k)
        if value in (None, ""):
            continue
        value = str(value)
        if k == "name":
            parts = [p for p in value.split() if tokens(p) and tokens(p)[0] not in TITLES]
            norm = [tokens(p) for p in parts]
            hit = [bool(t) and set(t) <= words for t in norm]
            out["full_name"] = [(value, bool(parts) and all(hit))]
            if len(parts) >= 2:
                out["first_name"] = [(parts[0], hit[0])]
                out["last_name"] = [(parts[-1], hit[-1])]
            continue
        out[k] = [(value, found(k, value, hypothesis))]
    return out
