"""inversion.nearest: the nearest-neighbour attack against a brute-force cosine reference."""

from __future__ import annotations

import numpy as np
import pytest

from inversion.nearest import NearestNeighbourAttack

AUX = [
    "the cat sat on the mat",
    "a dog barked at the mailman",
    "stock prices fell sharply today",
    "she plays the violin beautifully",
    "rain is expected tomorrow afternoon",
    "he repaired the bicycle chain",
]


class _Counting:
    """Wraps an embedder and counts how many texts it embeds."""

    def __init__(self, inner) -> None:
        self.inner, self.seen = inner, 0
        self.name, self.dim, self.fingerprint = inner.name, inner.dim, inner.fingerprint

    def embed(self, texts, *, batch_size=32, progress=None):
        self.seen += len(texts)
        return self.inner.embed(texts, batch_size=batch_size, progress=progress)


def test_returns_the_exact_text_when_it_is_in_the_aux_corpus(tiny_emb):
    emb = _Counting(tiny_emb)
    attack = NearestNeighbourAttack(emb).fit(AUX)
    assert emb.seen == len(AUX)  # the auxiliary corpus is embedded once
    targets = [AUX[4], AUX[0], AUX[2]]
    assert attack.invert(tiny_emb.embed(targets)) == targets
    assert emb.seen == len(AUX)


def test_kneighbors_matches_brute_force_cosine():
    rng = np.random.default_rng(0)
    aux = rng.normal(size=(50, 8)).astype(np.float32)
    queries = rng.normal(size=(13, 8)).astype(np.float32)

    class Stub:
        name, dim, fingerprint = "stub", 8, "f"

        def embed(self, texts, *, batch_size=32, progress=None):
            raise AssertionError("precomputed embeddings must be used")

    texts = [f"text {i}" for i in range(50)]
    # max_block=120 forces chunks of 2 query rows
    attack = NearestNeighbourAttack(Stub(), max_block=120).fit(texts, aux_embeddings=aux)
    index, sims = attack.kneighbors(queries, k=3)
    a = aux / np.linalg.norm(aux, axis=1, keepdims=True)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    full = q @ a.T
    expected = np.argsort(-full, axis=1)[:, :3]
    np.testing.assert_array_equal(index, expected)
    np.testing.assert_allclose(sims, np.take_along_axis(full, expected, axis=1), rtol=1e-5)
    assert attack.invert(queries) == [texts[i] for i in expected[:, 0]]
    # scaling a query does not change its neighbours (cosine, not dot product)
    assert attack.invert(queries * 7.0) == attack.invert(queries)
    # k larger than the corpus returns every text, best first
    index_all, _ = attack.kneighbors(queries[:2], k=99)
    assert index_all.shape == (2, 50)
    np.testing.assert_array_equal(index_all[:, :3], expected[:2])


def test_bad_input(tiny_emb):
    with pytest.raises(TypeError, match="embedder"):
        NearestNeighbourAttack(None).fit(AUX)
    with pytest.raises(ValueError, match="empty"):
        NearestNeighbourAttack(tiny_emb).fit([])
    with pytest.raises(TypeError, match=r"aux_texts\[1\]"):
        NearestNeighbourAttack(tiny_emb).fit(["a", 2])
    with pytest.raises(ValueError, match="max_block"):
        NearestNeighbourAttack(tiny_emb, max_block=0).fit(AUX)
    with pytest.raises(ValueError, match="2 rows for 6 aux_texts"):
        NearestNeighbourAttack(tiny_emb).fit(AUX, aux_embeddings=np.ones((2, 32)))
    with pytest.raises(RuntimeError, match="not fitted"):
        NearestNeighbourAttack(tiny_emb).invert(np.ones((1, 32)))
    attack = NearestNeighbourAttack(tiny_emb).fit(AUX, aux_embeddings=np.eye(6, 32))
    with pytest.raises(ValueError, match="expected 32"):
        attack.invert(np.ones((2, 16)))
    with pytest.raises(ValueError, match="NaN"):
        attack.invert(np.full((1, 32), np.nan))
    with pytest.raises(ValueError, match="k must"):
        attack.kneighbors(np.ones((1, 32)), k=0)


@pytest.mark.slow
def test_minilm_recovers_members_and_finds_similar_outsiders(minilm):
    from embedlens.data import load_corpus, load_texts

    pii = load_corpus("pii", n=80).texts
    other = load_texts("wordnet-examples", limit=60)
    aux = pii[:60] + other
    attack = NearestNeighbourAttack(minilm).fit(aux)
    members = [aux[3], aux[70], aux[10]]
    assert attack.invert(minilm.embed(members)) == members
    # texts outside the auxiliary corpus land on texts of their own kind
    outsiders = attack.invert(minilm.embed(pii[60:]))
    assert sum(text in pii for text in outsiders) >= 18
