"""interpret: see what embeddings encode (interactive maps; soft-token explanations).

Importing this package is light: each public name loads its module on first use, and the
modules themselves import umap, scikit-learn, plotly and pandas only inside the functions that
need them.

Examples
--------
>>> import interpret
>>> interpret.EmbeddingMap  # doctest: +ELLIPSIS
<class 'interpret.maps.map.EmbeddingMap'>
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embedlens._lazy import lazy_exports

if TYPE_CHECKING:
    from embedlens.soft.projector import SoftPrompt
    from interpret.explain import (
        DirectionExplanation,
        Explainer,
        ExplainerLabeler,
        ExplainResult,
        Task,
        evaluate_explanations,
    )
    from interpret.maps import (
        ClusterContext,
        Clustering,
        ClusterLabeler,
        EmbeddingMap,
        KeywordLabeler,
        MapComparison,
        compare_maps,
    )

_LAZY = {
    "ClusterContext": "interpret.maps",
    "ClusterLabeler": "interpret.maps",
    "Clustering": "interpret.maps",
    "EmbeddingMap": "interpret.maps",
    "KeywordLabeler": "interpret.maps",
    "MapComparison": "interpret.maps",
    "compare_maps": "interpret.maps",
    "SoftPrompt": "embedlens.soft.projector",
    "DirectionExplanation": "interpret.explain",
    "ExplainResult": "interpret.explain",
    "Explainer": "interpret.explain",
    "ExplainerLabeler": "interpret.explain",
    "Task": "interpret.explain",
    "evaluate_explanations": "interpret.explain",
}

__all__ = [
    "ClusterContext",
    "ClusterLabeler",
    "Clustering",
    "DirectionExplanation",
    "EmbeddingMap",
    "ExplainResult",
    "Explainer",
    "ExplainerLabeler",
    "KeywordLabeler",
    "MapComparison",
    "SoftPrompt",
    "Task",
    "compare_maps",
    "evaluate_explanations",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
