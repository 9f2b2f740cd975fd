"""Saving and loading trained models (inverters, attacks, explainers): one directory format.

A saved model is a directory with ``config.json`` (format version, embedlens version, class,
the embedder's name, dim and fingerprint, and the model's own settings) and
``model.safetensors``. Nothing is pickled. :func:`artifact_config` writes the common header,
:func:`read_config` checks it: the class, a format no newer than this code reads. Loading
refuses an embedder whose fingerprint differs from the one trained for
(:func:`resolve_saved_embedder`). The soft-prefix models' layout is in :mod:`embedlens.soft.io`.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from embedlens._version import __version__

if TYPE_CHECKING:
    import torch

__all__ = [
    "CONFIG_FILE",
    "FORMAT_VERSION",
    "WEIGHTS_FILE",
    "artifact_config",
    "check_embedder",
    "config_entries",
    "copy_parameters",
    "embedder_record",
    "load_weights",
    "path_inside",
    "read_config",
    "resolve_dir",
    "resolve_saved_embedder",
    "saved_name",
]

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


def artifact_config(cls_name: str, settings: dict[str, Any]) -> dict[str, Any]:
    """``config.json`` of a saved model: format and package versions and class, then the
    model's own ``settings`` (with the :func:`embedder_record` of its embedder, where it has one).
    """
    return {
        "format_version": FORMAT_VERSION,
        "embedlens_version": __version__,
        "class": cls_name,
        **settings,
    }


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

        name = saved_name(root, saved["name"], entry="embedder.name") if emb is None else emb
        try:
            emb = load_embedder(name)
        except Exception as err:
            raise ValueError(
                f"could not load the embedder {name!r} that {str(root)!r} was trained for "
                f"({type(err).__name__}: {err}): pass it as embedder=..."
            ) from err
    check_embedder(saved, emb, root)
    return emb


def saved_name(root: Path, spec: Any, *, entry: str) -> str:
    """``spec``, a model named by the ``entry`` of a saved model's ``config.json``, when it is a
    built-in name or a hub id (``"t5:"`` + one, for a seq2seq decoder).

    A saved model reads only its own files: a ``spec`` that is a path on this machine (see
    :func:`embedlens.models.looks_like_path`) raises ``ValueError``, never loaded. A caller who
    trusts that path names it themselves, which is the opt-in: ``embedder=`` or ``decoder=``
    of ``from_pretrained`` (on the command line ``--embedder``/``--decoder``).
    """
    from embedlens.models import looks_like_path

    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(
            f"{str(root / CONFIG_FILE)!r}: {entry} must name a model, got {spec!r}: save the "
            "model again"
        )
    if looks_like_path(spec.removeprefix("t5:")):
        keyword = entry.split(".")[0]
        audit = f"; in an audit: --option inverter.{keyword}=PATH" if keyword == "decoder" else ""
        raise ValueError(
            f"{str(root / CONFIG_FILE)!r}: {entry} {spec[:80]!r} is a path outside the model "
            "folder, and a saved model reads only its own files: if you trust that path, name "
            f"it yourself, {keyword}={spec!r} (command line: --{keyword} PATH{audit})"
        )
    return spec


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


@contextlib.contextmanager
def config_entries(root: Path) -> Iterator[None]:
    """Read the entries of a saved model's ``config.json`` and weights inside this block: a
    missing or malformed entry raises a ``ValueError`` naming the folder and the entry, not a
    bare ``KeyError``.

    Examples
    --------
    >>> with config_entries(Path("model")):  # doctest: +SKIP
    ...     params = config["params"]
    """
    files = f"{CONFIG_FILE} or {WEIGHTS_FILE}"
    try:
        yield
    except KeyError as err:
        raise ValueError(
            f"{str(root)!r} is not a complete saved model: {files} has no "
            f"{err.args[0]!r} entry (damaged, or not written by embedlens); save the model again"
        ) from None
    except (TypeError, IndexError, AttributeError) as err:
        raise ValueError(
            f"{str(root)!r} is not a complete saved model: a malformed entry in {files} "
            f"({type(err).__name__}: {err}); save the model again"
        ) from None


def path_inside(root: Path, stored: Any, *, entry: str) -> Path:
    """``root / stored`` for a path read from an artifact's ``config.json``, refused unless it
    names a folder or file inside ``root``.

    An artifact never points outside itself: an absolute path, ``~``, ``..`` that climbs out,
    or a link that leads out raises ``ValueError`` naming the entry (and never lists what lies
    at the foreign path).
    """
    file = str(root / CONFIG_FILE)
    if not isinstance(stored, str) or not stored.strip():
        raise ValueError(
            f"{file!r}: {entry} must be a path inside the model folder, got {stored!r}"
        )
    refused = ValueError(
        f"{file!r}: {entry} {stored[:80]!r} points outside the model folder: a saved model "
        "reads only its own files; save the model again, or pass the part yourself"
    )
    if os.path.isabs(stored) or stored.startswith("~") or "\0" in stored:
        raise refused
    base = root.resolve()
    resolved = (root / stored).resolve()
    if resolved == base or base not in resolved.parents:
        raise refused
    return resolved


def load_weights(
    root: Path, *, framework: Literal["pt", "numpy"] = "pt", file: str = WEIGHTS_FILE
) -> dict[str, Any]:
    """The tensors of ``root/file`` (safetensors: nothing is unpickled), all finite.

    Raises ``ValueError`` naming the file for a file that is not safetensors (a damaged header,
    a truncated body) and for a floating tensor that holds NaN or inf (a damaged or tampered
    artifact would otherwise load and decode nothing).
    """
    from safetensors import SafetensorError

    path = root / file
    try:
        if framework == "pt":
            from safetensors.torch import load_file
        else:
            from safetensors.numpy import load_file  # type: ignore[assignment]
        tensors: dict[str, Any] = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise ValueError(
            f"{str(path)!r} is not a readable safetensors file ({type(err).__name__}: {err}): "
            "the file is damaged; save the model again"
        ) from None
    for name, tensor in tensors.items():
        if not _finite(tensor):
            raise ValueError(
                f"{str(path)!r}: tensor {name!r} holds NaN or inf values: the artifact is "
                "damaged or was tampered with; save the model again or use a trusted copy"
            )
    return tensors


def _finite(tensor: Any) -> bool:
    """Whether every value of a floating torch tensor or numpy array is finite (others: True)."""
    import numpy as np

    if isinstance(tensor, np.ndarray):
        return tensor.dtype.kind != "f" or bool(np.isfinite(tensor).all())
    import torch

    return not tensor.is_floating_point() or bool(torch.isfinite(tensor).all())
