"""Fixtures for the map tests: small clustered data with texts and labels, and fitted maps.

UMAP's first call in a process compiles numba code (about 20 s), so UMAP tests share one
session-scoped map and are marked ``slow``; the fast tests use PCA.
"""

from __future__ import annotations

import numpy as np
import pytest

TOPICS = {
    "cats": ["cat", "kitten", "purr", "whiskers", "meow"],
    "stocks": ["stock", "market", "shares", "investor", "dividend"],
    "weather": ["rain", "storm", "forecast", "cloud", "thunder"],
}


def make_blobs(n_per: int = 30, dim: int = 24, seed: int = 0):
    """Three well separated blobs, one per topic, with matching texts and labels."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(TOPICS), dim)) * 4
    X, texts, labels = [], [], []
    for j, (topic, words) in enumerate(TOPICS.items()):
        X.append(centres[j] + rng.normal(size=(n_per, dim)))
        for i in range(n_per):
            picked = rng.choice(words, size=3, replace=False)
            texts.append(f"the {picked[0]} and the {picked[1]} with {picked[2]} number {i}")
            labels.append(topic)
    return np.vstack(X).astype(np.float32), texts, labels


@pytest.fixture(scope="session")
def blobs():
    return make_blobs()


@pytest.fixture()
def pca_map(blobs):
    from interpret.maps import EmbeddingMap

    X, texts, labels = blobs
    values = np.linspace(0.0, 1.0, len(texts))
    return EmbeddingMap(method="pca").fit(
        X, texts=texts, labels={"topic": labels}, values={"score": values}
    )


@pytest.fixture(scope="session")
def umap_map(blobs):
    from interpret.maps import EmbeddingMap

    X, texts, labels = blobs
    return EmbeddingMap(method="umap", n_neighbors=8, random_state=0).fit(
        X, texts=texts, labels=labels
    )
