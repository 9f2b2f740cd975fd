"""inversion.guided: zero-shot beam search ranked by the embedder's cosine, the word search,
queries, bad input."""

from __future__ import annotations

import random

import numpy as np
import pytest

from inversion._lexical import _edits, edit_search, rank_keywords, tokenizer_words
from inversion.guided import GuidedInverter

TEXTS = ["a cat", "the dog sat", "red hat"]
VOCAB = ["cat", "dog", "sat", "red", "hat", "blue", "tree", "runs", "house", "green"]


class _Recording:
    """Wraps an embedder, records every text it embeds (an attack's queries)."""

    def __init__(self, inner) -> None:
        self.inner, self.texts = inner, []
        self.name, self.dim, self.fingerprint = inner.name, inner.dim, inner.fingerprint

    def embed(self, texts, *, batch_size=32, progress=None):
        self.texts.extend(texts)
        return self.inner.embed(texts, batch_size=batch_size, progress=progress)


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.sum(a * b, axis=-1)


@pytest.fixture(scope="module")
def lm():
    from tiny_models import tiny_causal_lm

    return tiny_causal_lm()


def test_returns_the_best_scored_text_and_counts_queries(tiny_emb, lm, one_torch_thread):
    emb = _Recording(tiny_emb)
    X = tiny_emb.embed(TEXTS)
    g = GuidedInverter(embedder=emb, decoder=lm, beam_width=2, top_k=4, max_length=6)
    out = g.invert(X)
    assert len(out) == 3 and all(isinstance(t, str) and t for t in out)
    assert g.queries_.dtype == np.int64 and g.queries_.shape == (3,)
    assert int(g.queries_.sum()) == len(emb.texts) > 0  # every query is counted, once
    assert (g.queries_ <= 4 + 2 * 4 * 5).all()  # step 1: one beam; then beam_width * top_k
    # the cosine decides: each answer is the best of the texts scored for it
    np.testing.assert_allclose(g.cosines_, _cos(tiny_emb.embed(out), X), atol=1e-5)
    seen = tiny_emb.embed(sorted(set(emb.texts)))
    best_any = _cos(seen[None, :, :], X[:, None, :]).max(axis=1)
    assert (g.cosines_ <= best_any + 1e-6).all()
    assert g.cosines_.max() > 0.5


def test_query_budget_is_respected(tiny_emb, lm, one_torch_thread):
    emb = _Recording(tiny_emb)
    g = GuidedInverter(embedder=emb, decoder=lm, beam_width=3, top_k=5, max_length=8)
    g.set_params(max_queries=7)
    g.invert(tiny_emb.embed(TEXTS))
    assert (g.queries_ <= 7).all() and (g.queries_ > 0).all()
    assert int(g.queries_.sum()) == len(emb.texts)


def test_refinement_never_makes_the_answer_worse(tiny_emb, lm, one_torch_thread):
    X = tiny_emb.embed(TEXTS)
    g = GuidedInverter(embedder=tiny_emb, decoder=lm, beam_width=2, top_k=3, max_length=5)
    g.invert(X)
    plain, plain_q = g.cosines_.copy(), g.queries_.copy()
    g.set_params(refine_rounds=1, refine_prompt="Again: {text}")
    g.invert(X)
    assert (g.cosines_ >= plain - 1e-9).all()
    assert (g.queries_ > plain_q).all()  # the round costs queries


def test_black_box_function_embedder(tiny_emb, lm, one_torch_thread):
    from embedlens.embedders import FunctionEmbedder

    calls = []

    def remote(batch):
        calls.append(len(batch))
        return tiny_emb.embed(batch).tolist()

    api = FunctionEmbedder(remote, name="vendor/model", dim=tiny_emb.dim)
    g = GuidedInverter(embedder=api, decoder=lm, beam_width=2, top_k=3, max_length=4)
    g.set_params(embed_batch_size=4)
    out = g.invert(tiny_emb.embed(TEXTS[:2]))
    assert len(out) == 2 and calls and max(calls) <= 4  # batched as asked
    assert sum(calls) == int(g.queries_.sum())


def test_the_cached_search_sees_what_a_full_forward_sees(
    tiny_emb, lm, one_torch_thread, monkeypatch
):
    """Left-padded prompts of different lengths + the reordered KV cache == recomputing."""
    import torch

    g = GuidedInverter(embedder=tiny_emb, decoder=lm, beam_width=2, top_k=3, max_length=4)
    g.set_params(refine_rounds=1, refine_prompt="Make it better, please: {text}")
    checked = []
    original = GuidedInverter._step
    prompts: dict[int, list[int]] = {}
    original_search = GuidedInverter._search

    def search(self, rows, prompt_ids, targets, states):
        prompts.update(dict(zip(rows, prompt_ids, strict=True)))
        return original_search(self, rows, prompt_ids, targets, states)

    def step(self, beams, logits, *args):
        for b, row_logits in zip(beams, logits, strict=True):
            full = torch.tensor([[*prompts[b.row], *b.ids]])
            with torch.no_grad():
                ref = lm.model(input_ids=full).logits[0, -1]
            torch.testing.assert_close(row_logits, ref, atol=1e-4, rtol=1e-4)
            checked.append(len(b.ids))
        return original(self, beams, logits, *args)

    monkeypatch.setattr(GuidedInverter, "_search", search)
    monkeypatch.setattr(GuidedInverter, "_step", step)
    g.invert(tiny_emb.embed(TEXTS))
    assert max(checked) >= 2  # beams several tokens deep were checked


def test_bad_input_and_parameters(tiny_emb, lm):
    X = tiny_emb.embed(TEXTS)
    for params, match in [
        ({"beam_width": 0}, "beam_width must be a positive integer"),
        ({"top_k": 0}, "top_k"),
        ({"max_length": -1}, "max_length"),
        ({"max_queries": 0}, "max_queries"),
        ({"refine_rounds": -1}, "refine_rounds"),
        ({"refine_prompt": "no slot"}, "must contain"),
    ]:
        g = GuidedInverter(embedder=tiny_emb, decoder=lm).set_params(**params)
        with pytest.raises(ValueError, match=match):
            g.invert(X)
    g = GuidedInverter(embedder=tiny_emb, decoder=lm)
    with pytest.raises(ValueError, match="expects 32-dim embeddings from 'tiny-bert-32', got 8"):
        g.invert(X[:, :8])
    bad = X.copy()
    bad[1, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        g.invert(bad)
    with pytest.raises(ValueError, match="unknown parameters"):
        g.set_params(beams=3)


def test_an_encoder_decoder_is_refused(tiny_emb):
    from tiny_models import tiny_seq2seq

    g = GuidedInverter(embedder=tiny_emb, decoder=tiny_seq2seq())
    with pytest.raises(ValueError, match="needs a causal LM"):
        g.invert(tiny_emb.embed(["a cat"]))


@pytest.mark.slow
def test_minilm_and_smollm2_find_a_close_text(minilm, smollm2, one_torch_thread):
    target = ["the cat sat on the mat"]
    g = GuidedInverter(
        embedder=minilm, decoder=smollm2, beam_width=4, top_k=8, max_length=8, max_queries=200
    )
    out = g.invert(minilm.embed(target))
    assert g.queries_[0] <= 200
    assert g.cosines_[0] > 0.6, (out, g.cosines_)
    assert "cat" in out[0].lower()


# --------------------------------------------------------------------------- the word search


class _Vocab:
    def __init__(self, tokens):
        self.tokens = tokens

    def get_vocab(self):
        return {t: i for i, t in enumerate(self.tokens)}


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
