"""Saving and loading trained models (inverters, attacks, explainers): one directory format.

A saved model is a directory with ``config.json`` (format version, embedlens version, class,
the embedder's name, dim and fingerprint, and the model's own settings) and
``model.safetensors``. Nothing is pickled. The soft-prefix models (inverter, corrector,
explainer) share one implementation of their layout here (:func:`write_soft_prefix_dir`,
:func:`load_soft_prefix_weights`). Loading checks the class, refuses a format newer than
this code reads, and refuses an embedder whose fingerprint differs from the one trained for.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from embedlens._utils import atomic_path

if TYPE_CHECKING:
    import torch

__all__ = [
    "CONFIG_FILE",
    "DECODER_DIR",
    "FORMAT_VERSION",
    "WEIGHTS_FILE",
    "SavedSoftPrefix",
    "check_embedder",
    "decoder_record",
    "decoder_to_store",
    "embedder_record",
    "load_soft_prefix_weights",
    "open_soft_prefix_dir",
    "read_config",
    "resolve_dir",
    "resolve_saved_embedder",
    "soft_prefix_config",
    "soft_prefix_kwargs",
    "soft_prefix_state",
    "soft_prefix_weights",
    "trained_lm_params",
    "without_adapters",
    "write_soft_prefix_dir",
]

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
DECODER_DIR = "decoder"  # where a soft-prefix model keeps a base LM that has no name to load by


def embedder_record(embedder: Any) -> dict[str, Any]:
    """What a saved model remembers of its embedder: name, dim and fingerprint."""
    return {
        "name": embedder.name,
        "dim": int(embedder.dim),
        "fingerprint": embedder.fingerprint,
    }


def resolve_saved_embedder(saved: dict[str, Any], embedder: Any, root: Path) -> Any:
    """The embedder to use with a saved model, checked against the one it was trained for.

    ``embedder=None`` loads the saved name with :func:`~embedlens.embedders.load_embedder`; a
    string is loaded the same way; an embedder object is used as is. Raises ``ValueError`` when
    its dim or fingerprint differs from the saved record.
    """
    emb = embedder
    if emb is None or isinstance(emb, str):
        from embedlens.embedders import load_embedder

        name = saved["name"] if emb is None else emb
        try:
            emb = load_embedder(name)
        except Exception as err:
            raise ValueError(
                f"could not load the embedder {name!r} that {str(root)!r} was trained for "
                f"({type(err).__name__}: {err}): pass it as embedder=..."
            ) from err
    check_embedder(saved, emb, root)
    return emb


def check_embedder(saved: dict[str, Any], emb: Any, root: Path) -> None:
    """Raise ``ValueError`` unless ``emb`` has the dim and fingerprint of the ``saved`` record."""
    if int(emb.dim) == int(saved["dim"]) and emb.fingerprint == saved["fingerprint"]:
        return
    aligned = getattr(emb, "aligned_to", None)  # inversion.align.AlignedEmbedder: mapped vectors
    if isinstance(aligned, dict) and (aligned.get("dim"), aligned.get("fingerprint")) == (
        int(saved["dim"]),
        saved["fingerprint"],
    ):
        return
    raise ValueError(
        f"{str(root)!r} was trained on embeddings from {saved['name']!r} ({saved['dim']}-dim, "
        f"fingerprint {saved['fingerprint']}), but got {emb.name!r} ({emb.dim}-dim, fingerprint "
        f"{emb.fingerprint}): a model trained for embedder {saved['name']!r} reads only its "
        "vectors; pass that embedder, or train a model for yours"
    )


def without_adapters(model: Any) -> Any:
    """``model`` itself, or for a peft model a copy of its base model without the adapters."""
    if hasattr(model, "peft_config") and hasattr(model, "unload"):
        return copy.deepcopy(model).unload()
    return model


def resolve_dir(path: str | os.PathLike[str]) -> Path:
    """A local directory, or a hub id downloaded with ``huggingface_hub`` where it can be."""
    root = Path(path).expanduser()
    if root.is_dir():
        return root
    text = os.fspath(path)
    if root.exists() or text.startswith((".", "/", "~")) or text.count("/") != 1:
        raise FileNotFoundError(
            f"{text!r} is not a saved model directory: pass the directory save_pretrained wrote"
        )
    from embedlens.models import hub_offline_reason

    offline = hub_offline_reason()
    if offline is not None:
        raise FileNotFoundError(
            f"{text!r} is not a local directory and the hub cannot be reached ({offline})"
        )
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(text))


def read_config(root: Path, cls_name: str) -> dict[str, Any]:
    """Read and check ``root/config.json`` of a saved ``cls_name``."""
    file = root / CONFIG_FILE
    if not file.is_file():
        raise FileNotFoundError(
            f"{str(root)!r} is not a saved model directory: expected {CONFIG_FILE} and "
            f"{WEIGHTS_FILE} as save_pretrained writes them"
        )
    if not (root / WEIGHTS_FILE).is_file():
        raise FileNotFoundError(
            f"{str(root)!r} has {CONFIG_FILE} but no {WEIGHTS_FILE}: save the model again"
        )
    try:
        config = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{str(file)!r} is not valid JSON: {err}") from err
    if not isinstance(config, dict) or config.get("class") != cls_name:
        found = config.get("class") if isinstance(config, dict) else type(config).__name__
        article = "an" if cls_name[:1] in "AEIOU" else "a"
        raise ValueError(f"{str(root)!r} holds a {found!r}, not {article} {cls_name}")
    version = config.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{str(root)!r} has format version {version!r}, newer than this embedlens reads "
            f"({FORMAT_VERSION}): upgrade embedlens (pip install -U embedlens)"
        )
    return config


# --------------------------------------------------------------------------- soft-prefix models
# The inverter, the corrector and the explainer share one directory layout: config.json,
# model.safetensors with the projector's weights as ``projector.*`` and the trained LM parameters
# (LoRA adapters, or all of them) as ``lm.*``, and ``decoder/`` for a base LM given in memory.
# ``module`` below is an :class:`interpret.soft_prompt.SoftPromptedLM` (``.projector`` + ``.lm``).


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
    from embedlens.models import Decoder

    given = decoder if isinstance(decoder, Decoder) else loaded
    return Decoder(model=given.model, tokenizer=loaded.tokenizer, name=loaded.name)


def soft_prefix_config(
    cls_name: str, embedder: Any, decoder: dict[str, Any], settings: dict[str, Any]
) -> dict[str, Any]:
    """``config.json`` of a soft-prefix model: format, versions, class, embedder, decoder, then
    the model's own ``settings``."""
    import embedlens

    return {
        "format_version": FORMAT_VERSION,
        "embedlens_version": embedlens.__version__,
        "class": cls_name,
        "embedder": embedder_record(embedder),
        "decoder": decoder,
        **settings,
    }


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

    with atomic_path(path) as tmp:
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
    """The constructor settings every soft-prefix model saves, read back from ``config``."""
    return {
        "prefix_tokens": int(config["prefix_tokens"]),
        "finetune": config["finetune"],
        "max_length": int(config["max_length"]),
        "hidden": config.get("hidden"),
        "lora_rank": int(config.get("lora_rank", 16)),
    }


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

    ``decoder`` (not ``None``) overrides the saved decoder; otherwise the saved spec is used, or
    the base LM stored in the directory.
    """
    root = resolve_dir(path)
    config = read_config(root, cls_name)
    emb = resolve_saved_embedder(config["embedder"], embedder, root)
    dec_cfg = config["decoder"]
    stored = root / dec_cfg["stored"] if dec_cfg.get("stored") and decoder is None else None
    if decoder is None:
        decoder = dec_cfg["spec"] or str(stored)
    return SavedSoftPrefix(root, config, emb, decoder, stored)


def load_soft_prefix_weights(
    root: Path, module: Any, weights: dict[str, torch.Tensor] | None = None
) -> None:
    """Copy saved ``weights`` (``None``: read ``root/model.safetensors``) into ``module``.

    The ``projector.*`` weights load into ``module.projector``; the ``lm.*`` ones must be exactly
    the trained parameters of ``module.lm`` (else ``ValueError``). ``module`` ends in eval mode.
    """

    if weights is None:
        from safetensors.torch import load_file

        weights = load_file(str(root / WEIGHTS_FILE))
    proj = {k[len("projector.") :]: v for k, v in weights.items() if k.startswith("projector.")}
    lm = {k[len("lm.") :]: v for k, v in weights.items() if k.startswith("lm.")}
    module.projector.load_state_dict(proj)
    copy_parameters(
        trained_lm_params(module.lm),
        lm,
        what=f"{str(root)!r}: saved LM weights do not match the model",
        fix="load it with the decoder it was trained with",
    )
    module.eval()


def copy_parameters(
    params: dict[str, torch.Tensor], saved: dict[str, torch.Tensor], *, what: str, fix: str
) -> None:
    """Copy ``saved`` into the live ``params`` (same names, cast to each one's device and dtype).

    Raises ``ValueError`` "``what`` (missing [...], unexpected [...]): ``fix``" when the two sets
    of names differ, before anything is copied.
    """
    import torch

    if set(saved) != set(params):
        missing = sorted(set(params) - set(saved))[:3]
        extra = sorted(set(saved) - set(params))[:3]
        raise ValueError(f"{what} (missing {missing}, unexpected {extra}): {fix}")
    with torch.no_grad():
        for k, p in params.items():
            p.copy_(saved[k].to(p.device, p.dtype))
