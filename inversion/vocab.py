"""Word vocabularies for search attacks: the words of a corpus and each word's own embedding.

A mean-pooled sentence embedder keeps much of a text's vocabulary, so a word whose own vector
lies close to what a text still misses is often a word of the text. :class:`WordVectors` holds
such a table (saved as fp16 safetensors beside a ``config.json``; embedlens ships one per
built-in embedder) and ranks it against a direction.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embedlens._utils import atomic_path
from embedlens.saving import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    artifact_config,
    check_embedder,
    config_entries,
    embedder_record,
    load_weights,
    read_config,
    resolve_dir,
)
from inversion._edits import Words

__all__ = ["BigramModel", "WordVectors", "vocabulary_forms"]


def vocabulary_forms(texts: Iterable[str]) -> dict[str, int]:
    """The words of ``texts`` (with a letter), each in its most frequent spelling, by count.

    Words are compared case-folded; the most common surface form is kept ("Smith", not
    "smith", when names are capitalised).
    """
    forms: dict[str, dict[str, int]] = {}
    for text in texts:
        for w in Words.parse(text).words:
            if any(c.isalpha() for c in w):
                seen = forms.setdefault(w.casefold(), {})
                seen[w] = seen.get(w, 0) + 1
    counted = {max(f, key=f.__getitem__): sum(f.values()) for f in forms.values()}
    return dict(sorted(counted.items(), key=lambda kv: (-kv[1], kv[0])))


@dataclass
class WordVectors:
    """Words (or whole texts) and their unit embeddings under one embedder (``vectors``:
    float64 rows): the shipped word tables, and the attacker's auxiliary texts."""

    words: list[str]
    vectors: np.ndarray
    embedder: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        arr = np.asarray(self.vectors, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[0] != len(self.words):
            raise ValueError(
                f"vectors must have one row per word: {len(self.words)} words, shape {arr.shape}"
            )
        if not np.isfinite(arr).all():
            raise ValueError("the vectors hold NaN or inf: recompute them (or check the embedder)")
        self.vectors = arr / np.maximum(np.linalg.norm(arr, axis=1, keepdims=True), 1e-12)

    @classmethod
    def embed(cls, words: Sequence[str], embedder: Any, *, batch_size: int = 256) -> WordVectors:
        """Embed each distinct word (or text) on its own: one query each."""
        items = list(dict.fromkeys(words))
        if not items:
            return cls([], np.zeros((0, int(embedder.dim))), embedder_record(embedder))
        vecs = np.asarray(embedder.embed(items, batch_size=batch_size, progress=False))
        if vecs.shape != (len(items), int(embedder.dim)):
            raise ValueError(
                f"embedder {embedder.name!r} returned shape {vecs.shape} for {len(items)} words"
            )
        return cls(items, vecs, embedder_record(embedder))

    def __len__(self) -> int:
        return len(self.words)

    def merged(self, other: WordVectors) -> WordVectors:
        """These words and those of ``other`` it lacks (case-folded), in that order."""
        known = {w.casefold() for w in self.words}
        keep = [i for i, w in enumerate(other.words) if w.casefold() not in known]
        return WordVectors(
            [*self.words, *(other.words[i] for i in keep)],
            np.vstack([self.vectors, other.vectors[keep]]),
            self.embedder or other.embedder,
        )

    def closest(self, direction: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The ``k`` words whose vectors are closest to the unit ``direction``, best first."""
        if not len(self.words) or k < 1:
            return []
        sims = self.vectors @ direction
        k = min(k, len(sims))
        top = np.argpartition(-sims, k - 1)[:k]
        return [(self.words[j], float(sims[j])) for j in top[np.argsort(-sims[top])]]

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``config.json`` and fp16 ``model.safetensors`` to the folder ``path``."""
        import torch
        from safetensors.torch import save_file

        config = artifact_config("WordVectors", {"embedder": self.embedder, "words": self.words})
        tensors = {"vectors": torch.from_numpy(self.vectors.astype(np.float16))}
        with atomic_path(path) as tmp:
            tmp.mkdir(parents=True)
            (tmp / CONFIG_FILE).write_text(json.dumps(config) + "\n", encoding="utf-8")
            save_file(tensors, str(tmp / WEIGHTS_FILE), metadata={"format": "pt"})
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, embedder: Any = None) -> WordVectors:
        """Load a table saved by :meth:`save`; ``embedder``, when given, must be the one it was
        made with."""
        folder = resolve_dir(path)
        config = read_config(folder, "WordVectors")
        saved = config.get("embedder")
        weights = load_weights(folder, framework="numpy")
        with config_entries(folder):
            if embedder is not None and saved is not None:
                check_embedder(saved, embedder, folder)
            vectors = weights["vectors"].astype(np.float64)
            return cls(list(config["words"]), vectors, saved)


class BigramModel:
    """Word bigram log-probabilities from a corpus (case-folded, add-``k`` smoothed, with an
    interpolated unigram), to prefer fluent word orders among texts of equal cosine.

    Examples
    --------
    >>> lm = BigramModel(["the cat sat", "the dog sat"])
    >>> lm.score(["the", "cat", "sat"]) > lm.score(["sat", "cat", "the"])
    True
    """

    def __init__(self, texts: Iterable[str], *, k: float = 0.1, unigram_weight: float = 0.2):
        self.k, self.unigram_weight = float(k), float(unigram_weight)
        self.unigrams: dict[str, int] = {}
        self.bigrams: dict[tuple[str, str], int] = {}
        for text in texts:
            words = ["<s>", *(w.casefold() for w in Words.parse(text).words), "</s>"]
            for w in words:
                self.unigrams[w] = self.unigrams.get(w, 0) + 1
            for pair in itertools.pairwise(words):
                self.bigrams[pair] = self.bigrams.get(pair, 0) + 1
        self.n_tokens = max(1, sum(self.unigrams.values()))
        self.size = len(self.unigrams) + 1

    def __bool__(self) -> bool:
        return bool(self.bigrams)

    def logprob(self, prev: str, word: str) -> float:
        uni = (self.unigrams.get(word, 0) + self.k) / (self.n_tokens + self.k * self.size)
        big = (self.bigrams.get((prev, word), 0) + self.k * self.size * uni) / (
            self.unigrams.get(prev, 0) + self.k * self.size
        )
        return float(np.log((1 - self.unigram_weight) * big + self.unigram_weight * uni))

    def total(self, words: Sequence[str]) -> float:
        """Log-probability of ``words`` as a whole sentence (start and end included): a word
        inserted must pay for itself, so frequent glue words are added only where they fit."""
        seq = ["<s>", *(w.casefold() for w in words), "</s>"]
        return sum(self.logprob(a, b) for a, b in itertools.pairwise(seq))

    def score(self, words: Sequence[str]) -> float:
        """Mean log-probability per transition of ``words`` (sentence start and end included)."""
        seq = ["<s>", *(w.casefold() for w in words), "</s>"]
        return sum(self.logprob(a, b) for a, b in itertools.pairwise(seq)) / (len(seq) - 1)
