"""The LM half of :class:`~inversion.guided.GuidedInverter`: guided beam search over tokens.

A mixin, so the search reads the inverter's settings and loaded models; the per-target state
(every text scored, the best one, the queries spent) is shared with the word-edit search.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from inversion._kv_cache import CachedBatch

if TYPE_CHECKING:
    import torch

__all__ = ["LMSearchMixin", "TextState"]


@dataclass
class TextState:
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


class LMSearchMixin:
    """Token-level search: the LM proposes ``top_k`` next tokens, the cosine keeps ``beam_width``."""

    # set by the inverter that mixes this in
    decoder_: Any
    embedder_: Any
    _banned: Any
    beam_width: int
    top_k: int
    max_length: int
    max_queries: int | None
    length_penalty: float
    patience: int
    embed_batch_size: int

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

    def _score(self, cosine: float, n_tokens: int) -> float:
        return cosine + float(self.length_penalty) * n_tokens / self.max_length

    def _embed_unit(self, texts: list[str]) -> np.ndarray:
        """Unit-length float64 embeddings of ``texts`` (one embedder call, shape checked)."""
        dim = int(self.embedder_.dim)
        vecs = np.asarray(
            self.embedder_.embed(texts, batch_size=self.embed_batch_size, progress=False),
            dtype=np.float64,
        )
        if vecs.shape != (len(texts), dim):
            raise ValueError(
                f"embedder {self.embedder_.name!r} returned shape {vecs.shape} for {len(texts)} "
                f"texts, expected ({len(texts)}, {dim})"
            )
        return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)

    def _embed_cosines(self, texts: list[str], rows: list[int], targets: np.ndarray) -> np.ndarray:
        return np.einsum("ij,ij->i", self._embed_unit(texts), targets[rows])

    def _search(
        self,
        rows: list[int],
        prompts: Sequence[list[int]],
        targets: np.ndarray,
        states: list[TextState],
    ) -> None:
        """One guided beam search for the targets ``rows``, each from its own prompt."""
        import torch

        model, tok = self.decoder_.model, self.decoder_.tokenizer
        beams = [_Beam(row=r, ids=[]) for r in rows]
        stall = {r: 0 for r in rows}  # steps without a better score in this search
        local = {r: -np.inf for r in rows}
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                batch = CachedBatch(model, prompts, tok.pad_token_id)
                logits = batch.logits
                for _step in range(self.max_length):
                    chosen = self._step(beams, logits, targets, states, stall, local)
                    if not chosen:
                        break
                    beams = [_Beam(beams[p].row, [*beams[p].ids, t]) for p, t in chosen]
                    logits = batch.advance([p for p, _ in chosen], [t for _, t in chosen])
        finally:
            model.train(was_training)

    def _step(
        self,
        beams: list[_Beam],
        logits: torch.Tensor,
        targets: np.ndarray,
        states: list[TextState],
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
