"""The built-in corpora: synthetic personal records (``"pii"``) and WordNet sentences.

:func:`embedlens.data.load_corpus` reaches these through ``BUILTIN_CORPORA`` (and imports this
module only then); they are public for users who want their options
(``load_wordnet(directory=...)``) directly. faker is imported only when PII records are generated.
"""

from __future__ import annotations

import logging
import os
import re
import unicodedata
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from embedlens.corpus import Corpus

__all__ = ["CONDITIONS", "PII_TEMPLATES", "REFERENCE_DATE", "generate_pii", "load_wordnet"]

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# synthetic personal records

REFERENCE_DATE = date(2025, 1, 1)
"""Ages and age bands are computed against this fixed date, so records never drift."""

CONDITIONS: tuple[str, ...] = (
    "type 2 diabetes",
    "asthma",
    "hypertension",
    "major depressive disorder",
    "generalized anxiety disorder",
    "HIV",
    "epilepsy",
    "Crohn's disease",
    "multiple sclerosis",
    "rheumatoid arthritis",
    "bipolar disorder",
    "celiac disease",
    "chronic migraine",
    "COPD",
    "hepatitis C",
    "breast cancer",
    "Parkinson's disease",
    "psoriasis",
    "sleep apnea",
    "chronic kidney disease",
)
"""The sensitive attribute of every ``"pii"`` record is one of these medical conditions."""

PII_TEMPLATES: dict[str, str] = {
    "clinic_intake": (
        "Clinic intake note: {name} (DOB {dob}) of {address}, {city}, {state} was seen today "
        "for {condition}. Contact: {phone}, {email}."
    ),
    "hr_record": (
        "HR record for employee {name}, born {dob}, residing at {address}, {city}, {state}. "
        "Reachable at {email} or {phone}; approved workplace accommodation for {condition}."
    ),
    "support_ticket": (
        "Support ticket from {name} ({email}, {phone}): please send my {condition} test kit "
        "to {address}, {city}, {state}. My date of birth is {dob} for verification."
    ),
    "pharmacy_refill": (
        "Pharmacy refill request: patient {name}, DOB {dob}, being treated for {condition}. "
        "Deliver to {address}, {city}, {state}; call {phone} or email {email} when ready."
    ),
    "insurance_claim": (
        "Insurance claim filed by {name} (born {dob}) for {condition} treatment. Policyholder "
        "address: {address}, {city}, {state}. Phone {phone}, email {email}."
    ),
    "appointment_reminder": (
        "Reminder for {name}: your {condition} follow-up is confirmed. On file: {address}, "
        "{city}, {state}; phone {phone}; email {email}; date of birth {dob}."
    ),
    "forum_post": (
        "My name is {name}, born {dob}, and I live at {address} in {city}, {state}. I was "
        "diagnosed with {condition} last year; reach me at {email} or {phone}."
    ),
    "study_enrollment": (
        "Study enrollment: participant {name} (DOB {dob}) from {city}, {state} joined the "
        "{condition} cohort. Mailing address {address}; contact {phone} or {email}."
    ),
}
"""Record templates, keyed by the name kept in each record's ``template`` field."""

_MIN_AGE, _MAX_AGE = 20, 89


def generate_pii(n: int = 1000, *, seed: int = 0) -> Corpus:
    """Generate ``n`` synthetic personal records with their ground truth.

    Each text mentions a person's full name, email, phone, street address, date of birth,
    city, state and a medical condition, rendered through one of :data:`PII_TEMPLATES`
    (phone numbers without extensions, emails mostly derived from the name).
    ``fields`` keeps name, email, phone, address, dob (ISO), city, state, condition,
    age_band (against :data:`REFERENCE_DATE`) and template; ``labels`` holds the condition,
    state and age_band columns. The same ``(n, seed)`` gives identical records, and the first
    ``k`` records do not depend on ``n``. Global random state is never touched.

    Parameters
    ----------
    n : int, default 1000
        Number of records.
    seed : int, default 0
        Seeds faker and a numpy Generator.

    Examples
    --------
    >>> corpus = generate_pii(3, seed=7)
    >>> record = corpus.fields[0]
    >>> record["email"] in corpus.texts[0] and record["condition"] in corpus.texts[0]
    True
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}: pass e.g. n=1000.")
    try:
        from faker import Faker
    except ImportError as err:
        raise ImportError(
            'The "pii" corpus needs faker: pip install "embedlens[audit]" (or pip install faker).'
        ) from err
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = np.random.default_rng(seed)
    template_names = list(PII_TEMPLATES)
    earliest = _years_before(REFERENCE_DATE, _MAX_AGE + 1) + timedelta(days=1)
    span = (_years_before(REFERENCE_DATE, _MIN_AGE) - earliest).days
    texts: list[str] = []
    fields: list[dict[str, str]] = []
    for _ in range(int(n)):
        first, last = fake.first_name(), fake.last_name()
        record = {
            "name": f"{first} {last}",
            "email": _email(fake, rng, first, last),
            "phone": fake.phone_number().split("x")[0],
            "address": fake.street_address(),
            "city": fake.city(),
            "state": fake.state(),
        }
        dob = earliest + timedelta(days=int(rng.integers(0, span + 1)))
        age = _age(dob, REFERENCE_DATE)
        record["dob"] = dob.isoformat()
        record["condition"] = CONDITIONS[int(rng.integers(len(CONDITIONS)))]
        record["age_band"] = f"{age // 10 * 10}-{age // 10 * 10 + 9}"
        record["template"] = template_names[int(rng.integers(len(template_names)))]
        texts.append(PII_TEMPLATES[record["template"]].format(**record))
        fields.append(record)
    labels = {key: [f[key] for f in fields] for key in ("condition", "state", "age_band")}
    return Corpus("pii", texts, fields=fields, labels=labels)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _age(dob: date, on: date) -> int:
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_name.lower()) or "user"


def _email(fake: Any, rng: np.random.Generator, first: str, last: str) -> str:
    """An email address, usually derived from the person's name as real ones are."""
    if rng.random() < 0.2:
        return str(fake.email())
    f, la = _slug(first), _slug(last)
    styles = (
        f"{f}.{la}",
        f"{f}{la}",
        f"{f[0]}{la}",
        f"{f}_{la}",
        f"{f}.{la}{int(rng.integers(1, 100))}",
        f"{la}.{f}",
        f"{f[0]}.{la}{int(rng.integers(1960, 2006))}",
    )
    user = styles[int(rng.integers(len(styles)))]
    domain = fake.free_email_domain() if rng.random() < 0.7 else fake.domain_name()
    return f"{user}@{domain}"


# ---------------------------------------------------------------------------------------------
# WordNet

WORDNET_ENV = "EMBEDLENS_WORDNET_DIR"
"""Environment variable naming the WordNet data directory (read at call time)."""
DEFAULT_WORDNET_DIR = "/usr/share/wordnet"
_WORDNET_POS: tuple[tuple[str, str], ...] = (
    ("noun", "noun"),
    ("verb", "verb"),
    ("adj", "adjective"),
    ("adv", "adverb"),
)
_QUOTED = re.compile(r'"([^"]*)"')


def load_wordnet(
    part: Literal["all", "examples", "glosses"] = "all",
    *,
    directory: str | os.PathLike[str] | None = None,
) -> Corpus:
    """Example sentences and definitions (glosses) from WordNet 3.0.

    Reads ``data.noun``, ``data.verb``, ``data.adj`` and ``data.adv`` of Debian's
    ``wordnet-base``. Texts are deduplicated, in file order (examples before definitions for
    ``part="all"``). Labels: ``kind`` (``"example"``/``"definition"``) and ``pos``.

    Parameters
    ----------
    part : {"all", "examples", "glosses"}
        Which texts to return.
    directory : path, optional
        Where the data files are; default ``$EMBEDLENS_WORDNET_DIR`` or ``/usr/share/wordnet``.

    Examples
    --------
    >>> corpus = load_wordnet("examples")  # doctest: +SKIP
    >>> len(corpus) > 40_000  # doctest: +SKIP
    True
    """
    if part not in ("all", "examples", "glosses"):
        raise ValueError(
            f"part must be 'all', 'examples' or 'glosses', got {part!r}: pass one of those."
        )
    root = Path(directory or os.environ.get(WORDNET_ENV) or DEFAULT_WORDNET_DIR)
    examples, glosses = _parse_wordnet(str(root.resolve()))
    pairs: list[tuple[str, str, str]] = []
    if part in ("all", "examples"):
        pairs += [(t, "example", p) for t, p in examples]
    if part in ("all", "glosses"):
        pairs += [(t, "definition", p) for t, p in glosses]
    seen: set[str] = set()
    unique: list[tuple[str, str, str]] = []
    for item in pairs:
        if item[0] not in seen:
            seen.add(item[0])
            unique.append(item)
    name = "wordnet" if part == "all" else f"wordnet-{part}"
    return Corpus(
        name,
        [t for t, _, _ in unique],
        labels={"kind": [k for _, k, _ in unique], "pos": [p for _, _, p in unique]},
    )


@lru_cache(maxsize=4)
def _parse_wordnet(
    root: str,
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """Return (examples, definitions) as deduplicated (text, pos) tuples."""
    files = [(Path(root) / f"data.{suffix}", pos) for suffix, pos in _WORDNET_POS]
    missing = [str(f) for f, _ in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(
            f"WordNet data not found: missing {', '.join(missing)}. The 'wordnet' corpus "
            "needs it: install Debian's wordnet-base (`sudo apt-get install wordnet-base`), "
            f"or set {WORDNET_ENV} to a directory holding data.noun/verb/adj/adv."
        )
    examples: dict[str, str] = {}
    glosses: dict[str, str] = {}
    for file, pos in files:
        with open(file, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("  "):  # license header
                    continue
                _, sep, gloss = line.partition(" | ")
                if not sep:
                    continue
                gloss = gloss.strip()
                quote = gloss.find('"')
                definition = (gloss if quote < 0 else gloss[:quote]).strip().rstrip(";").strip()
                if definition:
                    glosses.setdefault(definition, pos)
                if quote >= 0:
                    for example in _QUOTED.findall(gloss, quote):
                        example = example.strip().rstrip(";").strip()
                        if any(c.isalpha() for c in example):
                            examples.setdefault(example, pos)
    logger.debug("wordnet: %d examples, %d definitions", len(examples), len(glosses))
    return tuple(examples.items()), tuple(glosses.items())
