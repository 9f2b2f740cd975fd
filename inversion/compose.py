"""A language model writes: sentences that hold given words, and how fluent a text reads.

:class:`Composer` wraps a causal LM (the built-in SmolLM2-135M-Instruct by default) for the
sentence phase of :class:`~inversion.sentence.SentenceInverter`:

- :meth:`Composer.compose` turns a bag of words (what a word search read off a vector, in any
  order) into whole sentences. A beam search over the LM's tokens, prompted to write one
  sentence with the words, gets a bonus each time it starts one of them and must finish a word
  it started; everything between (articles, prepositions, inflections, punctuation) is the LM's
  own choice, and so is the order. Any word can be written, whatever its tokens, so names and
  numbers the LM has never seen are spelled from their pieces.
- :meth:`Composer.logprob` scores texts by the LM's log-probability (batched), the fluency
  judge of the edit phase.

Nothing here queries the embedder: the caller embeds the sentences and lets the cosine decide.

Examples
--------
>>> from inversion.compose import Composer
>>> c = Composer("smollm2")  # doctest: +SKIP
>>> c.compose([["frog", "Peru", "species", "scientists", "discovered"]])[0][0]  # doctest: +SKIP
'Scientists discovered a new species of frog in Peru.'
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlens._utils import check_int
from inversion._kv_cache import CachedBatch

if TYPE_CHECKING:
    import torch

__all__ = ["PROMPT", "Composer"]

#: the instruction of :meth:`Composer.compose` (``{words}``: the words, comma separated)
PROMPT = "Write one sentence that uses these words: {words}."
#: the context a text is scored in by :meth:`Composer.logprob`
_SCORE_PROMPT = "Write one sentence."
#: a short system turn (a chat template's default one can cost more tokens than the answer)
_SYSTEM = "You write sentences."


@dataclass
class _Beam:
    target: int  # which bag
    ids: list[int]
    score: float  # LM log-probability plus the bonuses earned
    used: frozenset[int]  # bag words started
    pending: tuple[int, ...] = ()  # the rest of a word being written
    word_end: bool = False  # a bag word just ended: the next token must not extend it


class Composer:
    """A causal LM that writes sentences holding given words and judges fluency.

    Parameters
    ----------
    decoder
        ``"smollm2"`` (built in), a hub id or local directory of a causal LM, or a
        :class:`~embedlens.models.Decoder`.
    beam_width
        Hypotheses kept per bag at every token.
    top_k
        The LM's most likely next tokens each hypothesis may take besides the bag words.
    bonus
        Log-probability added when a hypothesis starts a bag word (and lost, per word, by a
        sentence that ends without one): how strongly the words are forced in.
    comma_penalty
        Log-probability taken from every comma the LM writes: without it, a bag of unrelated
        words comes back as a comma-separated list.
    max_new_tokens
        Most tokens per sentence.
    device, dtype
        Where and in what precision the LM runs (``None``: cuda, then mps, then cpu; float32).
    """

    def __init__(
        self,
        decoder: Any = "smollm2",
        *,
        beam_width: int = 8,
        top_k: int = 6,
        bonus: float = 3.0,
        comma_penalty: float = 2.0,
        max_new_tokens: int = 48,
        device: str | None = None,
        dtype: str | None = None,
    ) -> None:
        check_int(beam_width, "beam_width")
        check_int(top_k, "top_k")
        check_int(max_new_tokens, "max_new_tokens")
        if isinstance(bonus, bool) or not isinstance(bonus, int | float) or not np.isfinite(bonus):
            raise ValueError(f"bonus must be a finite number, got {bonus!r}")
        self.beam_width, self.top_k, self.bonus = beam_width, top_k, float(bonus)
        self.max_new_tokens = max_new_tokens
        if (
            isinstance(comma_penalty, bool)
            or not isinstance(comma_penalty, int | float)
            or not np.isfinite(comma_penalty)
        ):
            raise ValueError(f"comma_penalty must be a finite number, got {comma_penalty!r}")
        self.comma_penalty = float(comma_penalty)
        if hasattr(decoder, "model") and hasattr(decoder, "tokenizer"):
            self.decoder = decoder
        else:
            from embedlens.models import load_decoder

            self.decoder = load_decoder(decoder, device=device, dtype=dtype)
        self._prepare_vocabulary()

    # ------------------------------------------------------------------ tokens

    def _prepare_vocabulary(self) -> None:
        import torch

        tok, model = self.decoder.tokenizer, self.decoder.model
        size = int(model.get_input_embeddings().weight.shape[0])
        pieces = tok.convert_ids_to_tokens(list(range(min(size, len(tok)))))
        # a token that continues the word before it: no leading space mark, starts alphanumeric
        glued = torch.zeros(size, dtype=torch.bool)
        banned = torch.zeros(size, dtype=torch.bool)
        self._penalty = torch.zeros(size)
        for i, p in enumerate(pieces):
            if p and p.replace("Ġ", "").strip() in (",", ";"):
                self._penalty[i] = self.comma_penalty
            if p and p[0] not in "Ġ▁" and p[0].isalnum():
                glued[i] = True
            if p and ("Ċ" in p or "\n" in p):  # a sentence is one line
                banned[i] = True
        special = [i for i in tok.all_special_ids if i is not None and i < size]
        banned[special] = True
        self._end_ids = {
            i
            for i in (tok.eos_token_id, tok.convert_tokens_to_ids("<|im_end|>"))
            if isinstance(i, int) and 0 <= i < size
        }
        for i in self._end_ids:
            banned[i] = False
        self._device = next(model.parameters()).device
        self._glued, self._banned = glued.to(self._device), banned.to(self._device)
        self._penalty = self._penalty.to(self._device)

    def _prompt(self, instruction: str) -> list[int]:
        tok = self.decoder.tokenizer
        if getattr(tok, "chat_template", None):
            ids = tok.apply_chat_template(
                [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": instruction}],
                add_generation_prompt=True,
            )
            if hasattr(ids, "keys"):
                ids = ids["input_ids"]
            return [int(i) for i in ids]
        return [int(i) for i in tok(f"{instruction}\n", add_special_tokens=False)["input_ids"]]

    def token_limit(self, spellings: Sequence[tuple[list[tuple[int, ...]], Any]]) -> int:
        """Most tokens a sentence for these words may take: half again their own tokens, plus
        room for glue (at most ``max_new_tokens``)."""
        own = sum(min((len(s) for s in inside), default=1) for inside, _ in spellings)
        return min(self.max_new_tokens, int(1.5 * own) + 8)

    def estimate_seconds(self, bags: Sequence[Sequence[str]]) -> float:
        """Seconds :meth:`compose` is expected to take for ``bags`` on this machine, from the
        last call's time per hypothesis and token (0 before any call)."""
        per = getattr(self, "seconds_per_row_step_", 0.0)
        if not per:
            return 0.0
        steps = sum(self.token_limit([self._spellings(w) for w in bag]) for bag in bags if bag)
        return per * self.beam_width * steps

    def _spellings(self, word: str) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
        """Token sequences of ``word`` inside a sentence and at its start (as written, lower
        case and capitalised: the embedder may not see case, the LM chooses)."""
        tok = self.decoder.tokenizer
        forms = dict.fromkeys([word, word.lower(), word[:1].upper() + word[1:]])
        inside = [tuple(tok.encode(" " + f, add_special_tokens=False)) for f in forms]
        start = [tuple(tok.encode(f, add_special_tokens=False)) for f in forms]
        return list(dict.fromkeys(s for s in inside if s)), list(
            dict.fromkeys(s for s in start if s)
        )

    # ------------------------------------------------------------------ compose

    def compose(
        self, bags: Sequence[Sequence[str]], *, n_best: int | None = None
    ) -> list[list[tuple[str, float]]]:
        """Sentences that hold the words of each bag, likeliest first.

        Parameters
        ----------
        bags
            One list of words per sentence wanted (any order; a word may be a name, a number
            or any string without spaces).
        n_best
            Distinct sentences returned per bag (``None``: ``beam_width``).

        Returns
        -------
        list of list of (str, float)
            Per bag, up to ``n_best`` distinct sentences with their LM log-probability per token
            under the prompt (bonuses and penalties left out), best score with bonuses first;
            an empty bag gives an empty list.
        """
        import torch

        if n_best is None:
            n_best = self.beam_width
        check_int(n_best, "n_best")
        words = [
            list(dict.fromkeys(w for w in bag if isinstance(w, str) and w.strip())) for bag in bags
        ]
        todo = [i for i, w in enumerate(words) if w]
        results: list[list[tuple[str, float]]] = [[] for _ in bags]
        if not todo:
            return results
        spell = [[self._spellings(w) for w in words[i]] for i in todo]
        limits = [self.token_limit(sp) for sp in spell]
        prompts = [self._prompt(PROMPT.format(words=", ".join(words[i]))) for i in todo]
        model, tok = self.decoder.model, self.decoder.tokenizer
        beams = [_Beam(target=t, ids=[], score=0.0, used=frozenset()) for t in range(len(todo))]
        finished: list[list[tuple[float, float, list[int]]]] = [[] for _ in todo]
        tic, row_steps = time.perf_counter(), 0
        with torch.no_grad():
            batch = CachedBatch(model, prompts, tok.pad_token_id)
            logits = batch.logits
            for _ in range(self.max_new_tokens):
                row_steps += len(beams)
                chosen = self._step(beams, logits, spell, finished, limits)
                if not chosen:
                    break
                beams = [b for _, b in chosen]
                logits = batch.advance([p for p, _ in chosen], [b.ids[-1] for _, b in chosen])
        self.seconds_per_row_step_ = (time.perf_counter() - tic) / max(1, row_steps)
        for b in beams:  # unfinished hypotheses still count, with what they lack
            self._finish(finished, b, 0.0, len(spell[b.target]))
        for t, i in enumerate(todo):
            ranked = sorted(finished[t], key=lambda f: -f[0])
            texts = tok.batch_decode([f[2] for f in ranked], skip_special_tokens=True)
            kept: dict[str, float] = {}
            for (_, lm, _), x in zip(ranked, texts, strict=True):
                x = x.strip()
                if x and x not in kept and len(kept) < n_best:
                    kept[x] = lm
            results[i] = list(kept.items())
        return results

    def _finish(
        self, finished: list[list[tuple[float, float, list[int]]]], b: _Beam, last: float, n: int
    ) -> None:
        """File ``b`` (plus a last log-probability ``last``) as a finished sentence; a sentence
        pays ``bonus`` for each of its bag's ``n`` words it lacks."""
        lm = (b.score + last - self.bonus * len(b.used)) / (len(b.ids) + 1)
        finished[b.target].append((b.score + last - self.bonus * (n - len(b.used)), lm, b.ids))

    def _step(
        self,
        beams: list[_Beam],
        logits: torch.Tensor,
        spell: list[list[tuple[list[tuple[int, ...]], list[tuple[int, ...]]]]],
        finished: list[list[tuple[float, float, list[int]]]],
        limits: list[int],
    ) -> list[tuple[int, _Beam]]:
        """Extend every hypothesis; keep ``beam_width`` per bag. Returns (parent row, beam)."""
        import torch

        logp = torch.log_softmax(logits.float(), dim=-1) - self._penalty[: logits.shape[-1]]
        logp = logp.masked_fill(self._banned[: logp.shape[-1]], -torch.inf)
        free = logp.masked_fill(self._glued[: logp.shape[-1]], -torch.inf)
        k = min(self.top_k, logp.shape[-1])
        top_v, top_i = logp.topk(k, dim=-1)
        free_v, free_i = free.topk(k, dim=-1)
        top_v, top_i = top_v.cpu().numpy(), top_i.cpu().numpy()
        free_v, free_i = free_v.cpu().numpy(), free_i.cpu().numpy()
        rows = logp.cpu().numpy()
        by_target: dict[int, list[tuple[float, int, _Beam]]] = {}
        for r, b in enumerate(beams):
            cands = by_target.setdefault(b.target, [])
            lp = rows[r]
            if len(b.ids) >= limits[b.target]:  # long enough for its words: it ends here
                self._finish(finished, b, 0.0, len(spell[b.target]))
                continue
            if b.pending:  # finish the word this hypothesis started
                t = b.pending[0]
                nb = _Beam(b.target, [*b.ids, t], b.score + float(lp[t]), b.used, b.pending[1:])
                nb.word_end = not nb.pending
                cands.append((nb.score, r, nb))
                continue
            starts: dict[int, list[tuple[int, tuple[int, ...]]]] = {}
            for w, (inside, first) in enumerate(spell[b.target]):
                if w in b.used:
                    continue
                for seq in first if not b.ids else inside:
                    starts.setdefault(seq[0], []).append((w, seq[1:]))
            vals, idx = (free_v[r], free_i[r]) if b.word_end else (top_v[r], top_i[r])
            for v, t in zip(vals.tolist(), idx.tolist(), strict=True):
                if not np.isfinite(v) or t in starts:
                    continue
                if t in self._end_ids:
                    if b.ids:
                        self._finish(finished, b, v, len(spell[b.target]))
                    continue
                cands.append((b.score + v, r, _Beam(b.target, [*b.ids, t], b.score + v, b.used)))
            for t, options in starts.items():
                if not np.isfinite(lp[t]):
                    continue
                for w, rest in options:
                    score = b.score + float(lp[t]) + self.bonus
                    nb = _Beam(b.target, [*b.ids, t], score, b.used | {w}, rest, not rest)
                    cands.append((score, r, nb))
        chosen: list[tuple[int, _Beam]] = []
        for target, cands in by_target.items():
            cands.sort(key=lambda c: -c[0])
            done = max((f[0] for f in finished[target]), default=-np.inf)
            if not cands or done >= cands[0][0]:  # nothing alive can beat a finished sentence
                continue
            kept: set[tuple[int, ...]] = set()
            for _, r, nb in cands:
                key = tuple(nb.ids)
                if key in kept:
                    continue
                kept.add(key)
                chosen.append((r, nb))
                if len(kept) >= self.beam_width:
                    break
        return chosen

    # ------------------------------------------------------------------ fluency

    def slot_logprobs(self, text: str, candidates: Sequence[str]) -> np.ndarray:
        """How likely the LM finds each candidate word at each word position of ``text``.

        Returns an array ``(words of text, candidates)``: the log-probability of the
        candidate's first token where word ``i`` starts, given the words before it (the
        slot a replacement of word ``i``, or an insertion before it, would take). Words are
        :class:`~inversion._edits.Words`' runs; one LM forward pass whatever the candidates.
        """
        import re

        import torch

        tok, model = self.decoder.tokenizer, self.decoder.model
        starts = [m.start() for m in re.finditer(r"\w+(?:'\w+)?", text)]
        out = np.full((len(starts), len(candidates)), -np.inf)
        if not starts or not len(candidates):
            return out
        enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
        ids, spans = list(enc["input_ids"]), list(enc["offset_mapping"])
        prefix = self._prompt(_SCORE_PROMPT)
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([prefix + ids], device=self._device)).logits
        logp = torch.log_softmax(logits[0].float(), dim=-1).cpu().numpy()
        first_inside = [self._first_token(" " + c) for c in candidates]
        first_start = [self._first_token(c[:1].upper() + c[1:]) for c in candidates]
        for i, c in enumerate(starts):
            j = next((j for j, (_, end) in enumerate(spans) if end > c), len(ids))
            row = logp[len(prefix) + j - 1]
            firsts = first_start if j == 0 else first_inside
            out[i] = [row[f] if f is not None else -np.inf for f in firsts]
        return out

    def _first_token(self, word: str) -> int | None:
        cache = self.__dict__.setdefault("_firsts", {})
        if word not in cache:
            ids = self.decoder.tokenizer.encode(word, add_special_tokens=False)
            cache[word] = int(ids[0]) if ids else None
        return cache[word]

    def logprob(
        self, texts: Sequence[str], *, mean: bool = False, batch_size: int = 32
    ) -> np.ndarray:
        """The LM's log-probability of each text as a whole answer (its end included).

        ``mean=True`` divides by the number of tokens scored (a length-neutral fluency).
        Returns a float64 array, one value per text; an empty text scores ``-inf``.
        """
        import torch

        tok, model = self.decoder.tokenizer, self.decoder.model
        prefix = self._prompt(_SCORE_PROMPT)
        end = min(self._end_ids) if self._end_ids else None
        out = np.full(len(texts), -np.inf)
        for s in range(0, len(texts), batch_size):
            chunk = list(texts[s : s + batch_size])
            seqs = [
                tok.encode(t.strip(), add_special_tokens=False) + ([end] if end is not None else [])
                for t in chunk
            ]
            width = len(prefix) + max(len(q) for q in seqs)
            pad = tok.pad_token_id if tok.pad_token_id is not None else 0
            ids = torch.full((len(seqs), width), int(pad), dtype=torch.long)
            mask = torch.zeros((len(seqs), width), dtype=torch.long)
            for r, q in enumerate(seqs):
                row = prefix + q
                ids[r, : len(row)] = torch.tensor(row)
                mask[r, : len(row)] = 1
            with torch.no_grad():
                logits = model(
                    input_ids=ids.to(self._device), attention_mask=mask.to(self._device)
                ).logits.float()
            logp = torch.log_softmax(logits[:, :-1], dim=-1)
            gathered = logp.gather(2, ids[:, 1:, None].to(self._device))[..., 0].cpu().numpy()
            for r, (t, q) in enumerate(zip(chunk, seqs, strict=True)):
                if t.strip():
                    a = len(prefix) - 1
                    total = float(gathered[r, a : a + len(q)].sum())
                    out[s + r] = total / len(q) if mean else total
        return out
