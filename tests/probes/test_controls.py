"""Control tasks (Hewitt & Liang 2019) and selectivity."""

from __future__ import annotations

import json

import numpy as np
import pytest

from probes import SelectivityResult, control_labels, control_task


@pytest.fixture
def word_task() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """800 tokens of 60 word types; the label (even/odd type) is encoded along one axis, and
    every type also has its own small signature the probe could memorise."""
    rng = np.random.default_rng(0)
    words = rng.integers(0, 60, size=800)
    y = np.where(words % 2 == 0, "even", "odd")
    signature = rng.normal(size=(60, 12)) * 0.3
    X = signature[words] + rng.normal(size=(800, 12))
    X[:, 0] += 2.0 * (y == "odd")
    return X, y, words


def test_control_labels_are_constant_per_type_and_follow_label_frequencies() -> None:
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 3000, size=20_000)
    y = rng.choice(["a", "b", "c"], p=[0.6, 0.3, 0.1], size=20_000)
    ctrl = control_labels(keys, y, random_state=1)
    assert ctrl.dtype == y.dtype and len(ctrl) == len(y)
    for key in np.unique(keys)[:200]:
        assert len(set(ctrl[keys == key])) == 1
    per_type = {k: c for k, c in zip(keys.tolist(), ctrl.tolist(), strict=True)}
    share = np.mean([per_type[k] == "a" for k in per_type])
    assert share == pytest.approx(0.6, abs=0.03)
    again = control_labels(keys, y, random_state=1)
    np.testing.assert_array_equal(ctrl, again)


def test_control_labels_accept_any_hashable_keys() -> None:
    keys = ["the", ("a", 1), 3, "the", 3]
    ctrl = control_labels(keys, [0, 1, 0, 1, 1], random_state=0)
    assert ctrl[0] == ctrl[3] and ctrl[2] == ctrl[4]


def test_selectivity_is_positive_for_a_real_task(word_task) -> None:
    X, y, words = word_task
    result = control_task(X, y, words, n_bootstrap=500)
    assert isinstance(result, SelectivityResult)
    assert result.n_types == 60
    assert result.task.score > 0.8
    assert result.control.score < result.task.score
    assert result.selectivity == pytest.approx(result.task.score - result.control.score)
    assert result.selectivity > 0.1
    lo, hi = result.ci
    assert lo <= result.selectivity <= hi and lo > 0
    # Task and control are scored on the same folds.
    np.testing.assert_array_equal(result.task.test_index, result.control.test_index)


def test_selectivity_near_zero_when_the_task_is_itself_type_random() -> None:
    # Labels that are a random function of the type, with no signal in X: nothing to select.
    rng = np.random.default_rng(3)
    words = rng.integers(0, 50, size=600)
    y = rng.integers(0, 2, size=50)[words]
    X = rng.normal(size=(600, 8))
    result = control_task(X, y, words, n_bootstrap=300, random_state=1)
    assert abs(result.selectivity) < 0.1
    assert result.ci[0] < 0.0 < result.ci[1] or abs(result.selectivity) < 0.05


def test_figure_and_dict(word_task) -> None:
    X, y, words = word_task
    result = control_task(X[:300], y[:300], words[:300], n_bootstrap=100)
    fig = result.figure()
    bars = fig.data[0]
    assert list(bars.x) == ["task", "control"]
    assert list(bars.y) == pytest.approx([result.task.score, result.control.score])
    assert "selectivity" in fig.layout.title.text
    assert json.loads(json.dumps(result.to_dict()))["n_types"] == result.n_types


def test_bad_input(word_task) -> None:
    X, y, words = word_task
    with pytest.raises(ValueError, match=r"X and keys have different lengths"):
        control_task(X, y, words[:-1])
    with pytest.raises(ValueError, match=r"keys and y have different lengths"):
        control_labels(words[:-1], y)
    with pytest.raises(TypeError, match=r"keys must be hashable"):
        control_labels([[1], [2]], [0, 1])
    with pytest.raises(ValueError, match=r"single class"):
        control_task(X, np.zeros(len(y)), words)
