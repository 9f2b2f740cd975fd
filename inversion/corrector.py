"""The corrector: rewrite a hypothesis text so that its embedding moves toward the target.

A :class:`Corrector` reads four things (vec2text's corrector, Morris et al., 2023): the target
vector ``e``, the hypothesis's vector ``ê``, their difference ``e - ê`` and the hypothesis's
tokens, and writes the corrected text. The three vectors become soft tokens through one
:class:`embedlens.soft.SoftPrompt` with three roles (a map of its own per input); the
hypothesis's tokens follow them, then (for a causal LM) the EOS token as a separator:

- causal LM: ``[k soft(e)] [k soft(ê)] [k soft(e - ê)] hypothesis <eos>`` is the prompt and the
  corrected text is generated after it;
- encoder-decoder (T5-style): the same sequence is the encoder's input and the decoder writes the
  corrected text, as in vec2text.

Why one projector per input rather than one shared, or one over the concatenation: ``e - ê``
is not distributed like an embedding (its norm shrinks toward 0 as the hypothesis improves, and
layer-normalizing a near-zero vector amplifies noise), so it gets its own projector without
input normalization, keeping its magnitude, while ``e`` and ``ê`` keep the layer-normalized input
of the inverter's projector; one projector over ``[e, ê, e - ê]`` would normalize the three
together and let the two unit vectors drown the small difference. Three separate maps are also
the layout of vec2text's public corrector (three embedding transforms), so its checkpoint's
weights have a place to go.

Training data are the hypotheses a trained :class:`~inversion.inverter.Inverter` writes for the
training texts, generated once and cached (``hypotheses.jsonl`` in ``out_dir``; an interrupted
run continues where it stopped); training runs through :func:`embedlens.train.train`, decoding
through :meth:`embedlens.soft.SoftPrefixModel.generate`.

Examples
--------
>>> corrector = Corrector().fit(train_texts, inverter=inv, steps=2000, out_dir="runs/corr")  # doctest: +SKIP
>>> inv.set_corrector(corrector).invert(X, steps=20, beam_width=4)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from embedlens._utils import check_matrix, check_texts
from embedlens.models import Decoder
from embedlens.soft.model import Finetune, SoftPrefixModel
from inversion.hypotheses import (
    HYPOTHESES_FILE,
    HypothesisModel,
    cached_hypotheses,
    hypothesis_vectors,
)

if TYPE_CHECKING:
    from embedlens.cache import EmbeddingCache
    from embedlens.embedders import Embedder
    from embedlens.train import EvalFn

logger = logging.getLogger(__name__)

__all__ = ["HYPOTHESES_FILE", "ROLES", "Corrector", "cached_hypotheses"]

#: the projector's roles: the target ``e``, the hypothesis ``ê`` and their difference ``e - ê``
ROLES = ("target", "hypothesis", "difference")


def _triplets(target: Any, hypothesis: Any) -> Any:
    """``(n, 3, dim)``: ``e``, ``ê`` and ``e - ê`` per row (numpy arrays or torch tensors)."""
    if target.shape != hypothesis.shape or target.ndim != 2:
        raise ValueError(
            f"the corrector expects target and hypothesis vectors of one shape (n, dim), got "
            f"{tuple(target.shape)} and {tuple(hypothesis.shape)}"
        )
    if isinstance(target, np.ndarray):
        hypothesis = hypothesis.astype(target.dtype, copy=False)
        return np.stack([target, hypothesis, target - hypothesis], axis=1)
    hypothesis = hypothesis.to(target.dtype)
    return torch.stack([target, hypothesis, target - hypothesis], dim=1)


class Corrector(SoftPrefixModel):
    """Rewrite hypotheses toward their target embeddings (one step of vec2text's correction).

    Parameters
    ----------
    embedder
        ``None`` (default): the embedder of the inverter given to :meth:`fit`. Given, it must be
        that same embedder (same fingerprint).
    decoder
        The backbone, as for :class:`~inversion.inverter.Inverter`: ``"smollm2"``, a causal LM
        directory or hub id, ``"t5:<dir or hub id>"`` or a loaded
        :class:`~embedlens.models.Decoder`. When it is the inverter's spec and both train the
        projector only, the two share one frozen LM in memory.
    prefix_tokens
        Soft tokens per vector (the corrector reads ``3 * prefix_tokens``).
    finetune, max_length, hidden, lora_rank, device, dtype
        As for the inverter. ``max_length`` bounds both the hypothesis read and the text written.

    Examples
    --------
    >>> from inversion import Inverter
    >>> inv = Inverter(embedder="minilm", decoder="smollm2", prefix_tokens=2, max_length=8)
    >>> inv = inv.fit(["a cat", "a dog"], steps=2, batch_size=2)  # doctest: +SKIP
    >>> corr = Corrector(decoder="smollm2", prefix_tokens=2, max_length=8)
    >>> corr = corr.fit(["a cat", "a dog"], inverter=inv, steps=2, batch_size=2)  # doctest: +SKIP
    >>> X = inv.embedder_.embed(["a cat"])  # doctest: +SKIP
    >>> len(inv.invert(X, steps=2, beam_width=2, corrector=corr))  # doctest: +SKIP
    1
    """

    noun = "corrector"

    def __init__(
        self,
        embedder: Embedder | str | None = None,
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
        super().__init__(
            embedder,
            decoder,
            prefix_tokens=prefix_tokens,
            finetune=finetune,
            max_length=max_length,
            hidden=hidden,
            lora_rank=lora_rank,
            device=device,
            dtype=dtype,
        )

    def _load_decoder(self, stored: Path | None = None) -> Decoder:
        shared = self.__dict__.pop("_shared_decoder", None)
        if shared is not None and stored is None:
            return shared  # type: ignore[no-any-return]
        return super()._load_decoder(stored)

    def _make_projector(self, model: Any, in_dim: int) -> torch.nn.Module:
        """One map per role; the difference's input is not layer-normalized (module docstring)."""
        from embedlens.soft.projector import SoftPrompt

        return SoftPrompt.for_model(
            model,
            in_dim,
            self.prefix_tokens,
            hidden=self.hidden,
            roles=ROLES,
            normalize_input=(True, True, False),
        )

    # ------------------------------------------------------------------ fit

    def fit(
        self,
        texts: Sequence[str],
        inverter: HypothesisModel,
        *,
        hypotheses: Sequence[str] | None = None,
        eval_texts: Sequence[str] | None = None,
        eval_fn: EvalFn | None = None,
        cache: str | os.PathLike[str] | EmbeddingCache | None = None,
        out_dir: str | os.PathLike[str] | None = None,
        resume: bool = False,
        hypothesis_batch_size: int = 32,
        progress: bool | None = None,
        callback: Callable[[dict[str, Any]], None] | None = None,
        **train_kwargs: Any,
    ) -> Corrector:
        """Learn to rewrite ``inverter``'s hypotheses of ``texts`` into ``texts``.

        Parameters
        ----------
        texts
            Training texts (embedded once; ``cache`` or ``out_dir/embeddings.sqlite``).
        inverter
            A trained :class:`~inversion.inverter.Inverter`: its hypotheses are the inputs, its
            embedder the corrector's, its fingerprint is recorded.
        hypotheses
            The inverter's texts for ``texts`` if already at hand (else generated and, with
            ``out_dir``, cached in ``out_dir/hypotheses.jsonl``, resumable).
        eval_texts
            Held-out texts, scored every ``eval_every`` steps and at the end: the loss of
            correcting the inverter's hypotheses of them, and ``eval_fn`` (default: BLEU, token
            F1, exact match and cosine) on one correction step.
        eval_fn
            ``eval_fn(references, hypotheses) -> {metric: value}``.
        out_dir
            Checkpoints, ``train_log.jsonl`` and the final model (``out_dir/corrector``). Use a
            directory of its own, not the inverter's run directory.
        resume
            Continue an interrupted run in ``out_dir`` (hypotheses and training alike).
        **train_kwargs
            Fields of :class:`embedlens.train.TrainConfig`: ``steps``, ``batch_size``, ``lr``,
            ``noise_std``, ``checkpoint_every``, ``eval_every``, ``seed``...

        Examples
        --------
        >>> Corrector().fit(train_texts, inverter=inv, steps=2000, out_dir="runs/c")  # doctest: +SKIP
        """
        from embedlens._distributed import distributed_context
        from embedlens.train import TrainConfig, embed_texts

        allowed = {f.name for f in fields(TrainConfig)}
        unknown = sorted(set(train_kwargs) - allowed)
        if unknown:
            raise TypeError(
                f"Corrector.fit got unknown arguments {unknown}: training settings are "
                f"{sorted(allowed)}"
            )
        config = TrainConfig(**train_kwargs)
        if isinstance(texts, str) or len(texts) == 0:
            raise ValueError("the training corpus is empty: pass at least one text to fit")
        items = check_texts(texts, what="training texts")
        if not hasattr(inverter, "projector_"):
            raise RuntimeError(
                "Corrector.fit needs a trained inverter: fit it first, or load one with "
                "Inverter.from_pretrained(directory)"
            )
        self._check_params()
        emb = inverter.embedder_
        if self.embedder is not None:
            own = self._resolve_embedder()
            if own.fingerprint != emb.fingerprint:
                raise ValueError(
                    f"the corrector was given embedder {own.name!r} (fingerprint "
                    f"{own.fingerprint}) but the inverter inverts {emb.name!r} (fingerprint "
                    f"{emb.fingerprint}): leave embedder=None to use the inverter's"
                )
        out = Path(out_dir) if out_dir is not None else None
        if cache is None and out is not None:
            cache = out / "embeddings.sqlite"
        if out is not None and not resume and (out / HYPOTHESES_FILE).exists():
            (out / HYPOTHESES_FILE).unlink()  # a fresh run makes fresh hypotheses
        ddp = distributed_context()
        if not ddp.main:
            ddp.barrier()  # the main process writes the caches first
        X = embed_texts(emb, items, cache=cache, progress=progress)
        if hypotheses is None:
            hyps = cached_hypotheses(
                inverter,
                X,
                out / HYPOTHESES_FILE if out is not None else None,
                batch_size=hypothesis_batch_size,
                progress=progress,
            )
        else:
            hyps = check_texts(hypotheses, what="hypotheses")
            if len(hyps) != len(items):
                raise ValueError(
                    f"need one hypothesis per training text: {len(hyps)} hypotheses, "
                    f"{len(items)} texts"
                )
        H = hypothesis_vectors(emb, hyps, X, cache=cache, progress=progress)
        if ddp.main:
            ddp.barrier()
        self.embedder_ = emb
        self.inverter_fingerprint_ = inverter.fingerprint
        if (
            isinstance(self.decoder, str)
            and self.decoder == inverter.decoder
            and self.finetune == "projector"
            and inverter.finetune == "projector"
        ):  # the same frozen LM: share the inverter's copy instead of loading a second one
            self._shared_decoder = inverter.decoder_
        self._build(X.shape[1], seed=config.seed)
        self._train_hypotheses = hyps
        self._train_H = H
        self._source_inverter = inverter
        eval_X, held = None, None
        if eval_texts is not None and len(eval_texts) > 0:
            held = check_texts(eval_texts, what="eval_texts")
            eval_X = embed_texts(emb, held, cache=cache, progress=progress)
            self._eval_X = eval_X
            self._eval_hypotheses = inverter.invert(
                eval_X, batch_size=hypothesis_batch_size, progress=False
            )
            self._eval_H = hypothesis_vectors(emb, self._eval_hypotheses, eval_X, cache=cache)
            if eval_fn is None:
                from inversion.metrics import default_eval_fn

                eval_fn = default_eval_fn(embedder=emb)
        self._train(
            X,
            items,
            config,
            out_dir=out,
            resume=resume,
            progress=progress,
            callback=callback,
            eval_X=eval_X,
            eval_texts=held,
            eval_fn=eval_fn,
        )
        del self._train_hypotheses, self._train_H
        for name in ("_eval_X", "_eval_hypotheses", "_eval_H"):
            self.__dict__.pop(name, None)
        return self

    # ------------------------------------------------------------------ the Trainable protocol

    def training_loss(
        self, vectors: torch.Tensor, texts: list[str], index: np.ndarray
    ) -> torch.Tensor:
        """Token cross-entropy of ``texts`` given (e, ê, e - ê) and the hypotheses of ``index``."""
        if not hasattr(self, "_train_H"):
            raise RuntimeError("training_loss is called by Corrector.fit's training run only")
        return self._loss(
            vectors, texts, self._train_H[index], [self._train_hypotheses[i] for i in index]
        )

    def eval_loss(self, vectors: torch.Tensor, texts: list[str], index: np.ndarray) -> torch.Tensor:
        """The loss of the held-out rows ``index`` (their own hypotheses, not the training ones)."""
        if not hasattr(self, "_eval_H"):
            raise RuntimeError("eval_loss is called by Corrector.fit's held-out evaluation only")
        return self._loss(
            vectors, texts, self._eval_H[index], [self._eval_hypotheses[i] for i in index]
        )

    def _loss(
        self, vectors: torch.Tensor, texts: list[str], H_rows: np.ndarray, hyps: list[str]
    ) -> torch.Tensor:
        from embedlens.soft.batch import IGNORE_INDEX, Tokens, answer_loss, splice

        model = self.decoder_.model
        H = torch.from_numpy(H_rows).to(vectors.device)
        soft = self.projector_(_triplets(vectors, H))
        h_ids, h_mask = self._tokenize(hyps)
        ids, mask = self._tokenize(texts)
        if self.is_seq2seq_:
            enc = splice(model, [soft, Tokens(h_ids, h_mask)], padding_side="right")
            labels = ids.masked_fill(mask == 0, IGNORE_INDEX)
            out = model(
                inputs_embeds=enc.inputs_embeds, attention_mask=enc.attention_mask, labels=labels
            )
            return out.loss  # type: ignore[no-any-return]
        batch = splice(
            model,
            [soft, Tokens(h_ids, h_mask), Tokens(ids, mask, target=True)],
            padding_side="right",
        )
        return answer_loss(model, batch)

    def generate_texts(self, X: np.ndarray) -> list[str]:
        """One correction of the fitting inverter's hypotheses of ``X`` (for evaluation)."""
        inverter = getattr(self, "_source_inverter", None)
        if inverter is None:
            raise RuntimeError(
                "generate_texts needs the inverter this corrector was fitted with; use "
                "correct(X, hypotheses) instead"
            )
        held = getattr(self, "_eval_X", None)
        if held is not None and held.shape == np.shape(X) and np.array_equal(held, X):
            return self.correct(X, self._eval_hypotheses, self._eval_H)  # decoded once in fit
        return self.correct(X, inverter.invert(X, progress=False))

    # ------------------------------------------------------------------ correcting

    def propose(
        self,
        X: Any,
        texts: Sequence[str],
        H: Any = None,
        *,
        num_candidates: int = 1,
        max_length: int | None = None,
        batch_size: int = 32,
    ) -> list[list[str]]:
        """``num_candidates`` rewrites of each text (beam search), best first.

        Parameters
        ----------
        X
            Target embeddings ``(n, dim)``.
        texts
            The texts to rewrite, one per row.
        H
            Their embeddings ``(n, dim)``; ``None`` embeds them with the corrector's embedder.
        num_candidates
            Rewrites per text (the beam width of decoding; 1 is greedy).
        max_length
            Most tokens per rewrite (``None``: the corrector's ``max_length``).
        batch_size
            Rows decoded at once.
        """
        from embedlens.soft.batch import Tokens

        target = self._check_input(X)
        items = check_texts(texts, what="texts")
        if len(items) != target.shape[0]:
            raise ValueError(
                f"need one text per target vector: {len(items)} texts, X {target.shape}"
            )
        if H is None:
            H = self.embedder_.embed(items, progress=False)
        hyp = check_matrix(H, what="H", dim=self.projector_.in_dim)
        if hyp.shape != target.shape:
            raise ValueError(f"H has shape {hyp.shape}, expected {target.shape} (one per text)")
        if not isinstance(num_candidates, int) or num_candidates < 1:
            raise ValueError(f"num_candidates must be a positive integer, got {num_candidates!r}")

        def build(soft: torch.Tensor, rows: slice) -> list[Any]:
            return [soft, Tokens(*self._tokenize(items[rows]))]

        flat = self.generate(
            _triplets(target, hyp),
            build=build,
            max_new_tokens=max_length,
            num_beams=num_candidates,
            num_return_sequences=num_candidates,
            batch_size=batch_size,
            progress=False,
            desc="correct",
        )
        return [flat[r : r + num_candidates] for r in range(0, len(flat), num_candidates)]

    def correct(self, X: Any, texts: Sequence[str], H: Any = None, **kwargs: Any) -> list[str]:
        """The best rewrite of each text (one correction step, no re-embedding)."""
        return [options[0] for options in self.propose(X, texts, H, **kwargs)]

    def check_compatible(self, inverter: Any) -> None:
        """Raise ``ValueError`` unless this corrector was trained on ``inverter``'s hypotheses."""
        self._check_fitted()
        mine, theirs = self.embedder_, inverter.embedder_
        if mine.fingerprint != theirs.fingerprint:
            raise ValueError(
                f"the corrector was trained for embeddings from {mine.name!r} (fingerprint "
                f"{mine.fingerprint}), but the inverter inverts {theirs.name!r} (fingerprint "
                f"{theirs.fingerprint}): train a corrector for that inverter's embedder"
            )
        fingerprint = inverter.fingerprint
        if self.inverter_fingerprint_ != fingerprint:
            raise ValueError(
                f"the corrector was trained on the hypotheses of another inverter (fingerprint "
                f"{self.inverter_fingerprint_}, this one is {fingerprint}): use it with the "
                "inverter it was trained for, or train one on this inverter's hypotheses with "
                "Corrector().fit(texts, inverter=inv)"
            )

    # ------------------------------------------------------------------ save / load

    def _settings(self) -> dict[str, Any]:
        return {**super()._settings(), "inverter": {"fingerprint": self.inverter_fingerprint_}}

    def _load_extra(self, root: Path, config: dict[str, Any]) -> None:
        record = config.get("inverter")
        if not isinstance(record, dict) or "fingerprint" not in record:
            raise ValueError(
                f"{str(root)!r} does not record the inverter its corrector was trained for: "
                "save it again with this embedlens"
            )
        self.inverter_fingerprint_ = str(record["fingerprint"])

    @classmethod
    def from_pretrained(  # type: ignore[override]
        cls,
        path: str | os.PathLike[str],
        *,
        embedder: Embedder | str | None = None,
        decoder: str | Decoder | None = None,
        device: str | None = None,
        dtype: str | None = None,
        inverter: HypothesisModel | None = None,
    ) -> Corrector:
        """Load a corrector written by :meth:`save_pretrained`.

        With ``inverter`` given, its embedder is used (and checked), the corrector loads on its
        device, shares its frozen LM when both use the same one, and must have been trained on
        its hypotheses.
        """
        from embedlens.saving import read_config, resolve_dir

        shared: str | None = None
        if inverter is not None:
            embedder = inverter.embedder_ if embedder is None else embedder
            device = str(inverter.device_) if device is None else device
            dtype = inverter.dtype if dtype is None else dtype
            config = read_config(resolve_dir(path), cls.__name__)
            spec = config["decoder"]["spec"]
            if (
                decoder is None
                and spec is not None
                and spec == inverter.decoder
                and config["finetune"] == "projector"
                and inverter.finetune == "projector"
            ):
                decoder, shared = inverter.decoder_, spec
        corrector = super().from_pretrained(
            path, embedder=embedder, decoder=decoder, device=device, dtype=dtype
        )
        if shared is not None:  # re-saving refers to the LM by name again
            corrector.decoder = shared
        if inverter is not None:
            corrector.check_compatible(inverter)
        return corrector
