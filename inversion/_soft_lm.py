"""The shared base of the soft-prefix models: an embedding read by a language model as soft tokens.

:class:`SoftPrefixModel` holds what the hypothesis model (:class:`~inversion.inverter.Inverter`)
and the corrector (:class:`~inversion.corrector.Corrector`) have in common: the constructor
arguments, loading the backbone (a causal LM or an encoder-decoder) with the chosen fine-tuning
(projector only, LoRA, full), the projector, tokenization, the input checks, a fingerprint of
the trained weights, and save/load as ``config.json`` + ``model.safetensors``. A subclass says
what its projector is (:meth:`SoftPrefixModel._make_projector`), how it learns
(``training_loss``) and what it generates.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np

from embedlens._params import ParamsMixin
from embedlens._utils import check_matrix
from embedlens.models import Decoder
from embedlens.saving import (
    DECODER_DIR,
    decoder_record,
    decoder_to_store,
    load_soft_prefix_weights,
    open_soft_prefix_dir,
    soft_prefix_config,
    soft_prefix_kwargs,
    soft_prefix_state,
    soft_prefix_weights,
    write_soft_prefix_dir,
)

if TYPE_CHECKING:
    import torch

    from embedlens.embedders import Embedder

logger = logging.getLogger(__name__)

__all__ = ["DECODER_DIR", "FINETUNE_MODES", "Finetune", "SoftPrefixModel"]

Finetune = Literal["projector", "lora", "full"]
FINETUNE_MODES: tuple[str, ...] = ("projector", "lora", "full")
FINGERPRINT_SAMPLE = 4096  # values per tensor that a model's fingerprint reads

M = TypeVar("M", bound="SoftPrefixModel")


class SoftPrefixModel(ParamsMixin):
    """Base of the models that read vectors through soft tokens (see the module docstring).

    The parameters are those of :class:`~inversion.inverter.Inverter`.
    """

    embedder_: Embedder  # set by fit / from_pretrained

    def __init__(
        self,
        embedder: Embedder | str | None = "minilm",
        decoder: str | Decoder = "smollm2",
        *,
        prefix_tokens: int = 16,
        finetune: Finetune = "projector",
        max_length: int = 32,
        hidden: int | None = None,
        lora_rank: int = 16,
        device: str | None = None,
        dtype: str | None = None,
    ) -> None:
        self.embedder = embedder
        self.decoder = decoder
        self.prefix_tokens = prefix_tokens
        self.finetune = finetune
        self.max_length = max_length
        self.hidden = hidden
        self.lora_rank = lora_rank
        self.device = device
        self.dtype = dtype

    _PARAMS = (
        "embedder",
        "decoder",
        "prefix_tokens",
        "finetune",
        "max_length",
        "hidden",
        "lora_rank",
        "device",
        "dtype",
    )

    # ------------------------------------------------------------------ building

    def _check_params(self) -> None:
        from interpret.soft_prompt import check_soft_prefix_params

        check_soft_prefix_params(self, FINETUNE_MODES)

    def _resolve_embedder(self) -> Embedder:
        if self.embedder is None:
            raise ValueError(
                f"{type(self).__name__} has no embedder: pass embedder=... (an Embedder or a "
                "name for load_embedder)"
            )
        if isinstance(self.embedder, str):
            from embedlens.embedders import load_embedder

            return load_embedder(self.embedder)
        return self.embedder

    def _load_decoder(self, stored: Path | None = None) -> Decoder:
        from embedlens._distributed import distributed_context
        from embedlens.models import load_backbone

        device = self.device
        ddp = distributed_context()
        if device is None and ddp.world > 1:
            import torch

            if torch.cuda.is_available():  # one GPU per process
                device = f"cuda:{ddp.local_rank}"
        source = stored if stored is not None else self.decoder
        return load_backbone(
            source, copy=self.finetune != "projector", device=device, dtype=self.dtype
        )

    def _build(self, in_dim: int, *, seed: int = 0, stored: Path | None = None) -> None:
        """Load the decoder and create a fresh projector (deterministic under ``seed``)."""
        import torch

        from interpret.soft_prompt import SoftPromptedLM, add_lora

        self._check_params()
        dec = self._load_decoder(stored)
        model = dec.model
        if dec.tokenizer.pad_token_id is None:
            dec.tokenizer.pad_token = dec.tokenizer.eos_token
        if dec.tokenizer.eos_token_id is None:
            raise ValueError(f"decoder {dec.name!r} has no EOS token: generation could not stop")
        model.requires_grad_(self.finetune == "full")
        device = next(model.parameters()).device
        with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
            torch.manual_seed(seed)
            if self.finetune == "lora":
                model = add_lora(model, rank=self.lora_rank)
            projector = self._make_projector(model, in_dim).to(device)
        self.decoder_ = Decoder(model=model, tokenizer=dec.tokenizer, name=dec.name)
        self.projector_: Any = projector
        self.module_ = SoftPromptedLM(projector, model)
        self.is_seq2seq_ = bool(getattr(model.config, "is_encoder_decoder", False))
        self.device_ = device

    def _make_projector(self, model: Any, in_dim: int) -> torch.nn.Module:
        """The module from vectors to soft tokens (one :class:`SoftPrompt`; a subclass may differ).

        It must offer ``in_dim`` and ``config()`` as :class:`interpret.soft_prompt.SoftPrompt` does.
        """
        from interpret.soft_prompt import SoftPrompt

        return SoftPrompt.for_model(model, in_dim, self.prefix_tokens, hidden=self.hidden)

    def _check_fitted(self) -> None:
        if not hasattr(self, "projector_"):
            raise RuntimeError(
                f"this {type(self).__name__} is not fitted: call fit(...) first, or load a "
                f"trained one with {type(self).__name__}.from_pretrained(directory)"
            )

    # ------------------------------------------------------------------ the Trainable protocol

    def trainable_module(self) -> torch.nn.Module:
        """The projector and the LM as one module (only trainable parameters are optimized)."""
        self._check_fitted()
        return self.module_

    def _tokenize(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids of ``texts`` (truncated to ``max_length``) plus EOS, right-padded."""
        import torch

        tok = self.decoder_.tokenizer
        ids = tok(
            list(texts), add_special_tokens=False, truncation=True, max_length=self.max_length
        )
        rows = [[*r, tok.eos_token_id] for r in ids["input_ids"]]
        width = max(len(r) for r in rows)
        out = torch.full((len(rows), width), tok.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            out[i, : len(r)] = torch.tensor(r, dtype=torch.long)
            mask[i, : len(r)] = 1
        return out.to(self.device_), mask.to(self.device_)

    def count_truncated(self, texts: Sequence[str]) -> int:
        """How many ``texts`` are longer than ``max_length`` tokens."""
        from embedlens.tokens import count_longer

        return count_longer(self.decoder_.tokenizer, texts, self.max_length)

    def _check_input(self, X: Any) -> np.ndarray:
        self._check_fitted()
        dim = self.projector_.in_dim
        arr = np.asarray(X)
        width = arr.shape[-1] if arr.ndim in (1, 2) else None
        if width is not None and width != dim and arr.dtype != object:
            raise ValueError(
                f"{type(self).__name__} expects {dim}-dim embeddings from {self.embedder_.name!r}, got "
                f"{width}: pass embeddings from that model or train an inverter for yours"
            )
        return check_matrix(arr, what="X", dim=dim)

    # ------------------------------------------------------------------ save / load

    def save_pretrained(self, path: str | os.PathLike[str]) -> Path:
        """Write ``config.json`` and ``model.safetensors`` to the directory ``path`` (atomically).

        The projector is always saved; the LM's weights only where they were trained (LoRA
        adapters, or all of them with ``finetune="full"``). A frozen LM given by name is
        referenced by that name; one given as a loaded :class:`Decoder` is written to
        ``path/decoder`` so the directory is self-contained.
        """
        self._check_fitted()
        record = decoder_record(self.decoder, self.decoder_, is_encoder_decoder=self.is_seq2seq_)
        settings = {
            "prefix_tokens": self.prefix_tokens,
            "finetune": self.finetune,
            "max_length": self.max_length,
            "hidden": self.hidden,
            "lora_rank": self.lora_rank,
            "projector": self.projector_.config(),
            **self._extra_config(),
        }
        config = soft_prefix_config(type(self).__name__, self.embedder_, record, settings)
        store = decoder_to_store(self.decoder, self.decoder_) if record["stored"] else None
        weights = soft_prefix_weights(self.module_)
        return write_soft_prefix_dir(path, weights, config, store, self._save_extra)

    @classmethod
    def from_pretrained(
        cls: type[M],
        path: str | os.PathLike[str],
        *,
        embedder: Embedder | str | None = None,
        decoder: str | Decoder | None = None,
        device: str | None = None,
        dtype: str | None = None,
    ) -> M:
        """Load a model written by :meth:`save_pretrained` (an inverter, a corrector).

        Parameters
        ----------
        path
            The directory (or a hub id, where the hub can be reached).
        embedder
            The embedder to invert; ``None`` loads the saved embedder name. Its fingerprint must
            match the one the inverter was trained for.
        decoder
            Overrides the saved decoder (the same base LM, for instance already loaded).

        Examples
        --------
        >>> inv = Inverter.from_pretrained("runs/minilm/inverter")  # doctest: +SKIP
        """
        saved = open_soft_prefix_dir(path, cls.__name__, embedder=embedder, decoder=decoder)
        config = saved.config
        inv = cls(
            embedder=saved.embedder,
            decoder=saved.decoder,
            **soft_prefix_kwargs(config),
            device=device,
            dtype=dtype,
        )
        inv.embedder_ = saved.embedder
        inv._build(int(config["embedder"]["dim"]), stored=saved.stored)
        if saved.stored is not None:  # re-saving copies the decoder again instead of pointing here
            inv.decoder = inv.decoder_
        load_soft_prefix_weights(saved.root, inv.module_)
        inv._load_extra(saved.root, config)
        return inv

    def _extra_config(self) -> dict[str, Any]:
        """What a subclass adds to ``config.json``."""
        return {}

    def _save_extra(self, directory: Path) -> None:
        """Write a subclass's extra files into the (temporary) save directory."""

    def _load_extra(self, root: Path, config: dict[str, Any]) -> None:
        """Restore a subclass's extras after the weights are loaded."""

    @property
    def fingerprint(self) -> str:
        """A hash of the settings, the trained weights and the base LM's token embeddings.

        A corrector records the fingerprint of the inverter whose hypotheses it learned from; the
        same weights saved and loaded again give the same fingerprint.
        """
        from embedlens.embedder_base import hash_state

        self._check_fitted()
        full = soft_prefix_state(self.module_)
        # the base LM by its weights, not its name (a name changes when the LM is stored)
        full["lm_input_embeddings"] = self.decoder_.model.get_input_embeddings().weight
        extra = {
            "class": type(self).__name__,
            "prefix_tokens": self.prefix_tokens,
            "finetune": self.finetune,
        }
        return hash_state(full, extra, sample=FINGERPRINT_SAMPLE)

    def __repr__(self) -> str:
        emb = self.embedder if isinstance(self.embedder, (str, type(None))) else self.embedder.name
        dec = self.decoder if isinstance(self.decoder, str) else self.decoder.name
        return (
            f"{type(self).__name__}(embedder={emb!r}, decoder={dec!r}, "
            f"prefix_tokens={self.prefix_tokens}, finetune={self.finetune!r}, "
            f"max_length={self.max_length})"
        )
