"""Vectors as soft tokens: a projector into a language model's input space, splicing, generation.

A :class:`SoftPrompt` maps one vector (or several) to ``k`` soft tokens that live in the
input-embedding space of a causal LM (or of the encoder of a seq2seq model), the way ELM and
xRAG let a frozen LM read an embedding. :func:`splice` places soft tokens and tokenized text in
one batch with the right attention mask, labels and positions, whatever the padding, and
:func:`generate_from_embeds` is the one decoding routine (greedy or beam search) that every
embedlens decoder uses. Nothing here knows what the vectors are for.

torch is imported when this module is; ``import interpret`` does not import it.

Examples
--------
>>> import torch
>>> from embedlens.tiny import tiny_causal_lm
>>> lm = tiny_causal_lm()
>>> sp = SoftPrompt.for_model(lm.model, in_dim=8, prefix_tokens=4)
>>> sp(torch.randn(2, 8)).shape
torch.Size([2, 4, 32])
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

logger = logging.getLogger(__name__)

__all__ = [
    "IGNORE_INDEX",
    "SoftPrompt",
    "SoftPromptedLM",
    "Spliced",
    "Tokens",
    "add_lora",
    "check_soft_prefix_params",
    "generate_from_embeds",
    "splice",
    "token_embedding_norm",
]

IGNORE_INDEX = -100  # the label transformers' losses skip


def check_soft_prefix_params(model: Any, modes: tuple[str, ...]) -> None:
    """Check the settings every soft-prefix model shares (inverter, corrector, explainer).

    ``model.finetune`` must be one of ``modes``; ``prefix_tokens``, ``max_length`` and
    ``lora_rank`` positive integers.
    """
    if model.finetune not in modes:
        raise ValueError(f"unknown finetune mode {model.finetune!r}: use one of {list(modes)}")
    for name in ("prefix_tokens", "max_length", "lora_rank"):
        value = getattr(model, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def token_embedding_norm(model: Any) -> float:
    """Mean L2 norm of the rows of ``model``'s input-embedding matrix (the scale to match)."""
    weight = model.get_input_embeddings().weight
    with torch.no_grad():
        return float(weight.detach().float().norm(dim=-1).mean())


class SoftPrompt(nn.Module):
    """An MLP from vectors to ``prefix_tokens`` soft tokens of width ``embed_dim``.

    The input (optionally layer-normalized, so unit-norm embeddings and raw ones train alike)
    goes through ``Linear -> GELU -> Linear`` to ``prefix_tokens * embed_dim`` numbers; each
    soft token is then RMS-normalized and multiplied by a learned gain initialised at
    ``target_norm / sqrt(embed_dim)``, so at initialisation every soft token has the norm of a
    typical token embedding of the LM (see :func:`token_embedding_norm`).

    Parameters
    ----------
    in_dim
        Dimension of the input vectors.
    embed_dim
        Width of the LM's input embeddings.
    prefix_tokens
        Number of soft tokens per vector (``k``).
    hidden
        Hidden width of the MLP; ``None`` means ``max(in_dim, embed_dim)``.
    normalize_input
        Layer-normalize the input vectors first.
    target_norm
        Norm of each soft token at initialisation; ``None`` means ``sqrt(embed_dim)``.
    dropout
        Dropout on the hidden layer (training only).
    rms_norm
        RMS-normalize each soft token before the gain (the default). ``False`` gives the plain
        MLP times the gain, the form of vec2text's embedding transform (its checkpoints load
        into it; see :mod:`inversion.vec2text`).

    Examples
    --------
    >>> import torch
    >>> sp = SoftPrompt(in_dim=8, embed_dim=16, prefix_tokens=3, target_norm=2.0)
    >>> out = sp(torch.randn(5, 8)).detach()
    >>> out.shape, round(float(out.norm(dim=-1).mean()), 3)
    (torch.Size([5, 3, 16]), 2.0)
    """

    def __init__(
        self,
        in_dim: int,
        embed_dim: int,
        prefix_tokens: int = 16,
        *,
        hidden: int | None = None,
        normalize_input: bool = True,
        target_norm: float | None = None,
        dropout: float = 0.0,
        rms_norm: bool = True,
    ) -> None:
        super().__init__()
        for name, value in (
            ("in_dim", in_dim),
            ("embed_dim", embed_dim),
            ("prefix_tokens", prefix_tokens),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"SoftPrompt: {name} must be a positive integer, got {value!r}")
        hidden = max(in_dim, embed_dim) if hidden is None else hidden
        if not isinstance(hidden, int) or hidden < 1:
            raise ValueError(f"SoftPrompt: hidden must be a positive integer, got {hidden!r}")
        if target_norm is not None and not (math.isfinite(target_norm) and target_norm > 0):
            raise ValueError(f"SoftPrompt: target_norm must be > 0, got {target_norm!r}")
        self.in_dim = in_dim
        self.embed_dim = embed_dim
        self.prefix_tokens = prefix_tokens
        self.hidden = hidden
        self.normalize_input = normalize_input
        self.rms_norm = bool(rms_norm)
        norm = math.sqrt(embed_dim) if target_norm is None else float(target_norm)
        self.target_norm = norm
        self.norm_in = nn.LayerNorm(in_dim) if normalize_input else nn.Identity()
        self.mlp = nn.Sequential(
            nn.Linear(in_dim, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, prefix_tokens * embed_dim),
        )
        self.gain = nn.Parameter(torch.full((embed_dim,), norm / math.sqrt(embed_dim)))

    @classmethod
    def for_model(
        cls,
        model: Any,
        in_dim: int,
        prefix_tokens: int = 16,
        *,
        hidden: int | None = None,
        normalize_input: bool = True,
        dropout: float = 0.0,
    ) -> SoftPrompt:
        """A projector sized and scaled for ``model``'s input embeddings."""
        embed = model.get_input_embeddings()
        return cls(
            in_dim,
            int(embed.weight.shape[1]),
            prefix_tokens,
            hidden=hidden,
            normalize_input=normalize_input,
            target_norm=token_embedding_norm(model),
            dropout=dropout,
        )

    def config(self) -> dict[str, Any]:
        """The constructor arguments, to rebuild the module before loading its weights."""
        return {
            "in_dim": self.in_dim,
            "embed_dim": self.embed_dim,
            "prefix_tokens": self.prefix_tokens,
            "hidden": self.hidden,
            "normalize_input": self.normalize_input,
            "target_norm": self.target_norm,
            "rms_norm": self.rms_norm,
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(n, in_dim)`` to ``(n, k, embed_dim)``; ``(n, m, in_dim)`` to ``(n, m*k, embed_dim)``.

        Several vectors per row (a corrector's target, hypothesis and difference) each get their
        own ``k`` tokens, concatenated in order.
        """
        if x.ndim not in (2, 3) or x.shape[-1] != self.in_dim:
            raise ValueError(
                f"SoftPrompt expects vectors of shape (n, {self.in_dim}) or (n, m, {self.in_dim}), "
                f"got {tuple(x.shape)}"
            )
        n = x.shape[0]
        h = self.mlp(self.norm_in(x.to(self.gain.dtype)))
        tokens = h.reshape(n, -1, self.embed_dim)
        if not self.rms_norm:
            return tokens * self.gain
        rms = tokens.pow(2).mean(dim=-1, keepdim=True).add(1e-6).rsqrt()
        return tokens * rms * self.gain


class SoftPromptedLM(nn.Module):
    """A projector and the language model that reads its soft tokens, as one module.

    Its parameters are ``projector.*`` and ``lm.*``, so one optimizer, one checkpoint and one
    ``state_dict`` cover both. ``train()`` leaves a frozen LM (no parameter that requires a
    gradient) in eval mode, so its dropout stays off while the projector learns.
    """

    def __init__(self, projector: SoftPrompt, lm: Any) -> None:
        super().__init__()
        self.projector = projector
        self.lm = lm

    def train(self, mode: bool = True) -> SoftPromptedLM:
        super().train(mode)
        if not any(p.requires_grad for p in self.lm.parameters()):
            self.lm.eval()
        return self


# --------------------------------------------------------------------------- splicing


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
    >>> from embedlens.tiny import tiny_causal_lm
    >>> lm = tiny_causal_lm()
    >>> ids = torch.tensor([[10, 11, 0], [12, 13, 14]]); mask = (ids != 0).long()
    >>> s = splice(lm.model, [torch.zeros(2, 2, 32), Tokens(ids, mask, target=True)])
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


# --------------------------------------------------------------------------- adapters


def add_lora(model: Any, *, rank: int = 16, alpha: int | None = None) -> Any:
    """Wrap ``model`` with trainable LoRA adapters on its attention projections (``peft``).

    Only the adapters train; the base weights are frozen. Raises ``ImportError`` naming the
    ``embedlens[lora]`` extra when peft is not installed.
    """
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError as err:
        raise ImportError(
            "LoRA fine-tuning needs the optional dependency peft: "
            'pip install "embedlens[lora]" (or pip install peft), or fine-tune the projector '
            "only ('projector') or everything ('full')"
        ) from err
    if not isinstance(rank, int) or rank < 1:
        raise ValueError(f"LoRA rank must be a positive integer, got {rank!r}")
    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    targets = [
        t for t in ("q_proj", "k_proj", "v_proj", "o_proj", "q", "k", "v", "o") if t in names
    ]
    if not targets:
        raise ValueError(f"LoRA: found no attention projections in {type(model).__name__}")
    config = LoraConfig(r=rank, lora_alpha=alpha or 2 * rank, target_modules=targets)
    return get_peft_model(model, config)


# --------------------------------------------------------------------------- generation


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
    >>> from embedlens.tiny import tiny_causal_lm
    >>> lm = tiny_causal_lm()
    >>> out = generate_from_embeds(lm.model, lm.tokenizer, torch.zeros(2, 3, 32),
    ...                            torch.ones(2, 3, dtype=torch.long), max_new_tokens=4)
    >>> len(out)
    2
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
