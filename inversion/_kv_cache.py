"""Key/value cache helpers for step-by-step decoding across transformers versions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

__all__ = ["cache_argument", "cache_of", "reorder_cache"]


def reorder_cache(cache: Any, index: torch.Tensor) -> Any:
    """Select the rows ``index`` of a key/value cache (a transformers ``Cache`` or tuples)."""
    if hasattr(cache, "reorder_cache"):
        cache.reorder_cache(index)
        return cache
    return tuple(tuple(t.index_select(0, index) for t in layer) for layer in cache)


def cache_argument(model: Any) -> str:
    """The name of the key/value cache argument of ``model.forward`` (transformers renamed it)."""
    import inspect

    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def cache_of(output: Any) -> Any:
    """The key/value cache of a model output, under its new or its old name."""
    for key in ("cache", "past_key_values"):
        if key in output and output[key] is not None:
            return output[key]
    raise RuntimeError("the language model returned no key/value cache: pass use_cache=True")
