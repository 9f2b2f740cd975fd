"""evaluate_probe and ProbeResult: scores, baselines, intervals, figures."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, r2_score
from sklearn.model_selection import KFold

from probes import LinearProbe, ProbeResult, evaluate_probe
from probes._stats import confusion_metrics


def test_classification_scores_match_sklearn_metrics(three_classes) -> None:
    X, y = three_classes
    result = evaluate_probe(X, y, n_bootstrap=200)
    truth = y[result.test_index]
    assert sorted(result.test_index.tolist()) == list(range(len(y)))  # every sample scored once
    assert result.score == pytest.approx(accuracy_score(truth, result.predictions))
    assert result.metrics["f1_macro"] == pytest.approx(
        f1_score(truth, result.predictions, average="macro")
    )
    assert result.metric == "accuracy" and result.task == "classification"
    assert result.n_classes == 3 and result.n_splits == 5 and result.n_samples == len(y)
    assert len(result.fold_scores) == 5
    assert np.mean(result.fold_scores) == pytest.approx(result.score, abs=0.02)
    assert 0.7 < result.score < 1.0


def test_baseline_is_majority_class(three_classes) -> None:
    X, y = three_classes
    result = evaluate_probe(X, y, n_bootstrap=0)
    # Predicting the training fold's majority class everywhere.
    _, counts = np.unique(y, return_counts=True)
    assert result.baseline == pytest.approx(counts.max() / len(y), abs=0.01)
    dummy = evaluate_probe(X, y, DummyClassifier(strategy="most_frequent"), n_bootstrap=0)
    assert dummy.score == pytest.approx(result.baseline)
    assert result.score > result.baseline + 0.3


def test_bootstrap_interval_contains_point_estimate_and_shrinks(make_classes) -> None:
    X, y = make_classes(2000, 6, 2, separation=0.3, seed=4)
    small = evaluate_probe(X[:300], y[:300], n_bootstrap=500, random_state=0)
    large = evaluate_probe(X, y, n_bootstrap=500, random_state=0)
    for result in (small, large):
        for name, (lo, hi) in result.cis.items():
            assert lo <= result.metrics[name] <= hi
            assert hi - lo > 0
    width = lambda r: r.ci[1] - r.ci[0]  # noqa: E731
    assert width(large) < width(small)
    # A 95 % interval of a proportion is about +-1.96 * sqrt(p(1-p)/n).
    p, n = large.score, large.n_samples
    assert width(large) == pytest.approx(2 * 1.96 * np.sqrt(p * (1 - p) / n), rel=0.25)


def test_confusion_metrics_match_sklearn_on_random_tables() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        t = rng.integers(0, 4, size=50)
        p = rng.integers(0, 3, size=50)  # some class never predicted
        cm = np.bincount(t * 4 + p, minlength=16).reshape(4, 4)
        acc, f1 = confusion_metrics(cm)
        assert acc == pytest.approx(accuracy_score(t, p))
        assert f1 == pytest.approx(f1_score(t, p, average="macro", zero_division=0))


def test_regression_task_is_inferred_from_float_targets() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    y = X @ np.array([1.0, -2.0, 0.0, 0.5, 0.0]) + 0.5 * rng.normal(size=300)
    result = evaluate_probe(X, y, n_bootstrap=200)
    assert result.task == "regression" and result.metric == "r2" and result.n_classes is None
    assert result.score == pytest.approx(r2_score(y[result.test_index], result.predictions))
    assert result.ci[0] <= result.score <= result.ci[1]
    assert result.score > 0.9
    assert abs(result.baseline) < 0.05  # the training mean explains nothing
    assert set(result.metrics) == {"r2", "mse"}


def test_integer_targets_can_be_forced_to_regression() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = np.round(3 * X[:, 0]).astype(int)
    assert evaluate_probe(X, y, task="regression", n_bootstrap=0).task == "regression"
    flags = (X[:, 0] > 0).astype(float)  # 0.0 / 1.0 read as labels when asked
    assert evaluate_probe(X, flags, task="classification", n_bootstrap=0).n_classes == 2


def test_holdout_and_splitter_objects(three_classes) -> None:
    X, y = three_classes
    held = evaluate_probe(X, y, holdout=0.25, n_bootstrap=100)
    assert held.n_splits == 1 and held.n_samples == 150
    kfold = evaluate_probe(X, y, cv=KFold(3, shuffle=True, random_state=0), n_bootstrap=0)
    assert kfold.n_splits == 3 and kfold.n_samples == len(y)


def test_groups_never_straddle_train_and_test(three_classes) -> None:
    X, y = three_classes
    groups = np.arange(len(y)) // 10
    result = evaluate_probe(X, y, groups=groups, n_bootstrap=0)
    assert result.n_samples == len(y)
    from probes.evaluate import make_splits

    for train, test in make_splits(X, y, "classification", groups=groups):
        assert not set(groups[train]) & set(groups[test])


def test_any_sklearn_classifier_and_determinism(three_classes) -> None:
    X, y = three_classes
    a = evaluate_probe(X, y, LogisticRegression(max_iter=500), random_state=7)
    b = evaluate_probe(X, y, LogisticRegression(max_iter=500), random_state=7)
    assert a == b  # frozen dataclass equality over every summary field
    np.testing.assert_array_equal(a.predictions, b.predictions)
    c = evaluate_probe(X, y, LinearProbe(), random_state=7)
    assert c.score == pytest.approx(a.score, abs=0.02)


def test_no_bootstrap_gives_nan_intervals(three_classes) -> None:
    X, y = three_classes
    result = evaluate_probe(X, y, n_bootstrap=0)
    assert np.isnan(result.ci[0]) and np.isnan(result.ci[1])


def test_figure_and_dict(three_classes) -> None:
    X, y = three_classes
    result = evaluate_probe(X, y, n_bootstrap=100)
    fig = result.figure()
    probe_bar, base_bar, folds = fig.data
    assert list(probe_bar.x) == ["accuracy", "f1_macro"]
    assert probe_bar.y[0] == pytest.approx(result.score)
    assert probe_bar.error_y.array[0] == pytest.approx(result.ci[1] - result.score)
    assert probe_bar.error_y.arrayminus[0] == pytest.approx(result.score - result.ci[0])
    assert base_bar.y[0] == pytest.approx(result.baseline)
    assert list(folds.y) == pytest.approx(list(result.fold_scores))
    assert "accuracy" in fig.layout.title.text
    as_json = json.loads(json.dumps(result.to_dict()))
    assert as_json["score"] == pytest.approx(result.score)
    assert isinstance(result, ProbeResult)


# ---------------------------------------------------------------------------- bad input


def test_class_with_one_sample_in_kfold(three_classes) -> None:
    X, y = three_classes
    y = y.copy()
    y[0] = "yak"
    with pytest.raises(ValueError, match=r"class 'yak' has only 1 sample.*5-fold"):
        evaluate_probe(X, y)


def test_bad_options(three_classes) -> None:
    X, y = three_classes
    with pytest.raises(ValueError, match=r"cv must be at least 2"):
        evaluate_probe(X, y, cv=1)
    with pytest.raises(TypeError, match=r"cv must be an int"):
        evaluate_probe(X, y, cv="five")
    with pytest.raises(ValueError, match=r"holdout must be strictly between 0 and 1"):
        evaluate_probe(X, y, holdout=1.0)
    with pytest.raises(ValueError, match=r"task must be one of"):
        evaluate_probe(X, y, task="ranking")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"confidence must be strictly between 0 and 1"):
        evaluate_probe(X, y, confidence=95)
    with pytest.raises(ValueError, match=r"groups must have one entry per row"):
        evaluate_probe(X, y, groups=[1, 2, 3])
