"""Key/value cache helpers for step-by-step decoding across transformers versions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

__all__ = ["CachedBatch", "cache_argument", "cache_of", "reorder_cache"]


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


class CachedBatch:
    """Prompts decoded together one token a step, their key/value cache kept between steps.

    The prompts are left-padded so that every row ends at the same column; ``logits`` holds the
    next-token logits of each row. :meth:`advance` keeps the rows ``parents`` (a beam's
    survivors, repeats allowed), appends one token to each and runs the model on those tokens.
    """

    def __init__(self, model: Any, prompts: Sequence[Sequence[int]], pad_id: int | None) -> None:
        import torch

        self.model = model
        self.device = next(model.parameters()).device
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), int(pad_id or 0), dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for r, p in enumerate(prompts):
            ids[r, width - len(p) :] = torch.tensor(list(p), dtype=torch.long)
            mask[r, width - len(p) :] = 1
        self.mask = mask.to(self.device)
        positions = (self.mask.cumsum(dim=1) - 1).clamp(min=0)
        self.cache_arg = cache_argument(model)
        out = model(
            input_ids=ids.to(self.device),
            attention_mask=self.mask,
            position_ids=positions,
            use_cache=True,
        )
        self.cache, self.logits, self.last = cache_of(out), out.logits[:, -1], positions[:, -1]

    def advance(self, parents: Sequence[int], tokens: Sequence[int]) -> torch.Tensor:
        """Keep rows ``parents``, append ``tokens`` (one per kept row); the new logits."""
        import torch

        index = torch.tensor(list(parents), dtype=torch.long, device=self.device)
        new = torch.tensor(list(tokens), dtype=torch.long, device=self.device)
        self.cache = reorder_cache(self.cache, index)
        self.mask = torch.cat([self.mask.index_select(0, index), torch.ones_like(new)[:, None]], 1)
        self.last = self.last.index_select(0, index) + 1
        out = self.model(
            input_ids=new[:, None],
            attention_mask=self.mask,
            position_ids=self.last[:, None],
            use_cache=True,
            **{self.cache_arg: self.cache},
        )
        self.cache, self.logits = cache_of(out), out.logits[:, -1]
        return self.logits
