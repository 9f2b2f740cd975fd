"""The real built-in MiniLM against sentence-transformers (slow: loads real weights)."""

from __future__ import annotations

import numpy as np
import pytest

from embedlens import SentenceTransformerEmbedder, TransformersEmbedder, load_embedder
from embedlens.models import minilm_path

pytestmark = pytest.mark.slow

TEXTS = [
    "A man is eating food.",
    "The stock market fell sharply on Monday after the announcement.",
    "Résumé of Zoë: café owner, 12 years of experience ☕",
    "short",
    "word " * 400,  # longer than max_seq_length (256): truncated the same way
]


@pytest.fixture(scope="module")
def st_model():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm_path()), device="cpu")


def test_minilm_builtin_uses_transformers_backend(minilm):
    assert isinstance(minilm, TransformersEmbedder)
    assert (minilm.name, minilm.dim, minilm.pooling, minilm.normalize, minilm.max_length) == (
        "minilm",
        384,
        "mean",
        True,
        256,
    )


def test_minilm_matches_sentence_transformers(minilm, st_model):
    ours = minilm.embed(TEXTS, batch_size=2)
    ref = st_model.encode(TEXTS, batch_size=2, convert_to_numpy=True)
    np.testing.assert_allclose(ours, ref, atol=1e-5, rtol=0)


def test_sentence_transformer_object_backend(st_model, minilm):
    emb = load_embedder(st_model)
    assert isinstance(emb, SentenceTransformerEmbedder) and emb.dim == 384
    np.testing.assert_allclose(emb.embed(TEXTS), minilm.embed(TEXTS), atol=1e-5)
    assert emb.fingerprint == minilm.fingerprint  # same weights and pooling, either backend


def test_forced_sentence_transformers_backend_by_name(minilm):
    emb = load_embedder("minilm", backend="sentence-transformers", device="cpu")
    assert isinstance(emb, SentenceTransformerEmbedder)
    assert emb.fingerprint == minilm.fingerprint


def test_st_model_with_dense_layer_uses_st_backend(tmp_path, st_model):
    """A model with a Dense head cannot be reproduced by AutoModel + pooling: auto picks ST."""
    from sentence_transformers import SentenceTransformer, models

    dense = models.Dense(in_features=384, out_features=64)
    model = SentenceTransformer(modules=[st_model[0], st_model[1], dense], device="cpu")
    model.save(str(tmp_path / "dense"))
    emb = load_embedder(str(tmp_path / "dense"), device="cpu")
    assert isinstance(emb, SentenceTransformerEmbedder) and emb.dim == 64
    ref = model.encode(TEXTS[:3], convert_to_numpy=True)
    np.testing.assert_allclose(emb.embed(TEXTS[:3]), ref, atol=1e-5)


def test_semantic_sanity(minilm):
    X = minilm.embed(["A cat sits on the mat.", "A kitten rests on a rug.", "Interest rates rose."])
    assert X[0] @ X[1] > X[0] @ X[2] + 0.2
