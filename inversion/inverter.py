"""The hypothesis model: decode text from an embedding with a soft-prefixed language model.

An :class:`Inverter` is a :class:`~embedlens.soft.SoftPrefixModel`: it maps a vector through
the projector (:class:`embedlens.soft.SoftPrompt`) to ``k`` soft tokens and lets a language
model write the text that follows them (GEIA; vec2text's hypothesis model). Two backbones:

- a causal LM (default: the built-in ``"smollm2"``): the soft tokens are the prompt;
- an encoder-decoder (``"t5:<dir or hub id>"``, or a T5 :class:`~embedlens.models.Decoder`): the
  soft tokens are the encoder's input, as in vec2text.

Fine-tuning: the projector only (the LM frozen), projector + LoRA adapters (``peft``), or
everything. Training runs through :func:`embedlens.train.train`; decoding through
:meth:`embedlens.soft.SoftPrefixModel.generate`.

Examples
--------
>>> inv = Inverter(embedder="minilm", decoder="smollm2", prefix_tokens=2)  # doctest: +SKIP
>>> inv = inv.fit(["a cat", "a dog"], steps=2, batch_size=2, progress=False)  # doctest: +SKIP
>>> len(inv.invert(inv.embedder_.embed(["a cat"])))  # doctest: +SKIP
1
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlens._utils import check_matrix
from embedlens.soft.model import DECODER_DIR, FINETUNE_MODES, Finetune, SoftPrefixModel

if TYPE_CHECKING:
    import torch

    from embedlens.cache import EmbeddingCache
    from embedlens.train import EvalFn
    from inversion.correction import CorrectionHistory
    from inversion.corrector import Corrector

logger = logging.getLogger(__name__)

__all__ = ["DECODER_DIR", "FINETUNE_MODES", "Finetune", "Inverter"]

CORRECTOR_DIR = "corrector"


class Inverter(SoftPrefixModel):
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

    noun = "inverter"

    def training_loss(
        self, vectors: torch.Tensor, texts: list[str], index: np.ndarray
    ) -> torch.Tensor:
        """Mean token cross-entropy of ``texts`` given the soft tokens of ``vectors``."""
        from embedlens.soft.batch import IGNORE_INDEX, Tokens, answer_loss, splice

        model = self.decoder_.model
        ids, mask = self._tokenize(texts)
        soft = self.projector_(vectors)
        if self.is_seq2seq_:
            embeds = soft.to(model.get_input_embeddings().weight.dtype)
            labels = ids.masked_fill(mask == 0, IGNORE_INDEX)
            return model(inputs_embeds=embeds, labels=labels).loss  # type: ignore[no-any-return]
        batch = splice(model, [soft, Tokens(ids, mask, target=True)], padding_side="right")
        return answer_loss(model, batch)

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
        time_limit: float | None = None,
    ) -> Inverter:
        """Train on ``texts``: embed them once, then learn to decode the vectors back.

        The keyword arguments are those of :class:`embedlens.train.TrainConfig` plus: held-out
        ``eval_texts`` (scored every ``eval_every`` steps and at the end), ``cache`` (an
        embedding cache; by default ``out_dir/embeddings.sqlite`` when ``out_dir`` is given),
        ``out_dir`` (checkpoints, ``train_log.jsonl``, and the final model under
        ``out_dir/inverter``), ``resume`` (continue an interrupted run in ``out_dir``) and
        ``callback`` (called with every log record) and ``time_limit`` (seconds of training after
        which the run stops at the step it reached, checkpointed, so ``resume=True`` continues
        it; ``history_.steps`` says how far it got). The run's log is kept in ``history_``.
        ``vectors`` are embeddings of ``texts`` computed elsewhere (for example defended
        vectors, to train an adaptive attacker); the texts are then not embedded again.

        Examples
        --------
        >>> inv = Inverter(embedder="minilm").fit(train_texts, steps=2000,  # doctest: +SKIP
        ...                                       out_dir="runs/minilm", checkpoint_every=200)
        """
        from embedlens._distributed import distributed_context
        from embedlens.train import TrainConfig, embed_texts

        config = TrainConfig.pick(locals())  # the training arguments above

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
            from inversion.metrics import default_eval_fn

            eval_fn = default_eval_fn(embedder=emb)
        self.embedder_ = emb
        self._build(X.shape[1], seed=seed)
        self._train(
            X,
            items,
            config,
            out_dir=out_dir,
            eval_X=eval_X,
            eval_texts=eval_texts,
            eval_fn=eval_fn,
            resume=resume,
            progress=progress,
            callback=callback,
            time_limit=time_limit,
        )
        return self

    def invert(
        self,
        X: Any,
        *,
        max_length: int | None = None,
        num_beams: int = 1,
        batch_size: int = 32,
        progress: bool | None = None,
        steps: int = 0,
        beam_width: int = 1,
        corrector: Corrector | None = None,
    ) -> list[str]:
        """Decode each row of ``X`` to a text, optionally refined by correction steps.

        ``steps=0`` is the hypothesis model alone. With ``steps > 0`` a corrector (the one given,
        else the one attached with :meth:`set_corrector` or loaded with the inverter) rewrites
        the texts step after step, re-embedding every candidate through the inverter's embedder
        and keeping the ``beam_width`` best by cosine to the target (sequence beam search, see
        :func:`inversion.correction.run_correction`). Afterwards ``queries_`` holds the embedder
        queries spent per text (0 for ``steps=0``) and ``last_history_`` the step-by-step
        :class:`~inversion.correction.CorrectionHistory` (``None`` for ``steps=0``).

        Parameters
        ----------
        X
            Embeddings ``(n, dim)`` from the inverter's embedder (a single vector is accepted).
        max_length
            Most tokens per text; ``None`` means the ``max_length`` the inverter was built with.
        num_beams
            Beam width of the hypothesis model's decoding (1: greedy).
        batch_size
            Vectors decoded at once (and hypotheses corrected at once).
        progress
            Progress bar; ``None`` shows one only in interactive sessions.
        steps
            Correction steps (0: none).
        beam_width
            Texts kept per example between correction steps (1: greedy correction).
        corrector
            A :class:`~inversion.corrector.Corrector` trained on this inverter's hypotheses.

        Examples
        --------
        >>> inv.invert(emb.embed(["a cat sat on the mat"]), num_beams=4)  # doctest: +SKIP
        >>> inv.invert(X, steps=20, beam_width=4, corrector=corrector)  # doctest: +SKIP
        """
        from inversion.correction import check_correction_args

        check_correction_args(steps, beam_width)
        arr = self._check_input(X)
        fix = self._corrector_for(corrector) if steps > 0 else None
        hyps = self.generate(
            arr,
            max_new_tokens=max_length,
            num_beams=num_beams,
            batch_size=batch_size,
            progress=progress,
            desc="invert",
        )
        self.last_history_: CorrectionHistory | None = None
        if fix is None:
            self.queries_ = np.zeros(len(hyps), dtype=np.int64)
            return hyps
        from inversion.correction import run_correction

        history = run_correction(
            self.embedder_,
            fix,
            arr,
            hyps,
            steps=steps,
            beam_width=beam_width,
            batch_size=batch_size,
            max_length=max_length,
            progress=progress,
        )
        self.queries_ = history.queries[-1].copy()
        self.last_history_ = history
        return list(history.texts[-1])

    # ------------------------------------------------------------------ the corrector

    def set_corrector(self, corrector: Corrector | None) -> Inverter:
        """Attach a corrector (checked against this inverter), so ``invert(X, steps=N)`` uses it.

        It is saved with the inverter (``corrector/`` inside the directory) and loaded with it.
        ``None`` detaches it.
        """
        if corrector is None:
            self.__dict__.pop("corrector_", None)
            return self
        self._check_fitted()
        corrector.check_compatible(self)
        self.corrector_ = corrector
        return self

    def _corrector_for(self, corrector: Corrector | None) -> Corrector:
        chosen = corrector if corrector is not None else getattr(self, "corrector_", None)
        if chosen is None:
            raise ValueError(
                "invert(steps > 0) needs a corrector: pass corrector=..., attach one with "
                "inv.set_corrector(Corrector().fit(texts, inverter=inv)), or use steps=0 for "
                "the hypothesis model alone"
            )
        chosen.check_compatible(self)
        return chosen

    def _save_extra(self, directory: Path) -> None:
        corrector = getattr(self, "corrector_", None)
        if corrector is not None:
            corrector.save_pretrained(directory / CORRECTOR_DIR)

    def _load_extra(self, root: Path, config: dict[str, Any]) -> None:
        if (root / CORRECTOR_DIR / "config.json").is_file():
            from inversion.corrector import Corrector

            self.set_corrector(Corrector.from_pretrained(root / CORRECTOR_DIR, inverter=self))
