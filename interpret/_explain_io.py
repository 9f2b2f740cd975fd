"""Saving and loading an :class:`~interpret.explain.Explainer`: config.json + model.safetensors.

The projector is always saved, the LM's weights only where they were trained (LoRA adapters).
A frozen LM given by name is referenced by that name; one given as a loaded
:class:`~embedlens.models.Decoder` is written to ``path/decoder`` so the directory is
self-contained. Loading checks the class, the format version and the embedder's fingerprint.
The directory layout is the one every soft-prefix model shares (:mod:`embedlens.saving`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedlens.models import Decoder
from embedlens.saving import (
    DECODER_DIR,
    decoder_record,
    decoder_to_store,
    load_soft_prefix_weights,
    open_soft_prefix_dir,
    soft_prefix_config,
    soft_prefix_kwargs,
    soft_prefix_weights,
    write_soft_prefix_dir,
)
from interpret._explain_tasks import Task

if TYPE_CHECKING:
    from embedlens.embedders import Embedder
    from interpret.explain import Explainer

__all__ = ["CLASS_NAME", "DECODER_DIR", "load_explainer", "save_explainer"]

CLASS_NAME = "Explainer"


def save_explainer(ex: Explainer, path: str | os.PathLike[str]) -> Path:
    """Write a fitted explainer to the directory ``path`` (replaced atomically)."""
    record = decoder_record(ex.decoder, ex.decoder_)
    settings: dict[str, Any] = {
        "prefix_tokens": ex.prefix_tokens,
        "finetune": ex.finetune,
        "tasks": [t.to_dict() for t in ex.tasks_],
        "max_length": ex.max_length,
        "hidden": ex.hidden,
        "lora_rank": ex.lora_rank,
        "system_prompt": ex.system_prompt,
        "seed": getattr(ex, "seed_", 0),
        "projector": ex.projector_.config(),
    }
    config = soft_prefix_config(CLASS_NAME, ex.embedder_, record, settings)
    store = decoder_to_store(ex.decoder, ex.decoder_) if record["stored"] else None
    return write_soft_prefix_dir(path, soft_prefix_weights(ex.module_), config, store)


def load_explainer(
    cls: type[Explainer],
    path: str | os.PathLike[str],
    *,
    embedder: Embedder | str | None = None,
    decoder: str | Decoder | None = None,
    device: str | None = None,
    dtype: str | None = None,
) -> Explainer:
    """Rebuild an explainer from a directory written by :func:`save_explainer`."""
    saved = open_soft_prefix_dir(path, CLASS_NAME, embedder=embedder, decoder=decoder)
    config = saved.config
    ex = cls(
        embedder=saved.embedder,
        decoder=saved.decoder,
        **soft_prefix_kwargs(config),
        tasks=tuple(Task.from_dict(t) for t in config["tasks"]),
        system_prompt=config.get("system_prompt"),
        device=device,
        dtype=dtype,
    )
    ex.tasks_ = ex._check_params()
    ex.embedder_ = saved.embedder
    ex._load_lm()
    if saved.stored is not None:  # the copy in the directory carries the name it was saved with
        name = config["decoder"].get("name") or ex.decoder_.name
        ex.decoder_ = ex.decoder_._replace(name=str(name))
    ex._attach(int(config["embedder"]["dim"]), seed=int(config.get("seed", 0)))
    if saved.stored is not None:  # re-saving copies the decoder again instead of pointing here
        ex.decoder = ex.decoder_
    load_soft_prefix_weights(saved.root, ex.module_)
    return ex
