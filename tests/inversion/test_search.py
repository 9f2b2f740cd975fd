"""The CPU search attack: edits that keep a text's shape, word vectors, SearchInverter, invert()."""

from __future__ import annotations

import itertools
import random
import zlib

import numpy as np
import pytest

import inversion
from embedlens.backends.callable import FunctionEmbedder
from embedlens.tokens import token_prf
from inversion._edits import Words, propose_edits
from inversion.bow import BagOfWordsAttack
from inversion.search import SearchInverter
from inversion.vocab import BigramModel, WordVectors, vocabulary_forms

DIM = 64


def _word_vector(word: str) -> np.ndarray:
    rng = np.random.default_rng(zlib.crc32(word.casefold().encode()))
    return rng.standard_normal(DIM)


def _hash_bag(texts: list[str]) -> np.ndarray:
    """A mean-pooled toy embedder: word vectors plus a little of each neighbour pair (order)."""
    out = np.zeros((len(texts), DIM))
    for i, text in enumerate(texts):
        words = Words.parse(text).words
        for w in words:
            out[i] += _word_vector(w)
        for a, b in itertools.pairwise(words):
            out[i] += 0.3 * _word_vector(f"{a}_{b}")
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return (out / np.where(norms == 0, 1, norms)).astype(np.float32)


class Counting:
    """Counts every text the attack sends to the embedder."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls += len(texts)
        return _hash_bag(texts)


SUBJECTS = ["the cat", "a dog", "my sister", "the old farmer", "our teacher", "a small bird"]
VERBS = ["sees", "likes", "paints", "feeds", "follows"]
OBJECTS = ["the river", "a red barn", "green apples", "the quiet village", "warm bread"]


def _sentences(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    return [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}" for _ in range(n)]


@pytest.fixture(scope="module")
def aux() -> list[str]:
    return list(dict.fromkeys(_sentences(0, 120)))


@pytest.fixture(scope="module")
def targets(aux) -> list[str]:
    seen = set(aux)
    fresh = [s for s in dict.fromkeys(_sentences(99, 400)) if s not in seen]
    assert len(fresh) >= 6  # the grammar has 150 sentences; the attacker holds fewer
    return fresh[:6]


# --------------------------------------------------------------------------- Words


def test_words_round_trip_and_edits_keep_the_glue():
    text = "Contact: Ann Lee (ann.lee@mail.com), 555-0100."
    w = Words.parse(text)
    assert w.render() == text
    assert w.words[:3] == ("Contact", "Ann", "Lee")
    assert w.replace(1, "Mia").render() == "Contact: Mia Lee (ann.lee@mail.com), 555-0100."
    assert w.replace(3, "mia").render() == "Contact: Ann Lee (mia.lee@mail.com), 555-0100."
    assert (
        w.insert(len(w), "today").render() == "Contact: Ann Lee (ann.lee@mail.com), 555-0100 today."
    )
    assert w.delete(2).render() == "Contact: Ann (ann.lee@mail.com), 555-0100."
    assert w.swap(1).render() == "Contact: Lee Ann (ann.lee@mail.com), 555-0100."
    assert Words.parse("   ").render() == "" and len(Words.parse("!?")) == 0
    assert Words.parse("don't stop").words == ("don't", "stop")


def test_propose_edits_are_distinct_and_bounded():
    w = Words.parse("a b c")
    rng = random.Random(0)
    edits = propose_edits(w, ["x", "y"], np.array([1.0, 1.0]), np.zeros(3), 30, 4, rng)
    rendered = [e.render() for e in edits]
    assert len(rendered) == len(set(rendered)) and "a b c" not in rendered
    assert all(len(e) <= 4 for e in edits)
    # words the caller is sure of are rarely touched: replacements hit the weak middle word
    sure = np.array([1.0, 0.0, 1.0])
    first = [propose_edits(w, ["x"], np.ones(1), sure, 1, 3, random.Random(s)) for s in range(200)]
    replaced = [e[0].words for e in first if e and "x" in e[0].words and len(e[0]) == 3]
    assert len(replaced) > 50
    assert sum(r == ("a", "x", "c") for r in replaced) >= 0.9 * len(replaced)
    # an empty text can still grow
    grown = propose_edits(Words.parse(""), ["x"], np.ones(1), np.zeros(0), 5, 3, rng)
    assert [e.render() for e in grown] == ["x"]


# --------------------------------------------------------------------------- WordVectors


def test_vocabulary_forms_and_word_vectors_round_trip(tmp_path, aux):
    forms = vocabulary_forms(["Ann met ann", "Ann and Bo", "42 apples"])
    assert next(iter(forms)) == "Ann" and forms["Ann"] == 3 and "42" not in forms and "and" in forms
    emb = FunctionEmbedder(_hash_bag, name="hashbag", dim=DIM)
    table = WordVectors.embed(list(vocabulary_forms(aux)), emb)
    best = table.closest(emb.embed(["barn"])[0].astype(np.float64), 3)
    assert best[0][0] == "barn" and best[0][1] == pytest.approx(1.0, abs=1e-6)
    table.save(tmp_path / "words")
    back = WordVectors.load(tmp_path / "words", embedder=emb)
    assert back.words == table.words
    np.testing.assert_allclose(back.vectors, table.vectors, atol=2e-3)  # stored as fp16
    other = FunctionEmbedder(lambda t: _hash_bag(t) * -1, name="other", dim=DIM)
    with pytest.raises(ValueError, match="hashbag"):
        WordVectors.load(tmp_path / "words", embedder=other)
    merged = back.merged(WordVectors.embed(["Barn", "silo"], emb))
    assert merged.words[-1] == "silo" and len(merged) == len(back) + 1
    with pytest.raises(ValueError, match="one row per word"):
        WordVectors(["a"], np.zeros((2, 3)))


# --------------------------------------------------------------------------- SearchInverter


def test_search_recovers_unseen_sentences_within_budget(aux, targets):
    counter = Counting()
    emb = FunctionEmbedder(counter, name="hashbag", dim=DIM)
    X = _hash_bag(targets)
    inv = SearchInverter(emb, keywords=None, aux_texts=aux, max_queries=300, seed=0).fit()
    setup = counter.calls
    assert inv.setup_queries_ == setup > len(aux)  # the texts, then their words, once
    counter.calls = 0
    out = inv.invert(X)
    assert counter.calls == inv.queries_.sum() and inv.queries_.max() <= 300
    f1 = np.mean([token_prf(t, o)[2] for t, o in zip(targets, out, strict=True)])
    assert f1 >= 0.8, list(zip(targets, out, strict=True))
    assert inv.cosines_.mean() >= 0.9
    got = _hash_bag(out)
    np.testing.assert_allclose(np.einsum("ij,ij->i", got, X), inv.cosines_, atol=1e-5)


def test_search_with_a_keyword_model_and_no_aux(aux, targets):
    emb = FunctionEmbedder(_hash_bag, name="hashbag", dim=DIM)
    bag = BagOfWordsAttack(stopwords=False, min_df=1, epochs=150, embedder=emb)
    bag.fit(_hash_bag(aux), aux)
    inv = SearchInverter(emb, keywords=bag, max_queries=400, seed=1)
    out = inv.invert(_hash_bag(targets))
    assert inv.setup_queries_ == 0  # no auxiliary texts, no shipped table for this embedder
    f1 = np.mean([token_prf(t, o)[2] for t, o in zip(targets, out, strict=True)])
    assert f1 >= 0.6, list(zip(targets, out, strict=True))


def test_search_bad_input_costs_no_query(aux):
    counter = Counting()
    emb = FunctionEmbedder(counter, name="hashbag", dim=DIM)
    inv = SearchInverter(emb, keywords=None, aux_texts=aux)
    for bad, match in [
        (np.zeros((2, 10)), "10 columns"),
        (np.zeros(10), "1-D"),
        (np.zeros((0, DIM)), "no rows"),
        (np.full((1, DIM), np.nan), "NaN"),
        (np.zeros((1, DIM)), "all-zero"),
    ]:
        with pytest.raises(ValueError, match=match):
            inv.invert(bad)
    assert counter.calls == 0  # refused before the auxiliary texts were embedded
    with pytest.raises(ValueError, match="max_queries"):
        SearchInverter(emb, max_queries=0).invert(np.ones((1, DIM)))
    with pytest.raises(ValueError, match="max_seconds"):
        SearchInverter(emb, max_seconds=-1).invert(np.ones((1, DIM)))
    with pytest.raises(ValueError, match="aux_texts"):  # no shipped model, nothing to train on
        SearchInverter(emb).fit()


def test_search_time_budget_stops_early(aux, targets):
    emb = FunctionEmbedder(_hash_bag, name="hashbag", dim=DIM)
    inv = SearchInverter(emb, keywords=None, aux_texts=aux, max_seconds=1e-6, patience=50)
    inv.invert(_hash_bag(targets[:2]))
    slow = SearchInverter(emb, keywords=None, aux_texts=aux, patience=50, max_queries=400)
    slow.invert(_hash_bag(targets[:2]))
    assert inv.queries_.sum() < slow.queries_.sum()


def test_invert_one_liner_details_and_threads(aux, targets):
    counter = Counting()
    emb = FunctionEmbedder(counter, name="hashbag", dim=DIM)
    with pytest.raises(ValueError, match="columns"):
        inversion.invert(np.ones((1, 5)), emb, aux_texts=aux)
    assert counter.calls == 0
    result = inversion.invert(
        _hash_bag(targets[:3]),
        emb,
        aux_texts=aux,
        method="search",
        return_details=True,
        threads=1,
        keywords=None,
        max_queries=200,
    )
    assert len(result) == 3 and list(result) == result.texts
    assert result.setup_queries > 0 and (result.queries <= 200).all()
    rec = result.to_records()[0]
    assert set(rec) == {"index", "text", "queries", "cosine", "seconds"}
    assert "3 texts" in result.summary()
    texts = inversion.invert(
        _hash_bag(targets[:1]), emb, aux_texts=aux, keywords=None, method="search"
    )
    assert isinstance(texts, list) and isinstance(texts[0], str)
    with pytest.raises(ValueError, match="method"):
        inversion.invert(_hash_bag(targets[:1]), emb, aux_texts=aux, method="magic")
    with pytest.raises(ValueError, match="threads"):
        inversion.invert(_hash_bag(targets[:1]), emb, aux_texts=aux, threads=0)


def _pure_bag(texts: list[str]) -> np.ndarray:
    """An embedder blind to word order: only a language model can order its words."""
    out = np.array([sum(_word_vector(w) for w in Words.parse(t).words) for t in texts])
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def test_bigram_model_and_the_reorder_phase(aux, targets):
    lm = BigramModel(aux)
    assert lm.score(["the", "cat", "sees", "the", "river"]) > lm.score(
        ["cat", "the", "river", "sees", "the"]
    )
    assert not BigramModel([]) and BigramModel(["a b"])
    emb = FunctionEmbedder(_pure_bag, name="purebag", dim=DIM)
    X = _pure_bag(targets)
    exact = {}
    for reorder in (0, 64):
        inv = SearchInverter(
            emb, keywords=None, aux_texts=aux, reorder_queries=reorder, max_queries=400, seed=3
        )
        out = inv.invert(X)
        exact[reorder] = sum(o == t for o, t in zip(out, targets, strict=True))
        assert inv.queries_.max() <= 400
    assert exact[64] > exact[0], exact


def test_shipped_artifacts_are_small_fp16_and_carded():
    from safetensors import safe_open

    from embedlens.models import PRETRAINED_DIR, pretrained_names, pretrained_path

    names = pretrained_names()
    assert {"minilm-keywords", "minilm-words"} <= set(names)
    for name in names:
        folder = pretrained_path(name)
        weights = folder / "model.safetensors"
        assert weights.stat().st_size <= 20 * 2**20, name
        assert (folder / "MODEL_CARD.md").read_text().strip(), name
        with safe_open(str(weights), framework="numpy") as fh:
            for key in fh.keys():  # noqa: SIM118 (safe_open has no __iter__)
                assert fh.get_tensor(key).dtype == np.float16, (name, key)
    with pytest.raises(FileNotFoundError, match="minilm-keywords"):
        pretrained_path("no-such-thing")
    assert PRETRAINED_DIR.name == "pretrained"


@pytest.mark.slow
def test_shipped_minilm_keywords_load_by_fingerprint():
    from embedlens import load_embedder
    from embedlens.models import pretrained_for as find_pretrained

    emb = load_embedder("minilm")
    folder = find_pretrained(emb, "keywords")
    assert folder is not None and folder.name == "minilm-keywords"
    bag = BagOfWordsAttack.from_pretrained(folder, embedder=emb)
    words = bag.predict_words(emb.embed(["patient treated for asthma"]), top_k=20)[0]
    assert "asthma" in words
    assert find_pretrained(FunctionEmbedder(_hash_bag, name="hashbag", dim=DIM), "words") is None
    table = WordVectors.load(find_pretrained(emb, "words"), embedder=emb)
    assert len(table) == 20_000
    with pytest.raises(ValueError, match="trained on embeddings from"):
        BagOfWordsAttack.from_pretrained(folder, embedder=FunctionEmbedder(_hash_bag, dim=DIM))
