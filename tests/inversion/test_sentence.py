"""The sentence attack: an LM writes the words a search found into sentences, the embedder decides."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import inversion
from embedlens.backends.callable import FunctionEmbedder
from embedlens.tokens import normalize_tokens
from inversion._edits import Words
from inversion.compose import Composer
from inversion.sentence import SentenceInverter

DIM = 48


def _bag_of_words(texts: list[str]) -> np.ndarray:
    """An order-blind toy embedder: the mean of case-folded word vectors (no order at all)."""
    out = np.zeros((len(texts), DIM))
    for i, text in enumerate(texts):
        for w in Words.parse(text).words:
            out[i] += np.random.default_rng(zlib.crc32(w.casefold().encode())).standard_normal(DIM)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return (out / np.where(norms == 0, 1, norms)).astype(np.float32)


class Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls += len(texts)
        return _bag_of_words(texts)


AUX = [
    "the cat sat on the mat",
    "a dog slept on the rug",
    "the bird sang in the tree",
    "my sister read a book",
    "the farmer fed the cows",
    "a child ran to the river",
]


@pytest.fixture(scope="module")
def tiny_lm():
    from tiny_models import tiny_causal_lm

    return tiny_causal_lm(hidden=32, layers=1, heads=2, seed=3)


# --------------------------------------------------------------------------- Composer


def test_compose_spells_words_no_list_holds(tiny_lm):
    """A character-level LM has no word list at all: the words come from their pieces."""
    c = Composer(tiny_lm, beam_width=2, top_k=3, bonus=40.0, max_new_tokens=40)
    out = c.compose([["Whitcombe", "Okonkwo"], ["Halvorsen"]])
    assert len(out) == 2
    first = out[0][0][0].casefold()  # the LM may write a word in lower case or capitalised
    assert "whitcombe" in first and "okonkwo" in first
    assert "halvorsen" in out[1][0][0].casefold()
    for sentences in out:
        for text, lm in sentences:
            assert isinstance(text, str) and np.isfinite(lm)


def test_compose_empty_bags_and_bad_options(tiny_lm):
    c = Composer(tiny_lm, beam_width=2, max_new_tokens=8)
    assert c.compose([]) == []
    assert c.compose([[], ["   "]]) == [[], []]
    with pytest.raises(ValueError, match="beam_width"):
        Composer(tiny_lm, beam_width=0)
    with pytest.raises(ValueError, match="bonus"):
        Composer(tiny_lm, bonus=float("nan"))
    with pytest.raises(ValueError, match="comma_penalty"):
        Composer(tiny_lm, comma_penalty="high")
    with pytest.raises(ValueError, match="n_best"):
        c.compose([["cat"]], n_best=0)


def test_logprob_is_the_lm_score_and_mean_divides_by_tokens(tiny_lm):
    c = Composer(tiny_lm, max_new_tokens=8)
    total = c.logprob(["abc", "abcdef", ""])
    mean = c.logprob(["abc", "abcdef"], mean=True)
    assert total[2] == -np.inf
    assert np.all(total[:2] < 0)
    # character tokens plus the end token: 4 and 7 scored tokens
    np.testing.assert_allclose(mean, total[:2] / np.array([4, 7]), rtol=1e-5)
    assert total[1] < total[0]  # more tokens, more to pay


# --------------------------------------------------------------------------- SentenceInverter


def test_queries_stay_within_the_budget(tiny_lm):
    counting = Counting()
    emb = FunctionEmbedder(counting, name="bag-of-words", dim=DIM)
    inv = SentenceInverter(
        emb,
        decoder=Composer(tiny_lm, beam_width=2, max_new_tokens=12),
        keywords=None,
        aux_texts=AUX,
        n_word_vectors=50,
        max_queries=120,
        batch_size=3,
        progress=False,
    ).fit()
    setup = counting.calls
    targets = ["the cat sat on the rug", "a bird read a book", "the child fed the dog"]
    out = inv.invert(_bag_of_words(targets))
    assert len(out) == 3 and all(isinstance(t, str) and t for t in out)
    assert inv.queries_.max() <= 120
    assert counting.calls - setup == int(inv.queries_.sum())
    assert np.all(inv.cosines_ > 0.5)  # the words of the attacker's texts reach the targets


class CountingComposer(Composer):
    """A composer that counts the bags it is asked to write."""

    bags = 0

    def compose(self, bags, *, n_best=None):
        CountingComposer.bags += len(bags)
        return super().compose(bags, n_best=n_best)


def test_no_time_left_skips_the_sentence_phase(tiny_lm):
    """Past the deadline the search's text stands: the LM is not asked, queries stay low."""
    emb = FunctionEmbedder(_bag_of_words, name="bag-of-words", dim=DIM)
    composer = CountingComposer(tiny_lm, beam_width=2, max_new_tokens=12)
    common = {"keywords": None, "aux_texts": AUX, "n_word_vectors": 50, "progress": False}
    hurried = SentenceInverter(emb, decoder=composer, max_seconds=1e-6, **common).fit()
    out = hurried.invert(_bag_of_words(["the cat sat on the rug", "a dog read a book"]))
    assert CountingComposer.bags == 0 and all(out)
    assert hurried.queries_.max() <= 60  # the starts and at most one round of edits
    SentenceInverter(emb, decoder=composer, max_queries=80, **common).fit().invert(
        _bag_of_words(["the cat sat on the rug"])
    )
    assert CountingComposer.bags > 0


def test_bad_parameters_are_refused_before_any_query(tiny_lm):
    counting = Counting()
    emb = FunctionEmbedder(counting, name="bag-of-words", dim=DIM)
    for bad in (
        {"sentence_share": 1.5},
        {"fluency": -1},
        {"finalists": 0},
        {"compose_beam": 0},
        {"edit_ops": "shuffle"},
    ):
        inv = SentenceInverter(emb, decoder=Composer(tiny_lm), keywords=None, **bad)
        with pytest.raises(ValueError):
            inv.invert(_bag_of_words(["the cat"]))
    assert counting.calls == 0
    inv = SentenceInverter(emb, decoder=Composer(tiny_lm), keywords=None, aux_texts=AUX)
    with pytest.raises(ValueError, match="48"):
        inv.invert(np.ones((1, 5)))


@pytest.mark.slow
def test_the_lms_order_wins_when_the_cosine_ties(smollm2, one_torch_thread):
    """An order-blind embedder cannot tell 'mat the sat on cat the' from the sentence: every
    order ties on cosine, and the LM's fluent order is returned."""
    emb = FunctionEmbedder(_bag_of_words, name="bag-of-words", dim=DIM)
    inv = SentenceInverter(
        emb,
        decoder=Composer(smollm2, beam_width=6),
        keywords=None,
        aux_texts=["mat the on sat cat the", *AUX[1:]],  # the words, in no order
        max_queries=400,
        progress=False,
    )
    target = _bag_of_words(["the cat sat on the mat"])
    out = inv.fit().invert(target)
    assert inv.cosines_[0] > 0.999  # the words are all there
    assert normalize_tokens(out[0]) == ["the", "cat", "sat", "on", "the", "mat"]


@pytest.mark.slow
def test_invert_writes_a_sentence_for_minilm(minilm, one_torch_thread):
    text = "Scientists discovered a new species of frog in the forests of Peru."
    res = inversion.invert(
        minilm.embed([text]), minilm, max_queries=600, max_seconds=None, return_details=True
    )
    assert res.queries[0] <= 600
    assert "SentenceInverter" in res.attack
    words = normalize_tokens(res.texts[0])
    assert "peru" in words and len(words) >= 5  # a sentence with the rare content word
    assert res.texts[0][:1].isupper()  # written by the LM, not a bag of lower-case words
    assert res.cosines[0] > 0.8
