"""probes: what do embeddings encode? Linear probes, controls, MDL, layer sweeps, a SentEval-style
suite, concept directions, erasure.

The probes take arrays (``X`` of shape (n_samples, n_features)) and need no model; only
``layer_sweep`` and ``run_suite`` accept an embedder (``layer_sweep`` takes precomputed states too).
Names are loaded lazily, so ``import probes`` stays light: torch is imported only when a probe is
fitted.

>>> import numpy as np
>>> from probes import LinearProbe, evaluate_probe
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(200, 8))
>>> y = np.where(X[:, 0] > 0, "a", "b")
>>> evaluate_probe(X, y, LinearProbe(), n_bootstrap=100).score > 0.9
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embedlens._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "LinearProbe": "probes.linear",
    "LinearRegressionProbe": "probes.ridge",
    "ProbeResult": "probes.evaluate",
    "evaluate_probe": "probes.evaluate",
    "SelectivityResult": "probes.controls",
    "control_labels": "probes.controls",
    "control_task": "probes.controls",
    "MDLResult": "probes.mdl",
    "mdl_probe": "probes.mdl",
    "DEFAULT_BLOCKS": "probes.mdl",
    "ConceptDirection": "probes.directions",
    "concept_direction": "probes.directions",
    "score": "probes.directions",
    "shift": "probes.directions",
    "LeaceEraser": "probes.erasure",
    "LEACE": "probes.erasure",
    "INLP": "probes.erasure",
    "LayerSweepResult": "probes.layers",
    "layer_sweep": "probes.layers",
    "ProbingTask": "probes.suite",
    "build_task": "probes.suite",
    "SuiteResult": "probes.suite",
    "run_suite": "probes.suite",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from probes.controls import SelectivityResult as SelectivityResult
    from probes.controls import control_labels as control_labels
    from probes.controls import control_task as control_task
    from probes.directions import ConceptDirection as ConceptDirection
    from probes.directions import concept_direction as concept_direction
    from probes.directions import score as score
    from probes.directions import shift as shift
    from probes.erasure import INLP as INLP
    from probes.erasure import LEACE as LEACE
    from probes.erasure import LeaceEraser as LeaceEraser
    from probes.evaluate import ProbeResult as ProbeResult
    from probes.evaluate import evaluate_probe as evaluate_probe
    from probes.layers import LayerSweepResult as LayerSweepResult
    from probes.layers import layer_sweep as layer_sweep
    from probes.linear import LinearProbe as LinearProbe
    from probes.mdl import DEFAULT_BLOCKS as DEFAULT_BLOCKS
    from probes.mdl import MDLResult as MDLResult
    from probes.mdl import mdl_probe as mdl_probe
    from probes.ridge import LinearRegressionProbe as LinearRegressionProbe
    from probes.suite import ProbingTask as ProbingTask
    from probes.suite import SuiteResult as SuiteResult
    from probes.suite import build_task as build_task
    from probes.suite import run_suite as run_suite


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
