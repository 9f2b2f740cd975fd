"""Small synthetic data sets for the probes tests (seconds on two CPU cores)."""

from __future__ import annotations

import numpy as np
import pytest


def gaussian_classes(
    n: int, d: int, k: int, *, separation: float = 1.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``k`` Gaussian classes in ``d`` dimensions with an offset mean (like real embeddings)."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(k, d)) * separation
    y = rng.integers(0, k, size=n)
    X = 0.5 + means[y] + rng.normal(size=(n, d))
    return X.astype(np.float32), y


@pytest.fixture
def three_classes() -> tuple[np.ndarray, np.ndarray]:
    """600 x 12 float32, three string classes, about 85 % linearly decodable."""
    X, y = gaussian_classes(600, 12, 3, separation=0.6, seed=1)
    return X, np.array(["cat", "dog", "eel"])[y]


@pytest.fixture
def two_classes() -> tuple[np.ndarray, np.ndarray]:
    """400 x 10 float32, integer labels 0/1."""
    return gaussian_classes(400, 10, 2, separation=0.5, seed=2)


@pytest.fixture
def make_classes():  # type: ignore[no-untyped-def]
    """The generator itself, for tests that need their own sizes."""
    return gaussian_classes
