"""Zero-shot inversion: a language model proposes, the embedder's cosine decides.

No model is trained. :class:`GuidedInverter` runs a beam search in which a causal LM (default:
the built-in ``"smollm2"``), prompted to write a sentence, proposes the ``top_k`` most likely
next tokens of every beam; each extended text is embedded (through the
:class:`~embedlens.embedders.Embedder`, batched, so a black-box function embedder works) and
ranked by its cosine to the target vector plus a length term; the best ``beam_width`` survive.
Optional refinement rounds prompt the LM with the best text found so far ("rewrite this") and
search again from there; every text ever scored stays a candidate, so a round never makes the
answer worse. The attack's cost is counted: ``queries_`` holds the embedder queries per text,
and ``max_queries`` bounds them. (Zero-shot guided decoding as in Zhang et al. 2025, "Zero2Text"
/ ZSInvert: an LLM proposes, the similarity to the target decides.)

Examples
--------
>>> from embedlens.tiny import tiny_causal_lm, tiny_embedder
>>> emb = tiny_embedder(dim=16)
>>> g = GuidedInverter(embedder=emb, decoder=tiny_causal_lm(), beam_width=2, top_k=3, max_length=4)
>>> out = g.invert(emb.embed(["a cat"]))
>>> len(out), int(g.queries_[0]) <= 2 * 3 * 4
(1, True)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlens._params import ParamsMixin
from embedlens._utils import check_matrix, progress_bar
from embedlens.models import Decoder

if TYPE_CHECKING:
    import torch

    from embedlens.embedders import Embedder

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_PROMPT", "DEFAULT_REFINE_PROMPT", "GuidedInverter"]

DEFAULT_PROMPT = "Write one short English sentence."
DEFAULT_REFINE_PROMPT = (
    "Here is a sentence: {text}\nRewrite it as one short English sentence with the same topic."
)


@dataclass
class _TextState:
    """What the search knows about one target: every scored text, the best one, the cost."""

    seen: dict[str, float] = field(default_factory=dict)  # text -> cosine
    best_text: str = ""
    best_score: float = -np.inf
    best_cos: float = -1.0
    queries: int = 0


@dataclass
class _Beam:
    row: int  # which target
    ids: list[int]


class GuidedInverter(ParamsMixin):
    """Invert embeddings with no training: LM-proposed beam search ranked by cosine.

    Parameters
    ----------
    embedder
        The embedder whose vectors are inverted (any :class:`~embedlens.embedders.Embedder`,
        for instance a :class:`~embedlens.embedders.FunctionEmbedder` around a remote API), or
        a spec for :func:`~embedlens.embedders.load_embedder`.
    decoder
        A causal LM: ``"smollm2"`` (built-in), a directory or hub id, or a loaded
        :class:`~embedlens.models.Decoder`.
    beam_width
        Beams kept per text at each step.
    top_k
        Next tokens the LM proposes per beam (each costs one embedder query when new).
    max_length
        Most tokens per text.
    max_queries
        Most embedder queries per text over the whole search (``None``: no limit). When a
        text's budget runs out its search stops; the proposals with the highest LM probability
        are scored first.
    refine_rounds
        Rounds in which the LM is prompted with the best text so far and searched again.
    length_penalty
        Weight of the length term: score = cosine + ``length_penalty`` * tokens / ``max_length``.
        Positive values favour longer texts (a prefix's cosine is usually below its
        completion's); 0 ranks by cosine alone.
    patience
        Stop a text's search after this many steps without a better score.
    prompt, refine_prompt
        The instruction (``refine_prompt`` holds ``{text}``); wrapped in the LM's chat template
        when it has one.
    batch_size
        Targets searched together (the LM runs ``batch_size * beam_width`` rows).
    embed_batch_size
        Texts per embedder call.
    device, dtype
        Where the LM runs and its dtype (``None``: auto device, float32).
    progress
        Progress bar; ``None`` shows one only in interactive sessions.

    Attributes
    ----------
    queries_ : ndarray of int
        Embedder queries per text of the last :meth:`invert` call.
    cosines_ : ndarray of float
        Cosine between each returned text's embedding and its target.

    Examples
    --------
    >>> g = GuidedInverter(embedder="minilm", decoder="smollm2", beam_width=4, top_k=8)  # doctest: +SKIP
    >>> g.invert(emb.embed(["the cat sat on the mat"])), g.queries_  # doctest: +SKIP
    """

    _PARAMS = (
        "embedder",
        "decoder",
        "beam_width",
        "top_k",
        "max_length",
        "max_queries",
        "refine_rounds",
        "length_penalty",
        "patience",
        "prompt",
        "refine_prompt",
        "batch_size",
        "embed_batch_size",
        "device",
        "dtype",
        "progress",
    )

    def __init__(
        self,
        embedder: Embedder | str = "minilm",
        decoder: str | Decoder = "smollm2",
        *,
        beam_width: int = 4,
        top_k: int = 8,
        max_length: int = 32,
        max_queries: int | None = None,
        refine_rounds: int = 0,
        length_penalty: float = 0.0,
        patience: int = 4,
        prompt: str = DEFAULT_PROMPT,
        refine_prompt: str = DEFAULT_REFINE_PROMPT,
        batch_size: int = 8,
        embed_batch_size: int = 128,
        device: str | None = None,
        dtype: str | None = None,
        progress: bool | None = None,
    ) -> None:
        self.embedder = embedder
        self.decoder = decoder
        self.beam_width = beam_width
        self.top_k = top_k
        self.max_length = max_length
        self.max_queries = max_queries
        self.refine_rounds = refine_rounds
        self.length_penalty = length_penalty
        self.patience = patience
        self.prompt = prompt
        self.refine_prompt = refine_prompt
        self.batch_size = batch_size
        self.embed_batch_size = embed_batch_size
        self.device = device
        self.dtype = dtype
        self.progress = progress

    # ------------------------------------------------------------------ setup

    def _check_params(self) -> None:
        for name in ("beam_width", "top_k", "max_length", "patience", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.embed_batch_size, int) or self.embed_batch_size < 1:
            raise ValueError(
                f"embed_batch_size must be a positive integer, got {self.embed_batch_size!r}"
            )
        if not isinstance(self.refine_rounds, int) or self.refine_rounds < 0:
            raise ValueError(f"refine_rounds must be an integer >= 0, got {self.refine_rounds!r}")
        mq = self.max_queries
        if mq is not None and (not isinstance(mq, int) or isinstance(mq, bool) or mq < 1):
            raise ValueError(f"max_queries must be None or a positive integer, got {mq!r}")
        if not np.isfinite(float(self.length_penalty)):
            raise ValueError(f"length_penalty must be finite, got {self.length_penalty!r}")
        if "{text}" not in self.refine_prompt:
            raise ValueError(
                f"refine_prompt must contain '{{text}}' (where the best text goes), got "
                f"{self.refine_prompt!r}"
            )

    def _setup(self) -> None:
        """Resolve the embedder and load the LM once (kept for later calls)."""
        if not hasattr(self, "embedder_"):
            if isinstance(self.embedder, str):
                from embedlens.embedders import load_embedder

                self.embedder_: Embedder = load_embedder(self.embedder)
            else:
                self.embedder_ = self.embedder
        if not hasattr(self, "decoder_"):
            from embedlens.models import load_backbone

            dec = load_backbone(self.decoder, device=self.device, dtype=self.dtype)
            if getattr(dec.model.config, "is_encoder_decoder", False):
                raise ValueError(
                    f"GuidedInverter needs a causal LM, got the encoder-decoder {dec.name!r}: "
                    "pass 'smollm2' or another causal LM"
                )
            self.decoder_: Decoder = dec
            vocab = int(dec.model.get_input_embeddings().weight.shape[0])
            import torch

            banned = torch.zeros(vocab, dtype=torch.bool)
            special = [i for i in dec.tokenizer.all_special_ids if i is not None and i < vocab]
            banned[special] = True
            self._banned = banned.to(next(dec.model.parameters()).device)

    def _prompt_ids(self, instruction: str) -> list[int]:
        tok = self.decoder_.tokenizer
        if getattr(tok, "chat_template", None):
            ids = tok.apply_chat_template(
                [{"role": "user", "content": instruction}],
                add_generation_prompt=True,
                tokenize=True,
            )
            if isinstance(ids, dict) or hasattr(ids, "keys"):  # a BatchEncoding
                ids = ids["input_ids"]
            return [int(i) for i in ids]
        return [int(i) for i in tok(f"{instruction}\n", add_special_tokens=False)["input_ids"]]

    # ------------------------------------------------------------------ invert

    def invert(self, X: Any) -> list[str]:
        """Decode each row of ``X`` (embeddings from the embedder) to a text.

        Sets ``queries_`` (embedder queries per text) and ``cosines_`` (cosine of each returned
        text to its target).
        """
        self._check_params()
        self._setup()
        dim = int(self.embedder_.dim)
        arr = np.asarray(X)
        if arr.ndim in (1, 2) and arr.dtype != object and arr.shape[-1] != dim:
            raise ValueError(
                f"GuidedInverter expects {dim}-dim embeddings from {self.embedder_.name!r}, got "
                f"{arr.shape[-1]}: pass embeddings from that embedder, or give the embedder "
                "that produced them"
            )
        targets = check_matrix(arr, what="X", dim=dim).astype(np.float64)
        norms = np.linalg.norm(targets, axis=1, keepdims=True)
        if (norms == 0).any():
            raise ValueError("X has all-zero rows: a zero vector has no direction to match")
        targets = targets / norms
        states = [_TextState() for _ in range(len(targets))]
        base = self._prompt_ids(self.prompt)
        starts = range(0, len(targets), self.batch_size)
        for s in progress_bar(starts, progress=self.progress, total=len(starts), desc="guided"):
            rows = list(range(s, min(s + self.batch_size, len(targets))))
            self._search(rows, [base] * len(rows), targets, states)
            for _ in range(self.refine_rounds):
                prompts = [
                    self._prompt_ids(self.refine_prompt.format(text=states[r].best_text))
                    for r in rows
                ]
                self._search(rows, prompts, targets, states)
        self.queries_ = np.array([st.queries for st in states], dtype=np.int64)
        self.cosines_ = np.array([st.best_cos for st in states], dtype=np.float64)
        return [st.best_text for st in states]

    def _score(self, cosine: float, n_tokens: int) -> float:
        return cosine + float(self.length_penalty) * n_tokens / self.max_length

    def _embed_cosines(self, texts: list[str], rows: list[int], targets: np.ndarray) -> np.ndarray:
        vecs = np.asarray(
            self.embedder_.embed(texts, batch_size=self.embed_batch_size, progress=False),
            dtype=np.float64,
        )
        if vecs.shape != (len(texts), targets.shape[1]):
            raise ValueError(
                f"embedder {self.embedder_.name!r} returned shape {vecs.shape} for {len(texts)} "
                f"texts, expected ({len(texts)}, {targets.shape[1]})"
            )
        norms = np.maximum(np.linalg.norm(vecs, axis=1), 1e-12)
        return np.einsum("ij,ij->i", vecs, targets[rows]) / norms

    def _search(
        self,
        rows: list[int],
        prompts: Sequence[list[int]],
        targets: np.ndarray,
        states: list[_TextState],
    ) -> None:
        """One guided beam search for the targets ``rows``, each from its own prompt."""
        import torch

        model, tok = self.decoder_.model, self.decoder_.tokenizer
        device = next(model.parameters()).device
        width = max(len(p) for p in prompts)
        pad = tok.pad_token_id if tok.pad_token_id is not None else 0
        ids = torch.full((len(prompts), width), int(pad), dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for i, p in enumerate(prompts):  # left padding: every row ends at the same position
            ids[i, width - len(p) :] = torch.tensor(p, dtype=torch.long)
            mask[i, width - len(p) :] = 1
        ids, mask = ids.to(device), mask.to(device)
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
        cache_arg = _cache_argument(model)
        beams = [_Beam(row=r, ids=[]) for r in rows]
        stall = {r: 0 for r in rows}  # steps without a better score in this search
        local = {r: -np.inf for r in rows}
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                out = model(
                    input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True
                )
                cache, logits = _cache_of(out), out.logits[:, -1]
                last_pos = positions[:, -1]
                for _step in range(self.max_length):
                    chosen = self._step(beams, logits, targets, states, stall, local)
                    if not chosen:
                        break
                    parents = torch.tensor([p for p, _ in chosen], dtype=torch.long, device=device)
                    new_tok = torch.tensor([t for _, t in chosen], dtype=torch.long, device=device)
                    beams = [_Beam(beams[p].row, [*beams[p].ids, t]) for p, t in chosen]
                    cache = _reorder(cache, parents)
                    mask = torch.cat(
                        [mask.index_select(0, parents), torch.ones_like(new_tok)[:, None]], dim=1
                    )
                    last_pos = last_pos.index_select(0, parents) + 1
                    out = model(
                        input_ids=new_tok[:, None],
                        attention_mask=mask,
                        position_ids=last_pos[:, None],
                        use_cache=True,
                        **{cache_arg: cache},
                    )
                    cache, logits = _cache_of(out), out.logits[:, -1]
        finally:
            model.train(was_training)

    def _step(
        self,
        beams: list[_Beam],
        logits: torch.Tensor,
        targets: np.ndarray,
        states: list[_TextState],
        stall: dict[int, int],
        local: dict[int, float],
    ) -> list[tuple[int, int]]:
        """Propose, score and select: the ``(parent beam, next token)`` pairs that survive."""
        import torch

        tok = self.decoder_.tokenizer
        logp = torch.log_softmax(logits.float(), dim=-1)
        logp = logp.masked_fill(self._banned[: logp.shape[-1]], -torch.inf)
        k = min(self.top_k, logp.shape[-1])
        top_v, top_i = logp.topk(k, dim=-1)
        top_v, top_i = top_v.cpu().numpy(), top_i.cpu().numpy()
        # every proposal: (row, parent, token, lm logprob), decoded in one call
        proposals = [
            (b.row, p, int(top_i[p, j]), float(top_v[p, j]))
            for p, b in enumerate(beams)
            for j in range(k)
            if np.isfinite(top_v[p, j])
        ]
        texts = tok.batch_decode(
            [[*beams[p].ids, t] for _, p, t, _ in proposals], skip_special_tokens=True
        )
        by_row: dict[int, dict[str, tuple[float, int, int]]] = {}
        for (row, p, t, lp), text in zip(proposals, texts, strict=True):
            text = text.strip()
            if not text:
                continue
            current = by_row.setdefault(row, {})
            if text not in current or lp > current[text][0]:  # one candidate per distinct text
                current[text] = (lp, p, t)
        # the texts to embed: unseen ones, within each row's remaining budget, likeliest first
        to_embed: list[str] = []
        to_rows: list[int] = []
        for row, cands in by_row.items():
            st = states[row]
            fresh = sorted((t for t in cands if t not in st.seen), key=lambda t: -cands[t][0])
            if self.max_queries is not None:
                left = max(0, self.max_queries - st.queries)
                for dropped in fresh[left:]:
                    del cands[dropped]
                fresh = fresh[:left]
            to_embed.extend(fresh)
            to_rows.extend([row] * len(fresh))
        if to_embed:
            cos = self._embed_cosines(to_embed, to_rows, targets)
            for text, row, c in zip(to_embed, to_rows, cos, strict=True):
                states[row].seen[text] = float(c)
                states[row].queries += 1
        chosen: list[tuple[int, int]] = []
        for row, cands in by_row.items():
            st = states[row]
            ranked = sorted(
                cands.items(),
                key=lambda item: -self._score(st.seen[item[0]], len(beams[item[1][1]].ids) + 1),
            )
            if not ranked:
                continue
            text, (_, p, _) = ranked[0]
            score = self._score(st.seen[text], len(beams[p].ids) + 1)
            if score > st.best_score:  # the answer: the best text of every search so far
                st.best_text, st.best_score, st.best_cos = text, score, st.seen[text]
            stall[row] = 0 if score > local[row] else stall[row] + 1
            local[row] = max(local[row], score)
            if stall[row] >= self.patience:
                continue
            if self.max_queries is not None and st.queries >= self.max_queries:
                continue
            chosen.extend((p, t) for _, (_, p, t) in ranked[: self.beam_width])
        return chosen

    def __repr__(self) -> str:
        emb = self.embedder if isinstance(self.embedder, str) else self.embedder.name
        dec = self.decoder if isinstance(self.decoder, str) else self.decoder.name
        return (
            f"GuidedInverter(embedder={emb!r}, decoder={dec!r}, beam_width={self.beam_width}, "
            f"top_k={self.top_k}, max_length={self.max_length}, max_queries={self.max_queries})"
        )


def _reorder(cache: Any, index: torch.Tensor) -> Any:
    """Select the rows ``index`` of a key/value cache (a transformers ``Cache`` or tuples)."""
    if hasattr(cache, "reorder_cache"):
        cache.reorder_cache(index)
        return cache
    return tuple(tuple(t.index_select(0, index) for t in layer) for layer in cache)


def _cache_argument(model: Any) -> str:
    """The name of the key/value cache argument of ``model.forward`` (transformers renamed it)."""
    import inspect

    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _cache_of(output: Any) -> Any:
    """The key/value cache of a model output, under its new or its old name."""
    for key in ("cache", "past_key_values"):
        if key in output and output[key] is not None:
            return output[key]
    raise RuntimeError("the language model returned no key/value cache: pass use_cache=True")
