"""Honest metrics for text recovered from embeddings.

:func:`evaluate` compares reference texts with the hypotheses an attack decoded from their
embeddings: corpus BLEU (sacrebleu), token F1, exact match and, given an embedder, the cosine
between the embeddings of reference and hypothesis; every corpus number comes with a seeded
percentile-bootstrap confidence interval and the per-example values behind it.
:func:`entity_recovery` counts which private facts leaked: the ground-truth fields of a record
(the ``pii`` corpus keeps them) or the named entities spaCy finds in the reference.

Only numpy and the standard library are imported at module level; sacrebleu, spaCy and plotly
are imported inside the functions that need them.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from embedlens._utils import check_texts
from embedlens.stats import bootstrap_sums, check_bootstrap, percentile_ci
from embedlens.tokens import normalize_tokens, token_prf
from inversion.entities import PII_FIELDS, EntityRecovery, entity_recovery

if TYPE_CHECKING:
    from embedlens.train import EvalFn

logger = logging.getLogger(__name__)

__all__ = [
    "PII_FIELDS",
    "EntityRecovery",
    "InversionScores",
    "default_eval_fn",
    "entity_recovery",
    "evaluate",
    "normalize_tokens",
    "token_prf",
]

_MAX_ORDER = 4  # BLEU n-gram order, as sacrebleu's default


def _squash(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- BLEU


def _bleu_statistics(references: list[str], hypotheses: list[str]) -> np.ndarray:
    """Per-example BLEU sufficient statistics ``(n, 2 + 2 * order)`` with sacrebleu's tokenizer.

    Columns: hypothesis length, reference length, matched n-grams (n = 1..4), hypothesis
    n-grams (n = 1..4). Summing rows gives the corpus statistics sacrebleu uses.
    """
    from sacrebleu.metrics import BLEU

    tokenize = BLEU().tokenizer
    stats = np.zeros((len(references), 2 + 2 * _MAX_ORDER), dtype=np.int64)
    for row, (ref, hyp) in enumerate(zip(references, hypotheses, strict=True)):
        ref_toks, hyp_toks = tokenize(ref.rstrip()).split(), tokenize(hyp.rstrip()).split()
        stats[row, 0], stats[row, 1] = len(hyp_toks), len(ref_toks)
        for order in range(1, _MAX_ORDER + 1):
            ref_grams = Counter(zip(*(ref_toks[i:] for i in range(order)), strict=False))
            hyp_grams = Counter(zip(*(hyp_toks[i:] for i in range(order)), strict=False))
            stats[row, 1 + order] = sum((ref_grams & hyp_grams).values())
            stats[row, 1 + _MAX_ORDER + order] = sum(hyp_grams.values())
    return stats


def _bleu_from_statistics(totals: np.ndarray) -> np.ndarray:
    """Corpus BLEU (0-100) for each row of summed statistics, as sacrebleu's defaults define it.

    The brevity penalty punishes short output; an order without matches gets the "exp"
    smoothing of mteval-v13a (its precision is 1 / (2^k * count) for the k-th such order); no
    match at all, or an order without any hypothesis n-gram, scores 0.
    """
    totals = np.atleast_2d(totals).astype(np.float64)
    sys_len, ref_len = totals[:, 0], totals[:, 1]
    correct = totals[:, 2 : 2 + _MAX_ORDER]
    count = totals[:, 2 + _MAX_ORDER :]
    safe_sys = np.maximum(sys_len, 1.0)
    penalty = np.where(
        sys_len >= ref_len, 1.0, np.where(sys_len > 0, np.exp(1.0 - ref_len / safe_sys), 0.0)
    )
    halvings = np.cumsum(correct == 0, axis=1)
    safe_count = np.maximum(count, 1.0)
    precision = np.where(correct > 0, correct / safe_count, 1.0 / (2.0**halvings * safe_count))
    score = 100.0 * penalty * np.exp(np.log(precision).mean(axis=1))
    dead = (correct.sum(axis=1) == 0) | (count == 0).any(axis=1)
    return np.where(dead, 0.0, score)


# --------------------------------------------------------------------------- evaluate


@dataclass(frozen=True)
class InversionScores:
    """Scores of decoded texts against their references (see :func:`evaluate`).

    Attributes
    ----------
    n : int
        Number of (reference, hypothesis) pairs.
    bleu : float
        Corpus BLEU on sacrebleu's 0-100 scale (default tokenizer 13a, exp smoothing).
    token_f1, token_precision, token_recall : float
        Unigram overlap of normalized tokens, averaged over examples (0-1).
    exact_match : float
        Fraction of hypotheses equal to their reference after whitespace normalization.
    cosine : float or None
        Mean cosine between the embeddings of reference and hypothesis (given an embedder).
    ci : dict of str to (float, float)
        Percentile-bootstrap interval of each corpus metric above (empty when bootstrap=0).
    per_example : dict of str to ndarray
        ``token_f1``, ``token_precision``, ``token_recall``, ``exact_match`` and ``cosine``
        (when computed) for each example; BLEU is a corpus statistic and has none.
    entities : EntityRecovery or None
        Fact recovery, when fields were given or ``entities="spacy"``.
    """

    n: int
    bleu: float
    token_f1: float
    token_precision: float
    token_recall: float
    exact_match: float
    cosine: float | None
    ci: dict[str, tuple[float, float]]
    confidence: float
    bootstrap: int
    per_example: dict[str, np.ndarray] = field(repr=False)
    entities: EntityRecovery | None = field(default=None, repr=False)

    @property
    def metrics(self) -> dict[str, float]:
        """The corpus metrics by name (cosine only when computed)."""
        out = {
            "bleu": self.bleu,
            "token_f1": self.token_f1,
            "token_precision": self.token_precision,
            "token_recall": self.token_recall,
            "exact_match": self.exact_match,
        }
        if self.cosine is not None:
            out["cosine"] = self.cosine
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: metrics, intervals, settings and per-example lists."""
        return {
            "n": self.n,
            **self.metrics,
            "ci": {k: list(v) for k, v in self.ci.items()},
            "confidence": self.confidence,
            "bootstrap": self.bootstrap,
            "per_example": {k: v.tolist() for k, v in self.per_example.items()},
            "entities": None if self.entities is None else self.entities.to_dict(),
        }

    def figure(self) -> Any:
        """A plotly bar chart of the metrics with their intervals (BLEU shown divided by 100)."""
        import plotly.graph_objects as go

        names = ["bleu", "token_f1", "exact_match"] + (
            ["cosine"] if self.cosine is not None else []
        )
        scale = {"bleu": 0.01}
        values = [self.metrics[k] * scale.get(k, 1.0) for k in names]
        bars: dict[str, Any] = {"x": ["BLEU / 100" if k == "bleu" else k for k in names]}
        if self.ci:
            lo = [self.ci[k][0] * scale.get(k, 1.0) for k in names]
            hi = [self.ci[k][1] * scale.get(k, 1.0) for k in names]
            bars["error_y"] = {
                "type": "data",
                "symmetric": False,
                "array": [h - v for h, v in zip(hi, values, strict=True)],
                "arrayminus": [v - low for v, low in zip(values, lo, strict=True)],
            }
        fig = go.Figure(go.Bar(y=values, name="score", **bars))
        level = f"{self.confidence:.0%} bootstrap CI" if self.ci else "no CI"
        fig.update_layout(title=f"Inversion scores (n={self.n}, {level})", yaxis_range=[0, 1])
        return fig


def evaluate(
    references: Sequence[str],
    hypotheses: Sequence[str],
    *,
    embedder: Any = None,
    fields: Sequence[Mapping[str, Any]] | None = None,
    entities: Literal["auto", "fields", "spacy", "none"] | None = "auto",
    bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    token_overlap: Literal["multiset", "set"] = "multiset",
    reference_embeddings: Any = None,
    batch_size: int = 64,
    progress: bool | None = None,
) -> InversionScores:
    """Score decoded texts against the texts they came from.

    Parameters
    ----------
    references
        The original texts (non-empty list of strings).
    hypotheses
        One decoded text per reference; empty strings are allowed and score 0.
    embedder
        When given, both lists are embedded once and ``cosine`` is their mean row-wise cosine.
    fields
        Ground-truth field dicts per reference (``load_corpus("pii").fields``) for
        :func:`entity_recovery`.
    entities
        ``"auto"``: fact recovery from ``fields`` when given, else none; ``"fields"`` requires
        them; ``"spacy"`` runs spaCy NER on the references; ``"none"``/None skips it.
    bootstrap
        Bootstrap rounds for the percentile intervals (0: no intervals).
    confidence
        Interval level.
    seed
        Seed of the bootstrap's private generator (the global RNG is never touched).
    token_overlap
        ``"multiset"`` (repeated words count as often as both have them) or ``"set"``; see
        :func:`token_prf`.
    reference_embeddings
        Embeddings of the references if already computed (saves one pass of the embedder).
    batch_size, progress
        Embedder batch size; progress bar while embedding (None: only in interactive sessions).

    Returns
    -------
    InversionScores

    Notes
    -----
    BLEU is ``sacrebleu.corpus_bleu(hypotheses, [references])``; its interval resamples the
    per-example n-gram statistics, so each round costs no re-tokenization. Token F1 is the
    mean over examples of the unigram F1 of case-folded word tokens (punctuation dropped), as
    vec2text reports it. Exact match compares texts after collapsing runs of whitespace and
    stripping the ends; case and punctuation must match.

    Examples
    --------
    >>> s = evaluate(["the cat sat on the mat"], ["the cat sat on a mat"], bootstrap=0)
    >>> round(s.bleu, 1), round(s.token_f1, 3), s.exact_match
    (53.7, 0.833, 0.0)
    """
    refs = check_texts(references, what="references")
    hyps = check_texts(hypotheses, what="hypotheses")
    if len(refs) != len(hyps):
        raise ValueError(
            f"got {len(refs)} references but {len(hyps)} hypotheses: pass one hypothesis per "
            "reference, in the same order (an empty string for a failed decode)"
        )
    check_bootstrap(bootstrap, confidence)
    if entities not in ("auto", "fields", "spacy", "none", None):
        raise ValueError(f"entities must be 'auto', 'fields', 'spacy' or 'none', got {entities!r}")
    if entities == "fields" and fields is None:
        raise ValueError("entities='fields' needs fields=[{...}, ...], one dict per reference")
    n = len(refs)

    import sacrebleu

    bleu = float(sacrebleu.corpus_bleu(hyps, [refs]).score)
    prf = np.array(
        [token_prf(r, h, overlap=token_overlap) for r, h in zip(refs, hyps, strict=True)]
    )
    exact = np.array(
        [_squash(r) == _squash(h) for r, h in zip(refs, hyps, strict=True)], dtype=np.float64
    )
    per_example: dict[str, np.ndarray] = {
        "token_f1": prf[:, 2],
        "token_precision": prf[:, 0],
        "token_recall": prf[:, 1],
        "exact_match": exact,
    }
    cosine = None
    if embedder is not None:
        per_example["cosine"] = _pair_cosine(
            embedder, refs, hyps, reference_embeddings, batch_size, progress
        )
        cosine = float(per_example["cosine"].mean())
    elif reference_embeddings is not None:
        raise ValueError("reference_embeddings needs embedder= to embed the hypotheses")

    ci: dict[str, tuple[float, float]] = {}
    if bootstrap:
        names = list(per_example)
        stats = _bleu_statistics(refs, hyps)
        table = np.column_stack([stats, *(per_example[k] for k in names)]).astype(np.float64)
        sums = bootstrap_sums(table, bootstrap, seed)
        width = stats.shape[1]
        ci["bleu"] = percentile_ci(_bleu_from_statistics(sums[:, :width]), confidence)
        for j, key in enumerate(names):
            ci[key] = percentile_ci(sums[:, width + j] / n, confidence)

    recovery = None
    if entities == "spacy" or (entities in ("auto", "fields") and fields is not None):
        recovery = entity_recovery(
            refs,
            hyps,
            fields=None if entities == "spacy" else fields,
            bootstrap=bootstrap,
            confidence=confidence,
            seed=seed,
        )
    return InversionScores(
        n=n,
        bleu=bleu,
        token_f1=float(prf[:, 2].mean()),
        token_precision=float(prf[:, 0].mean()),
        token_recall=float(prf[:, 1].mean()),
        exact_match=float(exact.mean()),
        cosine=cosine,
        ci=ci,
        confidence=confidence,
        bootstrap=int(bootstrap),
        per_example=per_example,
        entities=recovery,
    )


def _pair_cosine(
    embedder: Any,
    refs: list[str],
    hyps: list[str],
    ref_vectors: Any,
    batch_size: int,
    progress: bool | None,
) -> np.ndarray:
    from embedlens._utils import check_matrix

    if ref_vectors is None:
        ref_vectors = embedder.embed(refs, batch_size=batch_size, progress=progress)
    ref_arr = check_matrix(ref_vectors, what="reference_embeddings")
    if ref_arr.shape[0] != len(refs):
        raise ValueError(
            f"reference_embeddings has {ref_arr.shape[0]} rows for {len(refs)} references"
        )
    # an empty hypothesis is not embedded (many embedders and APIs refuse an empty text): it
    # scores cosine 0, as the correction loop treats it as a zero vector
    filled = [i for i, h in enumerate(hyps) if h.strip()]
    hyp_arr = np.zeros(ref_arr.shape, dtype=np.float64)
    if filled:
        got = check_matrix(
            embedder.embed([hyps[i] for i in filled], batch_size=batch_size, progress=progress),
            what="hypothesis embeddings",
        )
        if got.shape != (len(filled), ref_arr.shape[1]):
            raise ValueError(
                f"reference_embeddings have {ref_arr.shape[1]} dims but the embedder gives "
                f"{got.shape[1]}: pass embeddings from the same embedder"
            )
        hyp_arr[filled] = got
    a, b = ref_arr.astype(np.float64), hyp_arr.astype(np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    dots = (a * b).sum(axis=1)
    return np.divide(dots, norms, out=np.zeros(len(a)), where=norms > 0)


def default_eval_fn(embedder: Any = None) -> EvalFn:
    """``inversion.metrics.evaluate`` as an ``eval_fn`` (BLEU, token F1, exact, cosine).

    Cosine is computed only when an ``embedder`` is given.
    """

    def run(references: list[str], hypotheses: list[str]) -> dict[str, float]:
        scores = evaluate(references, hypotheses, embedder=embedder, bootstrap=0)
        return {k: float(v) for k, v in scores.metrics.items()}

    return run
