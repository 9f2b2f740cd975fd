"""One soft-prefix model: an embedding read by a language model as soft tokens.

:class:`SoftPrefixModel` is what the hypothesis model (:class:`inversion.Inverter`), the
corrector (:class:`inversion.Corrector`), vec2text's checkpoints (:class:`inversion.Vec2TextInverter`)
and the explainer (:class:`interpret.Explainer`) are: the constructor arguments they share,
loading the backbone (a causal LM or an encoder-decoder) with the chosen fine-tuning (projector
only, LoRA, full), the projector (:class:`~embedlens.soft.projector.SoftPrompt`), tokenization,
the input checks, the one generation loop (:meth:`SoftPrefixModel.generate`), a fingerprint of
the trained weights, and save/load as ``config.json`` + ``model.safetensors``
(:mod:`embedlens.soft.io`). A subclass says what its projector reads
(:meth:`SoftPrefixModel._make_projector`), how it learns (``training_loss``) and what it asks the
LM to write.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

import numpy as np

from embedlens._utils import check_matrix, progress_bar
from embedlens.models import Decoder, add_lora
from embedlens.params import Params
from embedlens.saving import config_entries
from embedlens.soft.io import (
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
    from embedlens.soft.batch import Tokens
    from embedlens.train import TrainResult

logger = logging.getLogger(__name__)

__all__ = [
    "DECODER_DIR",
    "FINETUNE_MODES",
    "Finetune",
    "SoftPrefixModel",
]

Finetune = Literal["projector", "lora", "full"]
FINETUNE_MODES: tuple[str, ...] = ("projector", "lora", "full")
FINGERPRINT_SAMPLE = 4096  # values per tensor that a model's fingerprint reads

#: ``build(soft_tokens, rows) -> parts``: what a batch of generation reads around its soft tokens
PartsBuilder = Callable[["torch.Tensor", slice], "list[torch.Tensor | Tokens]"]

M = TypeVar("M", bound="SoftPrefixModel")


@contextlib.contextmanager
def _seeded(device: Any, seed: int) -> Iterator[None]:
    """Run the block with torch's RNG forked and seeded (the caller's global RNG stays as is)."""
    import torch

    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


class SoftPrefixModel(Params):
    """Base of the models that read vectors through soft tokens (see the module docstring).

    The parameters are those of :class:`inversion.Inverter`; a subclass may narrow them
    (``finetune_modes``) or add its own (the explainer's ``tasks``).
    """

    #: the fine-tuning modes a subclass accepts
    finetune_modes: ClassVar[tuple[str, ...]] = FINETUNE_MODES
    #: what the model is called in messages ("train an inverter for yours")
    noun: ClassVar[str] = "model"

    embedder_: Embedder  # set by fit / from_pretrained
    history_: TrainResult  # set by fit

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

    # ------------------------------------------------------------------ building

    def _check_params(self) -> Any:
        """Check the shared settings: ``finetune`` one of ``finetune_modes``; ``prefix_tokens``,
        ``max_length`` and ``lora_rank`` positive integers."""
        if self.finetune not in self.finetune_modes:
            raise ValueError(
                f"unknown finetune mode {self.finetune!r}: use one of {list(self.finetune_modes)}"
            )
        for name in ("prefix_tokens", "max_length", "lora_rank"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

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
        """The backbone: the stored copy, else the ``decoder`` parameter (one GPU per process)."""
        from embedlens._distributed import distributed_context
        from embedlens.models import load_backbone

        device = self.device
        ddp = distributed_context()
        if device is None and ddp.world > 1:
            import torch

            if torch.cuda.is_available():
                device = f"cuda:{ddp.local_rank}"
        source = stored if stored is not None else self.decoder
        # trained weights go on a copy of a caller's loaded LM, so the caller's model stays as is
        return load_backbone(
            source, copy=self.finetune != "projector", device=device, dtype=self.dtype
        )

    def _load_lm(self, stored: Path | None = None) -> None:
        """Load the backbone and its tokenizer (no projector yet): ``decoder_``, ``device_``."""
        dec = self._load_decoder(stored)
        tok = dec.tokenizer
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        if tok.eos_token_id is None:
            raise ValueError(f"decoder {dec.name!r} has no EOS token: generation could not stop")
        dec.model.requires_grad_(self.finetune == "full")
        self.decoder_ = dec
        self.device_ = next(dec.model.parameters()).device
        self.is_seq2seq_ = bool(getattr(dec.model.config, "is_encoder_decoder", False))

    def _attach(self, in_dim: int, *, seed: int = 0) -> None:
        """Add LoRA adapters (``finetune="lora"``) and a fresh projector, each seeded by ``seed``."""
        from embedlens.soft.projector import SoftPromptedLM

        model = self.decoder_.model
        if self.finetune == "lora":
            with _seeded(self.device_, seed):
                model = add_lora(model, rank=self.lora_rank)
            self.decoder_ = self.decoder_._replace(model=model)
        projector = self._new_projector(in_dim, seed)
        self.projector_: Any = projector
        self.module_ = SoftPromptedLM(projector, model)
        self.seed_ = seed

    def _new_projector(self, in_dim: int, seed: int) -> Any:
        """A freshly initialised projector for the loaded LM (deterministic under ``seed``)."""
        with _seeded(self.device_, seed):
            return self._make_projector(self.decoder_.model, in_dim).to(self.device_)

    def _build(self, in_dim: int, *, seed: int = 0, stored: Path | None = None) -> None:
        """Load the decoder and create a fresh projector (deterministic under ``seed``)."""
        self._check_params()
        self._load_lm(stored)
        self._attach(in_dim, seed=seed)

    def _make_projector(self, model: Any, in_dim: int) -> torch.nn.Module:
        """The module from vectors to soft tokens (a :class:`SoftPrompt`, sized for ``model``)."""
        from embedlens.soft.projector import SoftPrompt

        return SoftPrompt.for_model(model, in_dim, self.prefix_tokens, hidden=self.hidden)

    def _check_fitted(self) -> None:
        if not hasattr(self, "projector_"):
            name = type(self).__name__
            raise RuntimeError(
                f"this {name} is not fitted: call fit(...) first, or load a trained one with "
                f"{name}.from_pretrained(directory)"
            )

    # ------------------------------------------------------------------ the Trainable protocol

    def training_loss(
        self, vectors: torch.Tensor, texts: list[str], index: np.ndarray
    ) -> torch.Tensor:
        """The loss of a batch (the trainer's protocol); each subclass says how it learns."""
        raise NotImplementedError(f"{type(self).__name__} does not define training_loss")

    def generate_texts(self, X: np.ndarray) -> list[str]:
        """Texts for the trainer's held-out evaluation; each subclass says what it writes."""
        raise NotImplementedError(f"{type(self).__name__} does not define generate_texts")

    def trainable_module(self) -> torch.nn.Module:
        """The projector and the LM as one module (only trainable parameters are optimized)."""
        self._check_fitted()
        return self.module_

    def _token_rows(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text (truncated to ``max_length``) plus EOS."""
        tok = self.decoder_.tokenizer
        ids = tok(
            list(texts), add_special_tokens=False, truncation=True, max_length=self.max_length
        )
        return [[*r, tok.eos_token_id] for r in ids["input_ids"]]

    def _tokenize(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids of ``texts`` (truncated to ``max_length``) plus EOS, right-padded."""
        return self._pad(self._token_rows(texts))

    def _pad(self, rows: Sequence[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded ids and mask of token-id ``rows``, on the model's device."""
        import torch

        width = max(1, max(len(r) for r in rows))
        out = torch.full((len(rows), width), self.decoder_.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            out[i, : len(r)] = torch.tensor(r, dtype=torch.long)
            mask[i, : len(r)] = 1
        return out.to(self.device_), mask.to(self.device_)

    def count_truncated(self, texts: Sequence[str]) -> int:
        """How many ``texts`` are longer than ``max_length`` tokens."""
        from embedlens.tokens import count_longer

        return count_longer(self.decoder_.tokenizer, texts, self.max_length)

    def _a_noun(self) -> str:
        return f"{'an' if self.noun[:1] in 'aeiou' else 'a'} {self.noun}"

    def _check_input(self, X: Any, what: str = "X") -> np.ndarray:
        self._check_fitted()
        dim = self.projector_.in_dim
        arr = np.asarray(X)
        width = arr.shape[-1] if arr.ndim in (1, 2) else None
        if width is not None and width != dim and arr.dtype != object:
            raise ValueError(
                f"{type(self).__name__} expects {dim}-dim embeddings from {self.embedder_.name!r}, "
                f"got {width}: pass embeddings from that model or train {self._a_noun()} for yours"
            )
        return check_matrix(arr, what=what, dim=dim)

    def _train(
        self,
        X: np.ndarray,
        texts: Sequence[str],
        config: Any,
        *,
        out_dir: str | os.PathLike[str] | None,
        **train_kwargs: Any,
    ) -> None:
        """Run the one trainer (:func:`embedlens.train.train`), keep its log in ``history_``, and
        save the model to ``out_dir/<noun>`` (by the main process of a distributed run)."""
        from embedlens._distributed import distributed_context
        from embedlens.train import train

        self.history_ = train(
            self, X, texts, config, device=self.device_, out_dir=out_dir, **train_kwargs
        )
        ddp = distributed_context()
        if out_dir is not None and ddp.main:
            self.save_pretrained(Path(out_dir) / self.noun)
        ddp.barrier()

    # ------------------------------------------------------------------ generation

    def generate(
        self,
        X: np.ndarray,
        *,
        build: PartsBuilder | None = None,
        max_new_tokens: int | None = None,
        num_beams: int = 1,
        num_return_sequences: int = 1,
        batch_size: int = 32,
        progress: bool | None = None,
        desc: str = "generate",
        projector: Any = None,
        **generate_kwargs: Any,
    ) -> list[str]:
        """Text from the soft tokens of each row of ``X``: the one generation loop.

        Parameters
        ----------
        X
            Checked vectors, ``(n, dim)``, or ``(n, m, dim)`` for a projector with ``m`` roles.
        build
            ``build(soft, rows) -> parts``: what the LM reads for the rows ``rows`` of ``X``
            (soft tokens and :class:`~embedlens.soft.batch.Tokens`, spliced in order). ``None``
            reads the soft tokens alone.
        max_new_tokens
            Most tokens per text (``None``: ``max_length``).
        num_beams, num_return_sequences
            Beam width (1: greedy) and texts returned per row (in row order, best first).
        batch_size, progress, desc
            Rows per batch; progress bar (``None``: if interactive) and its label.
        projector
            Another projector of the same shape (e.g. an untrained one as a baseline).
        **generate_kwargs
            Passed to ``model.generate`` (e.g. ``repetition_penalty=1.2``).
        """
        import torch

        from embedlens.soft.batch import splice
        from embedlens.soft.generate import generate_from_embeds

        limit = self.max_length if max_new_tokens is None else max_new_tokens
        if not isinstance(limit, int) or limit < 1:
            raise ValueError(f"max_length must be a positive integer, got {max_new_tokens!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        proj = self.projector_ if projector is None else projector
        model, tok = self.decoder_.model, self.decoder_.tokenizer
        side: Literal["left", "right"] = "right" if self.is_seq2seq_ else "left"
        was_training = self.module_.training
        self.module_.eval()
        out: list[str] = []
        starts = range(0, X.shape[0], batch_size)
        try:
            for s in progress_bar(starts, progress=progress, total=len(starts), desc=desc):
                rows = slice(s, s + batch_size)
                with torch.no_grad():
                    soft = proj(torch.from_numpy(X[rows]).to(self.device_))
                parts = [soft] if build is None else build(soft, rows)
                batch = splice(model, parts, padding_side=side)
                out += generate_from_embeds(
                    model,
                    tok,
                    batch.inputs_embeds,
                    batch.attention_mask,
                    max_new_tokens=limit,
                    num_beams=num_beams,
                    num_return_sequences=num_return_sequences,
                    **generate_kwargs,
                )
        finally:
            self.module_.train(was_training)
        return out

    # ------------------------------------------------------------------ save / load

    def _settings(self) -> dict[str, Any]:
        """The settings ``config.json`` records (a subclass adds its own)."""
        return {
            "prefix_tokens": self.prefix_tokens,
            "finetune": self.finetune,
            "max_length": self.max_length,
            "hidden": self.hidden,
            "lora_rank": self.lora_rank,
            "projector": self.projector_.config(),
        }

    @classmethod
    def _init_kwargs(cls, config: dict[str, Any]) -> dict[str, Any]:
        """The constructor arguments to rebuild a saved model with (a subclass adds its own)."""
        return soft_prefix_kwargs(config)

    def save_pretrained(
        self, path: str | os.PathLike[str], *, dtype: Literal["float32", "float16"] = "float32"
    ) -> Path:
        """Write ``config.json`` and ``model.safetensors`` to the directory ``path`` (atomically).

        ``dtype="float16"`` halves the file (shipped models are saved so); loading casts the
        weights back to the model's dtype.

        The projector is always saved; the LM's weights only where they were trained (LoRA
        adapters, or all of them with ``finetune="full"``). A frozen LM given by name is
        referenced by that name; one given as a loaded :class:`Decoder` is written to
        ``path/decoder`` so the directory is self-contained.
        """
        self._check_fitted()
        record = decoder_record(self.decoder, self.decoder_, is_encoder_decoder=self.is_seq2seq_)
        config = soft_prefix_config(type(self).__name__, self.embedder_, record, self._settings())
        store = decoder_to_store(self.decoder, self.decoder_) if record["stored"] else None
        if dtype not in ("float32", "float16"):
            raise ValueError(f"dtype must be 'float32' or 'float16', got {dtype!r}")
        weights = soft_prefix_weights(self.module_)
        if dtype == "float16":
            weights = {k: v.half() if v.is_floating_point() else v for k, v in weights.items()}
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
        """Load a model written by :meth:`save_pretrained`.

        Parameters
        ----------
        path
            The directory, the name of a shipped pretrained model (``embedlens.models.
            pretrained_names()``, e.g. ``"minilm-smollm2"``), or a hub id where the hub can be
            reached.
        embedder
            The embedder to read; ``None`` loads the saved embedder name. Its fingerprint must
            match the one the model was trained for.
        decoder
            Overrides the saved decoder (the same base LM, for instance already loaded).
        device, dtype
            Where to load it and the LM's dtype.

        Examples
        --------
        >>> inv = Inverter.from_pretrained("runs/minilm/inverter")  # doctest: +SKIP
        """
        saved = open_soft_prefix_dir(
            _shipped(path), cls.__name__, embedder=embedder, decoder=decoder
        )
        config = saved.config
        with config_entries(saved.root):  # a missing entry: a ValueError naming the folder
            kwargs = cls._init_kwargs(config)
        model = cls(
            embedder=saved.embedder, decoder=saved.decoder, **kwargs, device=device, dtype=dtype
        )
        model._check_params()
        model.embedder_ = saved.embedder
        model._load_lm(saved.stored)
        if saved.stored is not None:
            # the stored copy carries the name it was saved with; re-saving copies it again
            name = config["decoder"].get("name") or model.decoder_.name
            model.decoder_ = model.decoder_._replace(name=str(name))
        model._attach(int(config["embedder"]["dim"]), seed=int(config.get("seed", 0)))
        if saved.stored is not None:
            model.decoder = model.decoder_
        load_soft_prefix_weights(saved.root, model.module_)
        model._load_extra(saved.root, config)
        return model

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
        from embedlens.backends.base import hash_state

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

    def _repr_fields(self) -> dict[str, Any]:
        emb = self.embedder if isinstance(self.embedder, (str, type(None))) else self.embedder.name
        dec = self.decoder if isinstance(self.decoder, str) else self.decoder.name
        return {
            "embedder": emb,
            "decoder": dec,
            "prefix_tokens": self.prefix_tokens,
            "finetune": self.finetune,
            "max_length": self.max_length,
        }

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self._repr_fields().items())
        return f"{type(self).__name__}({shown})"


def _shipped(path: str | os.PathLike[str]) -> str | os.PathLike[str]:
    """A shipped model's folder for its name (a path that exists is taken as it is)."""
    from embedlens.models import pretrained_names, pretrained_path

    if isinstance(path, str) and not Path(path).exists() and path in pretrained_names():
        return pretrained_path(path)
    return path
