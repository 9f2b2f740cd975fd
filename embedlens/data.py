"""Text loading, the built-in corpus registry and a leakage-free train/test split.

:func:`load_texts` and :func:`load_corpus` turn "some texts" into strings: Python lists,
``.txt``, ``.jsonl``, ``.csv`` and ``.parquet`` files (read by :mod:`embedlens._readers`), and
the built-in corpora of ``BUILTIN_CORPORA`` (``"pii"``, synthetic personal records with ground
truth, and ``"wordnet"``, sentences and definitions from Debian's wordnet-base, both in
:mod:`embedlens.corpora`). :func:`split_indices` decides each text's side by a stable hash.

Only the standard library and numpy are imported at module level; faker and pyarrow are
imported by the functions that need them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from embedlens._readers import SUPPORTED_EXTENSIONS, TEXT_COLUMNS, read_texts
from embedlens.corpus import Corpus, check_corpus_texts, split_indices

__all__ = [
    "BUILTIN_CORPORA",
    "SUPPORTED_EXTENSIONS",
    "TEXT_COLUMNS",
    "Corpus",
    "CorpusLoader",
    "load_corpus",
    "load_texts",
    "split_indices",
    "train_test_split",
]

logger = logging.getLogger(__name__)

Source = Iterable[str] | str | os.PathLike[str]


CorpusLoader = Callable[[int, int | None], Corpus]
"""A built-in corpus: ``loader(seed, n) -> Corpus``."""


def load_texts(source: Source, *, column: str | None = None, limit: int | None = None) -> list[str]:
    """Load texts from a list, a file or a built-in corpus.

    Parameters
    ----------
    source : list of str, path or str
        A list or tuple of strings; a path to a ``.txt`` (one text per line, blank lines
        skipped), ``.jsonl`` (one JSON object or string per line), ``.csv`` (with a header)
        or ``.parquet`` file; or a built-in corpus name (see ``BUILTIN_CORPORA``).
    column : str, optional
        The text column of a ``.jsonl``, ``.csv`` or ``.parquet`` file. Inferred when not
        given: the first of ``TEXT_COLUMNS`` present, else the only string-valued column.
    limit : int, optional
        Keep only the first ``limit`` texts.

    Returns
    -------
    list of str
        The texts. Lines of a ``.txt`` file lose their trailing newline and nothing else.

    Examples
    --------
    >>> load_texts(["first text", "second text"], limit=1)
    ['first text']
    >>> len(load_texts("pii", limit=5))
    5
    """
    return load_corpus(source, column=column, limit=limit).texts


def load_corpus(
    source: Source,
    *,
    column: str | None = None,
    limit: int | None = None,
    seed: int = 0,
    n: int | None = None,
) -> Corpus:
    """Load a :class:`Corpus`: texts plus, for built-in corpora, ground truth and labels.

    Parameters
    ----------
    source : list of str, path or str
        As for :func:`load_texts`.
    column : str, optional
        The text column of a ``.jsonl``, ``.csv`` or ``.parquet`` file.
    limit : int, optional
        Keep only the first ``limit`` records.
    seed : int, default 0
        Seed of generated corpora (``"pii"``); ignored by the others.
    n : int, optional
        Number of records a generated corpus makes (``"pii"``: default 1000).

    Examples
    --------
    >>> corpus = load_corpus("pii", n=10, seed=1)
    >>> sorted(corpus.labels)
    ['age_band', 'condition', 'state']
    >>> corpus.fields[0]["name"] in corpus.texts[0]
    True
    """
    limit = _check_count("limit", limit)
    n = _check_count("n", n)
    if isinstance(source, str) and source in BUILTIN_CORPORA:
        if column is not None:
            raise ValueError(
                f"column={column!r} applies to .jsonl, .csv and .parquet files, not to the "
                f"built-in corpus {source!r}: drop column=."
            )
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}: pass e.g. seed=0.")
        if limit is not None:
            n = limit if n is None else min(n, limit)
        corpus = BUILTIN_CORPORA[source](int(seed), n)
    elif isinstance(source, str | os.PathLike):
        if n is not None:
            raise ValueError(
                f"n={n} applies to generated built-in corpora only, not to {os.fspath(source)!r}: "
                "use limit= to keep the first N texts."
            )
        corpus = Corpus(Path(source).name, read_texts(source, column, list(BUILTIN_CORPORA)))
    elif isinstance(source, bytes | Mapping) or not isinstance(source, Iterable):
        raise TypeError(
            "load_texts expects a list of strings, a file path or a built-in corpus name "
            f"({', '.join(map(repr, BUILTIN_CORPORA))}), got {type(source).__name__}."
        )
    else:
        if column is not None or n is not None:
            raise ValueError(
                "column= and n= apply to files and generated corpora, not to a list of texts: "
                "drop them."
            )
        corpus = Corpus("texts", check_corpus_texts(source))
    if limit is not None and len(corpus) > limit:
        corpus = corpus.subset(range(limit))
    return corpus


# ---------------------------------------------------------------------------------------------
# validation helpers


def _check_count(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be a positive int or None, got {type(value).__name__}.")
    if value < 1:
        raise ValueError(f"{name} must be a positive int or None, got {value}: pass {name}>=1.")
    return int(value)


# ---------------------------------------------------------------------------------------------
# built-in corpora


def _pii(seed: int, n: int | None) -> Corpus:
    from embedlens.corpora import generate_pii

    return generate_pii(1000 if n is None else n, seed=seed)


def _wordnet(part: Literal["all", "examples", "glosses"]) -> CorpusLoader:
    def loader(seed: int, n: int | None) -> Corpus:
        from embedlens.corpora import load_wordnet

        corpus = load_wordnet(part)
        return corpus if n is None or n >= len(corpus) else corpus.subset(range(n))

    return loader


BUILTIN_CORPORA: dict[str, CorpusLoader] = {
    "pii": _pii,
    "wordnet": _wordnet("all"),
    "wordnet-examples": _wordnet("examples"),
    "wordnet-glosses": _wordnet("glosses"),
}
"""Registry of built-in corpora: name -> ``loader(seed, n) -> Corpus``. Add entries to extend."""


# ---------------------------------------------------------------------------------------------
# splitting


def train_test_split(
    texts: Sequence[str], *, test_size: float = 0.1, seed: int = 0
) -> tuple[list[str], list[str]]:
    """Split texts into (train, test) lists with :func:`split_indices`, keeping their order.

    Examples
    --------
    >>> train, test = train_test_split([f"text {i}" for i in range(100)] * 2, test_size=0.3)
    >>> set(train).isdisjoint(test)
    True
    """
    items = list(texts)
    train_idx, test_idx = split_indices(items, test_size=test_size, seed=seed)
    return [items[i] for i in train_idx], [items[i] for i in test_idx]
