"""Saving and loading an :class:`~interpret.explain.Explainer`: config.json + model.safetensors.

The projector is always saved, the LM's weights only where they were trained (LoRA adapters).
A frozen LM given by name is referenced by that name; one given as a loaded
:class:`~embedlens.models.Decoder` is written to ``path/decoder`` so the directory is
self-contained. Loading checks the class, the format version and the embedder's fingerprint
(:mod:`embedlens.saving`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedlens._utils import atomic_path
from embedlens.models import Decoder
from embedlens.saving import (
    CONFIG_FILE,
    FORMAT_VERSION,
    WEIGHTS_FILE,
    embedder_record,
    read_config,
    resolve_dir,
    resolve_saved_embedder,
    without_adapters,
)
from interpret._explain_tasks import Task

if TYPE_CHECKING:
    import torch

    from embedlens.embedders import Embedder
    from interpret.explain import Explainer

DECODER_DIR = "decoder"
CLASS_NAME = "Explainer"


def _trained_lm_params(ex: Explainer) -> dict[str, torch.Tensor]:
    return {k: p for k, p in ex.decoder_.model.named_parameters() if p.requires_grad}


def save_explainer(ex: Explainer, path: str | os.PathLike[str]) -> Path:
    """Write a fitted explainer to the directory ``path`` (replaced atomically)."""
    from safetensors.torch import save_file

    import embedlens

    weights = {f"projector.{k}": v for k, v in ex.projector_.state_dict().items()}
    weights.update({f"lm.{k}": v for k, v in _trained_lm_params(ex).items()})
    weights = {k: v.detach().cpu().contiguous() for k, v in weights.items()}
    spec = os.fspath(ex.decoder) if isinstance(ex.decoder, (str, os.PathLike)) else None
    if spec is not None and Path(spec).expanduser().is_dir():
        spec = str(Path(spec).expanduser().resolve())
    config: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "embedlens_version": embedlens.__version__,
        "class": CLASS_NAME,
        "embedder": embedder_record(ex.embedder_),
        "decoder": {
            "spec": spec,
            "stored": DECODER_DIR if spec is None else None,
            "name": ex.decoder_.name,
        },
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
    with atomic_path(path) as tmp:
        tmp.mkdir(parents=True)
        save_file(weights, str(tmp / WEIGHTS_FILE), metadata={"format": "pt"})
        if spec is None:  # the base LM as given (the trained part is in the weights above)
            given = ex.decoder if isinstance(ex.decoder, Decoder) else ex.decoder_
            without_adapters(given.model).save_pretrained(tmp / DECODER_DIR)
            ex.decoder_.tokenizer.save_pretrained(tmp / DECODER_DIR)
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2), encoding="utf-8")
    return Path(path)


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
    import torch
    from safetensors.torch import load_file

    root = resolve_dir(path)
    config = read_config(root, CLASS_NAME)
    emb = resolve_saved_embedder(config["embedder"], embedder, root)
    dec_cfg = config["decoder"]
    stored = root / dec_cfg["stored"] if dec_cfg.get("stored") and decoder is None else None
    tasks = tuple(Task.from_dict(t) for t in config["tasks"])
    ex = cls(
        embedder=emb,
        decoder=decoder if decoder is not None else (dec_cfg["spec"] or str(stored)),
        prefix_tokens=int(config["prefix_tokens"]),
        finetune=config["finetune"],
        tasks=tasks,
        max_length=int(config["max_length"]),
        hidden=config.get("hidden"),
        lora_rank=int(config.get("lora_rank", 16)),
        system_prompt=config.get("system_prompt"),
        device=device,
        dtype=dtype,
    )
    ex.tasks_ = ex._check_params()
    ex.embedder_ = emb
    ex._load_lm()
    if stored is not None:  # the copy in the directory carries the name it was saved with
        ex.decoder_ = ex.decoder_._replace(name=str(dec_cfg.get("name") or ex.decoder_.name))
    ex._attach(int(config["embedder"]["dim"]), seed=int(config.get("seed", 0)))
    if stored is not None:  # re-saving copies the decoder again instead of pointing here
        ex.decoder = ex.decoder_
    weights = load_file(str(root / WEIGHTS_FILE))
    proj = {k[len("projector.") :]: v for k, v in weights.items() if k.startswith("projector.")}
    lm = {k[len("lm.") :]: v for k, v in weights.items() if k.startswith("lm.")}
    ex.projector_.load_state_dict(proj)
    expected = _trained_lm_params(ex)
    if set(lm) != set(expected):
        missing = sorted(set(expected) - set(lm))[:3]
        extra = sorted(set(lm) - set(expected))[:3]
        raise ValueError(
            f"{str(root)!r}: saved LM weights do not match the model (missing {missing}, "
            f"unexpected {extra}): load it with the decoder it was trained with"
        )
    with torch.no_grad():
        for k, p in expected.items():
            p.copy_(lm[k].to(p.device, p.dtype))
    ex.module_.eval()
    return ex
