"""Zero-shot inversion: a language model proposes, the embedder's cosine decides.

No model is trained. :class:`GuidedInverter` runs a beam search in which a causal LM (default:
the built-in ``"smollm2"``), prompted to write a sentence, proposes the ``top_k`` most likely
next tokens of every beam; each extended text is embedded (through the
:class:`~embedlens.embedders.Embedder`, batched, so a black-box function embedder works) and
ranked by its cosine to the target vector plus a length term; the best ``beam_width`` survive.
Optional refinement rounds prompt the LM with the best text found so far ("rewrite this") and
search again from there; every text ever scored stays a candidate, so a round never makes the
answer worse.

With ``edit_queries`` > 0 a word-level search follows (it does most of the work on a
mean-pooled embedder): the words of a vocabulary (default: the LM tokenizer's whole words,
embedded once) whose single-word embeddings lie closest to the target become its keywords;
starting from the top keyword, random one-word edits (insert or replace with a keyword or a
function word, delete, move) are kept while cosine - ``word_penalty`` x words rises, and a text
that stalls gets more keywords, ranked against the part of the target it still misses. Refinement
rounds run after it, on its result. Keywords can also steer the LM: a ``prompt`` holding
``{keywords}`` lists them. The attack's cost is counted: ``queries_`` holds the embedder queries
per text (``vocabulary_queries_`` the one-time cost of the vocabulary), and ``max_queries``
bounds them. (Zero-shot guided decoding as in Zhang et al. 2025, "Zero2Text" / ZSInvert: an LLM
proposes, the similarity to the target decides.)

Examples
--------
>>> from embedlens import load_embedder
>>> emb = load_embedder("minilm")  # doctest: +SKIP
>>> g = GuidedInverter(
...     embedder=emb, decoder="smollm2", beam_width=2, top_k=3, max_length=4
... )  # doctest: +SKIP
>>> out = g.invert(emb.embed(["a cat"]))  # doctest: +SKIP
>>> len(out), int(g.queries_[0]) <= 2 * 3 * 4  # doctest: +SKIP
(1, True)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from embedlens._utils import check_int, progress_bar, unit_targets
from embedlens.models import Decoder
from embedlens.params import Params
from inversion._guided_lm import LMSearchMixin, TextState
from inversion._lexical import FUNCTION_WORDS, edit_search, rank_keywords, tokenizer_words

if TYPE_CHECKING:
    from embedlens.embedders import Embedder

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_PROMPT", "DEFAULT_REFINE_PROMPT", "GuidedInverter"]

DEFAULT_PROMPT = "Write one short English sentence."
DEFAULT_REFINE_PROMPT = (
    "Here is a sentence: {text}\nRewrite it as one short English sentence with the same topic."
)


class GuidedInverter(Params, LMSearchMixin):
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
    keywords
        Vocabulary words ranked closest to each target that the word search (and a ``prompt``
        holding ``{keywords}``) uses; 0 turns the vocabulary off.
    edit_queries
        Embedder queries per text for the word-edit search after the LM search (0: none).
    edits_per_round
        Random edits scored per text per round of the word search; the best is kept when it
        raises the cosine.
    edit_patience
        Stop a text's word search after this many rounds without a better cosine. After a
        third of them, its keywords grow by the words closest to what the text still misses
        (the vocabulary ranked against the part of the target orthogonal to the text's
        embedding: one more query).
    edit_start
        Where the word search starts: ``"keyword"``, the target's top keyword alone (short
        starts climb best: an LM sentence carries words the search must first delete), or
        ``"best"``, the best text of the LM search. The LM's texts stay candidates either way,
        and ``refine_rounds`` run after the word search, on its result.
    word_penalty
        The cosine a word must add to be kept by the word search: an edit is kept when it
        raises cosine - ``word_penalty`` x words. Without it the search keeps filler words
        that add almost nothing (on 20 held-out WordNet texts with MiniLM, 0.008 raised token
        F1 from 0.54 to 0.64 at the same cosine, 0.94).
    vocabulary
        The words ranked as keywords (``None``: the decoder tokenizer's whole-word tokens). Each
        is embedded once per :class:`GuidedInverter` (``vocabulary_queries_``).
    seed
        Seed of the random edits.
    prompt, refine_prompt
        The instruction (``refine_prompt`` holds ``{text}``; ``prompt`` may hold
        ``{keywords}``); wrapped in the LM's chat template when it has one.
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
    keywords_ : list of list of str
        The keywords of each target of the last call (empty without a vocabulary).
    vocabulary_queries_ : int
        Embedder queries spent once on the vocabulary (0 when none was needed); not part of
        ``queries_``, since every later target reuses them.

    Examples
    --------
    >>> g = GuidedInverter(embedder="minilm", decoder="smollm2", beam_width=4, top_k=8)  # doctest: +SKIP
    >>> g.invert(emb.embed(["the cat sat on the mat"])), g.queries_  # doctest: +SKIP

    The word search does most of the work on MiniLM (``benchmarks/RESULTS.md``, "guided and
    transfer"): a short LM search, then 1,800 queries of word edits per text:

    >>> g = GuidedInverter(embedder="minilm", beam_width=2, top_k=4, max_length=16,
    ...                    max_queries=2000, edit_queries=1800)  # doctest: +SKIP
    """

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
        keywords: int = 30,
        edit_queries: int = 0,
        edits_per_round: int = 100,
        edit_patience: int = 10,
        edit_start: Literal["keyword", "best"] = "keyword",
        word_penalty: float = 0.008,
        vocabulary: Sequence[str] | None = None,
        seed: int = 0,
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
        self.keywords = keywords
        self.edit_queries = edit_queries
        self.edits_per_round = edits_per_round
        self.edit_patience = edit_patience
        self.edit_start = edit_start
        self.word_penalty = word_penalty
        self.vocabulary = vocabulary
        self.seed = seed
        self.prompt = prompt
        self.refine_prompt = refine_prompt
        self.batch_size = batch_size
        self.embed_batch_size = embed_batch_size
        self.device = device
        self.dtype = dtype
        self.progress = progress

    # ------------------------------------------------------------------ setup

    def _check_params(self) -> None:
        for name in (
            "beam_width",
            "top_k",
            "max_length",
            "patience",
            "batch_size",
            "edits_per_round",
            "edit_patience",
            "embed_batch_size",
        ):
            check_int(getattr(self, name), name)
        for name in ("refine_rounds", "keywords", "edit_queries", "seed"):
            check_int(getattr(self, name), name, minimum=0)
        if self.edit_start not in ("keyword", "best"):
            raise ValueError(f"edit_start must be 'keyword' or 'best', got {self.edit_start!r}")
        if self.edit_queries > 0 and self.keywords == 0:
            raise ValueError(
                "edit_queries > 0 needs keywords > 0 (the edit search inserts vocabulary words)"
            )
        if "{keywords}" in self.prompt and self.keywords == 0:
            raise ValueError("the prompt holds '{keywords}' but keywords=0: give keywords > 0")
        if self.vocabulary is not None:
            if isinstance(self.vocabulary, str) or not all(
                isinstance(w, str) and w.strip() for w in self.vocabulary
            ):
                raise ValueError(
                    "vocabulary must be a list of non-empty words (or None for the decoder's)"
                )
            if not len(self.vocabulary):
                raise ValueError("vocabulary is empty: pass words, or None for the decoder's")
        check_int(self.max_queries, "max_queries", optional=True)
        wp = self.word_penalty
        if isinstance(wp, bool) or not isinstance(wp, (int, float)) or not 0 <= wp < 1:
            raise ValueError(f"word_penalty must be a number in [0, 1), got {wp!r}")
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
        if not hasattr(self, "vocabulary_queries_"):
            self.vocabulary_queries_ = 0  # until a vocabulary is embedded

    def prepare(self) -> GuidedInverter:
        """Load the models and, when the word search or a ``{keywords}`` prompt needs it, embed
        the vocabulary now (else the first :meth:`invert` does). Returns ``self``.

        The vocabulary's embedder queries (``vocabulary_queries_``) are a one-time cost; an
        audit calls this first, so that cost is counted apart from the per-text queries.
        """
        self._check_params()
        self._setup()
        if self._needs_vocabulary():
            self._vocabulary()
        return self

    def _needs_vocabulary(self) -> bool:
        return self.keywords > 0 and (self.edit_queries > 0 or "{keywords}" in self.prompt)

    # ------------------------------------------------------------------ invert

    def invert(self, X: Any) -> list[str]:
        """Decode each row of ``X`` (embeddings from the embedder) to a text.

        Sets ``queries_`` (embedder queries per text) and ``cosines_`` (cosine of each returned
        text to its target).
        """
        self._check_params()
        self._setup()
        targets = unit_targets(
            X,
            dim=int(self.embedder_.dim),
            embedder_name=self.embedder_.name,
            who="GuidedInverter",
        )
        states = [TextState() for _ in range(len(targets))]
        if self._needs_vocabulary():
            words, vectors = self._vocabulary()
            self.keywords_ = rank_keywords(vectors, words, targets, self.keywords)
        else:
            self.keywords_ = [[] for _ in range(len(targets))]
        starts = range(0, len(targets), self.batch_size)
        for s in progress_bar(starts, progress=self.progress, total=len(starts), desc="guided"):
            rows = list(range(s, min(s + self.batch_size, len(targets))))
            prompts = [
                self._prompt_ids(self.prompt.replace("{keywords}", ", ".join(self.keywords_[r])))
                for r in rows
            ]
            self._search(rows, prompts, targets, states)
            if self.edit_queries > 0:
                self._edit(rows, targets, states)
            for _ in range(self.refine_rounds):
                prompts = [
                    self._prompt_ids(self.refine_prompt.format(text=states[r].best_text))
                    for r in rows
                ]
                self._search(rows, prompts, targets, states)
        self.queries_ = np.array([st.queries for st in states], dtype=np.int64)
        self.cosines_ = np.array([st.best_cos for st in states], dtype=np.float64)
        return [st.best_text for st in states]

    def _vocabulary(self) -> tuple[list[str], np.ndarray]:
        """The keyword vocabulary and its unit embeddings, computed once per vocabulary."""
        key = None if self.vocabulary is None else tuple(self.vocabulary)
        if getattr(self, "_vocabulary_key", ()) != key or not hasattr(self, "vocabulary_words_"):
            if key is None:
                words = tokenizer_words(self.decoder_.tokenizer)
            else:
                words = list(dict.fromkeys(w.strip() for w in key))
            logger.info("GuidedInverter: embedding a vocabulary of %d words once", len(words))
            vecs = self._embed_unit(words)
            if not np.isfinite(vecs).all():
                raise ValueError(
                    f"embedder {self.embedder_.name!r} returned non-finite values for "
                    f"vocabulary words"
                )
            self.vocabulary_words_, self.vocabulary_embeddings_ = words, vecs
            self.vocabulary_queries_ = len(words)
            self._vocabulary_key = key
        return self.vocabulary_words_, self.vocabulary_embeddings_

    def _edit(self, rows: list[int], targets: np.ndarray, states: list[TextState]) -> None:
        """The word-edit search from each row's start text, within its share of the budget."""
        starts, budgets = {}, {}
        for r in rows:
            st = states[r]
            start = st.best_text if self.edit_start == "best" and st.best_text else None
            start = start or self.keywords_[r][0]
            left = self.edit_queries
            if self.max_queries is not None:  # scoring a new start costs a query too
                left = min(left, self.max_queries - st.queries - (start not in st.seen))
            if left > 0:
                starts[r], budgets[r] = start, left
        active = list(budgets)
        if not active:
            return

        def score(texts: list[str], local: list[int]) -> list[float]:
            rr = [active[i] for i in local]
            fresh = list(dict.fromkeys((t, r) for t, r in zip(texts, rr, strict=True)))
            fresh = [(t, r) for t, r in fresh if t not in states[r].seen]
            if fresh:
                cos = self._embed_cosines([t for t, _ in fresh], [r for _, r in fresh], targets)
                for (t, r), c in zip(fresh, cos, strict=True):
                    states[r].seen[t] = float(c)
                    states[r].queries += 1
            return [states[r].seen[t] for t, r in zip(texts, rr, strict=True)]

        found = edit_search(
            [starts[r] for r in active],
            [[*self.keywords_[r], *FUNCTION_WORDS] for r in active],
            score,
            budgets=[budgets[r] for r in active],
            per_round=self.edits_per_round,
            max_words=self.max_length,
            patience=self.edit_patience,
            seed=self.seed + active[0],
            refresh=lambda i, text: self._residual_keywords(active[i], text, targets, states),
            refresh_after=max(1, self.edit_patience // 3),
            word_cost=float(self.word_penalty),
        )
        tok = self.decoder_.tokenizer
        for r, (text, cos, _) in zip(active, found, strict=True):
            st = states[r]
            if cos > st.best_cos or not st.best_text:
                n_tokens = len(tok(text, add_special_tokens=False)["input_ids"])
                st.best_text, st.best_cos, st.best_score = text, cos, self._score(cos, n_tokens)

    def _residual_keywords(
        self, row: int, text: str, targets: np.ndarray, states: list[TextState]
    ) -> list[str]:
        """Words toward what ``text`` still misses: the vocabulary ranked by cosine to the part
        of the target orthogonal to ``text``'s embedding (one query; none when out of budget).

        The text is embedded again rather than its vector kept from the search: keeping every
        scored vector would hold up to ``edit_queries`` vectors per target for one query.
        """
        st = states[row]
        if self.max_queries is not None and st.queries >= self.max_queries:
            return []
        vector = self._embed_unit([text])[0]
        st.queries += 1
        if not np.isfinite(vector).all() or not vector.any():
            return []
        residual = targets[row] - float(targets[row] @ vector) * vector
        norm = float(np.linalg.norm(residual))
        if norm < 1e-9:
            return []
        k = max(1, self.keywords // 2)
        words, vocab = self.vocabulary_words_, self.vocabulary_embeddings_
        return rank_keywords(vocab, words, residual[None, :] / norm, k)[0]

    def __repr__(self) -> str:
        emb = self.embedder if isinstance(self.embedder, str) else self.embedder.name
        dec = self.decoder if isinstance(self.decoder, str) else self.decoder.name
        return (
            f"GuidedInverter(embedder={emb!r}, decoder={dec!r}, beam_width={self.beam_width}, "
            f"top_k={self.top_k}, max_length={self.max_length}, max_queries={self.max_queries})"
        )
