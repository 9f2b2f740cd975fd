"""Layer sweeps: one probe per hidden layer, with baselines, control tasks and selectivity.

Pooled hidden states of every layer come from one forward pass per batch
(``TransformersEmbedder.embed_layers``); precomputed states of shape (n_layers, n_samples, dim)
work too, so a sweep needs no model. Every layer is evaluated on the same folds, with the same
control labels, so the curves differ only by the representation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from probes._utils import progress_bar, seed_from
from probes._validation import check_lengths
from probes.controls import SelectivityResult, control_task
from probes.evaluate import ProbeResult, evaluate_probe, infer_task, quiet_probe

logger = logging.getLogger(__name__)

Interval = tuple[float, float]


@dataclass(frozen=True)
class LayerSweepResult:
    """Probe scores by layer, with intervals, baselines and (with ``keys``) selectivity.

    Attributes
    ----------
    layers : tuple of int
        Layer numbers (0 = token embeddings for a transformers model).
    metric : str
        The score's metric ("accuracy" for labels, "r2" for float targets).
    scores, cis, baselines : tuple
        Per layer: the probe's score, its bootstrap interval and the trivial baseline.
    control_scores, control_cis, selectivities, selectivity_cis : tuple or None
        Per layer, with ``keys``: control-task accuracy, its interval, task minus control accuracy
        and the paired interval of that difference. ``None`` without keys.
    n_samples : int
    n_splits : int
    results : tuple
        The full :class:`~probes.ProbeResult` (or :class:`~probes.SelectivityResult`) per layer.
    """

    layers: tuple[int, ...]
    metric: str
    scores: tuple[float, ...]
    cis: tuple[Interval, ...]
    baselines: tuple[float, ...]
    control_scores: tuple[float, ...] | None
    control_cis: tuple[Interval, ...] | None
    selectivities: tuple[float, ...] | None
    selectivity_cis: tuple[Interval, ...] | None
    n_samples: int
    n_splits: int
    results: tuple[ProbeResult | SelectivityResult, ...] = field(repr=False, compare=False)

    @property
    def best_layer(self) -> int:
        """The layer with the highest score (the first one on ties)."""
        return self.layers[int(np.argmax(self.scores))]

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python summary (JSON-serialisable): one record per layer."""

        def pair(ci: Interval) -> list[float]:
            return [float(ci[0]), float(ci[1])]

        rows = []
        for i, layer in enumerate(self.layers):
            row: dict[str, Any] = {
                "layer": layer,
                "score": self.scores[i],
                "ci": pair(self.cis[i]),
                "baseline": self.baselines[i],
            }
            if self.control_scores is not None:
                row["control_score"] = self.control_scores[i]
                row["control_ci"] = pair(self.control_cis[i]) if self.control_cis else None
                row["selectivity"] = self.selectivities[i] if self.selectivities else None
                row["selectivity_ci"] = (
                    pair(self.selectivity_cis[i]) if self.selectivity_cis else None
                )
            rows.append(row)
        return {
            "metric": self.metric,
            "best_layer": self.best_layer,
            "n_samples": self.n_samples,
            "n_splits": self.n_splits,
            "layers": rows,
        }

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per layer (score, interval, baseline, control, selectivity).

        Returns
        -------
        pandas.DataFrame
        """
        import pandas as pd

        data: dict[str, Any] = {
            "layer": list(self.layers),
            self.metric: list(self.scores),
            "ci_low": [c[0] for c in self.cis],
            "ci_high": [c[1] for c in self.cis],
            "baseline": list(self.baselines),
        }
        if self.control_scores is not None and self.selectivities is not None:
            data["control_" + self.metric] = list(self.control_scores)
            data["selectivity"] = list(self.selectivities)
            if self.selectivity_cis is not None:
                data["selectivity_ci_low"] = [c[0] for c in self.selectivity_cis]
                data["selectivity_ci_high"] = [c[1] for c in self.selectivity_cis]
        return pd.DataFrame(data)

    def figure(self) -> Any:
        """Score and selectivity curves by layer with interval bands; baseline and control dashed.

        Traces are named ``"<metric>"``, ``"<metric> CI"``, ``"baseline"`` and, with keys,
        ``"control"``, ``"selectivity"`` and ``"selectivity CI"``.

        Returns
        -------
        plotly.graph_objects.Figure
        """
        import plotly.graph_objects as go

        x = list(self.layers)
        fig = go.Figure()

        def band(cis: Sequence[Interval], name: str, color: str) -> None:
            fig.add_trace(
                go.Scatter(
                    x=x + x[::-1],
                    y=[c[1] for c in cis] + [c[0] for c in cis][::-1],
                    fill="toself",
                    fillcolor=color,
                    line={"width": 0},
                    hoverinfo="skip",
                    name=name,
                    showlegend=False,
                )
            )

        band(self.cis, f"{self.metric} CI", "rgba(31,119,180,0.2)")
        fig.add_trace(go.Scatter(x=x, y=list(self.scores), mode="lines+markers", name=self.metric))
        fig.add_trace(
            go.Scatter(
                x=x,
                y=list(self.baselines),
                mode="lines",
                name="baseline",
                line={"dash": "dot", "color": "gray"},
            )
        )
        if self.control_scores is not None:
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=list(self.control_scores),
                    mode="lines+markers",
                    name="control",
                    line={"dash": "dash", "color": "darkorange"},
                )
            )
        if self.selectivities is not None:
            if self.selectivity_cis is not None:
                band(self.selectivity_cis, "selectivity CI", "rgba(44,160,44,0.2)")
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=list(self.selectivities),
                    mode="lines+markers",
                    name="selectivity",
                    line={"color": "green"},
                )
            )
        fig.update_layout(
            title=f"{self.metric} by layer (best: layer {self.best_layer}, n={self.n_samples})",
            xaxis_title="layer",
            yaxis_title=self.metric,
        )
        return fig


def _check_states(states: Any) -> np.ndarray:
    """Precomputed states as a finite float array (n_layers, n_samples, dim)."""
    arr = np.asarray(states)
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"states must be a numeric array (n_layers, n_samples, dim), got dtype {arr.dtype}. "
            f"Pass an embedder with embed_layers, or embedder.embed_layers(texts)."
        )
    if arr.ndim != 3:
        raise ValueError(
            f"states must be 3-D (n_layers, n_samples, dim), got shape {arr.shape}. For a single "
            f"layer use evaluate_probe(X, y); stack per-layer arrays with np.stack(list_of_X)."
        )
    if 0 in arr.shape:
        raise ValueError(
            f"states is empty (shape {arr.shape}): pass at least one layer and sample."
        )
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr).all(axis=(1, 2))
    if bad.any():
        raise ValueError(
            f"states contain NaN or infinite values in layer(s) {np.flatnonzero(bad).tolist()}. "
            f"Drop the affected samples (np.isfinite(states).all(axis=(0, 2))) first."
        )
    return arr


def _pick_layers(layers: Iterable[int] | None, n_layers: int) -> list[int]:
    """Validate a layer selection against ``n_layers`` rows of states (negative counts back)."""
    if layers is None:
        return list(range(n_layers))
    picked = []
    for k in layers:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"layers must be ints, got {k!r}.")
        if not -n_layers <= k < n_layers:
            raise ValueError(
                f"layer {k} is out of range for states of {n_layers} layer(s): use 0..{n_layers - 1}."
            )
        picked.append(int(k) % n_layers)
    if not picked:
        raise ValueError("layers is empty: pass None for all layers or a list of ints.")
    return picked


def layer_sweep(
    embedder_or_states: Any,
    texts: Sequence[str] | None = None,
    y: Any = None,
    *,
    keys: Iterable[Any] | None = None,
    groups: Iterable[Any] | None = None,
    probe: Any = None,
    cv: int | Any = 5,
    layers: Iterable[int] | None = None,
    batch_size: int = 32,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = 0,
    progress: bool | None = None,
) -> LayerSweepResult:
    """Fit one probe per layer and return the curve of scores (and selectivity) by layer.

    Parameters
    ----------
    embedder_or_states : embedder or array-like of shape (n_layers, n_samples, dim)
        A transformers embedder with ``embed_layers`` (e.g. ``load_embedder("minilm")``), whose
        pooled hidden states of all layers are computed in one forward pass per batch; or
        precomputed states, so no model is needed.
    texts : list of str, optional
        The texts to embed (with an embedder only).
    y : array-like of shape (n_samples,)
        Class labels, or float targets for a regression probe.
    keys : iterable of hashable, optional
        The type of each sample (a word, a verb lemma, a source-sentence id): adds a control task
        per layer (Hewitt & Liang, 2019) and the selectivity curve. Classification only.
    groups : iterable, optional
        Group ids kept together in one fold (e.g. a sentence and its perturbed copy).
    probe : estimator, optional
        Cloned per fold and layer; by default ``LinearProbe(standardize=True)`` (or
        ``LinearRegressionProbe(standardize=True)``), so that regularization weighs the same on
        layers whose states have very different scales.
    cv : int or splitter, default=5
        Folds; every layer uses the same folds.
    layers : iterable of int, optional
        Which layers to probe (default all). With an embedder these are hidden-state indices
        (0 = token embeddings to ``embedder.n_layers``); with states, indices into axis 0.
    batch_size : int, default=32
        Texts per forward pass (with an embedder).
    n_bootstrap, confidence, random_state, progress
        As in :func:`probes.evaluate_probe`.

    Returns
    -------
    LayerSweepResult
        ``.figure()`` draws the curves, ``.to_frame()`` tabulates them.

    Examples
    --------
    >>> import numpy as np
    >>> from probes import layer_sweep
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, size=200)
    >>> states = rng.normal(size=(4, 200, 8))
    >>> states[2, :, 0] += 3.0 * y                 # only layer 2 encodes y
    >>> sweep = layer_sweep(states, y=y, n_bootstrap=100)
    >>> sweep.best_layer
    2
    """
    if isinstance(embedder_or_states, (np.ndarray, list, tuple)) or hasattr(
        embedder_or_states, "__array__"
    ):
        if texts is not None:
            raise TypeError(
                "with precomputed states the labels go in y=...: layer_sweep(states, y=labels). "
                "texts are only needed with an embedder."
            )
        if y is None:
            raise ValueError("y is required: pass one label (or target) per row of the states.")
        states = _check_states(embedder_or_states)
        picked = _pick_layers(layers, states.shape[0])
        states = states[picked]
    else:
        embed_layers = getattr(embedder_or_states, "embed_layers", None)
        if not callable(embed_layers):
            raise TypeError(
                f"layer_sweep needs a transformers embedder with embed_layers (e.g. "
                f"load_embedder('minilm')) or precomputed states (n_layers, n_samples, dim); got "
                f"{type(embedder_or_states).__name__}. For other embedders, stack per-layer "
                f"embeddings yourself and pass the array."
            )
        if texts is None:
            raise ValueError("pass the texts to embed: layer_sweep(embedder, texts, y).")
        if isinstance(texts, str):
            raise TypeError("texts must be a list of strings, got a single str.")
        if y is None:
            raise ValueError("y is required: pass one label (or target) per text.")
        if hasattr(y, "__len__") and len(y) != len(texts):
            raise ValueError(
                f"texts and y have different lengths: {len(texts)} texts, {len(y)} labels. "
                f"Pass exactly one label per text."
            )
        picked = _pick_layers(layers, int(embedder_or_states.n_layers) + 1)
        states = embedder_or_states.embed_layers(
            list(texts), layers=picked, batch_size=batch_size, progress=progress
        )
    check_lengths(states[0], y)
    key_list = None if keys is None else list(keys)
    group_arr = None if groups is None else np.asarray(list(groups))
    model = quiet_probe(probe, "classification" if keys is not None else infer_task(y, "auto"))
    # One int seed for every layer: identical folds, control labels and bootstrap streams.
    seed = seed_from(random_state)
    results: list[ProbeResult | SelectivityResult] = []
    with progress_bar(progress, total=len(picked), desc="layers", unit="layer") as bar:
        for i, layer in enumerate(picked):
            common: dict[str, Any] = {
                "cv": cv,
                "groups": group_arr,
                "n_bootstrap": n_bootstrap,
                "confidence": confidence,
                "random_state": seed,
                "progress": False,
            }
            if key_list is not None:
                results.append(control_task(states[i], y, key_list, model, **common))
            else:
                results.append(evaluate_probe(states[i], y, model, **common))
            logger.debug("layer %d done", layer)
            bar.update(1)
    task = [r.task if isinstance(r, SelectivityResult) else r for r in results]
    sel = [r for r in results if isinstance(r, SelectivityResult)]
    return LayerSweepResult(
        layers=tuple(picked),
        metric=task[0].metric,
        scores=tuple(r.score for r in task),
        cis=tuple(r.ci for r in task),
        baselines=tuple(r.baseline for r in task),
        control_scores=tuple(r.control.score for r in sel) if sel else None,
        control_cis=tuple(r.control.ci for r in sel) if sel else None,
        selectivities=tuple(r.selectivity for r in sel) if sel else None,
        selectivity_cis=tuple(r.ci for r in sel) if sel else None,
        n_samples=task[0].n_samples,
        n_splits=task[0].n_splits,
        results=tuple(results),
    )
