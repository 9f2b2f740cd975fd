"""The one decoding routine: text from input embeddings (soft tokens, prompts, or both).

Every embedlens decoder ends here: the soft-prefix models through
:meth:`embedlens.soft.SoftPrefixModel.generate`, the explainer's teacher on plain prompts.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["generate_from_embeds"]


def generate_from_embeds(
    model: Any,
    tokenizer: Any,
    inputs_embeds: torch.Tensor,
    attention_mask: torch.Tensor,
    *,
    max_new_tokens: int = 32,
    num_beams: int = 1,
    **generate_kwargs: Any,
) -> list[str]:
    """Decode text from input embeddings: greedy (``num_beams=1``) or beam search.

    The one generation routine of embedlens. For a decoder-only model the batch must be
    left-padded (``splice(..., padding_side="left")``); for an encoder-decoder model the
    embeddings are the encoder's input. Only the new tokens are decoded, special tokens dropped.

    Parameters
    ----------
    model, tokenizer
        A transformers generative model and its tokenizer.
    inputs_embeds, attention_mask
        ``(n, L, E)`` and ``(n, L)``.
    max_new_tokens
        Most tokens to generate per row.
    num_beams
        Beam width; 1 is greedy decoding.
    **generate_kwargs
        Passed on to ``model.generate`` (e.g. ``repetition_penalty``).

    Examples
    --------
    >>> import torch
    >>> import embedlens
    >>> model, tok, _ = embedlens.load_decoder("smollm2")  # doctest: +SKIP
    >>> out = generate_from_embeds(model, tok, torch.zeros(2, 3, 576),  # doctest: +SKIP
    ...                            torch.ones(2, 3, dtype=torch.long), max_new_tokens=4)
    """
    if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be a positive integer, got {max_new_tokens!r}")
    if not isinstance(num_beams, int) or num_beams < 1:
        raise ValueError(f"num_beams must be a positive integer, got {num_beams!r}")
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model.generate(
                inputs_embeds=inputs_embeds,
                attention_mask=attention_mask,
                max_new_tokens=max_new_tokens,
                num_beams=num_beams,
                do_sample=False,
                eos_token_id=eos,
                pad_token_id=pad,
                **generate_kwargs,
            )
    finally:
        model.train(was_training)
    texts: list[str] = tokenizer.batch_decode(out, skip_special_tokens=True)
    return [t.strip() for t in texts]
