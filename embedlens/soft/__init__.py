"""The one soft-prefix machinery: vectors read by a language model as soft tokens.

- :class:`SoftPrompt` (``embedlens.soft.projector``): the projector from vectors to soft tokens,
  with one map per input role where a model reads several vectors (the corrector).
- :func:`splice`, :class:`Tokens`, :func:`answer_loss` (``embedlens.soft.batch``): soft tokens
  and text in one batch, and the loss of its labelled tokens.
- :func:`generate_from_embeds` (``embedlens.soft.generate``): the one decoding routine.
- :class:`SoftPrefixModel` (``embedlens.soft.model``): the base of :class:`inversion.Inverter`,
  :class:`inversion.Corrector`, :class:`inversion.Vec2TextInverter` and
  :class:`interpret.Explainer`: building, generation, save/load (``embedlens.soft.io``).

Names load on first use, so ``import embedlens.soft`` does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embedlens._lazy import lazy_exports

if TYPE_CHECKING:
    from embedlens.models import add_lora
    from embedlens.soft.batch import IGNORE_INDEX, Spliced, Tokens, answer_loss, splice
    from embedlens.soft.generate import generate_from_embeds
    from embedlens.soft.model import SoftPrefixModel
    from embedlens.soft.projector import SoftPrompt, SoftPromptedLM, token_embedding_norm

_LAZY = {
    "IGNORE_INDEX": "embedlens.soft.batch",
    "SoftPrefixModel": "embedlens.soft.model",
    "SoftPrompt": "embedlens.soft.projector",
    "SoftPromptedLM": "embedlens.soft.projector",
    "Spliced": "embedlens.soft.batch",
    "Tokens": "embedlens.soft.batch",
    "add_lora": "embedlens.models",
    "answer_loss": "embedlens.soft.batch",
    "generate_from_embeds": "embedlens.soft.generate",
    "splice": "embedlens.soft.batch",
    "token_embedding_norm": "embedlens.soft.projector",
}

__all__ = [
    "IGNORE_INDEX",
    "SoftPrefixModel",
    "SoftPrompt",
    "SoftPromptedLM",
    "Spliced",
    "Tokens",
    "add_lora",
    "answer_loss",
    "generate_from_embeds",
    "splice",
    "token_embedding_norm",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
