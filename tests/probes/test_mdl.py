"""MDL online code (Voita & Titov 2020)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from probes import LinearProbe, MDLResult, mdl_probe
from probes.mdl import block_ends


@pytest.fixture
def learnable(make_classes) -> tuple[np.ndarray, np.ndarray]:
    return make_classes(1500, 16, 4, separation=0.5, seed=11)


def test_learnable_labels_compress(learnable) -> None:
    X, y = learnable
    result = mdl_probe(X, y)
    assert isinstance(result, MDLResult)
    assert result.uniform_codelength == pytest.approx(len(y) * 2.0)  # log2(4) bits each
    assert result.codelength < 0.8 * result.uniform_codelength
    assert result.compression == pytest.approx(result.uniform_codelength / result.codelength)
    assert result.compression > 1.3
    assert sum(result.block_codelengths) == pytest.approx(result.codelength)
    assert result.block_ends[-1] == len(y)
    # The first block goes uniformly.
    assert result.block_codelengths[0] == pytest.approx(result.block_ends[0] * 2.0)
    # Later blocks cost fewer bits per label than the uniform code.
    assert result.bits_per_sample[-1] < 1.5


def test_random_labels_are_about_uniform(learnable) -> None:
    X, _ = learnable
    noise = np.random.default_rng(0).integers(0, 4, size=len(X))
    result = mdl_probe(X, noise)
    assert 0.9 < result.compression < 1.02


def test_mixture_is_within_log2_m_bits_of_the_best_candidate(learnable) -> None:
    X, y = learnable
    candidates = [LinearProbe(C=c) for c in (0.001, 0.1, 100.0)]
    result = mdl_probe(X, y, candidates, blocks=(0.05, 0.1, 0.2, 0.4, 1.0))
    best = min(result.candidate_codelengths)
    assert best - 1e-6 <= result.codelength + math.log2(3)  # never much better than the best
    assert result.codelength <= best + math.log2(3) + 1e-6
    assert result.candidates == tuple(repr(c) for c in candidates)
    # A single candidate is coded on its own, with no mixture overhead.
    alone = mdl_probe(X, y, LinearProbe(C=0.1), blocks=(0.05, 0.1, 0.2, 0.4, 1.0))
    assert alone.codelength == pytest.approx(result.candidate_codelengths[1])


def test_block_schedule_as_fractions_or_sizes() -> None:
    assert block_ends((0.1, 0.5, 1.0), 200) == (20, 100, 200)
    assert block_ends((10, 50, 200), 200) == (10, 50, 200)
    assert block_ends((0.001, 0.002, 0.5, 1.0), 100) == (1, 50, 100)  # tiny data: deduplicated
    with pytest.raises(ValueError, match=r"ending at 1.0"):
        block_ends((0.1, 0.5), 100)
    with pytest.raises(ValueError, match=r"strictly increasing"):
        block_ends((0.5, 0.1, 1.0), 100)
    with pytest.raises(ValueError, match=r"end at the number of samples"):
        block_ends((10, 50), 100)
    with pytest.raises(ValueError, match=r"at least two"):
        block_ends((1.0,), 100)


def test_deterministic_and_figure(learnable) -> None:
    X, y = learnable
    a = mdl_probe(X[:400], y[:400], LinearProbe(), blocks=(0.1, 0.5, 1.0), random_state=3)
    b = mdl_probe(X[:400], y[:400], LinearProbe(), blocks=(0.1, 0.5, 1.0), random_state=3)
    assert a == b
    fig = a.figure()
    online, uniform = fig.data
    assert list(online.x) == list(a.block_ends)
    assert list(online.y) == pytest.approx(list(a.bits_per_sample))
    assert list(uniform.y) == pytest.approx([2.0, 2.0])
    assert json.loads(json.dumps(a.to_dict()))["n_classes"] == 4


def test_first_prefix_with_one_class_uses_counts() -> None:
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = np.array([0] * 20 + [1] * 20)
    result = mdl_probe(X, y, LinearProbe(), blocks=(1, 10, 40), random_state=None)
    assert math.isfinite(result.codelength)
    # After one label, the next nine go with add-one counts: 2/3 or 1/3 each.
    assert 9 * math.log2(1.5) - 0.1 < result.block_codelengths[1] < 9 * math.log2(3) + 0.1


def test_bad_input(learnable) -> None:
    X, y = learnable
    with pytest.raises(ValueError, match=r"smoothing must be in"):
        mdl_probe(X, y, smoothing=1.0)
    with pytest.raises(ValueError, match=r"X and y have different lengths"):
        mdl_probe(X, y[:-1])
    with pytest.raises(ValueError, match=r"empty list"):
        mdl_probe(X, y, [])
