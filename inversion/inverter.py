"""The hypothesis model: decode text from an embedding with a soft-prefixed language model.

An :class:`Inverter` maps a vector through the shared soft-prefix projector
(:class:`interpret.soft_prompt.SoftPrompt`) to ``k`` soft tokens and lets a language model
write the text that follows them (GEIA; vec2text's hypothesis model). Two backbones:

- a causal LM (default: the built-in ``"smollm2"``): the soft tokens are the prompt;
- an encoder-decoder (``"t5:<dir or hub id>"``, or a T5 :class:`~embedlens.models.Decoder`): the
  soft tokens are the encoder's input, as in vec2text.

Fine-tuning: the projector only (the LM frozen), projector + LoRA adapters (``peft``), or
everything. Training runs through :func:`embedlens.train.train`; decoding through
:func:`interpret.soft_prompt.generate_from_embeds`.

Examples
--------
>>> from embedlens.tiny import tiny_causal_lm, tiny_embedder
>>> inv = Inverter(embedder=tiny_embedder(dim=16), decoder=tiny_causal_lm(), prefix_tokens=2)
>>> inv = inv.fit(["a cat", "a dog"], steps=2, batch_size=2, progress=False)
>>> len(inv.invert(inv.embedder_.embed(["a cat"])))
1
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from embedlens._utils import atomic_path, check_matrix, progress_bar
from embedlens.models import Decoder
from embedlens.saving import (
    CONFIG_FILE,
    FORMAT_VERSION,
    WEIGHTS_FILE,
    embedder_record,
    read_config,
    resolve_dir,
    resolve_saved_embedder,
    without_adapters,
)

if TYPE_CHECKING:
    import torch

    from embedlens.cache import EmbeddingCache
    from embedlens.embedders import Embedder
    from embedlens.train import EvalFn, TrainResult
    from interpret.soft_prompt import SoftPrompt

logger = logging.getLogger(__name__)

__all__ = ["FINETUNE_MODES", "Finetune", "Inverter"]

Finetune = Literal["projector", "lora", "full"]
FINETUNE_MODES: tuple[str, ...] = ("projector", "lora", "full")
DECODER_DIR = "decoder"


class Inverter:
    """Decode embeddings back to text with a language model read through soft tokens.

    Parameters
    ----------
    embedder
        The embedder whose vectors are inverted: an :class:`~embedlens.embedders.Embedder` or a
        spec for :func:`~embedlens.embedders.load_embedder` (default ``"minilm"``).
    decoder
        ``"smollm2"`` (built-in), a causal LM directory or hub id, ``"t5:<dir or hub id>"`` for an
        encoder-decoder, or a loaded :class:`~embedlens.models.Decoder`.
    prefix_tokens
        Number of soft tokens per vector.
    finetune
        ``"projector"`` (LM frozen), ``"lora"`` (projector + LoRA adapters; needs
        ``embedlens[lora]``) or ``"full"``.
    max_length
        Longest text in tokens: longer training texts are truncated, generation stops there.
    hidden
        Hidden width of the projector MLP (``None``: the larger of the two dimensions).
    lora_rank
        Rank of the LoRA adapters (``finetune="lora"`` only).
    device, dtype
        Where the decoder runs and its weights' dtype (``None``: auto device, float32).

    Examples
    --------
    >>> inv = Inverter(embedder="minilm", decoder="smollm2").fit(texts, steps=2000)  # doctest: +SKIP
    >>> inv.invert(inv.embedder_.embed(["a cat sat on the mat"]))  # doctest: +SKIP
    ['a cat sat on the mat']
    """

    def __init__(
        self,
        embedder: Embedder | str = "minilm",
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

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments (scikit-learn convention)."""
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self, **params: Any) -> Inverter:
        """Set constructor arguments; takes effect at the next :meth:`fit`."""
        unknown = sorted(set(params) - set(self._PARAMS))
        if unknown:
            raise ValueError(f"unknown parameters {unknown}: valid are {list(self._PARAMS)}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    # ------------------------------------------------------------------ building

    def _check_params(self) -> None:
        if self.finetune not in FINETUNE_MODES:
            raise ValueError(
                f"unknown finetune mode {self.finetune!r}: use one of {list(FINETUNE_MODES)}"
            )
        for name in ("prefix_tokens", "max_length", "lora_rank"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

    def _resolve_embedder(self) -> Embedder:
        if isinstance(self.embedder, str):
            from embedlens.embedders import load_embedder

            return load_embedder(self.embedder)
        return self.embedder

    def _load_decoder(self, stored: Path | None = None) -> Decoder:
        from embedlens._distributed import distributed_context
        from inversion.backbones import load_backbone

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

        from interpret.soft_prompt import SoftPrompt, SoftPromptedLM, add_lora

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
            projector = SoftPrompt.for_model(
                model, in_dim, self.prefix_tokens, hidden=self.hidden
            ).to(device)
        self.decoder_ = Decoder(model=model, tokenizer=dec.tokenizer, name=dec.name)
        self.projector_: SoftPrompt = projector
        self.module_ = SoftPromptedLM(projector, model)
        self.is_seq2seq_ = bool(getattr(model.config, "is_encoder_decoder", False))
        self.device_ = device

    def _check_fitted(self) -> None:
        if not hasattr(self, "projector_"):
            raise RuntimeError(
                "this Inverter is not fitted: call fit(texts) first, or load a trained one "
                "with Inverter.from_pretrained(directory)"
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

    def training_loss(
        self, vectors: torch.Tensor, texts: list[str], index: np.ndarray
    ) -> torch.Tensor:
        """Mean token cross-entropy of ``texts`` given the soft tokens of ``vectors``."""
        from interpret.soft_prompt import IGNORE_INDEX, Tokens, splice

        model = self.decoder_.model
        ids, mask = self._tokenize(texts)
        soft = self.projector_(vectors)
        if self.is_seq2seq_:
            embeds = soft.to(model.get_input_embeddings().weight.dtype)
            labels = ids.masked_fill(mask == 0, IGNORE_INDEX)
            return model(inputs_embeds=embeds, labels=labels).loss  # type: ignore[no-any-return]
        batch = splice(model, [soft, Tokens(ids, mask, target=True)], padding_side="right")
        return model(**batch.model_inputs()).loss  # type: ignore[no-any-return]

    def count_truncated(self, texts: Sequence[str]) -> int:
        """How many ``texts`` are longer than ``max_length`` tokens."""
        tok = self.decoder_.tokenizer
        count = 0
        for s in range(0, len(texts), 1024):
            enc = tok(list(texts[s : s + 1024]), add_special_tokens=False)
            count += sum(len(r) > self.max_length for r in enc["input_ids"])
        return count

    def generate_texts(self, X: np.ndarray) -> list[str]:
        """Greedy decoding (the trainer's held-out evaluation)."""
        return self.invert(X, progress=False)

    # ------------------------------------------------------------------ fit / invert

    def fit(
        self,
        texts: Sequence[str],
        *,
        vectors: Any = None,
        steps: int = 1000,
        batch_size: int = 32,
        lr: float = 1e-3,
        weight_decay: float = 0.01,
        warmup_steps: int | None = None,
        grad_accum: int = 1,
        grad_clip: float = 1.0,
        noise_std: float = 0.0,
        eval_texts: Sequence[str] | None = None,
        eval_every: int = 0,
        eval_fn: EvalFn | None = None,
        checkpoint_every: int = 0,
        log_every: int = 10,
        seed: int = 0,
        bf16: bool = True,
        cache: str | os.PathLike[str] | EmbeddingCache | None = None,
        out_dir: str | os.PathLike[str] | None = None,
        resume: bool = False,
        progress: bool | None = None,
        callback: Callable[[dict[str, Any]], None] | None = None,
    ) -> Inverter:
        """Train on ``texts``: embed them once, then learn to decode the vectors back.

        The keyword arguments are those of :class:`embedlens.train.TrainConfig` plus: held-out
        ``eval_texts`` (scored every ``eval_every`` steps and at the end), ``cache`` (an
        embedding cache; by default ``out_dir/embeddings.sqlite`` when ``out_dir`` is given),
        ``out_dir`` (checkpoints, ``train_log.jsonl``, and the final model under
        ``out_dir/inverter``), ``resume`` (continue an interrupted run in ``out_dir``) and
        ``callback`` (called with every log record). The run's log is kept in ``history_``.
        ``vectors`` are embeddings of ``texts`` computed elsewhere (for example defended
        vectors, to train an adaptive attacker); the texts are then not embedded again.

        Examples
        --------
        >>> inv = Inverter(embedder="minilm").fit(train_texts, steps=2000,  # doctest: +SKIP
        ...                                       out_dir="runs/minilm", checkpoint_every=200)
        """
        from embedlens._distributed import distributed_context
        from embedlens.train import TrainConfig, embed_texts, train

        config = TrainConfig(
            steps=steps,
            batch_size=batch_size,
            lr=lr,
            weight_decay=weight_decay,
            warmup_steps=warmup_steps,
            grad_accum=grad_accum,
            grad_clip=grad_clip,
            noise_std=noise_std,
            eval_every=eval_every,
            checkpoint_every=checkpoint_every,
            log_every=log_every,
            seed=seed,
            bf16=bf16,
        )
        items = list(texts) if not isinstance(texts, str) else texts
        if isinstance(items, list) and not items:
            raise ValueError("the training corpus is empty: pass at least one text to fit")
        self._check_params()
        ddp = distributed_context()
        emb = self._resolve_embedder()
        if cache is None and out_dir is not None:
            cache = Path(out_dir) / "embeddings.sqlite"
        has_eval = eval_texts is not None and len(eval_texts) > 0
        if not ddp.main:
            ddp.barrier()  # in a distributed run the main process fills the cache first
        if vectors is None:
            X = embed_texts(emb, items, cache=cache, progress=progress)
        else:
            X = check_matrix(vectors, what="vectors")
            if X.shape[0] != len(items) or X.shape[1] != emb.dim:
                raise ValueError(
                    f"vectors has shape {X.shape}, expected ({len(items)}, {emb.dim}): one "
                    f"{emb.dim}-dim vector from {emb.name!r} per training text"
                )
        eval_X = embed_texts(emb, eval_texts, cache=cache) if has_eval and eval_texts else None
        if ddp.main:
            ddp.barrier()
        if eval_X is not None and eval_fn is None:
            from inversion.recipes import default_eval_fn

            eval_fn = default_eval_fn(embedder=emb)
        self.embedder_ = emb
        self._build(X.shape[1], seed=seed)
        self.history_: TrainResult = train(
            self,
            X,
            items,
            config,
            device=self.device_,
            eval_X=eval_X,
            eval_texts=eval_texts,
            eval_fn=eval_fn,
            out_dir=out_dir,
            resume=resume,
            progress=progress,
            callback=callback,
        )
        if out_dir is not None and ddp.main:
            self.save_pretrained(Path(out_dir) / "inverter")
        ddp.barrier()
        return self

    def _check_input(self, X: Any) -> np.ndarray:
        self._check_fitted()
        dim = self.projector_.in_dim
        arr = np.asarray(X)
        width = arr.shape[-1] if arr.ndim in (1, 2) else None
        if width is not None and width != dim and arr.dtype != object:
            raise ValueError(
                f"Inverter expects {dim}-dim embeddings from {self.embedder_.name!r}, got "
                f"{width}: pass embeddings from that model or train an inverter for yours"
            )
        return check_matrix(arr, what="X", dim=dim)

    def invert(
        self,
        X: Any,
        *,
        max_length: int | None = None,
        num_beams: int = 1,
        batch_size: int = 32,
        progress: bool | None = None,
    ) -> list[str]:
        """Decode each row of ``X`` to a text.

        Parameters
        ----------
        X
            Embeddings ``(n, dim)`` from the inverter's embedder (a single vector is accepted).
        max_length
            Most tokens per text; ``None`` means the ``max_length`` the inverter was built with.
        num_beams
            Beam width (1: greedy decoding).
        batch_size
            Vectors decoded at once.
        progress
            Progress bar; ``None`` shows one only in interactive sessions.

        Examples
        --------
        >>> inv.invert(emb.embed(["a cat sat on the mat"]), num_beams=4)  # doctest: +SKIP
        """
        import torch

        from interpret.soft_prompt import generate_from_embeds, splice

        arr = self._check_input(X)
        limit = self.max_length if max_length is None else max_length
        if not isinstance(limit, int) or limit < 1:
            raise ValueError(f"max_length must be a positive integer, got {max_length!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        model, tok = self.decoder_.model, self.decoder_.tokenizer
        was_training = self.module_.training
        self.module_.eval()
        out: list[str] = []
        starts = range(0, arr.shape[0], batch_size)
        try:
            for s in progress_bar(starts, progress=progress, total=len(starts), desc="invert"):
                vec = torch.from_numpy(arr[s : s + batch_size]).to(self.device_)
                with torch.no_grad():
                    soft = self.projector_(vec)
                if self.is_seq2seq_:
                    embeds = soft.to(model.get_input_embeddings().weight.dtype)
                    mask = torch.ones(embeds.shape[:2], dtype=torch.long, device=embeds.device)
                else:
                    batch = splice(model, [soft], padding_side="left")
                    embeds, mask = batch.inputs_embeds, batch.attention_mask
                out.extend(
                    generate_from_embeds(
                        model, tok, embeds, mask, max_new_tokens=limit, num_beams=num_beams
                    )
                )
        finally:
            self.module_.train(was_training)
        return out

    # ------------------------------------------------------------------ save / load

    def _trained_lm_params(self) -> dict[str, torch.Tensor]:
        model = self.decoder_.model
        return {k: p for k, p in model.named_parameters() if p.requires_grad}

    def save_pretrained(self, path: str | os.PathLike[str]) -> Path:
        """Write ``config.json`` and ``model.safetensors`` to the directory ``path`` (atomically).

        The projector is always saved; the LM's weights only where they were trained (LoRA
        adapters, or all of them with ``finetune="full"``). A frozen LM given by name is
        referenced by that name; one given as a loaded :class:`Decoder` is written to
        ``path/decoder`` so the directory is self-contained.
        """
        from safetensors.torch import save_file

        import embedlens

        self._check_fitted()
        weights = {f"projector.{k}": v for k, v in self.projector_.state_dict().items()}
        weights.update({f"lm.{k}": v for k, v in self._trained_lm_params().items()})
        weights = {k: v.detach().cpu().contiguous() for k, v in weights.items()}
        spec = self.decoder if isinstance(self.decoder, str) else None
        if spec is not None and not spec.startswith("t5:") and Path(spec).expanduser().is_dir():
            spec = str(Path(spec).expanduser().resolve())
        emb = self.embedder_
        config = {
            "format_version": FORMAT_VERSION,
            "embedlens_version": embedlens.__version__,
            "class": "Inverter",
            "embedder": embedder_record(emb),
            "decoder": {
                "spec": spec,
                "stored": DECODER_DIR if spec is None else None,
                "name": self.decoder_.name,
                "is_encoder_decoder": self.is_seq2seq_,
            },
            "prefix_tokens": self.prefix_tokens,
            "finetune": self.finetune,
            "max_length": self.max_length,
            "hidden": self.hidden,
            "lora_rank": self.lora_rank,
            "projector": self.projector_.config(),
        }
        with atomic_path(path) as tmp:
            tmp.mkdir(parents=True)
            save_file(weights, str(tmp / WEIGHTS_FILE), metadata={"format": "pt"})
            if spec is None:  # the base LM as given (untrained: the trained part is above)
                given = self.decoder if isinstance(self.decoder, Decoder) else self.decoder_
                without_adapters(given.model).save_pretrained(tmp / DECODER_DIR)
                self.decoder_.tokenizer.save_pretrained(tmp / DECODER_DIR)
            (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2), encoding="utf-8")
        return Path(path)

    @classmethod
    def from_pretrained(
        cls,
        path: str | os.PathLike[str],
        *,
        embedder: Embedder | str | None = None,
        decoder: str | Decoder | None = None,
        device: str | None = None,
        dtype: str | None = None,
    ) -> Inverter:
        """Load an inverter written by :meth:`save_pretrained`.

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
        from safetensors.torch import load_file

        root = resolve_dir(path)
        config = read_config(root, "Inverter")
        emb = resolve_saved_embedder(config["embedder"], embedder, root)
        saved = config["embedder"]
        dec_cfg = config["decoder"]
        stored = root / dec_cfg["stored"] if dec_cfg.get("stored") and decoder is None else None
        inv = cls(
            embedder=emb,
            decoder=decoder if decoder is not None else (dec_cfg["spec"] or str(stored)),
            prefix_tokens=int(config["prefix_tokens"]),
            finetune=config["finetune"],
            max_length=int(config["max_length"]),
            hidden=config.get("hidden"),
            lora_rank=int(config.get("lora_rank", 16)),
            device=device,
            dtype=dtype,
        )
        inv.embedder_ = emb
        inv._build(int(saved["dim"]), stored=stored)
        if stored is not None:  # re-saving copies the decoder again instead of pointing here
            inv.decoder = inv.decoder_
        weights = load_file(str(root / WEIGHTS_FILE))
        inv._load_weights(weights)
        return inv

    def _load_weights(self, weights: dict[str, torch.Tensor]) -> None:
        import torch

        proj = {k[len("projector.") :]: v for k, v in weights.items() if k.startswith("projector.")}
        lm = {k[len("lm.") :]: v for k, v in weights.items() if k.startswith("lm.")}
        self.projector_.load_state_dict(proj)
        expected = self._trained_lm_params()
        if set(lm) != set(expected):
            missing = sorted(set(expected) - set(lm))[:3]
            extra = sorted(set(lm) - set(expected))[:3]
            raise ValueError(
                f"saved LM weights do not match the model (missing {missing}, unexpected {extra})"
            )
        with torch.no_grad():
            for k, p in expected.items():
                p.copy_(lm[k].to(p.device, p.dtype))
        self.module_.eval()

    def __repr__(self) -> str:
        emb = self.embedder if isinstance(self.embedder, str) else self.embedder.name
        dec = self.decoder if isinstance(self.decoder, str) else self.decoder.name
        return (
            f"Inverter(embedder={emb!r}, decoder={dec!r}, prefix_tokens={self.prefix_tokens}, "
            f"finetune={self.finetune!r}, max_length={self.max_length})"
        )
