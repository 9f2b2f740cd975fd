"""Training checkpoints as safetensors + JSON: weights, optimizer, RNG state, trainer state.

Nothing is pickled and nothing is ``torch.load``-ed: the optimizer's tensors go to a safetensors
file and its other values (step counts, hyper-parameters) to JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedlens._utils import atomic_path
from embedlens.saving import copy_parameters

if TYPE_CHECKING:
    import torch

__all__ = ["STATE_FORMAT", "load_checkpoint", "save_checkpoint", "trainable_params"]

STATE_FORMAT = 1


def trainable_params(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The parameters an optimizer trains, by name."""
    return {k: p for k, p in module.named_parameters() if p.requires_grad}


def save_checkpoint(
    path: Path,
    module: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
) -> None:
    """Write weights, optimizer state, RNG state and ``state`` to the directory ``path``."""
    import torch
    from safetensors.torch import save_file

    weights = {k: p.detach().cpu().contiguous() for k, p in trainable_params(module).items()}
    opt = optimizer.state_dict()
    opt_tensors: dict[str, torch.Tensor] = {}
    opt_meta: dict[str, Any] = {"param_groups": opt["param_groups"], "state": {}}
    for idx, entry in opt["state"].items():
        keys = {}
        for name, value in entry.items():
            if isinstance(value, torch.Tensor):
                opt_tensors[f"{idx}.{name}"] = value.detach().cpu().reshape(-1).contiguous()
                keys[name] = {"tensor": list(value.shape)}
            else:
                keys[name] = {"value": value}
        opt_meta["state"][str(idx)] = keys
    rng = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            rng[f"cuda{i}"] = s
    with atomic_path(path) as tmp:
        tmp.mkdir(parents=True)
        save_file(weights, str(tmp / "trainable.safetensors"))
        save_file(opt_tensors, str(tmp / "optimizer.safetensors"))
        save_file(rng, str(tmp / "rng.safetensors"))
        (tmp / "optimizer.json").write_text(json.dumps(opt_meta), encoding="utf-8")
        (tmp / "trainer_state.json").write_text(json.dumps(state, indent=2), encoding="utf-8")


def load_checkpoint(
    path: Path, module: torch.nn.Module, optimizer: torch.optim.Optimizer
) -> dict[str, Any]:
    """Restore what :func:`save_checkpoint` wrote into ``module``, ``optimizer`` and the RNG."""
    import torch

    from embedlens.saving import load_weights

    state = json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
    if state.get("format", 0) > STATE_FORMAT:
        raise ValueError(
            f"checkpoint {str(path)!r} has format {state.get('format')}, newer than this "
            f"embedlens understands ({STATE_FORMAT}): upgrade embedlens"
        )
    copy_parameters(
        trainable_params(module),
        load_weights(path, file="trainable.safetensors"),
        what=f"checkpoint {str(path)!r} does not match the model being trained",
        fix="resume with the same model and settings",
    )
    meta = json.loads((path / "optimizer.json").read_text(encoding="utf-8"))
    tensors = load_weights(path, file="optimizer.safetensors")
    opt_state: dict[int, dict[str, Any]] = {}
    for idx, keys in meta["state"].items():
        entry: dict[str, Any] = {}
        for name, spec in keys.items():
            if "tensor" in spec:
                entry[name] = tensors[f"{idx}.{name}"].reshape(spec["tensor"])
            else:
                entry[name] = spec["value"]
        opt_state[int(idx)] = entry
    optimizer.load_state_dict({"state": opt_state, "param_groups": meta["param_groups"]})
    rng = load_weights(path, file="rng.safetensors")
    torch.set_rng_state(rng["cpu"])
    cuda = [rng[f"cuda{i}"] for i in range(len(rng) - 1) if f"cuda{i}" in rng]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    return state
