"""inversion.guided word search: vocabulary, keywords, edit search, budgets and bad input."""

from __future__ import annotations

import random

import numpy as np
import pytest

from inversion._lexical import _edits, edit_search, rank_keywords, tokenizer_words
from inversion.guided import GuidedInverter

TEXTS = ["a cat", "the dog sat", "red hat"]
VOCAB = ["cat", "dog", "sat", "red", "hat", "blue", "tree", "runs", "house", "green"]


class _Recording:
    """Wraps an embedder, records every text it embeds."""

    def __init__(self, inner) -> None:
        self.inner, self.texts = inner, []
        self.name, self.dim, self.fingerprint = inner.name, inner.dim, inner.fingerprint

    def embed(self, texts, *, batch_size=32, progress=None):
        self.texts.extend(texts)
        return self.inner.embed(texts, batch_size=batch_size, progress=progress)


class _Vocab:
    def __init__(self, tokens):
        self.tokens = tokens

    def get_vocab(self):
        return {t: i for i, t in enumerate(self.tokens)}


@pytest.fixture(scope="module")
def lm():
    from embedlens.tiny import tiny_causal_lm

    return tiny_causal_lm()


def test_tokenizer_words_reads_word_initial_tokens():
    bpe = _Vocab(["Ġcat", "ĠDog", "ing", "Ġa", "ĠÜber", "<s>", "Ġcat", "Ġ3d"])
    assert tokenizer_words(bpe) == ["cat", "dog"]
    assert tokenizer_words(_Vocab(["▁tree", "s", "▁house"])) == ["house", "tree"]
    assert tokenizer_words(_Vocab(["tree", "ab", "x1"])) == ["tree"]  # no marks: every word
    with pytest.raises(ValueError, match="no alphabetic word tokens"):
        tokenizer_words(_Vocab(["a", "b", "[PAD]"]))


def test_rank_keywords_matches_a_full_sort():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(50, 8))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    T = rng.normal(size=(3, 8))
    T /= np.linalg.norm(T, axis=1, keepdims=True)
    words = [f"w{i}" for i in range(50)]
    got = rank_keywords(W, words, T, 5)
    for row, target in zip(got, T, strict=True):
        assert row == [words[j] for j in np.argsort(-(W @ target))[:5]]
    assert len(rank_keywords(W, words, T, 500)[0]) == 50  # k is capped at the vocabulary


def test_edits_are_one_word_edits_within_the_length_cap():
    rng = random.Random(0)
    current = ["the", "cat", "sat"]
    edits = _edits(current, ["dog", "mat"], 40, 4, rng)
    assert edits and len({tuple(e) for e in edits}) == len(edits)  # distinct
    assert current not in edits
    for e in edits:
        assert 2 <= len(e) <= 4
        if len(e) == 3:  # a replacement changes one place, a move keeps the multiset
            changed = sum(a != b for a, b in zip(e, current, strict=True))
            assert changed == 1 or sorted(e) == sorted(current)
    assert all(len(e) <= 3 for e in _edits(current, ["dog"], 40, 3, rng))  # no insert at cap


def test_edit_search_climbs_and_keeps_its_budget():
    goal = {"red", "hat", "on", "cat"}

    def score(texts, rows):  # Jaccard overlap with a hidden bag of words
        calls.append(len(texts))
        return [len(goal & set(t.split())) / len(goal | set(t.split())) for t in texts]

    calls: list[int] = []
    found = edit_search(
        ["dog", "tree"],
        [["red", "hat", "cat", "dog", "tree", "on"]] * 2,
        score,
        budgets=[300, 10],
        per_round=10,
        max_words=6,
        patience=20,
        seed=0,
    )
    (text, cos, used), (_, cos2, used2) = found
    assert set(text.split()) == goal and cos == 1.0  # found the bag
    assert used <= 300 and used2 <= 10  # budgets of edits scored
    assert calls[0] == 2 and max(calls[1:]) <= 20  # starts first, then one call per round
    assert cos2 >= score(["tree"], [0])[0]  # never below its start


def test_word_cost_drops_filler_and_refresh_brings_new_words():
    goal = {"red", "hat", "cat"}

    def recall(texts, rows):  # filler words neither help nor hurt
        return [len(goal & set(t.split())) / len(goal) for t in texts]

    kwargs = {"budgets": [400], "per_round": 10, "max_words": 6, "patience": 30, "seed": 0}
    pool = [["red", "hat", "junk", "more"]]
    ((plain, _, _),) = edit_search(["red junk"], pool, recall, **kwargs)
    ((lean, score, _),) = edit_search(["red junk"], pool, recall, word_cost=0.01, **kwargs)
    assert "junk" in plain.split()  # deleting filler raises nothing: it stays
    assert sorted(lean.split()) == ["hat", "red"] and score == pytest.approx(2 / 3)
    asked = []

    def refresh(row, text):
        asked.append((row, text))
        return ["cat", "red"]  # "red" is known already; "cat" joins the pool

    ((found, score, _),) = edit_search(
        ["red"], pool, recall, refresh=refresh, refresh_after=2, word_cost=0.01, **kwargs
    )
    assert asked and asked[0][0] == 0 and score == 1.0 and set(found.split()) == goal


def test_word_search_raises_the_cosine_and_counts_every_query(tiny_emb, lm, one_torch_thread):
    X = tiny_emb.embed(TEXTS)
    params = {"beam_width": 2, "top_k": 3, "max_length": 6, "vocabulary": VOCAB, "keywords": 6}
    plain = GuidedInverter(embedder=tiny_emb, decoder=lm, **params)
    plain.invert(X)
    emb = _Recording(tiny_emb)
    g = GuidedInverter(embedder=emb, decoder=lm, edit_queries=150, edits_per_round=20, **params)
    out = g.invert(X)
    assert g.vocabulary_queries_ == len(VOCAB)
    assert len(emb.texts) == len(VOCAB) + int(g.queries_.sum())  # every query counted once
    assert (g.queries_ <= plain.queries_ + 150).all()
    assert (g.cosines_ >= plain.cosines_ - 1e-9).all() and g.cosines_.mean() > plain.cosines_.mean()
    np.testing.assert_allclose(g.cosines_, _cos(tiny_emb.embed(out), X), atol=1e-5)
    assert [len(k) for k in g.keywords_] == [6, 6, 6]
    assert all(set(k) <= set(VOCAB) for k in g.keywords_)
    # a second call reuses the embedded vocabulary: no new vocabulary queries
    before = len(emb.texts)
    g.invert(X[:1])
    assert len(emb.texts) - before == int(g.queries_.sum())


def test_prepare_embeds_the_vocabulary_up_front(tiny_emb, lm, one_torch_thread):
    emb = _Recording(tiny_emb)
    g = GuidedInverter(embedder=emb, decoder=lm, max_length=4, edit_queries=20, vocabulary=VOCAB)
    assert g.prepare() is g and emb.texts == VOCAB and g.vocabulary_queries_ == len(VOCAB)
    g.invert(tiny_emb.embed(TEXTS[:2]))
    assert len(emb.texts) == len(VOCAB) + int(g.queries_.sum())
    plain = GuidedInverter(embedder=emb, decoder=lm).prepare()  # no word search: no vocabulary
    assert plain.vocabulary_queries_ == 0 and len(emb.texts) == len(VOCAB) + int(g.queries_.sum())


def test_word_search_stays_within_max_queries(tiny_emb, lm, one_torch_thread):
    emb = _Recording(tiny_emb)
    g = GuidedInverter(
        embedder=emb,
        decoder=lm,
        beam_width=2,
        top_k=3,
        max_length=5,
        max_queries=30,
        edit_queries=500,
        vocabulary=VOCAB,
    )
    g.invert(tiny_emb.embed(TEXTS))
    assert (g.queries_ <= 30).all()
    assert int(g.queries_.sum()) == len(emb.texts) - len(VOCAB)


def test_the_prompt_lists_each_targets_keywords(tiny_emb, lm, one_torch_thread, monkeypatch):
    seen: list[str] = []
    original = GuidedInverter._search

    def search(self, rows, prompt_ids, targets, states):
        seen.extend(lm.tokenizer.decode(p) for p in prompt_ids)
        return original(self, rows, prompt_ids, targets, states)

    monkeypatch.setattr(GuidedInverter, "_search", search)
    g = GuidedInverter(
        embedder=tiny_emb,
        decoder=lm,
        beam_width=1,
        top_k=2,
        max_length=3,
        keywords=3,
        vocabulary=VOCAB,
        prompt="Use: {keywords}.",
    )
    g.invert(tiny_emb.embed(TEXTS[:2]))
    assert len(seen) == 2
    for text, kws in zip(seen, g.keywords_, strict=True):
        assert f"Use: {', '.join(kws)}." in text


def test_bad_word_search_parameters(tiny_emb, lm):
    X = tiny_emb.embed(TEXTS)
    for params, match in [
        ({"edit_queries": -1}, "edit_queries must be an integer >= 0"),
        ({"keywords": -2}, "keywords"),
        ({"edits_per_round": 0}, "edits_per_round"),
        ({"edit_patience": 0}, "edit_patience"),
        ({"edit_start": "middle"}, "edit_start must be"),
        ({"edit_queries": 10, "keywords": 0}, "needs keywords > 0"),
        ({"prompt": "Use {keywords}", "keywords": 0}, "holds '{keywords}'"),
        ({"vocabulary": "cat dog"}, "list of non-empty words"),
        ({"vocabulary": ["cat", " "]}, "list of non-empty words"),
        ({"vocabulary": []}, "vocabulary is empty"),
        ({"word_penalty": -0.1}, "word_penalty must be a number"),
        ({"word_penalty": float("nan")}, "word_penalty must be a number"),
    ]:
        g = GuidedInverter(embedder=tiny_emb, decoder=lm).set_params(**params)
        with pytest.raises(ValueError, match=match):
            g.invert(X)
    # the tiny character-level tokenizer has no words: a clear error asks for a vocabulary
    g = GuidedInverter(embedder=tiny_emb, decoder=lm, edit_queries=5)
    with pytest.raises(ValueError, match="pass vocabulary="):
        g.invert(X)


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.sum(a * b, axis=-1)


@pytest.mark.slow
def test_minilm_word_search_recovers_most_words(minilm, smollm2, one_torch_thread):
    from embedlens.tokens import token_prf

    texts = ["they reduced the price on many items", "the international tennis circuit"]
    g = GuidedInverter(
        embedder=minilm,
        decoder=smollm2,
        beam_width=1,
        top_k=2,
        max_length=12,
        max_queries=800,
        edit_queries=780,
    )
    out = g.invert(minilm.embed(texts))
    assert g.vocabulary_queries_ > 10000  # SmolLM2's whole-word tokens
    assert (g.queries_ <= 800).all()
    assert g.cosines_.min() > 0.75
    assert np.mean([token_prf(t, h)[2] for t, h in zip(texts, out, strict=True)]) > 0.3
