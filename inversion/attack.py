"""The one-liner: ``inversion.invert(vectors, embedder)`` runs the strongest CPU attack embedlens has.

Today that is :class:`~inversion.sentence.SentenceInverter`: the word search of
:class:`~inversion.search.SearchInverter` (the shipped keyword model and word vectors of the
embedder where they exist, built-in MiniLM; else one trained on ``aux_texts``), then the
built-in SmolLM2 writing its words into sentences that the embedder's cosine ranks.
Vectors are checked (dimension, NaN, empty, zero rows) before anything costly is set up, so a
wrong file costs no query.

Examples
--------
>>> import inversion
>>> from embedlens import load_embedder
>>> emb = load_embedder("minilm")  # doctest: +SKIP
>>> texts = inversion.invert(emb.embed(["a person with strabismus"]), emb)  # doctest: +SKIP
>>> result = inversion.invert(X, emb, return_details=True)  # doctest: +SKIP
>>> result.texts, result.queries, result.cosines  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, overload

import numpy as np

from embedlens._utils import torch_threads

__all__ = ["Inversion", "invert"]


@dataclass(frozen=True)
class Inversion:
    """What :func:`invert` found: one text per vector, and what each cost.

    ``queries[i]`` counts the embedder calls spent on text ``i``; ``setup_queries`` those
    spent once (auxiliary texts and words, embedded before the first target). ``cosines[i]``
    is the cosine between text ``i``'s embedding and its target.
    """

    texts: list[str]
    queries: np.ndarray = field(repr=False)
    cosines: np.ndarray = field(repr=False)
    seconds: np.ndarray = field(repr=False)
    setup_queries: int = 0
    attack: str = ""

    def __len__(self) -> int:
        return len(self.texts)

    def __iter__(self) -> Iterator[str]:
        return iter(self.texts)

    def __getitem__(self, i: int) -> str:
        return self.texts[i]

    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per text: index, text, queries, cosine, seconds."""
        return [
            {"index": i, "text": t, "queries": int(q), "cosine": float(c), "seconds": float(s)}
            for i, (t, q, c, s) in enumerate(
                zip(self.texts, self.queries, self.cosines, self.seconds, strict=True)
            )
        ]

    def summary(self) -> str:
        """One line: texts, mean cosine, mean queries and seconds per text."""
        return (
            f"{len(self)} texts by {self.attack}: mean cosine {self.cosines.mean():.3f}, "
            f"{self.queries.mean():.0f} queries and {self.seconds.mean():.2f} s per text "
            f"(+{self.setup_queries} queries once)"
        )


@overload
def invert(
    vectors: Any,
    embedder: Any = ...,
    *,
    return_details: Literal[False] = ...,
    method: Literal["sentence", "search"] = ...,
    max_queries: int = ...,
    max_seconds: float | None = ...,
    aux_texts: Sequence[str] | None = ...,
    threads: int | None = ...,
    seed: int = ...,
    progress: bool | None = ...,
    **options: Any,
) -> list[str]: ...


@overload
def invert(
    vectors: Any,
    embedder: Any = ...,
    *,
    return_details: Literal[True],
    method: Literal["sentence", "search"] = ...,
    max_queries: int = ...,
    max_seconds: float | None = ...,
    aux_texts: Sequence[str] | None = ...,
    threads: int | None = ...,
    seed: int = ...,
    progress: bool | None = ...,
    **options: Any,
) -> Inversion: ...


def invert(
    vectors: Any,
    embedder: Any = "minilm",
    *,
    return_details: bool = False,
    method: Literal["sentence", "search"] = "sentence",
    max_queries: int = 2000,
    max_seconds: float | None = 10.0,
    aux_texts: Sequence[str] | None = None,
    threads: int | None = None,
    seed: int = 0,
    progress: bool | None = None,
    **options: Any,
) -> list[str] | Inversion:
    """Decode embeddings back to text with the strongest CPU attack for ``embedder``.

    Parameters
    ----------
    vectors
        ``(n, dim)`` embeddings made by ``embedder`` (a single vector of ``dim`` values is
        taken as one row).
    embedder
        The embedder that made them: a built-in name (``"minilm"``, ``"mpnet"``), hub id,
        model directory, :class:`~embedlens.embedders.Embedder` or callable texts -> vectors
        (a remote API: every query is counted).
    return_details
        Return an :class:`Inversion` (texts, queries, cosines, seconds) instead of the texts.
    method
        ``"sentence"`` (default): :class:`~inversion.sentence.SentenceInverter`, whose LM
        writes the words the search finds into sentences; ``"search"``: the word search
        alone (:class:`~inversion.search.SearchInverter`, no LM: faster, word salad).
    max_queries
        Most embedder queries per text.
    max_seconds
        Wall seconds per text (``None``: no limit).
    aux_texts
        Texts the attacker holds that resemble the targets (other people's records, public
        sentences of the domain): they start the search and lend their words. Without them
        the attack starts from the predicted words alone; with an embedder that has no shipped
        keyword model they are required (a keyword model is trained on them).
    threads
        torch threads while the attack runs (``None``: torch's default, all cores; give 1 per
        attack when several run at once: two attacks sharing 2 cores each slowed 10-20x).
    seed
        Seed of the search's random edits.
    progress
        Progress bar; ``None`` shows one only in interactive sessions.
    **options
        Further parameters of the attack (``beam_width``, ``word_penalty``, ``keywords``,
        and for ``"sentence"`` ``decoder``, ``sentence_share``, ``fluency``...).

    Returns
    -------
    list of str, or Inversion
    """
    from inversion.search import SearchInverter
    from inversion.sentence import SentenceInverter

    if not isinstance(return_details, bool):
        raise TypeError(f"return_details must be True or False, got {return_details!r}")
    kinds = {"sentence": SentenceInverter, "search": SearchInverter}
    if method not in kinds:
        raise ValueError(f"method must be 'sentence' or 'search', got {method!r}")
    attack = kinds[method](
        embedder,
        aux_texts=aux_texts,
        max_queries=max_queries,
        max_seconds=max_seconds,
        seed=seed,
        progress=progress,
        **options,
    )
    with torch_threads(threads):
        targets = attack.check_vectors(vectors)  # before any set-up that costs queries
        attack.fit()
        texts = attack.invert(targets)
    if not return_details:
        return texts
    return Inversion(
        texts=texts,
        queries=attack.queries_,
        cosines=attack.cosines_,
        seconds=attack.seconds_,
        setup_queries=int(attack.setup_queries_),
        attack=repr(attack),
    )
