"""Probe evaluation with uncertainty: k-fold or held-out scores, a baseline, bootstrap intervals.

Every sample gets one out-of-fold prediction; the point estimate is the metric on all of them
together and the confidence interval is a percentile bootstrap over samples (over whole groups when
groups are given). For metrics that are functions of the confusion matrix (accuracy, macro F1) the
bootstrap draws the resampled confusion matrix directly from its multinomial distribution, which is
the same bootstrap at a fraction of the cost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sklearn.base import clone

from embedlens.stats import bootstrap_sums, check_bootstrap, percentile_ci
from probes._stats import cluster_codes, confusion_metrics, r2_score
from probes._utils import progress_bar, rng_from, seed_from
from probes._validation import (
    Task,
    check_classification_targets,
    check_cv_classes,
    check_fraction,
    check_in,
    check_matrix,
    check_regression_targets,
)

logger = logging.getLogger(__name__)

Split = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class ProbeResult:
    """How well a probe decodes ``y`` from ``X``, with a baseline and confidence intervals.

    Attributes
    ----------
    task : {"classification", "regression"}
    metric : str
        The primary metric ("accuracy" or "r2").
    score : float
        The primary metric on all out-of-fold (or held-out) predictions.
    ci : tuple of float
        Bootstrap confidence interval of ``score``.
    baseline : float
        The primary metric of the trivial predictor (majority class, or training mean).
    metrics, cis, baseline_metrics : dict
        Every metric, its interval, and its baseline value.
    fold_scores : tuple of float
        The primary metric per fold.
    n_samples : int
        Samples scored.
    n_classes : int or None
    n_splits : int
        Folds (1 for a held-out split).
    confidence : float
    n_bootstrap : int
    predictions : ndarray
        Out-of-fold predictions, aligned with ``test_index``.
    test_index : ndarray
        Row indices of ``X`` that were scored.
    """

    task: Task
    metric: str
    score: float
    ci: tuple[float, float]
    baseline: float
    metrics: Mapping[str, float]
    cis: Mapping[str, tuple[float, float]]
    baseline_metrics: Mapping[str, float]
    fold_scores: tuple[float, ...]
    n_samples: int
    n_classes: int | None
    n_splits: int
    confidence: float
    n_bootstrap: int
    predictions: np.ndarray = field(repr=False, compare=False)
    test_index: np.ndarray = field(repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python summary (JSON-serialisable), without the per-sample predictions."""
        return {
            "task": self.task,
            "metric": self.metric,
            "score": self.score,
            "ci": list(self.ci),
            "baseline": self.baseline,
            "metrics": dict(self.metrics),
            "cis": {k: list(v) for k, v in self.cis.items()},
            "baseline_metrics": dict(self.baseline_metrics),
            "fold_scores": list(self.fold_scores),
            "n_samples": self.n_samples,
            "n_classes": self.n_classes,
            "n_splits": self.n_splits,
            "confidence": self.confidence,
            "n_bootstrap": self.n_bootstrap,
        }

    def figure(self) -> Any:
        """Bars of every metric with its interval, the baseline beside it, and the fold scores.

        Returns
        -------
        plotly.graph_objects.Figure
        """
        import plotly.graph_objects as go

        names = list(self.metrics)
        values = [self.metrics[m] for m in names]
        upper = [self.cis[m][1] - self.metrics[m] for m in names]
        lower = [self.metrics[m] - self.cis[m][0] for m in names]
        fig = go.Figure()
        fig.add_trace(
            go.Bar(
                name="probe",
                x=names,
                y=values,
                error_y={"type": "data", "array": upper, "arrayminus": lower, "visible": True},
            )
        )
        fig.add_trace(
            go.Bar(
                name="baseline",
                x=names,
                y=[self.baseline_metrics[m] for m in names],
                marker={"color": "lightgray"},
            )
        )
        fig.add_trace(
            go.Scatter(
                name="folds",
                x=[self.metric] * len(self.fold_scores),
                y=list(self.fold_scores),
                mode="markers",
                marker={"color": "black", "size": 6},
            )
        )
        lo, hi = self.ci
        fig.update_layout(
            barmode="group",
            title=(
                f"{self.task} probe: {self.metric} {self.score:.3f} "
                f"[{lo:.3f}, {hi:.3f}] vs baseline {self.baseline:.3f} (n={self.n_samples})"
            ),
            yaxis_title="score",
        )
        return fig


def infer_task(y: Any, task: Literal["auto", "classification", "regression"]) -> Task:
    """``"auto"``: float targets mean regression, anything else (str, int, bool) classification."""
    check_in(task, ["auto", "classification", "regression"], "task")
    if task != "auto":
        return task
    kind = np.asarray(y).dtype.kind
    return "regression" if kind in "fc" else "classification"


def default_probe(task: Task) -> Any:
    """``LinearProbe()`` for classification, ``LinearRegressionProbe()`` for regression."""
    if task == "classification":
        from probes.linear import LinearProbe

        return LinearProbe()
    from probes.ridge import LinearRegressionProbe

    return LinearRegressionProbe()


def quiet_probe(probe: Any, task: Task) -> Any:
    """``probe`` (or a standardizing default) with its per-fit progress bar off if it was on auto.

    For loops over many representations (layers, models) that show one bar of their own. The
    default probe standardizes the features, so its regularization means the same on every
    layer and every model, whatever the scale of their vectors (raw hidden states, unit-norm
    sentence embeddings).
    """
    model = default_probe(task).set_params(standardize=True) if probe is None else probe
    params = model.get_params(deep=False) if hasattr(model, "get_params") else {}
    if "progress" in params and params["progress"] is None:
        model = clone(model).set_params(progress=False)
    return model


def make_splits(
    X: np.ndarray,
    y: np.ndarray,
    task: Task,
    *,
    cv: int | Any = 5,
    holdout: float | None = None,
    groups: Any = None,
    random_state: int | np.random.Generator | None = 0,
) -> list[Split]:
    """Train/test index pairs: stratified for classification, grouped when ``groups`` is given."""
    from sklearn.model_selection import (
        GroupKFold,
        GroupShuffleSplit,
        KFold,
        ShuffleSplit,
        StratifiedGroupKFold,
        StratifiedKFold,
        StratifiedShuffleSplit,
    )

    seed = seed_from(random_state)
    n = X.shape[0]
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (n,):
            raise ValueError(
                f"groups must have one entry per row of X ({n}), got shape {groups.shape}."
            )
    codes = None
    if task == "classification":
        _, classes, codes = check_classification_targets(X, y)
    if holdout is not None:
        test_size = check_fraction(holdout, "holdout")
        if codes is not None:
            check_cv_classes(codes, classes, 2)
        if groups is not None:
            splitter: Any = GroupShuffleSplit(1, test_size=test_size, random_state=seed)
        elif codes is not None:
            splitter = StratifiedShuffleSplit(1, test_size=test_size, random_state=seed)
        else:
            splitter = ShuffleSplit(1, test_size=test_size, random_state=seed)
    elif isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
        k = int(cv)
        if k < 2:
            raise ValueError(
                f"cv must be at least 2 folds, got {cv}; use holdout=0.2 for one split."
            )
        if k > n:
            raise ValueError(f"cv={k} folds need at least {k} samples, got {n}. Lower cv.")
        if codes is not None:
            check_cv_classes(codes, classes, k)
            if groups is not None:
                splitter = StratifiedGroupKFold(k, shuffle=True, random_state=seed)
            else:
                splitter = StratifiedKFold(k, shuffle=True, random_state=seed)
        elif groups is not None:
            splitter = GroupKFold(k)
        else:
            splitter = KFold(k, shuffle=True, random_state=seed)
    elif hasattr(cv, "split") and not isinstance(cv, (str, bytes)):
        splitter = cv
    else:
        raise TypeError(
            f"cv must be an int (number of folds) or a scikit-learn splitter with .split(); got "
            f"{cv!r}."
        )
    split_y = codes if codes is not None else y
    return [(np.asarray(tr), np.asarray(te)) for tr, te in splitter.split(X, split_y, groups)]


@dataclass(frozen=True)
class CrossPredictions:
    """Out-of-fold predictions of a probe and of the trivial baseline."""

    predictions: np.ndarray
    baseline: np.ndarray
    test_index: np.ndarray
    fold_scores: tuple[float, ...]


def cross_predict(
    probe: Any,
    X: np.ndarray,
    y: np.ndarray,
    splits: Sequence[Split],
    task: Task,
    *,
    progress: bool | None = None,
    desc: str = "folds",
) -> CrossPredictions:
    """Fit a clone of ``probe`` on each training fold and predict the test fold."""
    preds: list[np.ndarray] = []
    base: list[np.ndarray] = []
    tests: list[np.ndarray] = []
    scores: list[float] = []
    with progress_bar(progress, total=len(splits), desc=desc, unit="fold") as bar:
        for train, test in splits:
            y_train = y[train]
            if task == "classification":
                labels, counts = np.unique(y_train, return_counts=True)
                majority = labels[counts.argmax()]
                baseline = np.full(len(test), majority, dtype=y.dtype)
                if len(labels) < 2:  # e.g. a control task's fold: predict the only class
                    pred = baseline.copy()
                else:
                    pred = np.asarray(clone(probe).fit(X[train], y_train).predict(X[test]))
                scores.append(float(np.mean(pred == y[test])))
            else:
                baseline = np.broadcast_to(y_train.mean(axis=0), y[test].shape).copy()
                pred = np.asarray(clone(probe).fit(X[train], y_train).predict(X[test]))
                scores.append(r2_score(y[test], pred))
            preds.append(pred)
            base.append(baseline)
            tests.append(np.asarray(test))
            bar.update(1)
    return CrossPredictions(
        predictions=np.concatenate(preds),
        baseline=np.concatenate(base),
        test_index=np.concatenate(tests),
        fold_scores=tuple(scores),
    )


def summarize(
    task: Task,
    y: np.ndarray,
    cross: CrossPredictions,
    *,
    n_splits: int,
    n_bootstrap: int,
    confidence: float,
    random_state: int | np.random.Generator | None,
    clusters: Any = None,
) -> ProbeResult:
    """Point estimates, baselines and bootstrap intervals from out-of-fold predictions.

    With ``clusters`` (one id per row of ``X``, e.g. groups or word types) the bootstrap resamples
    whole clusters, which keeps the intervals honest when samples of a cluster are correlated.
    """
    rng = rng_from(random_state)
    y_test = y[cross.test_index]
    n = len(y_test)
    cluster = cluster_codes(clusters, cross.test_index)
    if task == "classification":
        everything = np.concatenate([y_test, cross.predictions, cross.baseline])
        classes, codes = np.unique(everything, return_inverse=True)
        codes = codes.reshape(-1)
        k = len(classes)
        t_codes, p_codes, b_codes = codes[:n], codes[n : 2 * n], codes[2 * n :]
        cells = t_codes * k + p_codes
        cm = np.bincount(cells, minlength=k * k).reshape(k, k)
        cm_base = np.bincount(t_codes * k + b_codes, minlength=k * k).reshape(k, k)
        acc, f1 = confusion_metrics(cm)
        b_acc, b_f1 = confusion_metrics(cm_base)
        names = ["accuracy", "f1_macro"]
        values = [float(acc), float(f1)]
        base_values = [float(b_acc), float(b_f1)]
        draws: np.ndarray
        if n_bootstrap == 0:
            draws = np.zeros((0, k, k))
        elif cluster is None:  # resampling rows = a multinomial draw of the confusion matrix
            draws = rng.multinomial(n, cm.ravel() / n, size=n_bootstrap).reshape(-1, k, k)
        else:
            per = np.bincount(cluster * k * k + cells, minlength=(cluster.max() + 1) * k * k)
            draws = bootstrap_sums(per.reshape(-1, k * k), n_bootstrap, rng).reshape(-1, k, k)
        d_acc, d_f1 = confusion_metrics(draws)
        cis = {
            "accuracy": percentile_ci(d_acc, confidence),
            "f1_macro": percentile_ci(d_f1, confidence),
        }
        n_classes: int | None = len(np.unique(y))
    else:
        pred = cross.predictions
        names = ["r2", "mse"]
        values = [r2_score(y_test, pred), float(np.mean((y_test - pred) ** 2))]
        base_values = [
            r2_score(y_test, cross.baseline),
            float(np.mean((y_test - cross.baseline) ** 2)),
        ]
        if n_bootstrap == 0:
            draws_r = np.zeros((0, 2))
        else:
            y2 = y_test.reshape(n, -1)
            err = (y2 - pred.reshape(n, -1)) ** 2
            stats = np.column_stack([np.ones(n), y2, y2**2, err])
            ids = np.arange(n) if cluster is None else cluster
            per_cluster = np.zeros((int(ids.max()) + 1, stats.shape[1]))
            np.add.at(per_cluster, ids, stats)
            sums = bootstrap_sums(per_cluster, n_bootstrap, rng)
            m = y2.shape[1]
            count, sy, syy, sse = (
                sums[:, :1],
                sums[:, 1 : 1 + m],
                sums[:, 1 + m : 1 + 2 * m],
                sums[:, 1 + 2 * m :],
            )
            sst = syy - sy**2 / count
            ok = sst > 1e-12 * np.maximum(syy, 1e-300)
            r2 = np.where(ok, 1.0 - sse / np.where(ok, sst, 1.0), np.where(sse > 0, 0.0, 1.0))
            draws_r = np.column_stack([r2.mean(axis=1), sse.sum(axis=1) / (count[:, 0] * m)])
        cis = {name: percentile_ci(draws_r[:, i], confidence) for i, name in enumerate(names)}
        n_classes = None
    return ProbeResult(
        task=task,
        metric=names[0],
        score=values[0],
        ci=cis[names[0]],
        baseline=base_values[0],
        metrics=dict(zip(names, values, strict=True)),
        cis=cis,
        baseline_metrics=dict(zip(names, base_values, strict=True)),
        fold_scores=cross.fold_scores,
        n_samples=n,
        n_classes=n_classes,
        n_splits=n_splits,
        confidence=confidence,
        n_bootstrap=n_bootstrap,
        predictions=cross.predictions,
        test_index=cross.test_index,
    )


def prepare_targets(X: np.ndarray, y: Any, task: Task) -> np.ndarray:
    """Validated targets: a 1-D label array for classification, floats for regression."""
    if task == "classification":
        labels, _, _ = check_classification_targets(X, y)
        return labels
    return check_regression_targets(X, y)


def evaluate_probe(
    X: Any,
    y: Any,
    probe: Any = None,
    *,
    task: Literal["auto", "classification", "regression"] = "auto",
    cv: int | Any = 5,
    holdout: float | None = None,
    groups: Iterable[Any] | None = None,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = 0,
    progress: bool | None = None,
) -> ProbeResult:
    """Evaluate a probe with k-fold (or held-out) predictions, a baseline and bootstrap CIs.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Embeddings.
    y : array-like of shape (n_samples,)
        Class labels (str, int, bool) or float targets.
    probe : estimator, optional
        Any scikit-learn estimator; cloned per fold. Defaults to ``LinearProbe()`` for
        classification and ``LinearRegressionProbe()`` for regression.
    task : {"auto", "classification", "regression"}, default="auto"
        ``"auto"`` treats float targets as regression and anything else as labels.
    cv : int or splitter, default=5
        Number of folds (stratified for classification), or a scikit-learn splitter.
    holdout : float, optional
        Evaluate on one held-out split of this fraction instead of k folds.
    groups : array-like, optional
        Group ids; samples of one group never straddle train and test, and the bootstrap
        resamples whole groups.
    n_bootstrap : int, default=1000
        Bootstrap resamples for the intervals (0: no intervals).
    confidence : float, default=0.95
        Interval coverage.
    random_state : int, Generator or None, default=0
        Seeds the splits and the bootstrap.
    progress : bool or None, default=None
        Progress bar over folds; ``None`` shows it only in interactive sessions.

    Returns
    -------
    ProbeResult
        Accuracy and macro F1 (classification) or R² and MSE (regression), each with an interval,
        the majority-class (or mean) baseline, and the fold scores; ``.figure()`` draws them.

    Examples
    --------
    >>> import numpy as np
    >>> from probes import evaluate_probe
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 16))
    >>> y = np.where(X[:, 0] + 0.5 * rng.normal(size=300) > 0, "yes", "no")
    >>> result = evaluate_probe(X, y, cv=5, n_bootstrap=200)
    >>> result.score > result.baseline
    True
    >>> result.ci[0] <= result.score <= result.ci[1]
    True
    """
    X = check_matrix(X)
    kind = infer_task(y, task)
    targets = prepare_targets(X, y, kind)
    n_boot, conf = check_bootstrap(n_bootstrap, confidence, name="n_bootstrap")
    splits = make_splits(
        X, targets, kind, cv=cv, holdout=holdout, groups=groups, random_state=random_state
    )
    model = default_probe(kind) if probe is None else probe
    cross = cross_predict(model, X, targets, splits, kind, progress=progress)
    return summarize(
        kind,
        targets,
        cross,
        n_splits=len(splits),
        n_bootstrap=n_boot,
        confidence=conf,
        random_state=random_state,
        clusters=groups,
    )
