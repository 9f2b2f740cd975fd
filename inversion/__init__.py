"""Decode embeddings back to text: trained inverters, baseline attacks and honest metrics.

``import inversion`` is light: the heavy parts (torch, transformers) load when a name below is
first used.

- :class:`Inverter` (``inversion.inverter``): the soft-prefix hypothesis model.
- :func:`train`, :class:`TrainConfig` (``embedlens.train``): the one trainer for (vector, text)
  pairs that the inverter, the corrector and the explainer share.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "Inverter": "inversion.inverter",
    "TrainConfig": "embedlens.train",
    "TrainResult": "embedlens.train",
    "Trainable": "embedlens.train",
    "embed_texts": "embedlens.train",
    "train": "embedlens.train",
    "default_eval_fn": "inversion.recipes",
    "train_inverter": "inversion.recipes",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'inversion' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
