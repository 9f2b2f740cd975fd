"""Redaction of an audit report: the identifying fields of each record masked in the texts.

A report prints original records next to the text recovered from their vectors, which makes
the report as sensitive as the records. :func:`redacted` returns a copy of a result whose
texts (originals and recovered) have each record's identifying fields replaced by a label such
as ``[last name]`` (and any other record's, as in a nearest neighbour's answer naming another
person, by ``[name]``, ``[phone]``...); the recovered facts are masked the same way, so the highlighted facts stay
where they were and countable. Emails and numbers of 7 or more digits are masked everywhere.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from embedlens.facts import NUMBER, TITLES, date_mentions, tokens

__all__ = ["IDENTIFYING_FIELDS", "mask", "redacted"]

#: the ground-truth fields a redacted report masks
IDENTIFYING_FIELDS: tuple[str, ...] = ("name", "email", "phone", "address", "dob", "city")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DATES = re.compile(
    r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b|\b\d{1,2}[-/.]\d{1,2}[-/.]\d{4}\b|\b\d{8}\b"
    r"|\b\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?[A-Za-z]{3,9}\.?,?\s+\d{4}\b"
    r"|\b[A-Za-z]{3,9}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}\b"
)


def _sub_word(text: str, word: str, label: str) -> str:
    return re.sub(rf"(?<![\w]){re.escape(word)}(?![\w])", label, text, flags=re.IGNORECASE)


def mask(text: str, fields: Mapping[str, Any] | None) -> str:
    """``text`` with the identifying ``fields`` of its record masked (see the module notes).

    Examples
    --------
    >>> mask("Ann Gould, ann@x.org, 555-123-4567", {"name": "Ann Gould"})
    '[first name] [last name], [email], [number]'
    """
    fields = fields or {}
    out = text
    dob = str(fields.get("dob") or "")
    if dob and date_mentions(dob):
        want = date_mentions(dob)
        out = _DATES.sub(lambda m: "[date of birth]" if date_mentions(m[0]) & want else m[0], out)
    phone = re.sub(r"\D", "", str(fields.get("phone") or ""))[-10:]
    if phone:
        out = NUMBER.sub(lambda m: "[phone]" if phone in re.sub(r"\D", "", m[0]) else m[0], out)
    for key, label in (("email", "[email]"), ("address", "[address]"), ("city", "[city]")):
        value = str(fields.get(key) or "").strip()
        if value:
            out = re.sub(re.escape(value), label, out, flags=re.IGNORECASE)
    out = _EMAIL.sub("[email]", out)
    name = [p for p in str(fields.get("name") or "").split() if tokens(p)]
    name = [p for p in name if tokens(p)[0] not in TITLES]
    for i, part in enumerate(name):
        label = "[first name]" if i == 0 else "[last name]" if i == len(name) - 1 else "[name]"
        for piece in {part.strip(".,"), *tokens(part)}:
            if len(piece) > 1:
                out = _sub_word(out, piece, label)
    return NUMBER.sub(lambda m: "[number]" if len(re.sub(r"\D", "", m[0])) >= 7 else m[0], out)


def _everyone(ident: list[Any]) -> Any:
    """A function masking the identifying fields of every record at once (for texts, such as
    a nearest neighbour's answer, that may name another record's person)."""
    names = sorted(
        {
            w
            for f in ident
            if f
            for p in str(f.get("name") or "").split()
            for w in {p.strip(".,"), *tokens(p)}
            if len(w) > 1 and w.casefold() not in TITLES
        },
        key=len,
        reverse=True,
    )
    literal = {
        label: sorted({str(f[k]) for f in ident if f and f.get(k)}, key=len, reverse=True)
        for k, label in (("address", "[address]"), ("city", "[city]"), ("email", "[email]"))
    }
    phones = {re.sub(r"\D", "", str(f.get("phone") or ""))[-10:] for f in ident if f} - {""}
    dates = set().union(*(date_mentions(str(f.get("dob") or "")) for f in ident if f))
    name_re = (
        re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, names)) + r")(?!\w)", re.IGNORECASE)
        if names
        else None
    )
    lit_re = {
        label: re.compile("|".join(map(re.escape, vals)), re.IGNORECASE)
        for label, vals in literal.items()
        if vals
    }

    def apply(text: str) -> str:
        if dates:
            text = _DATES.sub(lambda m: "[date]" if date_mentions(m[0]) & dates else m[0], text)
        if phones:
            text = NUMBER.sub(
                lambda m: "[phone]" if any(p in re.sub(r"\D", "", m[0]) for p in phones) else m[0],
                text,
            )
        for label, rx in lit_re.items():
            text = rx.sub(label, text)
        return name_re.sub("[name]", text) if name_re is not None else text

    return apply


def redacted(result: Any) -> Any:
    """A copy of ``result`` (an ``AuditResult``) with identifying fields masked everywhere a
    text is shown: the records, each attack's recovered texts and facts, the map."""
    records = copy.deepcopy(result.records)
    ident = records.pop("identifying", None) or [None] * len(records["texts"])
    everyone = _everyone(ident)
    records["texts"] = [everyone(mask(t, ident[i])) for i, t in enumerate(records["texts"])]
    attacks = copy.deepcopy(result.attacks)
    for att in attacks.values():
        for rec in att.get("records", []):
            fields = ident[rec["index"]] if rec["index"] < len(ident) else None
            rec["hypothesis"] = everyone(mask(rec["hypothesis"], fields))
            rec["values"] = sorted({mask(v, fields) for v in rec.get("values", [])}, key=len)
    config = {**result.config, "redacted": True}
    return dataclasses.replace(result, records=records, attacks=attacks, config=config)
