"""The projector: vectors to soft tokens in a language model's input-embedding space.

A :class:`SoftPrompt` maps one vector (or several) to ``k`` soft tokens that live in the
input-embedding space of a causal LM (or of the encoder of a seq2seq model), the way ELM and
xRAG let a frozen LM read an embedding. With ``roles`` it holds one such map per kind of input
vector (the corrector's target ``e``, hypothesis ``ê`` and difference ``e - ê``), each with its
own weights. :class:`SoftPromptedLM` joins a projector and its LM into one trainable module.
Nothing here knows what the vectors are for.

torch is imported when this module is; ``import embedlens`` does not import it.

Examples
--------
>>> import torch
>>> sp = SoftPrompt(in_dim=8, embed_dim=32, prefix_tokens=4)
>>> sp(torch.randn(2, 8)).shape
torch.Size([2, 4, 32])
>>> three = SoftPrompt(8, 32, 4, roles=("target", "hypothesis", "difference"),
...                    normalize_input=(True, True, False))
>>> three(torch.randn(2, 3, 8)).shape
torch.Size([2, 12, 32])
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

logger = logging.getLogger(__name__)

__all__ = ["SoftPrompt", "SoftPromptedLM", "token_embedding_norm"]


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

    With ``roles`` the projector reads ``len(roles)`` vectors per row, each through a map of its
    own (a child ``SoftPrompt`` named after its role), and lays their tokens end to end. The
    corrector uses ``("target", "hypothesis", "difference")`` with the difference's input not
    layer-normalized: ``e - ê`` shrinks toward 0 as a hypothesis improves, and normalizing a
    near-zero vector would amplify its noise.

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
        Layer-normalize the input vectors first; with ``roles``, one flag per role or one for all.
    target_norm
        Norm of each soft token at initialisation; ``None`` means ``sqrt(embed_dim)``.
    dropout
        Dropout on the hidden layer (training only).
    rms_norm
        RMS-normalize each soft token before the gain (the default). ``False`` gives the plain
        MLP times the gain, the form of vec2text's embedding transform (its checkpoints load
        into it; see :mod:`inversion.vec2text`).
    roles
        Names of the input vectors of a row, each with its own map (``None``: one map, shared by
        every vector of a row).

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
        normalize_input: bool | Sequence[bool] = True,
        target_norm: float | None = None,
        dropout: float = 0.0,
        rms_norm: bool = True,
        roles: Sequence[str] | None = None,
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
        self.rms_norm = bool(rms_norm)
        norm = math.sqrt(embed_dim) if target_norm is None else float(target_norm)
        self.target_norm = norm
        self.roles: tuple[str, ...] | None = None
        self.normalize_input: bool | tuple[bool, ...]
        if roles is not None:
            self._add_roles(roles, normalize_input, dropout)
            return
        if not isinstance(normalize_input, bool):
            raise ValueError(
                f"SoftPrompt: normalize_input must be True or False without roles, got "
                f"{normalize_input!r}"
            )
        self.normalize_input = normalize_input
        self.norm_in = nn.LayerNorm(in_dim) if normalize_input else nn.Identity()
        self.mlp = nn.Sequential(
            nn.Linear(in_dim, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, prefix_tokens * embed_dim),
        )
        self.gain = nn.Parameter(torch.full((embed_dim,), norm / math.sqrt(embed_dim)))

    def _add_roles(
        self, roles: Sequence[str], normalize_input: bool | Sequence[bool], dropout: float
    ) -> None:
        names = tuple(roles)
        if (
            not names
            or len(set(names)) != len(names)
            or not all(isinstance(r, str) and r.isidentifier() for r in names)
        ):
            raise ValueError(
                f"SoftPrompt: roles must be distinct identifiers, e.g. ('target', 'hypothesis'), "
                f"got {roles!r}"
            )
        flags = (
            [normalize_input] * len(names)
            if isinstance(normalize_input, bool)
            else list(normalize_input)
        )
        if len(flags) != len(names):
            raise ValueError(
                f"SoftPrompt: {len(flags)} normalize_input flags for {len(names)} roles"
            )
        self.roles = names
        self.normalize_input = tuple(bool(f) for f in flags)
        for role, flag in zip(names, flags, strict=True):
            child = SoftPrompt(
                self.in_dim,
                self.embed_dim,
                self.prefix_tokens,
                hidden=self.hidden,
                normalize_input=bool(flag),
                target_norm=self.target_norm,
                dropout=dropout,
                rms_norm=self.rms_norm,
            )
            self.add_module(role, child)

    @classmethod
    def for_model(
        cls,
        model: Any,
        in_dim: int,
        prefix_tokens: int = 16,
        *,
        hidden: int | None = None,
        normalize_input: bool | Sequence[bool] = True,
        dropout: float = 0.0,
        roles: Sequence[str] | None = None,
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
            roles=roles,
        )

    def config(self) -> dict[str, Any]:
        """The constructor arguments, to rebuild the module before loading its weights."""
        if self.roles is not None:
            return {
                "roles": list(self.roles),
                **{role: getattr(self, role).config() for role in self.roles},
            }
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

        Several vectors per row each get their own ``k`` tokens, concatenated in order: through
        one shared map, or with ``roles`` through the map of each vector's role (then ``m`` must
        be the number of roles).
        """
        if x.ndim not in (2, 3) or x.shape[-1] != self.in_dim:
            raise ValueError(
                f"SoftPrompt expects vectors of shape (n, {self.in_dim}) or (n, m, {self.in_dim}), "
                f"got {tuple(x.shape)}"
            )
        if self.roles is not None:
            if x.ndim != 3 or x.shape[1] != len(self.roles):
                raise ValueError(
                    f"SoftPrompt with roles {list(self.roles)} expects vectors of shape "
                    f"(n, {len(self.roles)}, {self.in_dim}), got {tuple(x.shape)}"
                )
            parts = [getattr(self, role)(x[:, i]) for i, role in enumerate(self.roles)]
            return torch.cat(parts, dim=1)
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
