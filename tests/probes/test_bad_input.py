"""Every entry point rejects bad input with a message that says what came and what to do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn.exceptions import DataConversionWarning

from probes import (
    INLP,
    LEACE,
    LinearProbe,
    LinearRegressionProbe,
    concept_direction,
    control_task,
    evaluate_probe,
    mdl_probe,
)

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 4))
Y = np.array(["a", "b"] * 20)
KEYS = np.arange(40) % 7

ENTRY_POINTS: dict[str, Callable[[Any, Any], Any]] = {
    "LinearProbe.fit": lambda X, y: LinearProbe().fit(X, y),
    "evaluate_probe": lambda X, y: evaluate_probe(X, y, n_bootstrap=10),
    "control_task": lambda X, y: control_task(X, y, KEYS[: len(y)], n_bootstrap=10),
    "mdl_probe": lambda X, y: mdl_probe(X, y, blocks=(0.25, 0.5, 1.0)),
    "concept_direction": lambda X, y: concept_direction(X, y),
    "LEACE.fit": lambda X, y: LEACE().fit(X, y),
    "INLP.fit": lambda X, y: INLP().fit(X, y),
}


@pytest.fixture(params=sorted(ENTRY_POINTS))
def entry(request) -> Callable[[Any, Any], Any]:
    return ENTRY_POINTS[request.param]


def test_length_mismatch(entry) -> None:
    with pytest.raises(ValueError, match=r"different lengths: X has 40 rows, y has 39"):
        entry(X, Y[:39])


def test_single_class(entry) -> None:
    with pytest.raises(ValueError, match=r"single class \('a'\).*at least two classes"):
        entry(X, np.array(["a"] * 40))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_X(entry, bad: float) -> None:
    Xb = X.copy()
    Xb[[3, 17], 1] = bad
    with pytest.raises(ValueError, match=r"NaN or infinite values in 2 row\(s\) \(rows 3, 17\)"):
        entry(Xb, Y)


def test_one_dimensional_X(entry) -> None:
    with pytest.raises(ValueError, match=r"must be 2-D.*reshape\(-1, 1\)"):
        entry(X[:, 0], Y)


def test_texts_instead_of_embeddings(entry) -> None:
    with pytest.raises(TypeError, match=r"Embed the texts first"):
        entry(["a sentence"] * 40, Y)


def test_string_labels_work(entry) -> None:
    entry(X, Y)  # no exception: string labels are mapped through classes_


def test_mixed_label_types() -> None:
    with pytest.raises(TypeError, match=r"mixes label types"):
        LinearProbe().fit(X[:4], np.array([1, "a", 2, "b"], dtype=object))


def test_ragged_and_empty_X() -> None:
    with pytest.raises(ValueError, match=r"rectangular"):
        LinearProbe().fit([[1.0, 2.0], [3.0]], [0, 1])
    with pytest.raises(ValueError, match=r"0 row"):
        LinearProbe().fit(np.zeros((0, 3)), [])
    with pytest.raises(ValueError, match=r"must be 2-D.*3-D"):
        LinearProbe().fit(np.zeros((4, 2, 2)), [0, 1, 0, 1])


def test_continuous_targets_to_a_classifier() -> None:
    with pytest.raises(ValueError, match=r"Unknown label type: continuous.*LinearRegressionProbe"):
        LinearProbe().fit(X, X[:, 0])


def test_sparse_and_complex_X() -> None:
    from scipy import sparse

    with pytest.raises(TypeError, match=r"Sparse data.*toarray"):
        LinearProbe().fit(sparse.csr_matrix(X), Y)
    with pytest.raises(ValueError, match=r"Complex data not supported"):
        LinearProbe().fit(X + 1j, Y)


def test_y_none() -> None:
    with pytest.raises(ValueError, match=r"requires y to be passed, but the target y is None"):
        LinearProbe().fit(X, None)


def test_string_targets_to_regression_probe() -> None:
    with pytest.raises(TypeError, match=r"numeric targets"):
        LinearRegressionProbe().fit(X, Y)
    with pytest.raises(TypeError, match=r"numeric targets"):
        evaluate_probe(X, Y, task="regression")


def test_two_dimensional_labels() -> None:
    with pytest.raises(ValueError, match=r"1-D array of class labels"):
        LinearProbe().fit(X, np.zeros((40, 2)))
    with pytest.warns(DataConversionWarning, match=r"column-vector y"):
        LinearProbe().fit(X, (np.arange(40) % 2)[:, None])  # flattened, as scikit-learn does


def test_bad_sample_weight() -> None:
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(40,\)"):
        LinearProbe().fit(X, Y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match=r"non-negative"):
        LinearProbe().fit(X, Y, sample_weight=-np.ones(40))
