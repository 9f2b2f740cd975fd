"""Soft tokens and text in one batch: splicing, and the loss of the labelled tokens.

:func:`splice` places soft tokens and tokenized text segments in one padded batch with the
right attention mask, labels and positions, whatever the padding; :func:`answer_loss` is the
token cross-entropy of its labelled positions, computing the LM head only where a label is.
Every soft-prefix model (inverter, corrector, explainer) trains and generates through these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch

__all__ = ["IGNORE_INDEX", "Spliced", "Tokens", "answer_loss", "splice"]

IGNORE_INDEX = -100  # the label transformers' losses skip


@dataclass
class Tokens:
    """A tokenized text segment of a batch: ids, their mask, and whether it is a training target.

    ``input_ids`` and ``attention_mask`` are ``(n, L)``; padding may sit on either side (only the
    mask says what is real). With ``target=True`` the real tokens become labels.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    target: bool = False


@dataclass
class Spliced:
    """A batch ready for ``model(**spliced.model_inputs())``: embeddings, mask, positions, labels."""

    inputs_embeds: torch.Tensor
    attention_mask: torch.Tensor
    position_ids: torch.Tensor
    labels: torch.Tensor

    def model_inputs(self, *, labels: bool = True, positions: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "inputs_embeds": self.inputs_embeds,
            "attention_mask": self.attention_mask,
        }
        if positions:
            out["position_ids"] = self.position_ids
        if labels:
            out["labels"] = self.labels
        return out


def splice(
    model: Any,
    parts: Sequence[torch.Tensor | Tokens],
    *,
    padding_side: Literal["left", "right"] = "right",
) -> Spliced:
    """Concatenate soft tokens and text segments row by row into one padded batch.

    Each part is either a float tensor ``(n, k, E)`` of soft tokens (all real) or a
    :class:`Tokens` segment whose ids are embedded with ``model``'s input embeddings. In every
    row the real positions of all parts are laid end to end in the given order, and the padding
    is moved to ``padding_side`` (``"right"`` for training, ``"left"`` for generation with a
    decoder-only model). Positions count real tokens only, so a padded row sees exactly what it
    would see alone. Labels are the ids of ``Tokens(target=True)`` parts and ``-100`` elsewhere.

    Examples
    --------
    >>> import torch
    >>> from transformers import LlamaConfig, LlamaForCausalLM
    >>> lm = LlamaForCausalLM(LlamaConfig(vocab_size=20, hidden_size=32, intermediate_size=64,
    ...     num_hidden_layers=1, num_attention_heads=4))
    >>> ids = torch.tensor([[10, 11, 0], [12, 13, 14]]); mask = (ids != 0).long()
    >>> s = splice(lm, [torch.zeros(2, 2, 32), Tokens(ids, mask, target=True)])
    >>> s.attention_mask.tolist()
    [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]
    """
    if not parts:
        raise ValueError("splice needs at least one part")
    if padding_side not in ("left", "right"):
        raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
    embed = model.get_input_embeddings()
    dtype = embed.weight.dtype
    device = embed.weight.device
    embeds: list[torch.Tensor] = []
    masks: list[torch.Tensor] = []
    labels: list[torch.Tensor] = []
    n: int | None = None
    for i, part in enumerate(parts):
        if isinstance(part, Tokens):
            ids = part.input_ids.to(device)
            mask = part.attention_mask.to(device).long()
            if ids.shape != mask.shape or ids.ndim != 2:
                raise ValueError(
                    f"splice part {i}: input_ids {tuple(ids.shape)} and attention_mask "
                    f"{tuple(mask.shape)} must both be (n, L)"
                )
            emb = embed(ids)
            lab = ids.masked_fill(mask == 0, IGNORE_INDEX) if part.target else None
        elif isinstance(part, torch.Tensor) and part.is_floating_point():
            if part.ndim != 3 or part.shape[-1] != embed.weight.shape[1]:
                raise ValueError(
                    f"splice part {i}: soft tokens must be (n, k, {embed.weight.shape[1]}), "
                    f"got {tuple(part.shape)}"
                )
            emb = part.to(device=device, dtype=dtype)
            mask = torch.ones(part.shape[:2], dtype=torch.long, device=device)
            lab = None
        else:
            raise TypeError(
                f"splice part {i} is {type(part).__name__} "
                f"({getattr(part, 'dtype', '')}): pass float soft tokens (n, k, E), or token ids "
                "wrapped in Tokens(input_ids, attention_mask)"
            )
        if n is None:
            n = emb.shape[0]
        elif emb.shape[0] != n:
            raise ValueError(f"splice part {i} has {emb.shape[0]} rows, part 0 has {n}")
        if lab is None:
            lab = torch.full(mask.shape, IGNORE_INDEX, dtype=torch.long, device=device)
        embeds.append(emb.to(dtype))
        masks.append(mask)
        labels.append(lab)
    all_embeds = torch.cat(embeds, dim=1)
    all_mask = torch.cat(masks, dim=1)
    all_labels = torch.cat(labels, dim=1)
    # A stable sort on "is padding" (right) or "is real" (left) moves each row's padding to one
    # side and keeps the real positions in their order.
    key = (1 - all_mask) if padding_side == "right" else all_mask
    order = torch.argsort(key, dim=1, stable=True)
    all_mask = torch.gather(all_mask, 1, order)
    all_labels = torch.gather(all_labels, 1, order)
    all_embeds = torch.gather(
        all_embeds, 1, order.unsqueeze(-1).expand(-1, -1, all_embeds.shape[-1])
    )
    # Keep padded positions finite and inert: zero vectors, ignored labels.
    all_embeds = all_embeds * all_mask.unsqueeze(-1).to(all_embeds.dtype)
    positions = (all_mask.cumsum(dim=1) - 1).clamp(min=0) * all_mask
    return Spliced(all_embeds, all_mask, positions, all_labels)


def _keeps_logits(model: Any) -> bool:
    """Whether ``model``'s forward takes ``logits_to_keep`` (recent transformers causal LMs)."""
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    try:
        return "logits_to_keep" in inspect.signature(base.forward).parameters
    except (TypeError, ValueError):  # pragma: no cover - an unusual forward
        return False


def answer_loss(model: Any, batch: Spliced) -> torch.Tensor:
    """Mean cross-entropy of the labelled tokens, with logits computed only where needed.

    The soft tokens and any prompt carry no labels, so the LM head (a large share of a small
    LM's compute: vocabulary x width per position) runs only from the first position that
    predicts a label; the loss equals the LM's own ``labels=`` loss.
    """
    labels = batch.labels
    has = labels != IGNORE_INDEX
    if not _keeps_logits(model) or not bool(has.any()):
        return model(**batch.model_inputs()).loss  # type: ignore[no-any-return]
    first = int(has.long().argmax(dim=1)[has.any(dim=1)].min())
    keep = labels.shape[1] - max(first - 1, 0)
    out = model(**batch.model_inputs(labels=False), logits_to_keep=keep)
    logits = out.logits[:, :-1]
    target = labels[:, labels.shape[1] - keep + 1 :]
    return torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(),
        target.reshape(-1),
        ignore_index=IGNORE_INDEX,
    )
