"""Nearest-neighbour attack: answer each embedding with the closest text an attacker already has.

The cheapest inversion there is: embed an auxiliary corpus once (public text of the same kind,
or a leaked sample), then map each target vector to the auxiliary text with the highest cosine.
It recovers a text exactly when that text (or a near copy) is in the auxiliary corpus, and
otherwise shows how much of the content a lookup alone reveals.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from embedlens._utils import check_matrix, check_texts
from embedlens.params import Params

logger = logging.getLogger(__name__)

__all__ = ["NearestNeighbourAttack"]


def _unit_rows(arr: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    return np.divide(arr, norms, out=np.zeros_like(arr), where=norms > 0)


class NearestNeighbourAttack(Params):
    """Map each vector to the most similar text of an auxiliary corpus (cosine similarity).

    Parameters
    ----------
    embedder
        The embedder the target vectors come from; it embeds the auxiliary corpus.
    batch_size
        Embedder batch size.
    max_block
        At most this many similarities are held in memory at once (queries are processed in
        chunks of ``max_block // len(aux)`` rows).
    progress
        Progress bar while embedding the auxiliary corpus; None: only in interactive sessions.

    Examples
    --------
    >>> import numpy as np
    >>> from embedlens import load_embedder
    >>> emb = load_embedder(lambda texts: np.array([[len(t), t.count("b") + 1.0] for t in texts]),
    ...                     name="toy")
    >>> attack = NearestNeighbourAttack(emb).fit(["a red car", "a blue boat"])
    >>> attack.invert(emb.embed(["a blue boat"]))
    ['a blue boat']
    """

    def __init__(
        self,
        embedder: Any,
        *,
        batch_size: int = 64,
        max_block: int = 2**24,
        progress: bool | None = None,
    ) -> None:
        self.embedder = embedder
        self.batch_size = batch_size
        self.max_block = max_block
        self.progress = progress

    def __repr__(self) -> str:
        name = getattr(self.embedder, "name", type(self.embedder).__name__)
        return f"NearestNeighbourAttack(embedder={name!r})"

    def fit(
        self, aux_texts: Sequence[str], *, aux_embeddings: Any = None
    ) -> NearestNeighbourAttack:
        """Embed the auxiliary corpus once (or take its precomputed ``aux_embeddings``)."""
        if self.embedder is None or not hasattr(self.embedder, "embed"):
            raise TypeError(
                "NearestNeighbourAttack needs an embedder with .embed(texts): pass "
                "load_embedder(...) or any Embedder"
            )
        if (
            isinstance(self.max_block, bool)
            or not isinstance(self.max_block, int)
            or self.max_block < 1
        ):
            raise ValueError(f"max_block must be a positive int, got {self.max_block!r}")
        texts = check_texts(aux_texts, what="aux_texts")
        if aux_embeddings is None:
            aux_embeddings = self.embedder.embed(
                texts, batch_size=self.batch_size, progress=self.progress
            )
        vectors = check_matrix(aux_embeddings, what="aux_embeddings", dim=int(self.embedder.dim))
        if vectors.shape[0] != len(texts):
            raise ValueError(
                f"aux_embeddings has {vectors.shape[0]} rows for {len(texts)} aux_texts: "
                "pass one vector per text"
            )
        self.texts_ = texts
        self.vectors_ = _unit_rows(vectors)
        logger.info("NearestNeighbourAttack: %d auxiliary texts", len(texts))
        return self

    def kneighbors(self, X: Any, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Indices ``(n, k)`` of the ``k`` most similar auxiliary texts and their cosines."""
        if not hasattr(self, "vectors_"):
            raise RuntimeError("this NearestNeighbourAttack is not fitted: call fit(aux_texts)")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive int, got {k!r}")
        aux = self.vectors_
        k = min(int(k), aux.shape[0])
        queries = _unit_rows(check_matrix(X, dim=aux.shape[1]))
        rows = max(1, self.max_block // aux.shape[0])
        index = np.empty((queries.shape[0], k), dtype=np.int64)
        sims = np.empty((queries.shape[0], k), dtype=np.float32)
        for start in range(0, queries.shape[0], rows):
            block = queries[start : start + rows] @ aux.T
            if k < aux.shape[0]:
                part = np.argpartition(-block, k - 1, axis=1)[:, :k]
            else:
                part = np.broadcast_to(np.arange(aux.shape[0]), (block.shape[0], k))
            vals = np.take_along_axis(block, part, axis=1)
            order = np.argsort(-vals, axis=1, kind="stable")
            index[start : start + rows] = np.take_along_axis(part, order, axis=1)
            sims[start : start + rows] = np.take_along_axis(vals, order, axis=1)
        return index, sims

    def invert(self, X: Any) -> list[str]:
        """The closest auxiliary text for each row of ``X``."""
        index, _ = self.kneighbors(X, k=1)
        return [self.texts_[i] for i in index[:, 0]]
