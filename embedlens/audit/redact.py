"""Redaction of an audit report: every identifying word masked, wherever a text is shown.

A report prints original records next to the text recovered from their vectors, which makes
the report as sensitive as the records. :func:`redacted` returns a copy of a result in which
every text (the records, what each attack wrote, the facts it recovered, the notes) has its
identifying words replaced by labels: the record's own facts as ``[first name]``,
``[last name]``, ``[email]``, ``[phone]``, ``[address]``, ``[city]``, ``[date of birth]``, and
anyone else's (a nearest neighbour's answer is another person's record) as ``[name]``,
``[place]``, ``[date]``, ``[number]``. What counts as identifying, and how a word is also
masked as the stem of a longer token, is :mod:`embedlens.audit.identifiers`: the corpus'
ground truth where it has fields, spaCy's entities of every text, a gazetteer of names and
patterns (e-mails and their local parts, runs of digits, dates) in every case. The recovered
facts are masked the same way, so they stay highlighted where they were, and every number
stays as measured.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

from embedlens.audit.identifiers import Terms, find_terms, mask_spans

__all__ = ["IDENTIFYING_FIELDS", "REDACTION_NOTE", "mask", "redacted"]

#: the ground-truth fields a redacted report masks (the audit keeps them for it)
IDENTIFYING_FIELDS: tuple[str, ...] = ("name", "email", "phone", "address", "dob", "city")
#: what the redacted page says about its masking
REDACTION_NOTE = (
    "Identifying text is masked on this page and in result.json: every person's name (the "
    "victim's and anyone else's, such as the other people's records that a nearest-neighbour "
    "attack returns; words that are also names, such as 'Hill', are masked too), names and "
    "street words glued into longer words ('Kathyview'), e-mail addresses and their local "
    "parts, addresses, cities and places, dates, and every run of three or more digits "
    "(phone numbers included). The recovered facts stay highlighted, and every number is as "
    "measured."
)


def mask(text: str, everyone: Terms, own: Terms | None = None, *, numbers: bool = True) -> str:
    """``text`` with every span :func:`~embedlens.audit.identifiers.mask_spans` finds replaced
    by its label.

    Examples
    --------
    >>> everyone, own = find_terms([], [{"name": "Ann Gould", "email": "ann.g@x.org"}])
    >>> mask("Ann Gould, ann.g@x.org, 555-123-4567, Gouldville", everyone, own[0])
    '[first name] [last name], [email], [number], [place]'
    """
    out, pos = [], 0
    for start, end, label in mask_spans(text, everyone, own, numbers=numbers):
        out.append(text[pos:start])
        out.append(label)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _texts(result: Any) -> list[str]:
    """Every text a report shows: the records and what each attack wrote."""
    texts = list(result.records.get("texts", []))
    for att in result.attacks.values():
        texts.extend(str(r.get("hypothesis", "")) for r in att.get("records", []))
    return texts


def redacted(result: Any) -> Any:
    """A copy of ``result`` (an ``AuditResult``) with identifying text masked everywhere a text
    is shown: the records, each attack's recovered texts, facts, notes and reasons, the map.

    Raises ``ImportError`` when spaCy, its English model or Faker is missing (the ``audit``
    extra installs them): a redaction without them would miss names.
    """
    records = copy.deepcopy(result.records)
    texts = records.get("texts", [])
    ident: list[Mapping[str, Any] | None] = records.pop("identifying", None) or [None] * len(texts)
    everyone, own = find_terms(_texts(result), ident)

    def own_of(i: int) -> Terms | None:
        return own[i] if 0 <= i < len(own) else None

    records["texts"] = [mask(t, everyone, own_of(i)) for i, t in enumerate(texts)]
    attacks = copy.deepcopy(result.attacks)
    for att in attacks.values():
        for key in ("note", "reason"):
            if att.get(key):
                att[key] = mask(str(att[key]), everyone, numbers=False)  # counts stay
        for rec in att.get("records", []):
            mine = own_of(int(rec["index"]))
            rec["hypothesis"] = mask(str(rec["hypothesis"]), everyone, mine)
            rec["values"] = sorted(
                {mask(v, everyone, mine) for v in rec.get("values", [])}, key=len
            )
    config = {**result.config, "redacted": True}
    return dataclasses.replace(result, records=records, attacks=attacks, config=config)
