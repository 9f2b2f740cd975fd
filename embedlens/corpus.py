"""A corpus: texts with optional per-record ground truth, and its leak-free split.

:class:`Corpus` is what :func:`embedlens.data.load_corpus` returns and what the built-in corpora
(:mod:`embedlens.corpora`) build; :func:`split_indices` sends each text to the train or test side
by a stable hash of the text, so equal texts always land on the same side.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlens._utils import check_unicode

__all__ = ["Corpus", "check_corpus_texts", "split_indices"]


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
        >>> train, test = Corpus("demo", [f"text {i}" for i in range(200)]).split(test_size=0.25)
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
    texts = [str(t) for t in out]  # numpy str_ -> str
    check_unicode(texts)
    return texts


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
