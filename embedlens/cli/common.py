"""The arguments the subcommands share, defined once, and the helpers that read them.

Every subcommand adds the shared flags with :func:`add_flags` (:data:`FLAGS`) and ``--out`` with
:func:`add_out`, so they mean the same everywhere; a command passes its own help text or default
where a flag means something more specific there.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from embedlens._utils import atomic_path, check_replaceable, output_lock

__all__ = [
    "FLAGS",
    "add_alias",
    "add_flags",
    "add_out",
    "check_out",
    "claim_output",
    "embedder_from_spec",
    "from_args",
    "holding_outputs",
    "json_default",
    "refuse_existing",
    "write_json",
    "write_jsonl",
]

#: the flags every command defines alike: flag name -> ``add_argument`` keywords
FLAGS: dict[str, dict[str, Any]] = {
    "embedder": {"default": "minilm", "help": "built-in name, hub id or model directory"},
    "device": {"help": "cpu, cuda or mps (default: best available)"},
    "cache": {"help": "embedding cache file (re-runs skip texts already embedded)"},
    "corpus": {"default": "pii", "help": "built-in name or file (default: pii)"},
    "column": {"help": "text column of a .jsonl/.csv/.parquet corpus"},
    "limit": {"type": int},
    "batch-size": {"type": int},
    "seed": {"type": int, "default": 0},
}


# --------------------------------------------------------------------------- arguments


def add_flags(p: Any, *names: str, **keywords: Any) -> argparse.Action:
    """Add ``--NAME`` for each of ``names`` to ``p`` (a parser or an argument group) as
    :data:`FLAGS` defines it; ``keywords`` (a command's own ``help``, ``default`` or ``dest``)
    replace those of the table. Returns the last action added."""
    for name in names:
        action = p.add_argument(f"--{name}", **{**FLAGS[name], **keywords})
    return action


def add_alias(p: Any, action: argparse.Action, *names: str) -> None:
    """Old option names of ``action`` (what ``add_argument`` returned): still read, into the same
    ``dest`` and with the same type, but hidden from ``--help``, so a script written for the old
    name keeps working while the help shows one name per idea."""
    p.add_argument(
        *names,
        dest=action.dest,
        type=action.type,
        choices=action.choices,
        metavar=action.metavar,
        default=argparse.SUPPRESS,  # the new name's default stands
        help=argparse.SUPPRESS,
    )


def add_out(
    p: Any,
    help: str,
    *,
    required: bool = True,
    default: str | None = None,
    what: str = "output file",
) -> None:
    """``--out`` (required unless it has a ``default``) and ``--overwrite`` (which allows
    replacing an existing ``what``)."""
    p.add_argument("--out", default=default, required=required and default is None, help=help)
    p.add_argument("--overwrite", action="store_true", help=f"replace an existing {what}")


def from_args(args: argparse.Namespace, names: str) -> dict[str, Any]:
    """``{name: args.name}`` for the space-separated ``names``: flags passed on as they are."""
    return {name: getattr(args, name) for name in names.split()}


# --------------------------------------------------------------------------- reading them


#: the outputs the running command holds (see :func:`holding_outputs`)
_HELD: ContextVar[tuple[contextlib.ExitStack, set[Path]] | None] = ContextVar(
    "embedlens_held_outputs", default=None
)


@contextlib.contextmanager
def holding_outputs() -> Iterator[None]:
    """Run a command inside this block: every output it claims (:func:`claim_output`) stays
    held until the block ends, however it ends."""
    with contextlib.ExitStack() as stack:
        token = _HELD.set((stack, set()))
        try:
            yield
        finally:
            _HELD.reset(token)


def claim_output(out: Path) -> None:
    """Hold ``out`` for the running command (:func:`~embedlens._utils.output_lock`): its folder
    can be written, and no other embedlens run writes it meanwhile. Outside a command (no
    :func:`holding_outputs`), the same is checked and let go at once."""
    held = _HELD.get()
    if held is None:
        with output_lock(out):
            return
    stack, paths = held
    target = Path(os.path.abspath(out))
    if target not in paths:
        stack.enter_context(output_lock(target))
        paths.add(target)


def refuse_existing(
    out: Path,
    overwrite: bool,
    *,
    kind: Literal["file", "folder"] = "file",
    markers: Sequence[str] = (),
    extras: Sequence[str] = (),
) -> None:
    """Check and claim ``--out`` before any work: raise when it may not be written.

    ``out`` is claimed first (:func:`claim_output`: a folder that cannot be written, or another
    run writing ``out``, is refused). Without ``--overwrite`` anything at ``out`` is refused
    (``FileExistsError``). With it, only what embedlens may replace by a ``kind`` passes
    (:func:`~embedlens._utils.check_replaceable`: a file by a file; a folder by a folder that
    holds every one of ``markers`` and nothing but them and ``extras``), so a wrong ``--out``
    fails at once instead of after the whole run.
    """
    claim_output(out)
    if os.path.lexists(out) and not overwrite:
        raise FileExistsError(f"{out} exists: pass --overwrite to replace it")
    check_replaceable(out, kind=kind, markers=markers, extras=extras)


def check_out(path: str, suffixes: tuple[str, ...], overwrite: bool) -> Path:
    """``--out`` as a path with one of ``suffixes`` that may be written."""
    out = Path(path)
    if out.suffix.lower() not in suffixes:
        raise ValueError(f"--out must end in {' or '.join(suffixes)}, got {out.name!r}")
    refuse_existing(out, overwrite)
    return out


def embedder_from_spec(spec: str) -> Any:
    """``py:MODULE:FUNCTION`` -> a FunctionEmbedder around that function; anything else as is."""
    if not spec.startswith("py:"):
        return spec
    module_name, _, attr = spec[3:].rpartition(":")
    if not module_name or not attr:
        raise ValueError(
            f"--embedder {spec!r} is not py:MODULE:FUNCTION: write e.g. py:my_client:embed"
        )
    import importlib

    from embedlens.embedders import FunctionEmbedder

    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise ValueError(
            f"--embedder {spec!r}: cannot load {attr!r} from {module_name!r} ({err})"
        ) from err
    return FunctionEmbedder(fn, name=spec[3:], fingerprint=spec[3:])


# --------------------------------------------------------------------------- writing


def json_default(value: Any) -> Any:
    """numpy scalars and arrays as Python values; anything else as its text."""
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def write_json(out: Path, payload: Any) -> None:
    """``payload`` as indented JSON, written atomically."""
    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, default=json_default), encoding="utf-8")


def write_jsonl(out: Path, rows: Iterable[Any]) -> None:
    """One JSON line per row, written atomically."""
    with atomic_path(out) as tmp:
        tmp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
