"""Embedders that are not neural networks here: a callable (an API client) and stored vectors.

:class:`FunctionEmbedder` wraps any ``texts -> array`` callable with batching, retries and shape
checks; :class:`ArrayEmbedder` looks up vectors computed elsewhere for known texts.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from embedlens._utils import check_matrix, check_texts
from embedlens.backends.base import BaseEmbedder

logger = logging.getLogger(__name__)

__all__ = ["ArrayEmbedder", "FunctionEmbedder"]


class FunctionEmbedder(BaseEmbedder):
    """Any callable from a list of texts to an array, such as a client of an embedding API.

    Calls are batched (at most ``batch_size`` texts, as :meth:`embed` is asked), transient
    failures (``retry_on``) are retried up to ``max_retries`` times with exponential backoff,
    and a result of the wrong shape raises a clear error.

    Parameters
    ----------
    fn
        ``fn(list_of_texts) -> array-like (len(texts), dim)``.
    name
        Names the embedder in results; defaults to the function's name.
    dim
        The vector size if known; otherwise read from the first result.
    fingerprint
        A stable identity of the remote model (e.g. ``"provider/model@version"``). Without it
        the fingerprint hashes ``name`` and ``dim``: name remote models precisely.
    max_retries, backoff, retry_on
        Retry policy: waits ``backoff * 2**attempt`` seconds between tries.

    Examples
    --------
    >>> emb = FunctionEmbedder(lambda texts: [[len(t), 1.0] for t in texts], name="len")
    >>> emb.embed(["ab", "abc"]).tolist()
    [[2.0, 1.0], [3.0, 1.0]]
    """

    def __init__(
        self,
        fn: Callable[[list[str]], Any],
        *,
        name: str | None = None,
        dim: int | None = None,
        fingerprint: str | None = None,
        max_retries: int = 3,
        backoff: float = 1.0,
        retry_on: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError, OSError),
    ) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be callable (texts -> array), got {type(fn).__name__}")
        if max_retries < 0 or backoff < 0:
            raise ValueError("max_retries and backoff must be >= 0")
        self.fn = fn
        self._name = name or getattr(fn, "__name__", None) or type(fn).__name__
        self._dim = int(dim) if dim is not None else None
        self._given_fingerprint = fingerprint
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.retry_on = retry_on

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        for attempt in range(self.max_retries + 1):
            try:
                raw = self.fn(list(texts))
            except self.retry_on as err:
                if attempt == self.max_retries:
                    raise RuntimeError(
                        f"embedder {self.name!r} failed {attempt + 1} times on a batch of "
                        f"{len(texts)} texts; last error: {type(err).__name__}: {err}"
                    ) from err
                wait = self.backoff * 2**attempt
                logger.warning(
                    "embedder %r: %s: %s; retrying in %.1fs",
                    self.name,
                    type(err).__name__,
                    err,
                    wait,
                )
                time.sleep(wait)
                continue
            return self._as_array(raw, len(texts))
        raise AssertionError("unreachable")  # pragma: no cover

    def _as_array(self, raw: Any, n: int) -> np.ndarray:
        """``raw``, what the function returned for ``n`` texts, as a float32 array."""
        try:
            return np.asarray(raw, dtype=np.float32)
        except (ValueError, TypeError) as err:
            try:
                lengths = sorted({len(v) for v in raw})[:4]
            except TypeError:  # not a list of vectors at all
                lengths = []
            found = (
                f"ragged: vectors of lengths {lengths}"
                if len(lengths) > 1
                else f"not numbers: {str(err).splitlines()[0][:80]}"
            )
            raise ValueError(
                f"embedder {self.name!r} returned no array for {n} texts ({found}): it must "
                "return one vector of the same length per text"
            ) from None

    def _compute_fingerprint(self) -> str:
        if self._given_fingerprint:
            return self._given_fingerprint
        return hashlib.sha256(f"function|{self.name}|{self.dim}".encode()).hexdigest()[:16]


class ArrayEmbedder(BaseEmbedder):
    """Precomputed vectors for known texts: ``embed`` looks them up.

    Useful when the vectors are all an auditor has (a dump of a vector database) together with
    the texts they are known to come from.

    Examples
    --------
    >>> emb = ArrayEmbedder(["a", "b"], [[1.0, 0.0], [0.0, 1.0]], name="dump")
    >>> emb.embed(["b"]).tolist()
    [[0.0, 1.0]]
    """

    def __init__(self, texts: Sequence[str], vectors: Any, *, name: str = "array") -> None:
        items = check_texts(texts)
        X = check_matrix(vectors, what="vectors")
        if X.shape[0] != len(items):
            raise ValueError(
                f"got {len(items)} texts but {X.shape[0]} vectors: pass one vector per text"
            )
        self._index = {t: i for i, t in enumerate(items)}
        self.vectors = X
        self._name = name
        self._dim = int(X.shape[1])

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in texts if t not in self._index]
        if missing:
            raise KeyError(
                f"ArrayEmbedder {self.name!r} has no vector for {len(missing)} text(s), e.g. "
                f"{missing[0][:60]!r}: it only knows the texts it was built with"
            )
        return self.vectors[[self._index[t] for t in texts]]

    def _compute_fingerprint(self) -> str:
        h = hashlib.sha256(self.vectors.tobytes())
        return h.hexdigest()[:16]
