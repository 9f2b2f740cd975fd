"""Explain embeddings in words: a causal LM reads vectors as soft tokens and answers questions.

- :class:`Explainer` (``interpret.explain.explainer``): train, explain, centroids, midpoints,
  directions, save/load; its prompts and teacher in ``interpret.explain.prompting``.
- :class:`Task` (``interpret.explain.tasks``): what is asked, the teacher's answer cache.
- :class:`DirectionExplanation`, :class:`ExplainerLabeler` (``interpret.explain.vectors``):
  vectors that came from no text (centroids, midpoints, directions), and map cluster labels.
- :func:`evaluate_explanations`, :class:`ExplainResult` (``interpret.explain.evaluate``):
  semantic consistency against baselines; ``interpret.explain.inventions``: the share of
  answers that invent fiction their text lacks, and the share that name its subject.

Names load on first use, so ``import interpret.explain`` does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embedlens._lazy import lazy_exports

if TYPE_CHECKING:
    from interpret.explain.evaluate import ExplainResult, evaluate_explanations
    from interpret.explain.explainer import FINETUNE_MODES, Explainer
    from interpret.explain.tasks import Task
    from interpret.explain.vectors import DirectionExplanation, ExplainerLabeler

_LAZY = {
    "FINETUNE_MODES": "interpret.explain.explainer",
    "DirectionExplanation": "interpret.explain.vectors",
    "ExplainResult": "interpret.explain.evaluate",
    "Explainer": "interpret.explain.explainer",
    "ExplainerLabeler": "interpret.explain.vectors",
    "Task": "interpret.explain.tasks",
    "evaluate_explanations": "interpret.explain.evaluate",
}

__all__ = [
    "FINETUNE_MODES",
    "DirectionExplanation",
    "ExplainResult",
    "Explainer",
    "ExplainerLabeler",
    "Task",
    "evaluate_explanations",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
