"""The Embedder protocol and its backends: transformers, sentence-transformers, callables, arrays.

Every backend turns a list of texts into a float32 array ``(n, dim)`` through the same
:meth:`BaseEmbedder.embed` (see :mod:`embedlens.embedder_base`); :func:`load_embedder` turns a
spec (a built-in name, hub id, directory, SentenceTransformer or callable) into one.

Examples
--------
>>> emb = load_embedder("minilm")  # doctest: +SKIP
>>> X = emb.embed(["a cat sat on the mat", "stock markets fell"])  # doctest: +SKIP
>>> X.shape  # doctest: +SKIP
(2, 384)
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from embedlens._utils import check_matrix, check_texts
from embedlens.backends_hf import (
    SentenceTransformerEmbedder,
    TransformersEmbedder,
    pool,
    read_sentence_transformers_config,
)
from embedlens.cache import EmbeddingCache
from embedlens.embedder_base import POOLINGS, BaseEmbedder, Embedder, Pooling, hash_state
from embedlens.models import (
    BUILTIN_EMBEDDERS,
    check_model_dir,
    hub_error,
    resolve_device,
    resolve_dtype,
    resolve_model_source,
)

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

__all__ = [
    "POOLINGS",
    "ArrayEmbedder",
    "BaseEmbedder",
    "Embedder",
    "EmbeddingCache",
    "FunctionEmbedder",
    "Pooling",
    "SentenceTransformerEmbedder",
    "TransformersEmbedder",
    "hash_state",
    "load_embedder",
    "pool",
]


# --------------------------------------------------------------------------- callables


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
                return np.asarray(self.fn(list(texts)), dtype=np.float32)
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
        raise AssertionError("unreachable")  # pragma: no cover

    def _compute_fingerprint(self) -> str:
        if self._given_fingerprint:
            return self._given_fingerprint
        return hashlib.sha256(f"function|{self.name}|{self.dim}".encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- arrays


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


# --------------------------------------------------------------------------- loading


Backend = Literal["auto", "transformers", "sentence-transformers"]


def load_embedder(
    spec: Any = "minilm",
    *,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    backend: Backend = "auto",
    pooling: Pooling | None = None,
    normalize: bool | None = None,
    max_length: int | None = None,
    name: str | None = None,
    layer: int | None = None,
    cache: EmbeddingCache | str | os.PathLike[str] | None = None,
) -> BaseEmbedder:
    """Turn a spec into an :class:`Embedder`.

    Parameters
    ----------
    spec
        The built-in ``"minilm"``; a hub id or local model directory; a ``SentenceTransformer``
        object; an embedder (returned as is); or a callable ``texts -> array``.
    backend
        For names and directories: ``"auto"`` uses the transformers backend when a
        sentence-transformers configuration has only Transformer/Pooling/Normalize modules (it
        reproduces them exactly, with less overhead), and sentence-transformers otherwise.
    layer
        Pool this hidden layer instead of the output (transformers backend only).
    cache
        A path for an on-disk embedding cache keyed by (fingerprint, text).

    Examples
    --------
    >>> emb = load_embedder("minilm")  # doctest: +SKIP
    >>> emb.dim  # doctest: +SKIP
    384
    """
    if backend not in ("auto", "transformers", "sentence-transformers"):
        raise ValueError(
            f"unknown backend {backend!r}: use 'auto', 'transformers' or 'sentence-transformers'"
        )
    emb: BaseEmbedder
    if isinstance(spec, BaseEmbedder):
        emb = spec
    elif _is_sentence_transformer(spec):
        emb = SentenceTransformerEmbedder(spec, name=name)
    elif isinstance(spec, (str, os.PathLike)):
        hf_options = {
            "pooling": pooling,
            "normalize": normalize,
            "max_length": max_length,
            "name": name,
            "layer": layer,
            "device": device,
            "dtype": dtype,
        }
        emb = _load_named(spec, backend, hf_options)
    elif isinstance(spec, Embedder):
        return spec  # type: ignore[return-value]  # a user's own protocol implementation
    elif callable(spec):
        emb = FunctionEmbedder(spec, name=name)
    else:
        raise TypeError(
            f"cannot make an embedder from {type(spec).__name__}: pass a built-in name "
            f"({', '.join(BUILTIN_EMBEDDERS)}), a hub id or model directory, a "
            f"SentenceTransformer, or a callable texts -> array"
        )
    if cache is not None:
        emb.with_cache(cache)
    return emb


def _is_sentence_transformer(obj: Any) -> bool:
    return any(c.__name__ == "SentenceTransformer" for c in type(obj).__mro__)


def _load_named(
    spec: str | os.PathLike[str], backend: Backend, options: dict[str, Any]
) -> BaseEmbedder:
    text = os.fspath(spec)
    source = resolve_model_source(text, builtins=BUILTIN_EMBEDDERS)
    st = read_sentence_transformers_config(source)
    use_st = backend == "sentence-transformers" or (
        backend == "auto" and st.get("is_st") and not st.get("simple")
    )
    if not use_st:
        return TransformersEmbedder.from_pretrained(text, **options)
    chosen = [k for k in ("pooling", "normalize", "layer") if options[k] is not None]
    if chosen:
        raise ValueError(
            f"{', '.join(chosen)} cannot be set for the sentence-transformers backend (its "
            "configuration decides); pass backend='transformers' to choose them yourself"
        )
    device, dtype, max_length, name = (
        options["device"],
        options["dtype"],
        options["max_length"],
        options["name"],
    )
    if Path(source).is_dir() and not st.get("is_st"):
        check_model_dir(source)
    from sentence_transformers import SentenceTransformer

    try:
        model = SentenceTransformer(
            source,
            device=str(resolve_device(device)),
            model_kwargs={"dtype": resolve_dtype(dtype)},
        )
    except OSError as err:
        raise hub_error(text, "embedder", BUILTIN_EMBEDDERS, err) from err
    if max_length is not None:
        model.max_seq_length = max_length
    return SentenceTransformerEmbedder(model, name=name or text)
