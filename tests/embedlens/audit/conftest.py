"""Fixtures of the audit tests: a hashed bag-of-words toy embedder and corpus joining."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from embedlens.corpus import Corpus


def hash_bow(texts, dim=512):
    """Each word hashed to a coordinate: distinct word multisets give distinct vectors."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, t in enumerate(texts):
        for w in t.lower().split():
            out[i, zlib.crc32(w.encode()) % dim] += 1.0
    return out


def join(a: Corpus, b: Corpus) -> Corpus:
    return Corpus(
        "victims+others",
        [*a.texts, *b.texts],
        [*(a.fields or []), *(b.fields or [])],
        {k: [*a.labels[k], *b.labels[k]] for k in a.labels},
    )


@pytest.fixture(scope="session")
def toy():
    from embedlens.embedders import FunctionEmbedder

    return FunctionEmbedder(hash_bow, name="hash-bow", fingerprint="hash-bow-512")


@pytest.fixture(scope="session")
def join_corpora():
    return join
