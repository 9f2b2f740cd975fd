"""Decode embeddings back to text: trained inverters, baseline attacks and honest metrics.

``import inversion`` is light: the heavy parts (torch, transformers) load when a name below is
first used.

- :func:`invert` (``inversion.attack``): the one-liner, ``inversion.invert(X, embedder)``: the
  strongest CPU attack for the embedder (:class:`SentenceInverter`, ``inversion.sentence``: a
  word search finds the words, an LM (:class:`Composer`, ``inversion.compose``) writes them
  into sentences, the embedder's cosine decides; ``method="search"``: the word search alone,
  :class:`SearchInverter`).
- :class:`Inverter` (``inversion.inverter``): the soft-prefix hypothesis model.
- :class:`Corrector` (``inversion.corrector``) and :func:`run_correction`
  (``inversion.correction``): iterative correction with sequence beam search,
  ``inv.invert(X, steps=20, beam_width=4)``.
- :func:`evaluate`, :func:`entity_recovery` (``inversion.metrics``, ``inversion.entities``):
  BLEU, token F1, exact match, cosine and recovered PII, with bootstrap intervals.
- :class:`BagOfWordsAttack`, :class:`NearestNeighbourAttack`: baseline attacks.
- :class:`GuidedInverter` (``inversion.guided``): zero-shot decoding, no training; an LM
  proposes, the embedder's cosine decides; queries counted.
- :class:`Alignment`, :class:`AlignedEmbedder`, :func:`align_embedders` (``inversion.align``):
  few-shot transfer of an attack to another embedder through a linear map.
- :func:`load_vec2text_inverter`, :class:`Vec2TextInverter` (``inversion.vec2text``):
  vec2text's public GTR-base checkpoints.
- :func:`train_inverter` (``inversion.recipes``): the ``train-inverter`` run, with a held-out
  split. The trainer itself is :func:`embedlens.train.train`, shared with the explainer.
"""

from __future__ import annotations

from embedlens._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "AlignedEmbedder": "inversion.align",
    "Alignment": "inversion.align",
    "align_embedders": "inversion.align",
    "BagOfWordsAttack": "inversion.bow",
    "CorrectionHistory": "inversion.correction",
    "Corrector": "inversion.corrector",
    "run_correction": "inversion.correction",
    "EntityRecovery": "inversion.entities",
    "GuidedInverter": "inversion.guided",
    "InversionScores": "inversion.metrics",
    "Inversion": "inversion.attack",
    "invert": "inversion.attack",
    "SearchInverter": "inversion.search",
    "SentenceInverter": "inversion.sentence",
    "Composer": "inversion.compose",
    "WordVectors": "inversion.vocab",
    "Vec2TextInverter": "inversion.vec2text",
    "load_vec2text_inverter": "inversion.vec2text",
    "Inverter": "inversion.inverter",
    "NearestNeighbourAttack": "inversion.nearest",
    "entity_recovery": "inversion.entities",
    "evaluate": "inversion.metrics",
    "default_eval_fn": "inversion.metrics",
    "train_inverter": "inversion.recipes",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
