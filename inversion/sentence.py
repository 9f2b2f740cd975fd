"""Inversion that writes sentences: the word search reads the words, a language model writes them
into a sentence, the embedder decides.

:class:`SentenceInverter` runs in three phases per batch of targets, inside one query and time
budget:

1. **words**: :class:`~inversion.search.SearchInverter`'s edit search (keyword model, the
   attacker's starts, word vectors) finds a bag of the target's words, in poor order;
2. **sentences**: a :class:`~inversion.compose.Composer` (SmolLM2 by default) writes sentences
   that hold the bag's words, and the same with only its surest words; every sentence is
   embedded and the cosine ranks them. The LM chooses order, inflection and glue, and can spell
   any word from its tokens;
3. **edits**: one-word edits of the best sentences (replace, insert, delete, move; new words
   from the search's pool), each embedded; of the edits the cosine likes most, the LM's
   log-probability picks the one that still reads well (score: cosine + ``fluency`` x log-prob).

The word search's best text competes with the sentences under the same score, so a start text
that already reads well (an attacker's record) survives, and word salad does not.

Examples
--------
>>> from inversion.sentence import SentenceInverter
>>> inv = SentenceInverter(embedder="minilm")  # doctest: +SKIP
>>> inv.invert(vectors)  # doctest: +SKIP
['Scientists discovered a new species of frog in the forests of Peru.']
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from embedlens._utils import check_int, progress_bar
from inversion._edits import Words, propose_edits
from inversion._lexical import FUNCTION_WORDS
from inversion.search import SearchInverter, _State

__all__ = ["SentenceInverter"]

#: most words the LM is asked to write into one sentence
_MAX_BAG = 20


class SentenceInverter(SearchInverter):
    """Invert embeddings into fluent sentences on a CPU: word search, LM composition, edits.

    Takes every parameter of :class:`~inversion.search.SearchInverter`, and:

    Parameters
    ----------
    decoder
        The LM that writes: ``"smollm2"`` (built in, offline), a causal LM's hub id or
        directory, or a :class:`~inversion.compose.Composer`.
    sentence_share
        The share of each text's queries and seconds kept for the sentence and edit phases.
    compose_beam
        Beam width of the LM's sentence search (:class:`~inversion.compose.Composer`).
    bonus
        How strongly the LM is pushed to use the bag's words (log-probability per word).
    fluency
        The cosine one nat of the LM's mean log-probability per token is worth when sentences
        and edits are ranked.
    finalists
        The sentences closest by cosine (the word search's best text among the candidates)
        that the LM judges; the best by cosine + ``fluency`` x mean log-probability per token
        goes on to the edit phase.
    edit_ops
        The edits of the last phase: ``"lm"`` (the replacements and insertions of pool words
        the LM finds likeliest where they would stand, plus deletions), ``"replace"``
        (random replacements of content words: the LM's glue stays),
        ``"all"`` (also insert, delete and move words), ``"none"`` (no edit phase).
    """

    def __init__(
        self,
        embedder: Any = "minilm",
        *,
        decoder: Any = "smollm2",
        sentence_share: float = 0.4,
        compose_beam: int = 8,
        bonus: float = 3.0,
        fluency: float = 0.03,
        finalists: int = 4,
        edit_ops: Literal["lm", "replace", "all", "none"] = "replace",
        keywords: Any = "auto",
        aux_texts: Sequence[str] | None = None,
        lm_texts: Sequence[str] | None = None,
        max_queries: int = 2000,
        max_seconds: float | None = None,
        beam_width: int = 2,
        edits_per_round: int = 48,
        n_keywords: int = 48,
        n_starts: int = 3,
        n_word_vectors: int = 30_000,
        word_penalty: float = 0.008,
        patience: int = 15,
        reorder_queries: int = 0,
        reorder_tolerance: float = 0.005,
        max_words: int = 64,
        seed: int = 0,
        batch_size: int = 8,
        embed_batch_size: int = 256,
        progress: bool | None = None,
    ) -> None:
        super().__init__(
            embedder,
            keywords=keywords,
            aux_texts=aux_texts,
            lm_texts=lm_texts,
            max_queries=max_queries,
            max_seconds=max_seconds,
            beam_width=beam_width,
            edits_per_round=edits_per_round,
            n_keywords=n_keywords,
            n_starts=n_starts,
            n_word_vectors=n_word_vectors,
            word_penalty=word_penalty,
            patience=patience,
            reorder_queries=reorder_queries,
            reorder_tolerance=reorder_tolerance,
            max_words=max_words,
            seed=seed,
            batch_size=batch_size,
            embed_batch_size=embed_batch_size,
            progress=progress,
        )
        self.decoder = decoder
        self.sentence_share = sentence_share
        self.compose_beam = compose_beam
        self.bonus = bonus
        self.fluency = fluency
        self.finalists = finalists
        self.edit_ops = edit_ops

    def _check_params(self) -> None:
        super()._check_params()
        check_int(self.compose_beam, "compose_beam")
        check_int(self.finalists, "finalists")
        if self.edit_ops not in ("lm", "replace", "all", "none"):
            raise ValueError(
                f"edit_ops must be 'lm', 'replace', 'all' or 'none', got {self.edit_ops!r}"
            )
        for name, low, high in (
            ("sentence_share", 0.0, 1.0),
            ("fluency", 0.0, 1.0),
            ("bonus", 0.0, 50.0),
        ):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not low <= value <= high
            ):
                raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")

    def fit(
        self, aux_texts: Sequence[str] | None = None, *, aux_vectors: Any = None
    ) -> SentenceInverter:
        """:meth:`SearchInverter.fit`, and load the LM that writes the sentences."""
        super().fit(aux_texts, aux_vectors=aux_vectors)
        from inversion.compose import Composer

        if isinstance(self.decoder, Composer):
            self.composer_ = self.decoder
        else:
            self.composer_ = Composer(self.decoder, beam_width=self.compose_beam, bonus=self.bonus)
        return self

    # ------------------------------------------------------------------ invert

    def invert(self, X: Any) -> list[str]:
        """Decode each row of ``X`` to a sentence; sets ``queries_``, ``cosines_``, ``seconds_``."""
        self._check_params()
        targets = self.check_vectors(X)
        if not hasattr(self, "composer_"):
            self.fit()
        proba = self._proba(targets)
        out: list[str] = []
        n = len(targets)
        self.queries_ = np.zeros(n, dtype=np.int64)
        self.cosines_ = np.zeros(n)
        self.seconds_ = np.zeros(n)
        batches = range(0, n, self.batch_size)
        for s in progress_bar(batches, progress=self.progress, total=len(batches), desc="invert"):
            tic = time.perf_counter()
            rows = list(range(s, min(s + self.batch_size, n)))
            states = [self._new_state(targets[r], proba[r]) for r in rows]
            words_share = 1.0 - float(self.sentence_share)
            for st in states:
                st.budget = max(1, int(words_share * int(self.max_queries)))
                if self.max_seconds is not None:
                    st.deadline = tic + words_share * float(self.max_seconds) * len(rows)
            rng = random.Random(self.seed + s)
            self._run(states, rng)
            for st in states:
                st.budget = int(self.max_queries)
                if self.max_seconds is not None:
                    st.deadline = tic + float(self.max_seconds) * len(rows)
            answers = self._sentences(states, rng)
            elapsed = (time.perf_counter() - tic) / len(rows)
            for r, st, (text, cos) in zip(rows, states, answers, strict=True):
                out.append(text)
                self.queries_[r], self.cosines_[r], self.seconds_[r] = st.queries, cos, elapsed
        return out

    def _bags(self, st: _State) -> list[list[str]]:
        """The words to write with: the best text's, and its surest half (by keyword model)."""
        if time.perf_counter() > st.deadline:  # no time left: the search's text stands
            return []
        best = Words.parse(st.best[2])
        words = list(dict.fromkeys(best.words))
        if not words:
            return []
        keep = self._keep(st, Words.parse(" ".join(words)))
        if len(words) > _MAX_BAG:  # a long text: its surest words, in their order
            sure = set(np.argsort(-keep)[:_MAX_BAG].tolist())
            words = [w for i, w in enumerate(words) if i in sure]
            keep = keep[sorted(sure)]
        bags = [words]
        content = [w for w in words if w.casefold() not in FUNCTION_WORDS]
        if len(content) >= 4:
            order = np.argsort(-keep[[words.index(w) for w in content]])
            sure = {content[j] for j in order[: max(3, (len(content) + 1) // 2)]}
            bags.append([w for w in words if w in sure])
        return bags

    def _sentences(self, states: list[_State], rng: random.Random) -> list[tuple[str, float]]:
        """The sentence and edit phases; returns (answer, cosine) per state."""
        composer = self.composer_
        bags_per = [self._bags(st) for st in states]
        # the LM's time must fit what is left: first the second bag, then all bags go
        left = min(st.deadline for st in states) - time.perf_counter()
        if composer.estimate_seconds([b for per in bags_per for b in per]) > left:
            bags_per = [per[:1] for per in bags_per]
        if composer.estimate_seconds([b for per in bags_per for b in per]) > left:
            bags_per = [[] for _ in bags_per]
        bags = [b for per in bags_per for b in per]
        written = composer.compose(bags, n_best=self.compose_beam) if bags else []
        groups: list[list[str]] = []  # per state: its sentences, then the search's best text
        k = 0
        for st, per in zip(states, bags_per, strict=True):
            group = list(dict.fromkeys(t for w in written[k : k + len(per)] for t, _ in w))
            k += len(per)
            group = group[: max(0, st.budget - st.queries)]
            if st.best[2]:  # the word search's best text competes too (a start may read well)
                group.append(st.best[2])
            groups.append(list(dict.fromkeys(group)))
        self._score(states, groups)
        # the few closest by cosine are judged by the LM, all in one context
        finalists = [
            sorted(g, key=lambda t, st=st: -st.seen[t])[: self.finalists]  # type: ignore[misc]
            for st, g in zip(states, groups, strict=True)
        ]
        texts = [t for f in finalists for t in f]
        fluent = composer.logprob(texts, mean=True) if texts else np.zeros(0)
        current: list[tuple[float, float, str] | None] = []
        k = 0
        for st, f in zip(states, finalists, strict=True):
            scored = [
                (st.seen[t] + self.fluency * float(fluent[k + j]), st.seen[t], t)
                for j, t in enumerate(f)
            ]
            k += len(f)
            current.append(max(scored) if scored else None)
        self._edit(states, current, rng)
        return [
            (st.best[2], st.best[1]) if cur is None else (cur[2], cur[1])
            for st, cur in zip(states, current, strict=True)
        ]

    def _edit(
        self,
        states: list[_State],
        current: list[tuple[float, float, str] | None],
        rng: random.Random,
    ) -> None:
        """One-word edits of each state's sentence, ranked by cosine, chosen with the LM
        (``current`` is updated in place)."""
        composer = self.composer_
        best = {i: cur for i, cur in enumerate(current) if cur is not None}
        stall = dict.fromkeys(best, 0)
        shortlist = 4
        while True:
            active = [
                i
                for i in best
                if stall[i] < self.patience
                and states[i].queries < states[i].budget
                and time.perf_counter() < states[i].deadline
            ]
            if not active or self.edit_ops == "none":
                break
            proposals = [self._proposals(states[i], best[i][2], rng) for i in active]
            cosines = self._score([states[i] for i in active], proposals)
            picks = [
                [group[j] for j in np.argsort(-np.asarray(cos))[:shortlist] if cos[j] > floor]
                for group, cos, floor in zip(
                    proposals, cosines, [best[i][1] - 0.002 for i in active], strict=True
                )
            ]
            flat = [t for p in picks for t in p]
            lps = composer.logprob(flat, mean=True) if flat else np.zeros(0)
            k = 0
            for i, group in zip(active, picks, strict=True):
                before = best[i]
                for t in group:
                    score = states[i].seen[t] + self.fluency * float(lps[k])
                    k += 1
                    if score > best[i][0] + 1e-9:
                        best[i] = (score, states[i].seen[t], t)
                stall[i] = stall[i] + 1 if best[i] is before else 0
        for i, cur in best.items():
            current[i] = cur

    def _proposals(self, st: _State, sentence: str, rng: random.Random) -> list[str]:
        """This round's edits of ``sentence`` (``edit_ops``), as texts."""
        text = Words.parse(sentence)
        words = list(st.pool)
        weights = np.array([st.pool[w] for w in words])
        n = min(self.edits_per_round, st.budget - st.queries)
        keep = self._keep(st, text)
        if self.edit_ops == "lm":
            edits = _lm_edits(self.composer_, text, words, weights, keep, n)
        elif self.edit_ops == "replace":
            edits = _replacements(text, words, weights, keep, n, rng)
        else:
            edits = propose_edits(text, words, weights, keep, n, self.max_words, rng)
        return [e.render() for e in edits]

    def __repr__(self) -> str:
        emb = (
            self.embedder if isinstance(self.embedder, str) else getattr(self.embedder, "name", "?")
        )
        dec = self.decoder if isinstance(self.decoder, str) else type(self.decoder).__name__
        return (
            f"SentenceInverter(embedder={emb!r}, decoder={dec!r}, "
            f"max_queries={self.max_queries}, sentence_share={self.sentence_share})"
        )


def _replacements(
    text: Words,
    pool: Sequence[str],
    weights: np.ndarray,
    keep: np.ndarray,
    n: int,
    rng: random.Random,
) -> list[Words]:
    """Up to ``n`` distinct one-word replacements of ``text``: the word replaced is drawn in
    proportion to ``1 - keep``, the new word from ``pool`` in proportion to ``weights``;
    function words are left alone (the LM chose them)."""
    size = len(text)
    if not size or not len(pool):
        return []
    change = np.clip(1.0 - np.asarray(keep, dtype=np.float64), 0.02, 1.0)
    change[[w.casefold() in FUNCTION_WORDS for w in text.words]] = 0.0
    if change.sum() <= 0:
        return []
    cum_change = np.cumsum(change)
    cum_pool = np.cumsum(np.asarray(weights, dtype=np.float64))
    found: dict[str, Words] = {}
    for _ in range(4 * n):
        if len(found) >= n:
            break
        i = min(
            int(np.searchsorted(cum_change, rng.random() * cum_change[-1], side="right")), size - 1
        )
        word = pool[int(np.searchsorted(cum_pool, rng.random() * cum_pool[-1], side="right"))]
        if word.casefold() == text.words[i].casefold():
            continue
        if text.words[i][:1].isupper():
            word = word[:1].upper() + word[1:]
        edit = text.replace(i, word)
        found.setdefault(edit.render(), edit)
    return list(found.values())


def _lm_edits(
    composer: Any,
    text: Words,
    pool: Sequence[str],
    weights: np.ndarray,
    keep: np.ndarray,
    n: int,
) -> list[Words]:
    """Up to ``n`` edits of ``text`` the LM finds fluent: each pool word (and function word)
    at each position, ranked by the LM's log-probability there plus the log of its pool
    weight and of how unsure the search is of the word it would replace; the weakest words'
    deletions join them."""
    size = len(text)
    if not size:
        return []
    cands = list(dict.fromkeys([*pool, *FUNCTION_WORDS]))
    weight = {w: max(float(x), 1e-3) for w, x in zip(pool, weights, strict=True)}
    prior = np.log(np.array([weight.get(c, 0.02) for c in cands]))
    slots = composer.slot_logprobs(text.render(), cands)
    if slots.shape[0] != size:  # the LM's view of the words differs: no LM edits
        return []
    doubt = np.log(np.clip(1.0 - np.asarray(keep, dtype=np.float64), 0.02, 1.0))
    found: dict[str, tuple[float, Words]] = {}
    for i in range(size):
        for c in np.argsort(-(slots[i] + prior))[:8]:
            word = cands[int(c)]
            if word.casefold() == text.words[i].casefold():
                continue
            score = float(slots[i, c] + prior[c])
            if word.casefold() not in FUNCTION_WORDS or text.words[i].casefold() in FUNCTION_WORDS:
                edit = text.replace(i, word)
                found.setdefault(edit.render(), (score + doubt[i], edit))
            edit = text.insert(i, word)
            found.setdefault(edit.render(), (score - 1.0, edit))
        if size > 3:
            edit = text.delete(i)
            found.setdefault(edit.render(), (-6.0 + doubt[i], edit))
    ranked = sorted(found.values(), key=lambda x: -x[0])
    return [e for _, e in ranked[:n]]
