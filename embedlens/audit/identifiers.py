"""What a redacted report must not show: the identifying words of every text, and where they are.

:func:`find_terms` gathers them once for a whole report, from four sources:

- the **ground truth** of each victim (its ``name``, ``email``, ``phone``, ``address``, ``dob``
  and ``city`` fields), when the corpus has fields;
- **named entities** that spaCy finds in every text shown (the records and what each attack
  wrote, which holds other people's records too): persons, places, facilities and dates;
- a **gazetteer** of first and last names (Faker's ``en_US`` lists), so a name in a recovered
  text is masked whoever it belongs to, and even when the attack wrote it in lower case;
- **patterns**: e-mail addresses (their local parts are masked wherever they stand, also
  without the ``@``), every run of three or more digits (phone numbers, street and flat
  numbers, years) and dates.

:func:`mask_spans` then finds, in one text, every span to mask and its label. A word is masked
as a whole word and as the stem of a longer token: a name or street word glued to a place
suffix (``Kathyview``, ``Johntown``, ``Smiths``) or to another name (``pattylawrence``); an
e-mail's local part of four characters or more inside any token. Masking is deliberately greedy: a word that is also a name (``Hill``) is
masked too.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from embedlens.facts import NUMBER, TITLES, date_mentions

__all__ = ["LABELS", "Terms", "find_terms", "mask_spans"]

#: the labels a masked span is replaced by: the record's own facts, and anyone's
LABELS: dict[str, str] = {
    "first_name": "[first name]",
    "last_name": "[last name]",
    "name": "[name]",
    "email": "[email]",
    "phone": "[phone]",
    "address": "[address]",
    "city": "[city]",
    "place": "[place]",
    "dob": "[date of birth]",
    "date": "[date]",
    "number": "[number]",
}
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
#: a number as the fact matcher reads it, with a phone extension ("x123", "ext. 12")
_NUMBER = re.compile(NUMBER.pattern + r"(?:\s*(?:x|ext\.?)\s*\d+)?", re.IGNORECASE)
_DATES = re.compile(
    r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b|\b\d{1,2}[-/.]\d{1,2}[-/.]\d{4}\b|\b\d{8}\b"
    r"|\b\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?[A-Za-z]{3,9}\.?,?\s+\d{4}\b"
    r"|\b[A-Za-z]{3,9}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}\b"
)
_WORD = re.compile(r"[^\W\d_]+")
_TOKEN_CHAR = re.compile(r"[\w.+-]")
#: runs of at least this many digits are masked wherever they stand
MIN_DIGITS = 3
#: e-mail local parts this long are masked inside any token (shorter ones as whole words)
MIN_LOCAL = 4
#: which kind a word keeps when it is several: a name stays a name
_RANK = {"first_name": 0, "last_name": 0, "name": 0, "place": 1, "city": 1, "address": 2}
#: spaCy labels read as names, places and dates
_PERSON, _PLACES, _DATE = "PERSON", ("GPE", "LOC", "FAC"), "DATE"


def _norm(word: str) -> str:
    text = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()


@functools.lru_cache(maxsize=1)
def _lexicon() -> tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]:
    """(names, place suffixes, generic place words, state names), all case-folded.

    Faker's ``en_US`` providers are the source; the ``audit`` extra installs Faker.
    """
    try:
        from faker.providers.address.en_US import Provider as Address
        from faker.providers.person.en_US import Provider as Person
        from spacy.lang.en.stop_words import STOP_WORDS
    except ImportError as err:
        raise ImportError(
            f"redacting a report needs Faker and spaCy ({err}): pip install 'embedlens[audit]'"
        ) from err
    names = {_norm(n) for n in [*Person.first_names, *Person.last_names]}
    names = {n for n in names if len(n) >= 3 and n not in STOP_WORDS and n not in TITLES}
    suffixes = {_norm(s) for s in Address.city_suffixes} | {"s", "son", "sen"}
    generic = {_norm(w) for w in [*Address.street_suffixes, *Address.city_prefixes]}
    generic |= {"apt", "suite", "unit", "city", "county", "st", "ave", "rd", *STOP_WORDS}
    states = {_norm(w) for s in Address.states for w in _WORD.findall(s)}
    return frozenset(names), frozenset(suffixes), frozenset(generic), frozenset(states)


@functools.lru_cache(maxsize=2)
def _address_pattern(with_city: bool) -> re.Pattern[str]:
    """A street address: a number, one to three capitalised words and a street kind (Faker's
    ``en_US`` list: Street, Lane, Trafficway...), a flat number; ``with_city``: and the
    capitalised words after its comma (the city of an address line)."""
    from faker.providers.address.en_US import Provider as Address

    kinds = "|".join(sorted(map(re.escape, Address.street_suffixes), key=len, reverse=True))
    city = r"(?:,\s*[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*){0,2})?" if with_city else ""
    return re.compile(
        rf"\b\d{{1,6}}\s+(?:[A-Z][\w'-]*\s+){{1,3}}(?i:{kinds})\b\.?"
        rf"(?:\s+(?i:apt\.?|suite|unit|#)\s*[\w-]+)?{city}"
    )


@dataclass
class Terms:
    """The identifying words of a report, each with the kind of its label.

    Attributes
    ----------
    words : dict of str to str
        Case-folded word to its kind (``"name"``, ``"place"``, ``"address"``, ``"email"``):
        masked as a word, and at the start of a longer token.
    locals : set of str
        E-mail local parts, masked wherever they occur.
    phones : set of str
        The last 7 digits of every known phone number.
    literals : dict of str to str
        Case-folded multi-word values (addresses, cities) to their kind.
    dob : set of tuple
        The dates a date of birth can be read as (one record's own terms only).
    entities : dict of str to list
        Per text, the entity spans ``(start, end, kind)`` spaCy found in it.
    cities : bool
        Whether the capitalised words after an address' comma are masked as its city (when
        there is no ground truth to say which words are the city).
    keep : frozenset of str
        Words that are never masked unless they are one of :attr:`words` (with ground truth,
        the US states: an attribute, not an identifier; "Maryland" is no name glued to a suffix).
    """

    words: dict[str, str] = field(default_factory=dict)
    locals: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    literals: dict[str, str] = field(default_factory=dict)
    dob: set[tuple[int, int, int]] = field(default_factory=set)
    entities: dict[str, list[tuple[int, int, str]]] = field(default_factory=dict)
    keep: frozenset[str] = frozenset()
    cities: bool = False

    @functools.cached_property
    def literal_pattern(self) -> re.Pattern[str] | None:
        """One pattern for all :attr:`literals`, longest first (built on first use)."""
        if not self.literals:
            return None
        ordered = sorted(self.literals, key=len, reverse=True)
        return re.compile("|".join(map(re.escape, ordered)))

    @functools.cached_property
    def local_pattern(self) -> re.Pattern[str] | None:
        """One pattern for the :attr:`locals` of at least :data:`MIN_LOCAL` characters."""
        long = sorted((x for x in self.locals if len(x) >= MIN_LOCAL), key=len, reverse=True)
        return re.compile("|".join(map(re.escape, long))) if long else None

    def add_word(self, word: str, kind: str) -> None:
        w = _norm(word)
        _, _, generic, _ = _lexicon()
        if len(w) < 2 or w in generic or w in TITLES:
            return
        if _RANK.get(kind, 0) < _RANK.get(self.words.get(w, ""), 9):  # a name stays a name
            self.words[w] = kind

    def add_email(self, email: str) -> None:
        local = _norm(email.partition("@")[0]).strip(".")
        if len(local) >= 3:
            self.locals.add(local)
        for piece in _WORD.findall(local):
            self.add_word(piece, "email")


def _own(fields: Mapping[str, Any] | None) -> Terms:
    """The terms of one record's ground truth, labelled as its own facts."""
    out = Terms()
    if not fields:
        return out
    parts = [p for p in str(fields.get("name") or "").split() if _WORD.search(p)]
    parts = [p for p in parts if _norm(_WORD.findall(p)[0]) not in TITLES]
    for i, part in enumerate(parts):
        kind = "first_name" if i == 0 else "last_name" if i == len(parts) - 1 else "name"
        for w in _WORD.findall(part):
            out.add_word(w, kind)
    for key in ("address", "city"):
        value = str(fields.get(key) or "").strip()
        if value:
            out.literals[_norm(value)] = key
            for w in _WORD.findall(value):
                out.add_word(w, key)
    if fields.get("email"):
        out.add_email(str(fields["email"]))
    digits = re.sub(r"\D", "", str(fields.get("phone") or ""))
    if len(digits) >= 7:
        out.phones.add(digits[-7:])
    out.dob = date_mentions(str(fields.get("dob") or ""))
    return out


def _entities(texts: Sequence[str]) -> list[list[tuple[int, int, str, str]]]:
    """spaCy's person, place and date entities of each text: a date as one span, a name or a
    place word by word, each of them a proper noun (so that "Deliver to ..." read as a name
    masks nothing), as ``(start, end, kind, word)``."""
    from inversion.entities import SPACY_MODEL, _load_spacy

    nlp = _load_spacy(SPACY_MODEL)
    step = 50_000  # spaCy refuses texts over nlp.max_length: read long ones in pieces
    pieces: list[tuple[int, int, str]] = []  # (text index, offset, piece)
    for i, text in enumerate(texts):
        for start in range(0, max(len(text), 1), step):
            pieces.append((i, start, text[start : start + step]))
    out: list[list[tuple[int, int, str, str]]] = [[] for _ in texts]
    off = [p for p in nlp.pipe_names if p in ("parser", "lemmatizer")]
    docs = nlp.pipe([p for _, _, p in pieces], disable=off)
    for (i, offset, _), doc in zip(pieces, docs, strict=True):
        for ent in doc.ents:
            if ent.label_ == _DATE and any(ch.isdigit() for ch in ent.text):
                out[i].append((offset + ent.start_char, offset + ent.end_char, "date", ""))
            elif ent.label_ == _PERSON or ent.label_ in _PLACES:
                kind = "name" if ent.label_ == _PERSON else "place"
                if len(ent) == 1 and (ent.start == 0 or doc[ent.start - 1].text in ".!?:;"):
                    continue  # one capitalised word opening a sentence: "Deliver to ..."
                out[i].extend(
                    (offset + t.idx, offset + t.idx + len(t.text), kind, t.text)
                    for t in ent
                    if t.pos_ == "PROPN" and _WORD.fullmatch(t.text)
                )
    return out


#: the label of someone else's fact: their city is a place, any part of their name a name
_GENERIC_KIND = {"first_name": "name", "last_name": "name", "city": "place"}


def find_terms(
    texts: Sequence[str], fields: Iterable[Mapping[str, Any] | None] = ()
) -> tuple[Terms, list[Terms]]:
    """Every identifying term of ``texts`` (all the texts a report shows) and ``fields``.

    Returns the terms of everyone (masked with generic labels such as ``[name]``) and, per
    record of ``fields``, its own (masked as ``[first name]``, ``[city]``...). Entities are
    found once per distinct text and kept in ``Terms.entities`` for :func:`mask_spans`.
    """
    names, _, _, states = _lexicon()
    own = [_own(f) for f in fields]
    truth = any(f.words or f.phones for f in own)
    everyone = Terms()
    for rec in own:
        for w, kind in rec.words.items():
            everyone.add_word(w, _GENERIC_KIND.get(kind, kind))
        for lit, kind in rec.literals.items():
            everyone.literals.setdefault(lit, _GENERIC_KIND.get(kind, kind))
        everyone.locals |= rec.locals
        everyone.phones |= rec.phones
    everyone.cities = not truth
    distinct = list(dict.fromkeys(texts))
    for text in distinct:
        for email in _EMAIL.findall(text):
            everyone.add_email(email)
        for m in _address_pattern(everyone.cities).finditer(text):
            for w in _WORD.findall(m[0]):
                everyone.add_word(w, "address")
    spans = _entities(distinct)
    for text, found in zip(distinct, spans, strict=True):
        kept = []
        for start, end, kind, word in found:
            # with ground truth, a state is an attribute, not an identifier: it stays readable
            if kind == "place" and truth and _norm(word) in states:
                continue
            kept.append((start, end, kind))
            if word:
                everyone.add_word(word, kind)
        everyone.entities[text] = kept
    everyone.keep = states if truth else frozenset()
    for name in names - everyone.keep:  # with ground truth, a state
        everyone.add_word(name, "name")  # such as Virginia is an attribute (unless a record's)
    return everyone, own


def _word_kind(token: str, terms: Terms) -> str | None:
    """The kind of a word token when it is identifying: as a word, a stem or a local part."""
    w = _norm(token)
    if w in terms.words:
        return terms.words[w]
    if w in terms.keep:
        return None
    if terms.local_pattern is not None and terms.local_pattern.search(w):
        return "email"
    _, suffixes, _, _ = _lexicon()
    if len(w) >= 5 and w[1:] in terms.words:
        return "email"  # an initial glued to a name: a local part such as "pthompson"
    for cut in range(3, len(w)):  # a stem: a word glued to a place suffix or to another word
        head, rest = w[:cut], w[cut:]
        if head in terms.words and (rest in suffixes or rest in terms.words):
            return "place" if rest in suffixes else terms.words[head]
    return None


def _literal_spans(text: str, terms: Terms) -> Iterable[tuple[int, int, str]]:
    pattern = terms.literal_pattern
    low = _norm(text)
    if pattern is None or len(low) != len(text):  # a character folding to several: words only
        return
    for m in pattern.finditer(low):
        yield m.start(), m.end(), terms.literals[m[0]]


def _local_spans(text: str, terms: Terms) -> Iterable[tuple[int, int]]:
    """E-mail local parts inside ``text``, each widened to the whole token around it."""
    pattern = terms.local_pattern
    low = _norm(text)
    if pattern is None or len(low) != len(text):
        return
    for m in pattern.finditer(low):
        a, b = m.start(), m.end()
        while a > 0 and _TOKEN_CHAR.match(text[a - 1]):
            a -= 1
        while b < len(text) and _TOKEN_CHAR.match(text[b]):
            b += 1
        yield a, b


def mask_spans(
    text: str, everyone: Terms, own: Terms | None = None, *, numbers: bool = True
) -> list[tuple[int, int, str]]:
    """The spans of ``text`` to mask, ``(start, end, label)``, sorted and not overlapping.

    ``numbers=False`` (for the report's own notes, which count records and seconds) masks a
    number only when it holds a known phone number.

    ``own`` are the terms of the record the text belongs to (its own facts get their own
    labels, e.g. ``[first name]``); everything identifying of anyone else is masked with a
    generic label (``[name]``, ``[place]``...).

    Examples
    --------
    >>> everyone, own = find_terms([], [{"name": "Kathy Baker", "phone": "555-123-4567"}])
    >>> t = "kathy baker of Kathyview, 555 123 4567"
    >>> "".join(t[a:b] + "|" + lab for a, b, lab in mask_spans(t, everyone, own[0]))
    'kathy|[first name]baker|[last name]Kathyview|[place]555 123 4567|[phone]'
    """
    own = own or Terms()
    found: list[tuple[int, int, str]] = []
    for m in _EMAIL.finditer(text):
        found.append((m.start(), m.end(), LABELS["email"]))
    for m in _DATES.finditer(text):
        if date_mentions(m[0]):
            found.append((m.start(), m.end(), LABELS["date"]))
    for m in _NUMBER.finditer(text):
        digits = re.sub(r"\D", "", m[0])
        if len(digits) >= MIN_DIGITS:
            phone = any(p in digits for p in everyone.phones | own.phones)
            if phone or numbers:
                found.append((m.start(), m.end(), LABELS["phone" if phone else "number"]))
    for m in _address_pattern(everyone.cities).finditer(text):
        found.append((m.start(), m.end(), LABELS["address"]))
    for terms in (own, everyone):
        for start, end, kind in _literal_spans(text, terms):
            found.append((start, end, LABELS[kind]))
        found.extend((a, b, LABELS["email"]) for a, b in _local_spans(text, terms))
    for m in _WORD.finditer(text):
        word_kind = _word_kind(m[0], own) or _word_kind(m[0], everyone)
        if word_kind is not None:
            found.append((m.start(), m.end(), LABELS[word_kind]))
    # entities come last: the spans above keep their labels ("[first name]", not "[name]")
    for start, end, kind in everyone.entities.get(text, []):
        found.append((start, end, LABELS[kind]))
    return _merge(found, text, own)


def _merge(found: list[tuple[int, int, str]], text: str, own: Terms) -> list[tuple[int, int, str]]:
    """Overlapping spans joined into one, labelled as the widest of them; a date that is the
    record's own date of birth is labelled so."""
    spans: list[tuple[int, int, str]] = []
    for start, end, label in sorted(found, key=lambda s: (s[0], -s[1])):
        if spans and start < spans[-1][1]:
            a, b, lab = spans[-1]
            spans[-1] = (a, max(b, end), label if end - start > b - a else lab)
        else:
            spans.append((start, end, label))
    return [
        (
            a,
            b,
            LABELS["dob"] if lab == LABELS["date"] and own.dob & date_mentions(text[a:b]) else lab,
        )
        for a, b, lab in spans
    ]
