"""Inversion on a CPU: a keyword model and the attacker's own texts start it, the embedder decides.

:class:`SearchInverter` needs no GPU and no language model. For each target vector it

1. reads the words the text probably holds off the vector, with a keyword model (a
   :class:`~inversion.bow.BagOfWordsAttack` trained on cached embeddings; embedlens ships one
   for MiniLM, trained on WordNet and generated records);
2. starts from the attacker's auxiliary texts closest to the target (their embeddings are
   computed once, so a start costs no query) and from the predicted words themselves;
3. climbs by one-word edits (replace, insert, delete, swap neighbours) in a beam: new words come
   from the predicted words, in proportion to their probability, and the word an edit replaces
   is the one the keyword model believes least; every new text costs one embedder query and an
   edit survives when it raises cosine - ``word_penalty`` x words. When a text stalls, the words
   the keyword model reads off what it still misses (the target minus its projection on the
   text's embedding) join its pool, at no query.

Punctuation and the glue between words stay where a start text had them, so a record such as
``"... Contact: 555-0100, ann.lee@mail.com."`` keeps its shape while its words change.

Examples
--------
>>> inv = SearchInverter(embedder="minilm")  # doctest: +SKIP
>>> texts = inv.invert(vectors)  # doctest: +SKIP
>>> inv.queries_.max() <= 2000  # doctest: +SKIP
True
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embedlens._utils import check_int, check_matrix, check_texts, progress_bar, unit_targets
from embedlens.models import pretrained_for
from embedlens.params import Params
from inversion._edits import Words, propose_edits
from inversion._lexical import FUNCTION_WORDS
from inversion.vocab import BigramModel, WordVectors, vocabulary_forms

logger = logging.getLogger(__name__)

__all__ = ["SearchInverter"]

#: texts up to this many words pay the full word penalty; longer ones pay it in proportion
_SHORT = 10
#: glue words the last phase may insert where the bigram model finds them fluent
_FILLERS = ("the", "a", "an", "of", "to", "in", "and", "or", "is", "for", "on", "with", "by")


@dataclass
class _State:
    """One target's search: the beam, every scored text, the best, the cost."""

    target: np.ndarray
    proba: np.ndarray  # keyword probabilities over the vocabulary
    pool: dict[str, float]  # candidate word -> weight
    budget: int
    seen: dict[str, float] = field(default_factory=dict)  # text -> cosine
    beam: list[tuple[float, Words]] = field(default_factory=list)  # (adjusted score, text)
    best: tuple[float, float, str] = (-np.inf, -1.0, "")  # (adjusted, cosine, text)
    best_vector: np.ndarray | None = None
    queries: int = 0
    stall: int = 0
    deadline: float = np.inf
    penalty: float = 0.0  # the cosine a word must add, scaled to this target's text length

    def done(self, patience: int) -> bool:
        return (
            self.queries >= self.budget
            or self.stall >= patience
            or time.perf_counter() > self.deadline
        )


class SearchInverter(Params):
    """Invert embeddings on a CPU: keyword-guided edit search from auxiliary texts.

    Parameters
    ----------
    embedder
        The embedder whose vectors are inverted: an :class:`~embedlens.embedders.Embedder`
        (a :class:`~embedlens.embedders.FunctionEmbedder` around a remote API works) or a spec
        for :func:`~embedlens.embedders.load_embedder`.
    keywords
        The keyword model: a fitted :class:`~inversion.bow.BagOfWordsAttack` (or any object
        with ``vocabulary_`` and ``predict_proba``), a directory saved by one, ``"auto"``: the
        shipped model for the embedder (``embedlens/pretrained/<name>-keywords``), else one
        trained on ``aux_texts``; ``None``: no keyword model (word vectors alone).
    aux_texts
        Texts the attacker holds (other people's records, public sentences): the closest ones
        start the search and their words join the pool. Embedded once, in :meth:`fit`.
    lm_texts
        Texts for the word bigram model of the reordering phase (``None``: ``aux_texts``). They
        cost no query: public text of the domain, as much as there is.
    max_queries
        Most embedder queries per text.
    max_seconds
        Wall seconds per text (a batch of ``b`` texts gets ``b`` times this); ``None``: no
        limit. The search stops at the first round past it.
    beam_width
        Texts kept per target between rounds.
    edits_per_round
        Edits scored per target per round, shared among its beam.
    n_keywords
        Predicted words per target in the candidate pool.
    n_starts
        Closest auxiliary texts tried as starts.
    n_word_vectors
        The most frequent words of the auxiliary texts embedded on their own (once, in
        :meth:`fit`); those closest to what a text still misses join its pool. 0: none.
    word_penalty
        The cosine a word must add to be kept: texts are ranked by cosine - penalty x words,
        where the penalty is ``word_penalty`` for a target whose closest start has at most 10
        words and shrinks in proportion for longer ones (each word of a long text adds less).
    patience
        Rounds without a better text before a target stops.
    reorder_queries
        Queries per text kept for the last phase, which makes the text read well: a word
        bigram model of ``lm_texts`` ranks every move of one word and every insertion of a
        glue word ("the", "of", ...), the most fluent are embedded, and one is kept when the
        text reads better and its cosine stays within ``reorder_tolerance`` of where the phase
        began. 0 (or no texts for the bigram model): no such phase.
    reorder_tolerance
        The cosine a more fluent order may cost.
    max_words
        Most words per text.
    seed
        Seed of the random edits.
    batch_size
        Targets searched together (their edits share embedder calls).
    embed_batch_size
        Texts per embedder call.
    progress
        Progress bar; ``None`` shows one only in interactive sessions.

    Attributes
    ----------
    queries_ : ndarray of int
        Embedder queries per text of the last :meth:`invert` call.
    cosines_ : ndarray of float
        Cosine between each returned text's embedding and its target.
    seconds_ : ndarray of float
        Wall seconds per text (a batch's time split evenly among its texts).
    setup_queries_ : int
        Queries spent once in :meth:`fit` (embedding the auxiliary texts).
    """

    def __init__(
        self,
        embedder: Any = "minilm",
        *,
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
        reorder_queries: int = 128,
        reorder_tolerance: float = 0.005,
        max_words: int = 64,
        seed: int = 0,
        batch_size: int = 8,
        embed_batch_size: int = 256,
        progress: bool | None = None,
    ) -> None:
        self.embedder = embedder
        self.keywords = keywords
        self.aux_texts = aux_texts
        self.lm_texts = lm_texts
        self.max_queries = max_queries
        self.max_seconds = max_seconds
        self.beam_width = beam_width
        self.edits_per_round = edits_per_round
        self.n_keywords = n_keywords
        self.n_starts = n_starts
        self.n_word_vectors = n_word_vectors
        self.word_penalty = word_penalty
        self.patience = patience
        self.reorder_queries = reorder_queries
        self.reorder_tolerance = reorder_tolerance
        self.max_words = max_words
        self.seed = seed
        self.batch_size = batch_size
        self.embed_batch_size = embed_batch_size
        self.progress = progress

    # ------------------------------------------------------------------ checks and set-up

    def _check_params(self) -> None:
        for name in (
            "max_queries",
            "beam_width",
            "edits_per_round",
            "n_keywords",
            "patience",
            "max_words",
            "batch_size",
            "embed_batch_size",
        ):
            check_int(getattr(self, name), name)
        for name in ("n_starts", "reorder_queries", "n_word_vectors"):
            check_int(getattr(self, name), name, minimum=0)
        tol = self.reorder_tolerance
        if isinstance(tol, bool) or not isinstance(tol, int | float) or not 0 <= tol < 1:
            raise ValueError(f"reorder_tolerance must be a number in [0, 1), got {tol!r}")
        limit = self.max_seconds
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int | float) or not limit > 0
        ):
            raise ValueError(f"max_seconds must be None or a number > 0, got {limit!r}")
        penalty = self.word_penalty
        if isinstance(penalty, bool) or not isinstance(penalty, int | float) or penalty < 0:
            raise ValueError(f"word_penalty must be a number >= 0, got {penalty!r}")
        if not np.isfinite(penalty):
            raise ValueError(f"word_penalty must be finite, got {penalty!r}")

    def _embedder(self) -> Any:
        if not hasattr(self, "embedder_"):
            from embedlens.embedders import load_embedder

            self.embedder_ = load_embedder(self.embedder)
        return self.embedder_

    def check_vectors(self, X: Any) -> np.ndarray:
        """``X`` as unit float64 rows of the embedder's dimension, or a clear error.

        Runs before any costly set-up: a wrong file is refused before a single query.
        """
        emb = self._embedder()
        return unit_targets(X, dim=int(emb.dim), embedder_name=emb.name, who="SearchInverter")

    def fit(
        self, aux_texts: Sequence[str] | None = None, *, aux_vectors: Any = None
    ) -> SearchInverter:
        """Load the keyword model and embed the auxiliary texts once (``setup_queries_``).

        ``aux_texts`` replaces the parameter of that name when given; ``aux_vectors``, their
        embeddings when the caller has them already (no query then). :meth:`invert` calls this
        when it has not run.
        """
        self._check_params()
        if aux_texts is not None:
            self.aux_texts = aux_texts
        emb = self._embedder()
        self.setup_queries_ = 0
        aux = WordVectors([], np.zeros((0, int(emb.dim))))  # texts and their unit vectors
        if self.aux_texts is not None and len(self.aux_texts):
            texts = check_texts(self.aux_texts, what="aux_texts")
            if aux_vectors is None:
                aux = WordVectors.embed(texts, emb, batch_size=self.embed_batch_size)
                self.setup_queries_ = len(aux)
            else:
                given = check_matrix(aux_vectors, what="aux_vectors", dim=int(emb.dim))
                if len(given) != len(texts):
                    raise ValueError(
                        f"aux_vectors has {len(given)} rows for {len(texts)} aux_texts: pass "
                        "one vector per text"
                    )
                first: dict[str, int] = {}
                for i, t in enumerate(texts):
                    first.setdefault(t, i)
                aux = WordVectors(list(first), given[list(first.values())])
        self.aux_texts_, self.aux_vectors_ = aux.words, aux.vectors
        self.keywords_ = None if self.keywords is None else self._keyword_model()
        self.vocabulary_ = [] if self.keywords_ is None else list(self.keywords_.vocabulary_)
        self._index = {w: i for i, w in enumerate(self.vocabulary_)}
        self.words_ = self._word_vectors(emb)
        lm_texts = self.aux_texts_ if self.lm_texts is None else self.lm_texts
        self.lm_ = BigramModel(check_texts(lm_texts, what="lm_texts") if len(lm_texts) else [])
        return self

    def _word_vectors(self, emb: Any) -> WordVectors:
        """Word vectors: the shipped table of the embedder (if any) and the words of the
        auxiliary texts it lacks (embedded once; ``setup_queries_`` counts them).

        Ranked by cosine to what a text still misses, they name the rare words a keyword model
        cannot: on generated records with MiniLM, the right last name is among the 10 closest
        words of 3,000 records' vocabulary for 82% of held-out people.
        """
        table = WordVectors([], np.zeros((0, int(emb.dim))))
        if not self.n_word_vectors:
            return table
        shipped = pretrained_for(emb, "words")
        if shipped is not None:
            table = WordVectors.load(shipped, embedder=emb)
        known = {w.casefold() for w in table.words}
        fresh = [w for w in vocabulary_forms(self.aux_texts_) if w.casefold() not in known]
        fresh = fresh[: max(0, self.n_word_vectors - len(table))]
        if fresh:
            table = table.merged(WordVectors.embed(fresh, emb, batch_size=self.embed_batch_size))
            self.setup_queries_ += len(fresh)
        return table

    def _keyword_model(self) -> Any:
        model = self.keywords
        if hasattr(model, "predict_proba") and hasattr(model, "vocabulary_"):
            return model
        from inversion.bow import BagOfWordsAttack

        emb = self._embedder()
        if model == "auto":
            found = pretrained_for(emb, "keywords")
            if found is not None:
                return BagOfWordsAttack.from_pretrained(found, embedder=emb)
            if not self.aux_texts_:
                raise ValueError(
                    f"no shipped keyword model for embedder {emb.name!r} and no aux_texts to "
                    "train one: pass aux_texts=[...] (texts like the ones attacked), or "
                    "keywords= a fitted BagOfWordsAttack"
                )
            logger.info(
                "SearchInverter: training a keyword model on %d texts", len(self.aux_texts_)
            )
            # the recipe of the shipped models (scripts/train_keywords.py)
            return BagOfWordsAttack(
                vocab_size=16_000,
                stopwords=False,
                epochs=8,
                lr=3e-3,
                weight_decay=0.0,
                batch_size=512,
                embedder=emb,
                random_state=self.seed,
            ).fit(self.aux_vectors_.astype(np.float32), self.aux_texts_)
        return BagOfWordsAttack.from_pretrained(model, embedder=emb)

    # ------------------------------------------------------------------ search

    def invert(self, X: Any) -> list[str]:
        """Decode each row of ``X`` to a text; sets ``queries_``, ``cosines_``, ``seconds_``."""
        self._check_params()
        targets = self.check_vectors(X)
        if not hasattr(self, "keywords_"):
            self.fit()
        proba = self._proba(targets)
        out: list[str] = []
        self.queries_ = np.zeros(len(targets), dtype=np.int64)
        self.cosines_ = np.zeros(len(targets))
        self.seconds_ = np.zeros(len(targets))
        batches = range(0, len(targets), self.batch_size)
        for s in progress_bar(batches, progress=self.progress, total=len(batches), desc="search"):
            tic = time.perf_counter()
            rows = list(range(s, min(s + self.batch_size, len(targets))))
            states = [self._new_state(targets[r], proba[r]) for r in rows]
            reorder = self.reorder_queries if self.lm_ else 0
            for st in states:  # the last phase keeps its share of queries and time
                st.budget = max(1, int(self.max_queries) - reorder)
                if self.max_seconds is not None:
                    share = 0.9 if reorder else 1.0
                    st.deadline = tic + share * float(self.max_seconds) * len(rows)
            self._run(states, random.Random(self.seed + s))
            if reorder:
                for st in states:
                    st.budget = int(self.max_queries)
                    if self.max_seconds is not None:
                        st.deadline = tic + float(self.max_seconds) * len(rows)
                self._reorder(states)
            elapsed = (time.perf_counter() - tic) / len(rows)
            for r, st in zip(rows, states, strict=True):
                out.append(st.best[2])
                self.queries_[r], self.cosines_[r], self.seconds_[r] = (
                    st.queries,
                    st.best[1],
                    elapsed,
                )
        return out

    def _proba(self, directions: np.ndarray) -> np.ndarray:
        """Keyword probabilities ``(n, vocabulary)``; no columns without a keyword model."""
        if self.keywords_ is None:
            return np.zeros((len(directions), 0))
        return np.asarray(self.keywords_.predict_proba(directions.astype(np.float32)), np.float64)

    def _new_state(self, target: np.ndarray, proba: np.ndarray) -> _State:
        top = np.argsort(-proba)[: self.n_keywords]
        pool = {self.vocabulary_[j]: float(proba[j]) for j in top}
        for w, c in self.words_.closest(target, self.n_keywords // 2):
            pool.setdefault(w, max(0.05, c))
        for w in FUNCTION_WORDS:
            pool.setdefault(w, 0.02)
        return _State(target=target, proba=proba, pool=pool, budget=int(self.max_queries))

    def _starts(self, st: _State) -> list[str]:
        starts: list[str] = []
        if len(self.aux_texts_) and self.n_starts:
            sims = self.aux_vectors_ @ st.target
            for j in np.argsort(-sims)[: self.n_starts]:
                text = self.aux_texts_[j]
                st.seen[text] = float(sims[j])  # known without a query
                if st.best_vector is None:
                    st.best_vector = self.aux_vectors_[j]
                starts.append(text)
                for w in Words.parse(text).words:  # a neighbour's words may be this text's too
                    st.pool.setdefault(w.casefold(), 0.05)
        ranked = sorted(st.pool.items(), key=lambda kv: -kv[1])
        likely = [w for w, p in ranked if p >= 0.5][: self.max_words] or [ranked[0][0]]
        if self.keywords_ is None:  # word-vector similarities are no probabilities
            likely = [w for w, _ in ranked[:8]]
        starts.append(" ".join(likely))
        starts.append(ranked[0][0])
        return list(dict.fromkeys(starts))

    def _keep(self, st: _State, text: Words) -> np.ndarray:
        """How much the keyword model believes each word of ``text`` belongs there."""
        keep = np.full(len(text), 0.3)
        for i, w in enumerate(text.words):
            j = self._index.get(w.casefold())
            if j is not None:
                keep[i] = st.proba[j]
        return keep

    def _score(self, states: list[_State], texts: list[list[str]]) -> list[list[float]]:
        """Cosines of each state's texts to its target; new texts cost one query each."""
        todo: list[tuple[int, str]] = []
        for k, (st, group) in enumerate(zip(states, texts, strict=True)):
            for t in dict.fromkeys(group):
                if t not in st.seen:
                    todo.append((k, t))
        if todo:
            emb = self._embedder()
            vecs = np.asarray(
                emb.embed([t for _, t in todo], batch_size=self.embed_batch_size, progress=False),
                dtype=np.float64,
            )
            if vecs.shape != (len(todo), int(emb.dim)):
                raise ValueError(
                    f"embedder {emb.name!r} returned shape {vecs.shape} for {len(todo)} texts"
                )
            vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
            for (k, t), v in zip(todo, vecs, strict=True):
                st = states[k]
                cos = float(v @ st.target)
                st.seen[t] = cos if np.isfinite(cos) else -1.0
                st.queries += 1
                adjusted = st.seen[t] - st.penalty * len(Words.parse(t))
                if adjusted > st.best[0]:
                    st.best, st.best_vector = (adjusted, st.seen[t], t), v
        return [[st.seen[t] for t in group] for st, group in zip(states, texts, strict=True)]

    def _adjusted(self, st: _State, text: Words) -> float:
        return st.seen[text.render()] - st.penalty * len(text)

    def _run(self, states: list[_State], rng: random.Random) -> None:
        starts = [self._starts(st) for st in states]
        for st, group in zip(states, starts, strict=True):
            st.budget = max(st.budget, len(group))
        self._score(states, starts)
        for st, group in zip(states, starts, strict=True):
            parsed = [Words.parse(t) for t in group]
            # a word of a long text adds little cosine: the penalty shrinks with the length of
            # the closest start, so a 40-word record is not whittled down to its keywords
            closest = max(parsed, key=lambda w: st.seen[w.render()])
            st.penalty = float(self.word_penalty) * min(1.0, _SHORT / max(1, len(closest)))
            ranked = sorted(((self._adjusted(st, w), w) for w in parsed), key=lambda x: -x[0])
            st.beam = ranked[: self.beam_width]
            top = ranked[0][1].render()
            st.best = (ranked[0][0], st.seen[top], top)  # ranked again under this penalty
            self._refresh(st)
        refresh_after = max(1, self.patience // 3)
        while True:
            active = [st for st in states if not st.done(self.patience)]
            if not active:
                break
            proposals: list[list[Words]] = []
            for st in active:
                if st.stall == refresh_after:
                    self._refresh(st)
                left = st.budget - st.queries
                per_beam = max(1, min(self.edits_per_round, left) // max(1, len(st.beam)))
                words = list(st.pool)
                weights = np.array([st.pool[w] for w in words])
                edits: list[Words] = []
                for _, text in st.beam:
                    edits += propose_edits(
                        text, words, weights, self._keep(st, text), per_beam, self.max_words, rng
                    )
                proposals.append(edits[:left])
            cosines = self._score(active, [[e.render() for e in group] for group in proposals])
            for st, edited, _ in zip(active, proposals, cosines, strict=True):
                before = st.beam[0][0]
                pooled = {b.render(): (s, b) for s, b in st.beam}
                for e in edited:
                    pooled.setdefault(e.render(), (self._adjusted(st, e), e))
                st.beam = sorted(pooled.values(), key=lambda x: -x[0])[: self.beam_width]
                if st.beam[0][0] > before + 1e-9:
                    st.stall = 0
                else:
                    st.stall += 1
                if not edited:
                    st.stall = self.patience

    def _reorder(self, states: list[_State]) -> None:
        """Move words into a more fluent order, and put back the glue words (articles,
        prepositions) the word penalty left out, while the cosine holds (the last phase)."""
        lm = self.lm_
        current = {id(st): Words.parse(st.best[2]) for st in states}
        floor = {id(st): st.best[1] - self.reorder_tolerance for st in states}
        active = [st for st in states if len(current[id(st)]) > 2]
        while active:
            batch: list[list[str]] = []
            for st in active:
                text = current[id(st)]
                here = lm.total(text.words)
                moves: dict[str, float] = {}
                for i in range(len(text)):
                    rest = text.delete(i)
                    for j in range(len(rest) + 1):
                        if j == i:
                            continue
                        cand = rest.insert(j, text.words[i])
                        gain = lm.total(cand.words) - here
                        if gain > 1e-6:
                            moves[cand.render()] = gain
                if len(text) < self.max_words:  # the glue words the word penalty left out
                    for j in range(len(text) + 1):
                        for w in _FILLERS:
                            cand = text.insert(j, w)
                            gain = lm.total(cand.words) - here
                            if gain > 1e-6:
                                moves[cand.render()] = gain
                left = st.budget - st.queries
                ranked = sorted(moves, key=lambda t: -moves[t])[: min(24, max(0, left))]
                batch.append(ranked)
            if time.perf_counter() > min(st.deadline for st in active):
                break
            cosines = self._score(active, batch)
            still: list[_State] = []
            for st, cands, cos in zip(active, batch, cosines, strict=True):
                ok = [t for t, c in zip(cands, cos, strict=True) if c >= floor[id(st)]]
                if ok:  # the most fluent of those that keep the cosine (cands are LM-ranked)
                    chosen = ok[0]
                    cos_ok = st.seen[chosen]
                    st.best = (cos_ok - st.penalty * len(Words.parse(chosen)), cos_ok, chosen)
                    current[id(st)] = Words.parse(chosen)
                    if st.queries < st.budget and time.perf_counter() < st.deadline:
                        still.append(st)
            active = still

    def _refresh(self, st: _State) -> None:
        """Words for what the best text still misses, read off the residual (no query)."""
        v = st.best_vector
        if v is None:
            return
        residual = st.target - float(st.target @ v) * v
        norm = float(np.linalg.norm(residual))
        if norm < 1e-9:
            return
        proba = self._proba((residual / norm)[None, :])[0]
        for j in np.argsort(-proba)[: self.n_keywords // 2]:
            w = self.vocabulary_[j]
            st.pool[w] = max(st.pool.get(w, 0.0), float(proba[j]))
        for w, c in self.words_.closest(residual / norm, self.n_keywords // 2):
            st.pool[w] = max(st.pool.get(w, 0.0), 0.05, c)

    def __repr__(self) -> str:
        emb = (
            self.embedder if isinstance(self.embedder, str) else getattr(self.embedder, "name", "?")
        )
        return (
            f"SearchInverter(embedder={emb!r}, max_queries={self.max_queries}, "
            f"beam_width={self.beam_width}, n_keywords={self.n_keywords})"
        )
