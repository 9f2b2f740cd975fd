"""Corpora: the :class:`Corpus` type, its leak-free split, and the built-in corpora.

A :class:`Corpus` is texts with optional per-record ground truth; :func:`split_indices` splits
by a stable hash of each text. The built-ins are synthetic personal records (``"pii"``) and
WordNet sentences; :func:`embedlens.data.load_corpus` reaches them through ``BUILTIN_CORPORA``,
and they are public for users who want their options (``load_wordnet(directory=...)``)
directly. faker is imported only when PII records are generated.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "CONDITIONS",
    "PII_TEMPLATES",
    "REFERENCE_DATE",
    "Corpus",
    "check_corpus_texts",
    "generate_pii",
    "load_wordnet",
    "split_indices",
]

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# the Corpus type and its split


@dataclass(frozen=True)
class Corpus:
    """A list of texts with optional per-record ground truth.

    Parameters
    ----------
    name : str
        Where the texts came from: a built-in corpus name, a file name, or ``"texts"``.
    texts : list of str
        The texts, in order.
    fields : list of dict or None
        Per-record ground-truth fields (for ``"pii"``: name, email, phone, ...), or None.
    labels : dict of str to list of str
        Attribute columns aligned with ``texts`` (for ``"pii"``: condition, state, age_band),
        for attribute-inference probes. May be empty.

    Examples
    --------
    >>> corpus = Corpus("demo", ["a cat", "a dog"], labels={"animal": ["cat", "dog"]})
    >>> len(corpus), corpus.subset([1]).labels
    (2, {'animal': ['dog']})
    """

    name: str
    texts: list[str]
    fields: list[dict[str, str]] | None = None
    labels: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.texts)
        if self.fields is not None and len(self.fields) != n:
            raise ValueError(
                f"Corpus {self.name!r} has {n} texts but {len(self.fields)} field records: "
                "pass one fields dict per text."
            )
        for key, column in self.labels.items():
            if len(column) != n:
                raise ValueError(
                    f"Corpus {self.name!r} has {n} texts but label column {key!r} has "
                    f"{len(column)} values: pass one label per text."
                )

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: Iterable[int]) -> Corpus:
        """Return the records at ``indices`` (texts, fields and labels kept aligned).

        Examples
        --------
        >>> Corpus("demo", ["a", "b", "c"]).subset([2, 0]).texts
        ['c', 'a']
        """
        idx = [int(i) for i in indices]
        return Corpus(
            name=self.name,
            texts=[self.texts[i] for i in idx],
            fields=None if self.fields is None else [dict(self.fields[i]) for i in idx],
            labels={k: [v[i] for i in idx] for k, v in self.labels.items()},
        )

    def split(self, *, test_size: float = 0.1, seed: int = 0) -> tuple[Corpus, Corpus]:
        """Split into (train, test) corpora with :func:`split_indices`.

        Examples
        --------
        >>> train, test = generate_pii(200).split(test_size=0.25)
        >>> len(train) + len(test)
        200
        """
        train_idx, test_idx = split_indices(self.texts, test_size=test_size, seed=seed)
        return self.subset(train_idx), self.subset(test_idx)


def check_corpus_texts(texts: Iterable[Any]) -> list[str]:
    """The texts as a ``list[str]``; ``ValueError`` when empty, ``TypeError`` for a non-str."""
    out = list(texts)
    if not out:
        raise ValueError("Expected at least one text, got an empty list: pass non-empty texts.")
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise TypeError(
                f"Expected every text to be a str, but element {i} is {type(text).__name__} "
                f"({text!r:.60}): convert it with str() or drop it."
            )
    return [str(t) for t in out]  # numpy str_ -> str


def split_indices(
    texts: Sequence[str], *, test_size: float = 0.1, seed: int = 0
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Deterministic train/test indices decided by a stable hash of each text.

    A text goes to the test side when ``blake2b(seed, text)`` mapped to [0, 1) is below
    ``test_size``. Equal texts therefore always land on the same side (no train/test leakage),
    and a text keeps its side when the corpus grows or is reordered.

    Parameters
    ----------
    texts : sequence of str
        The texts to split.
    test_size : float, default 0.1
        Expected fraction of texts on the test side, in (0, 1).
    seed : int, default 0
        Changes the split.

    Returns
    -------
    train_idx, test_idx : numpy.ndarray of int64
        Ascending positions into ``texts``.

    Examples
    --------
    >>> train, test = split_indices([f"text {i}" for i in range(1000)], test_size=0.2)
    >>> len(train) + len(test), 150 < len(test) < 250
    (1000, True)
    """
    items = check_corpus_texts(texts)
    if isinstance(test_size, bool) or not isinstance(test_size, float | int | np.floating):
        raise TypeError(f"test_size must be a float in (0, 1), got {type(test_size).__name__}.")
    if not 0.0 < float(test_size) < 1.0:
        raise ValueError(f"test_size must be in (0, 1), got {test_size}: pass e.g. 0.1.")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}: pass e.g. seed=0.")
    threshold = int(float(test_size) * 2**64)
    prefix = f"{int(seed)}\x00".encode()
    is_test = np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(prefix + t.encode(), digest_size=8).digest(), "big")
            < threshold
            for t in items
        ),
        dtype=bool,
        count=len(items),
    )
    test_idx = np.flatnonzero(is_test).astype(np.int64)
    train_idx = np.flatnonzero(~is_test).astype(np.int64)
    if len(test_idx) == 0 or len(train_idx) == 0:
        side = "test" if len(test_idx) == 0 else "train"
        raise ValueError(
            f"Splitting {len(items)} texts ({len(set(items))} distinct) with "
            f"test_size={test_size}, seed={seed} left the {side} side empty: pass more texts, "
            "another test_size or another seed."
        )
    return train_idx, test_idx


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
