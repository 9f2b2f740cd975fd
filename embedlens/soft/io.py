"""The directory a soft-prefix model saves: one layout for the inverter, corrector and explainer.

``config.json`` (the header of :func:`embedlens.saving.artifact_config`, the embedder's record,
the decoder's record and the model's settings), ``model.safetensors`` with the projector's
weights as ``projector.*`` and the trained LM parameters (LoRA adapters, or all of them) as
``lm.*``, and ``decoder/`` for a base LM that was given in memory and has no name to load by.
``module`` below is a :class:`~embedlens.soft.projector.SoftPromptedLM` (``.projector`` +
``.lm``). :class:`~embedlens.soft.model.SoftPrefixModel` is the only user.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from embedlens._utils import atomic_path
from embedlens.models import Decoder, without_adapters
from embedlens.saving import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    artifact_config,
    config_entries,
    copy_parameters,
    embedder_record,
    load_weights,
    path_inside,
    read_config,
    resolve_dir,
    resolve_saved_embedder,
    saved_name,
)

if TYPE_CHECKING:
    import torch

__all__ = [
    "DECODER_DIR",
    "SavedSoftPrefix",
    "decoder_record",
    "decoder_to_store",
    "load_soft_prefix_weights",
    "open_soft_prefix_dir",
    "soft_prefix_config",
    "soft_prefix_state",
    "soft_prefix_weights",
    "trained_lm_params",
    "write_soft_prefix_dir",
]

DECODER_DIR = "decoder"  # where a soft-prefix model keeps a base LM that has no name to load by


def trained_lm_params(model: Any) -> dict[str, torch.Tensor]:
    """The parameters of ``model`` that are trained (``requires_grad``), by name."""
    return {k: p for k, p in model.named_parameters() if p.requires_grad}


def soft_prefix_state(module: Any) -> dict[str, torch.Tensor]:
    """The saved state of a soft-prefix ``module``: ``projector.*`` and the trained ``lm.*``."""
    state = {f"projector.{k}": v for k, v in module.projector.state_dict().items()}
    state.update({f"lm.{k}": v for k, v in trained_lm_params(module.lm).items()})
    return state


def soft_prefix_weights(module: Any) -> dict[str, torch.Tensor]:
    """:func:`soft_prefix_state` as detached, contiguous CPU tensors, ready for safetensors."""
    return {k: v.detach().cpu().contiguous() for k, v in soft_prefix_state(module).items()}


def decoder_record(decoder: Any, loaded: Any, **extra: Any) -> dict[str, Any]:
    """What ``config.json`` says of the base LM: its spec, where it is stored, its name.

    ``decoder`` is the parameter as given: a name or directory becomes the ``spec`` (a local
    directory as an absolute path; ``"t5:..."`` as given, since it is not a path), anything
    else (a loaded :class:`~embedlens.models.Decoder`) is written to :data:`DECODER_DIR`.
    ``loaded`` is the loaded decoder (its ``name`` is recorded); ``extra`` adds keys.
    """
    spec = os.fspath(decoder) if isinstance(decoder, (str, os.PathLike)) else None
    if spec is not None and not spec.startswith("t5:") and Path(spec).expanduser().is_dir():
        spec = str(Path(spec).expanduser().resolve())
    return {
        "spec": spec,
        "stored": DECODER_DIR if spec is None else None,
        "name": loaded.name,
        **extra,
    }


def decoder_to_store(decoder: Any, loaded: Any) -> Any:
    """The base LM to write to :data:`DECODER_DIR`: ``decoder`` if it is a loaded
    :class:`~embedlens.models.Decoder` (untrained), else ``loaded``, with ``loaded``'s tokenizer.
    """
    given = decoder if isinstance(decoder, Decoder) else loaded
    return Decoder(model=given.model, tokenizer=loaded.tokenizer, name=loaded.name)


def soft_prefix_config(
    cls_name: str, embedder: Any, decoder: dict[str, Any], settings: dict[str, Any]
) -> dict[str, Any]:
    """``config.json`` of a soft-prefix model: format, versions, class, embedder, decoder, then
    the model's own ``settings``."""
    return artifact_config(
        cls_name, {"embedder": embedder_record(embedder), "decoder": decoder, **settings}
    )


def write_soft_prefix_dir(
    path: str | os.PathLike[str],
    weights: dict[str, torch.Tensor],
    config: dict[str, Any],
    decoder_to_store: Any = None,
    extra_writer: Callable[[Path], None] | None = None,
) -> Path:
    """Write ``weights``, ``config`` and, where given, a base LM to the directory ``path``.

    The directory is replaced atomically: when anything raises, ``path`` is left as it was.
    ``decoder_to_store`` (a :class:`~embedlens.models.Decoder`) goes to :data:`DECODER_DIR`
    without its adapters; ``extra_writer(directory)`` writes a model's extra files.
    """
    from safetensors.torch import save_file

    with atomic_path(path, markers=(CONFIG_FILE, WEIGHTS_FILE), extras=(DECODER_DIR,)) as tmp:
        tmp.mkdir(parents=True)
        save_file(weights, str(tmp / WEIGHTS_FILE), metadata={"format": "pt"})
        if decoder_to_store is not None:  # the base LM as given (the trained part is above)
            without_adapters(decoder_to_store.model).save_pretrained(tmp / DECODER_DIR)
            decoder_to_store.tokenizer.save_pretrained(tmp / DECODER_DIR)
        if extra_writer is not None:
            extra_writer(tmp)
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2), encoding="utf-8")
    return Path(path)


def soft_prefix_kwargs(config: dict[str, Any]) -> dict[str, Any]:
    """The constructor settings every soft-prefix model saves, read back from ``config``.

    Raises ``ValueError`` (not a bare ``KeyError``) for a missing or malformed setting.
    """
    try:
        return {
            "prefix_tokens": int(config["prefix_tokens"]),
            "finetune": config["finetune"],
            "max_length": int(config["max_length"]),
            "hidden": config.get("hidden"),
            "lora_rank": int(config.get("lora_rank", 16)),
        }
    except KeyError as err:
        raise ValueError(
            f"the saved model's {CONFIG_FILE} has no {err.args[0]!r} entry (damaged, or not "
            "written by embedlens): save the model again"
        ) from None
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"the saved model's {CONFIG_FILE} holds a malformed setting ({err}): save the "
            "model again"
        ) from None


class SavedSoftPrefix(NamedTuple):
    """A saved soft-prefix directory, read and checked by :func:`open_soft_prefix_dir`."""

    root: Path
    config: dict[str, Any]
    embedder: Any  # the checked embedder to use
    decoder: Any  # the decoder parameter to rebuild with (spec, stored dir, or the override)
    stored: Path | None  # the stored base LM that ``decoder`` points to, if it is used


def open_soft_prefix_dir(
    path: str | os.PathLike[str], cls_name: str, *, embedder: Any, decoder: Any
) -> SavedSoftPrefix:
    """Resolve ``path``, read its config for ``cls_name`` and check ``embedder`` against it.

    ``decoder`` (not ``None``) overrides the saved decoder; otherwise the base LM stored in the
    directory is used, or the saved spec when it is a name or hub id (a path is loaded only
    when the caller names it as ``decoder``: :func:`~embedlens.saving.saved_name`).
    """
    root = resolve_dir(path)
    config = read_config(root, cls_name)
    with config_entries(root):
        emb = resolve_saved_embedder(config["embedder"], embedder, root)
        dec_cfg = config["decoder"]
        saved_stored, spec = dec_cfg.get("stored"), dec_cfg.get("spec")
    stored = None
    if decoder is None:
        if saved_stored:  # the base LM kept in the folder: it must stay inside it
            stored = path_inside(root, saved_stored, entry="decoder.stored")
            decoder = str(stored)
        elif isinstance(spec, str) and spec.strip():  # a name or hub id, never a path
            decoder = saved_name(root, spec, entry="decoder.spec")
        else:
            raise ValueError(
                f"{str(root / CONFIG_FILE)!r} names no decoder (decoder.spec and "
                "decoder.stored are empty): save the model again, or pass decoder=..."
            )
    return SavedSoftPrefix(root, config, emb, decoder, stored)


def load_soft_prefix_weights(
    root: Path, module: Any, weights: dict[str, torch.Tensor] | None = None
) -> None:
    """Copy saved ``weights`` (``None``: read ``root/model.safetensors``) into ``module``.

    The ``projector.*`` weights load into ``module.projector``; the ``lm.*`` ones must be exactly
    the trained parameters of ``module.lm`` (else ``ValueError``). ``module`` ends in eval mode.
    """

    if weights is None:
        weights = load_weights(root)
    proj = {k[len("projector.") :]: v for k, v in weights.items() if k.startswith("projector.")}
    lm = {k[len("lm.") :]: v for k, v in weights.items() if k.startswith("lm.")}
    try:
        module.projector.load_state_dict(proj)
    except RuntimeError as err:  # torch: missing/unexpected keys or wrong shapes
        raise ValueError(
            f"{str(root / WEIGHTS_FILE)!r}: the saved projector does not fit the model "
            f"({str(err).splitlines()[0]}): save the model again"
        ) from None
    copy_parameters(
        trained_lm_params(module.lm),
        lm,
        what=f"{str(root)!r}: saved LM weights do not match the model",
        fix="load it with the decoder it was trained with",
    )
    module.eval()
