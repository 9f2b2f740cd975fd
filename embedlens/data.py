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

import hashlib
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from embedlens._readers import SUPPORTED_EXTENSIONS, TEXT_COLUMNS, read_texts

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
        >>> train, test = load_corpus("pii", n=200).split(test_size=0.25)
        >>> len(train) + len(test)
        200
        """
        train_idx, test_idx = split_indices(self.texts, test_size=test_size, seed=seed)
        return self.subset(train_idx), self.subset(test_idx)


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
        corpus = Corpus("texts", _check_texts(source))
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


def _check_texts(texts: Iterable[Any]) -> list[str]:
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
    items = _check_texts(texts)
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
