"""The Embedder protocol and its backends: transformers, sentence-transformers, callables, arrays.

Every backend (in :mod:`embedlens.backends`) turns a list of texts into a float32 array
``(n, dim)`` through the same :meth:`BaseEmbedder.embed`; :func:`load_embedder` turns a spec (a
built-in name, hub id, directory, SentenceTransformer or callable) into one.

Examples
--------
>>> emb = load_embedder("minilm")  # doctest: +SKIP
>>> X = emb.embed(["a cat sat on the mat", "stock markets fell"])  # doctest: +SKIP
>>> X.shape  # doctest: +SKIP
(2, 384)
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from embedlens.backends.base import POOLINGS, BaseEmbedder, Embedder, Pooling, hash_state
from embedlens.backends.callable import ArrayEmbedder, FunctionEmbedder
from embedlens.backends.hf import (
    SentenceTransformerEmbedder,
    TransformersEmbedder,
    pool,
    read_sentence_transformers_config,
)
from embedlens.cache import EmbeddingCache
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
    "declared_dim",
    "hash_state",
    "load_embedder",
    "pool",
]


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
            model_kwargs={"dtype": resolve_dtype(dtype), "use_safetensors": True},
        )
    except OSError as err:
        raise hub_error(text, "embedder", BUILTIN_EMBEDDERS, err) from err
    if max_length is not None:
        model.max_seq_length = max_length
    return SentenceTransformerEmbedder(model, name=name or text)


#: where a transformers config.json gives the hidden size (BERT and most; T5; DistilBERT; GPT-2)
_WIDTH_KEYS = ("hidden_size", "d_model", "dim", "n_embd")


def declared_dim(spec: Any) -> int | None:
    """The width of the vectors ``load_embedder(spec)`` makes, read from the model's files
    without loading it: for a built-in name or a local model directory whose pooling keeps the
    encoder's width. ``None`` where the files do not say for certain (a hub id, a callable, a
    sentence-transformers pipeline with other modules); then only loading it tells.

    Examples
    --------
    >>> declared_dim("minilm")  # doctest: +SKIP
    384
    """
    if not isinstance(spec, (str, os.PathLike)):
        return None
    text = os.fspath(spec)
    if text in BUILTIN_EMBEDDERS:
        source = resolve_model_source(text, builtins=BUILTIN_EMBEDDERS)
    elif Path(text).expanduser().is_dir():
        source = str(Path(text).expanduser())
    else:
        return None
    st = read_sentence_transformers_config(source)
    if st.get("is_st") and not st.get("simple"):
        return None
    try:
        config = json.loads((Path(source) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    widths = [config.get(k) for k in _WIDTH_KEYS] if isinstance(config, dict) else []
    return next((int(w) for w in widths if isinstance(w, int) and w > 0), None)
