"""inversion.bow: the bag-of-words attack must learn words that vectors encode, and only those."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inversion.bow import ENGLISH_STOPWORDS, BagOfWordsAttack, WordScores
from inversion.metrics import evaluate

WORDS = [f"w{i:02d}" for i in range(40)]


def _synthetic(n: int, seed: int, dim: int = 48) -> tuple[np.ndarray, list[str]]:
    """Texts of 3-6 distinct words; each vector is the sum of fixed random word vectors."""
    table = np.random.default_rng(123).normal(size=(len(WORDS), dim)).astype(np.float32)
    rng = np.random.default_rng(seed)
    texts, X = [], np.zeros((n, dim), dtype=np.float32)
    for i in range(n):
        picked = rng.choice(len(WORDS), size=rng.integers(3, 7), replace=False)
        texts.append(" ".join(WORDS[j] for j in picked))
        X[i] = table[picked].sum(axis=0)
    return X, texts


class _Emb:
    """Just what save/load checks of an embedder: name, dim and fingerprint."""

    def __init__(self, fingerprint: str = "abc123", dim: int = 48) -> None:
        self.name, self.dim, self.fingerprint = "stub", dim, fingerprint


@pytest.fixture(scope="module")
def synthetic():
    X, texts = _synthetic(400, seed=0)
    X_test, texts_test = _synthetic(150, seed=1)
    attack = BagOfWordsAttack(min_df=1, epochs=300, lr=3e-2, embedder=_Emb()).fit(X, texts)
    return attack, X, texts, X_test, texts_test


def test_learns_words_that_the_vectors_encode(synthetic):
    attack, _, _, X_test, texts_test = synthetic
    assert sorted(attack.vocabulary_) == WORDS
    scores = attack.score(X_test, texts_test)
    assert isinstance(scores, WordScores)
    assert scores.f1 > 0.85, scores
    assert scores.mean_f1 > 0.85
    assert scores.per_example_f1.shape == (150,)


def test_near_chance_on_vectors_that_encode_nothing():
    X, texts = _synthetic(400, seed=0)
    noise = np.random.default_rng(5).normal(size=X.shape).astype(np.float32)
    attack = BagOfWordsAttack(min_df=1, epochs=300, lr=3e-2).fit(noise, texts)
    X_test, texts_test = _synthetic(150, seed=1)
    fresh = np.random.default_rng(6).normal(size=X_test.shape).astype(np.float32)
    # each word is in ~11% of texts: guessing every word gives F1 ~0.2, guessing none 0
    assert attack.score(fresh, texts_test).f1 < 0.25
    assert attack.score(fresh, texts_test, top_k=5).f1 < 0.25


def test_predict_words_threshold_and_top_k(synthetic):
    attack, _, _, X_test, texts_test = synthetic
    words = attack.predict_words(X_test[:3])
    assert len(words) == 3
    assert set(words[0]) == set(texts_test[0].split())
    top = attack.predict_words(X_test[:3], top_k=2)
    assert [len(w) for w in top] == [2, 2, 2]
    proba = attack.predict_proba(X_test[:1])[0]
    best = [attack.vocabulary_[j] for j in np.argsort(-proba)[:2]]
    assert top[0] == best
    assert all(len(w) == len(WORDS) for w in attack.predict_words(X_test[:2], threshold=0.0))


def test_invert_is_scorable_with_evaluate(synthetic):
    attack, _, _, X_test, texts_test = synthetic
    hyps = attack.invert(X_test[:20])
    assert all(isinstance(h, str) for h in hyps)
    assert evaluate(texts_test[:20], hyps, bootstrap=0).token_f1 > 0.8


def test_score_hand_computed():
    attack = BagOfWordsAttack(min_df=1, stopwords=False)
    attack.vocabulary_ = ["cat", "dog", "sat"]
    attack.n_features_in_ = 2
    preds = [["cat", "dog"], []]

    def fake_predict(X, *, threshold=None, top_k=None):
        return preds

    attack.predict_words = fake_predict  # type: ignore[method-assign]
    # text 1: truth {cat, sat}, guess {cat, dog}: 1 hit. text 2: truth {dog}, guess {}: 0
    s = attack.score(np.zeros((2, 2)), ["the cat sat", "a dog"])
    assert s.precision == pytest.approx(1 / 2)
    assert s.recall == pytest.approx(1 / 3)
    assert s.f1 == pytest.approx(2 * 1 / (2 + 3))
    np.testing.assert_allclose(s.per_example_f1, [0.5, 0.0])


def test_vocabulary_min_df_size_and_stopwords():
    texts = ["the cat and the dog", "the cat sat", "a dog ran", "the bird"]
    X = np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32)
    attack = BagOfWordsAttack(min_df=2, epochs=2).fit(X, texts)
    assert attack.vocabulary_ == ["cat", "dog"]  # "the" is a stopword
    keep = BagOfWordsAttack(min_df=2, stopwords=False, epochs=2).fit(X, texts)
    assert keep.vocabulary_ == ["the", "cat", "dog"]  # by document frequency
    small = BagOfWordsAttack(min_df=1, vocab_size=1, stopwords=False, epochs=2).fit(X, texts)
    assert small.vocabulary_ == ["the"]
    assert {"the", "a", "and", "of"} <= ENGLISH_STOPWORDS


def test_deterministic_and_leaves_global_rng_alone():
    import torch

    X, texts = _synthetic(120, seed=2)
    state = torch.get_rng_state()
    a = BagOfWordsAttack(min_df=1, epochs=5, hidden=16, batch_size=32, random_state=3).fit(X, texts)
    assert torch.equal(torch.get_rng_state(), state)
    b = BagOfWordsAttack(min_df=1, epochs=5, hidden=16, batch_size=32, random_state=3).fit(X, texts)
    c = BagOfWordsAttack(min_df=1, epochs=5, hidden=16, batch_size=32, random_state=4).fit(X, texts)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.allclose(a.predict_proba(X), c.predict_proba(X))


def test_get_set_params_and_clone():
    from sklearn.base import clone

    attack = BagOfWordsAttack(vocab_size=50, hidden=8)
    assert attack.get_params()["vocab_size"] == 50
    twin = clone(attack)
    assert twin.get_params() == attack.get_params() and twin is not attack
    assert attack.set_params(min_df=3).min_df == 3
    with pytest.raises(ValueError, match="unknown parameters 'vocab'"):
        attack.set_params(vocab=3)


# ---------------------------------------------------------------- save / load


def test_save_load_roundtrip(synthetic, tmp_path):
    attack, _, _, X_test, _ = synthetic
    out = attack.save_pretrained(tmp_path / "bow")
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]
    config = json.loads((out / "config.json").read_text())
    assert config["format_version"] == 1
    assert config["class"] == "BagOfWordsAttack"
    assert config["embedder"] == {"name": "stub", "dim": 48, "fingerprint": "abc123"}
    assert config["vocabulary"] == attack.vocabulary_
    assert "embedlens_version" in config
    loaded = BagOfWordsAttack.from_pretrained(out, embedder=_Emb())
    np.testing.assert_allclose(
        loaded.predict_proba(X_test), attack.predict_proba(X_test), atol=1e-6
    )
    assert loaded.predict_words(X_test[:5]) == attack.predict_words(X_test[:5])
    # overwriting an existing directory works (atomic replace)
    attack.save_pretrained(out)
    bare = BagOfWordsAttack.from_pretrained(out)  # no embedder given: the saved one is kept
    assert bare.vocabulary_ == attack.vocabulary_
    bare.save_pretrained(tmp_path / "again")
    again = json.loads((tmp_path / "again" / "config.json").read_text())
    assert again["embedder"] == config["embedder"]


def test_load_refuses_another_embedder(synthetic, tmp_path):
    attack = synthetic[0]
    out = attack.save_pretrained(tmp_path / "bow")
    with pytest.raises(ValueError, match="trained on embeddings from 'stub'"):
        BagOfWordsAttack.from_pretrained(out, embedder=_Emb(fingerprint="zzz"))


def test_load_refuses_newer_format_and_foreign_dirs(synthetic, tmp_path):
    out = synthetic[0].save_pretrained(tmp_path / "bow")
    config = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps({**config, "format_version": 99}))
    with pytest.raises(ValueError, match="format version 99"):
        BagOfWordsAttack.from_pretrained(out)
    (out / "config.json").write_text(json.dumps({**config, "class": "Inverter"}))
    with pytest.raises(ValueError, match="not a BagOfWordsAttack"):
        BagOfWordsAttack.from_pretrained(out)
    (out / "config.json").write_text("not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        BagOfWordsAttack.from_pretrained(out)
    with pytest.raises(FileNotFoundError, match="save_pretrained"):
        BagOfWordsAttack.from_pretrained(tmp_path / "missing")
    (out / "config.json").write_text(json.dumps(config))
    (out / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match=r"no model\.safetensors"):
        BagOfWordsAttack.from_pretrained(out)


def test_save_unfitted_raises(tmp_path):
    with pytest.raises(RuntimeError, match="not fitted"):
        BagOfWordsAttack().save_pretrained(tmp_path / "x")


# ---------------------------------------------------------------- bad input


def test_fit_bad_input():
    X, texts = _synthetic(10, seed=0)
    with pytest.raises(ValueError, match="10 rows but 9 texts"):
        BagOfWordsAttack(min_df=1).fit(X, texts[:9])
    with pytest.raises(ValueError, match="empty"):
        BagOfWordsAttack().fit(X[:0], [])
    bad = X.copy()
    bad[3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        BagOfWordsAttack(min_df=1).fit(bad, texts)
    with pytest.raises(TypeError, match=r"texts\[0\]"):
        BagOfWordsAttack(min_df=1).fit(X[:1], [5])
    with pytest.raises(ValueError, match="min_df=50"):
        BagOfWordsAttack(min_df=50).fit(X, texts)
    with pytest.raises(ValueError, match="expected 16"):
        BagOfWordsAttack(min_df=1, embedder=_Emb(dim=16)).fit(X, texts)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"vocab_size": 0}, "vocab_size"),
        ({"min_df": 0}, "min_df"),
        ({"epochs": 1.5}, "epochs"),
        ({"hidden": 0}, "hidden"),
        ({"batch_size": 0}, "batch_size"),
        ({"threshold": 1.0}, "threshold"),
        ({"lr": 0.0}, "lr"),
    ],
)
def test_bad_options(params, match):
    X, texts = _synthetic(10, seed=0)
    with pytest.raises(ValueError, match=match):
        BagOfWordsAttack(**params).fit(X, texts)


def test_predict_bad_input(synthetic):
    attack, _, _, X_test, texts_test = synthetic
    with pytest.raises(RuntimeError, match="not fitted"):
        BagOfWordsAttack().predict_words(X_test)
    with pytest.raises(ValueError, match="expected 48"):
        attack.predict_words(np.ones((2, 5)))
    with pytest.raises(ValueError, match="NaN"):
        attack.predict_words(np.full((1, 48), np.inf))
    with pytest.raises(ValueError, match="top_k"):
        attack.predict_words(X_test, top_k=0)
    with pytest.raises(ValueError, match="threshold"):
        attack.predict_words(X_test, threshold=-0.1)
    with pytest.raises(ValueError, match="3 rows but 2 texts"):
        attack.score(X_test[:3], texts_test[:2])


# ---------------------------------------------------------------- the real MiniLM


@pytest.mark.slow
def test_minilm_word_f1_clearly_above_chance(minilm):
    from embedlens.data import load_corpus, load_texts

    texts = load_corpus("pii", n=150).texts + load_texts("wordnet-examples", limit=1500)[::10]
    order = np.random.default_rng(0).permutation(len(texts))
    texts = [texts[i] for i in order]
    X = minilm.embed(texts, batch_size=64)
    train, test = slice(0, 220), slice(220, None)
    attack = BagOfWordsAttack(min_df=2, embedder=minilm).fit(X[train], texts[train])
    scores = attack.score(X[test], texts[test])
    # chance: always guess the k words most frequent in training (k = mean words per text)
    bags = [attack._words(t) & set(attack.vocabulary_) for t in texts[train]]
    k = max(1, round(np.mean([len(b) for b in bags])))
    counts = {w: sum(w in b for b in bags) for w in attack.vocabulary_}
    guess = set(sorted(counts, key=lambda w: -counts[w])[:k])
    truth = [attack._words(t) & set(attack.vocabulary_) for t in texts[test]]
    hits = sum(len(t & guess) for t in truth)
    chance = 2 * hits / (k * len(truth) + sum(len(t) for t in truth))
    assert scores.f1 > 0.5, scores
    assert scores.f1 > 2 * chance, (scores.f1, chance)
