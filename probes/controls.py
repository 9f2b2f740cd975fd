"""Control tasks and selectivity (Hewitt & Liang, 2019).

A control task gives every *type* (a word, a text, a group id: whatever ``keys`` holds) one random
label, drawn from the empirical label distribution of the real task, and labels every sample of
that type with it. A probe can only solve the control task by memorising types, so the gap
between task and control accuracy (selectivity) says how much of the task accuracy comes from the
representation rather than from the probe's own capacity.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from embedlens.stats import bootstrap_sums, check_bootstrap, percentile_ci
from probes._utils import rng_from
from probes._validation import check_lengths, check_matrix
from probes.evaluate import (
    CrossPredictions,
    ProbeResult,
    cross_predict,
    default_probe,
    make_splits,
    prepare_targets,
    summarize,
)


def factorize(keys: Sequence[Any]) -> np.ndarray:
    """Integer id per sample, equal ids for equal keys (in order of first appearance)."""
    index: dict[Any, int] = {}
    try:
        return np.fromiter((index.setdefault(k, len(index)) for k in keys), np.int64, len(keys))
    except TypeError:
        raise TypeError(
            "keys must be hashable (str, int, tuple, ...): one type id per sample."
        ) from None


def control_labels(
    keys: Iterable[Any],
    y: Any,
    *,
    random_state: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Random labels per type, drawn from the empirical label distribution of ``y``.

    Parameters
    ----------
    keys : iterable of hashable, length n_samples
        The type of each sample (e.g. the word); samples with the same key get the same label.
    y : array-like of shape (n_samples,)
        The real task's labels; their frequencies give the sampling distribution.
    random_state : int, Generator or None
        Seed.

    Returns
    -------
    ndarray of shape (n_samples,)
        Control labels, with the dtype of ``y``.

    Examples
    --------
    >>> from probes import control_labels
    >>> words = ["the", "cat", "the", "dog", "cat"]
    >>> tags = ["DET", "NOUN", "DET", "NOUN", "NOUN"]
    >>> ctrl = control_labels(words, tags, random_state=0)
    >>> bool(ctrl[0] == ctrl[2] and ctrl[1] == ctrl[4])
    True
    """
    labels = np.asarray(y)
    key_list = list(keys)
    if len(key_list) != len(labels):
        raise ValueError(
            f"keys and y have different lengths: {len(key_list)} keys, {len(labels)} labels. "
            f"Pass one key (type) per sample."
        )
    if len(labels) == 0:
        raise ValueError("y is empty: pass at least one labelled sample.")
    type_ids = factorize(key_list)
    n_types = int(type_ids.max()) + 1
    values, counts = np.unique(labels, return_counts=True)
    rng = rng_from(random_state)
    drawn = rng.choice(len(values), size=n_types, p=counts / counts.sum())
    return values[drawn][type_ids]


@dataclass(frozen=True)
class SelectivityResult:
    """Task accuracy, control accuracy, and their difference (selectivity).

    Attributes
    ----------
    task, control : ProbeResult
        The probe on the real labels and on the control labels (same folds).
    selectivity : float
        ``task.score - control.score`` (accuracy points as a fraction).
    ci : tuple of float
        Paired bootstrap interval of the selectivity.
    n_types : int
        Distinct keys.
    """

    task: ProbeResult
    control: ProbeResult
    selectivity: float
    ci: tuple[float, float]
    n_types: int

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python summary (JSON-serialisable)."""
        return {
            "task": self.task.to_dict(),
            "control": self.control.to_dict(),
            "selectivity": self.selectivity,
            "ci": list(self.ci),
            "n_types": self.n_types,
        }

    def figure(self) -> Any:
        """Task, control and baseline accuracy as bars with intervals; selectivity in the title.

        Returns
        -------
        plotly.graph_objects.Figure
        """
        import plotly.graph_objects as go

        names = ["task", "control"]
        results = [self.task, self.control]
        fig = go.Figure()
        fig.add_trace(
            go.Bar(
                name="probe accuracy",
                x=names,
                y=[r.score for r in results],
                error_y={
                    "type": "data",
                    "array": [r.ci[1] - r.score for r in results],
                    "arrayminus": [r.score - r.ci[0] for r in results],
                    "visible": True,
                },
            )
        )
        fig.add_trace(
            go.Bar(
                name="majority baseline",
                x=names,
                y=[r.baseline for r in results],
                marker={"color": "lightgray"},
            )
        )
        lo, hi = self.ci
        fig.update_layout(
            barmode="group",
            title=f"selectivity {self.selectivity:.3f} [{lo:.3f}, {hi:.3f}] ({self.n_types} types)",
            yaxis_title="accuracy",
        )
        return fig


def control_task(
    X: Any,
    y: Any,
    keys: Iterable[Any],
    probe: Any = None,
    *,
    cv: int | Any = 5,
    holdout: float | None = None,
    groups: Iterable[Any] | None = None,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = 0,
    progress: bool | None = None,
) -> SelectivityResult:
    """Fit the same probe on the task and on a type-keyed control task; report selectivity.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Embeddings.
    y : array-like of shape (n_samples,)
        Class labels of the real task.
    keys : iterable of hashable, length n_samples
        Type of each sample; the control task gives each type one random label.
    probe : estimator, optional
        Cloned for every fit; defaults to ``LinearProbe()``.
    cv, holdout, groups, n_bootstrap, confidence, random_state, progress
        As in :func:`probes.evaluate_probe`; task and control use the same folds. The bootstrap
        resamples whole types (or whole groups, when given): samples of one type share a control
        label, so resampling samples would understate the uncertainty.

    Returns
    -------
    SelectivityResult

    Examples
    --------
    >>> import numpy as np
    >>> from probes import control_task
    >>> rng = np.random.default_rng(0)
    >>> words = rng.integers(0, 40, size=400)          # 40 word types
    >>> y = (words % 2).astype(str)                    # the property to probe
    >>> X = rng.normal(size=(400, 8))
    >>> X[:, 0] += 2.0 * (y == "1")                   # encoded along one axis
    >>> res = control_task(X, y, keys=words, n_bootstrap=200)
    >>> res.selectivity > 0.2
    True
    """
    X = check_matrix(X)
    labels = prepare_targets(X, y, "classification")
    key_list = list(keys)
    check_lengths(X, key_list, y_name="keys")
    n_boot, conf = check_bootstrap(n_bootstrap, confidence, name="n_bootstrap")
    rng = rng_from(random_state)
    control = control_labels(key_list, labels, random_state=rng)
    splits = make_splits(
        X,
        labels,
        "classification",
        cv=cv,
        holdout=holdout,
        groups=groups,
        random_state=random_state,
    )
    model = default_probe("classification") if probe is None else probe
    task_pred = cross_predict(
        model, X, labels, splits, "classification", progress=progress, desc="task"
    )
    ctrl_pred = cross_predict(
        model, X, control, splits, "classification", progress=progress, desc="control"
    )
    # Samples of one type share a control label, so intervals resample whole types (or groups).
    type_ids = factorize(key_list)
    clusters = type_ids if groups is None else np.asarray(groups)

    def summary(targets: np.ndarray, cross: CrossPredictions) -> ProbeResult:
        return summarize(
            "classification",
            targets,
            cross,
            n_splits=len(splits),
            n_bootstrap=n_boot,
            confidence=conf,
            random_state=rng,
            clusters=clusters,
        )

    task_result = summary(labels, task_pred)
    ctrl_result = summary(control, ctrl_pred)

    # Paired cluster bootstrap of the difference: per cluster, (samples, task hits, control hits).
    index = task_pred.test_index
    task_ok = (task_pred.predictions == labels[index]).astype(np.float64)
    ctrl_ok = (ctrl_pred.predictions == control[index]).astype(np.float64)
    ids = np.unique(np.asarray(clusters)[index], return_inverse=True)[1].reshape(-1)
    per = np.zeros((int(ids.max()) + 1, 3))
    np.add.at(per, ids, np.column_stack([np.ones(len(ids)), task_ok, ctrl_ok]))
    if n_boot:
        sums = bootstrap_sums(per, n_boot, rng)
        diffs = (sums[:, 1] - sums[:, 2]) / sums[:, 0]
    else:
        diffs = np.zeros(0)
    return SelectivityResult(
        task=task_result,
        control=ctrl_result,
        selectivity=task_result.score - ctrl_result.score,
        ci=percentile_ci(diffs, conf),
        n_types=len(set(key_list)),
    )
