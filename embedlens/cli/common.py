"""The arguments the subcommands share, defined once, and the helpers that read them.

Every subcommand module adds its flags with these functions, so ``--embedder``, ``--device``,
``--cache``, ``--corpus``, ``--column``, ``--limit``, ``--batch-size``, ``--seed`` and
``--out``/``--overwrite`` mean the same everywhere; a command passes its own help text where
the flag means something more specific there. The texts, vectors and labels of ``probe``,
``map`` and ``explain`` come from :mod:`embedlens.cli.sources`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from embedlens._utils import atomic_path

__all__ = [
    "add_batch_size",
    "add_cache",
    "add_column",
    "add_corpus",
    "add_device",
    "add_embedder",
    "add_embedder_args",
    "add_limit",
    "add_out",
    "add_seed",
    "check_out",
    "embedder_from_spec",
    "json_default",
    "refuse_existing",
    "required_out",
    "write_json",
    "write_jsonl",
]

#: what ``--embedder`` takes everywhere
EMBEDDER_HELP = "built-in name, hub id or model directory"
#: where a function embedder (e.g. a client of a remote API) is allowed too
EMBEDDER_SPEC_HELP = (
    "built-in name, hub id or model directory, or py:MODULE:FUNCTION for a function "
    "texts -> vectors (e.g. a client of a remote embedding API)"
)
_CACHE_HELP = "embedding cache file (re-runs skip texts already embedded)"

# An argparse parser or argument group: both have add_argument.
Parser = Any


# --------------------------------------------------------------------------- arguments


def add_embedder(p: Parser, help: str = EMBEDDER_HELP) -> None:
    """``--embedder`` (default: the built-in MiniLM)."""
    p.add_argument("--embedder", default="minilm", help=help)


def add_device(p: Parser) -> None:
    """``--device``."""
    p.add_argument("--device", help="cpu, cuda or mps (default: best available)")


def add_cache(p: Parser, help: str = _CACHE_HELP) -> None:
    """``--cache``: an embedding cache file."""
    p.add_argument("--cache", help=help)


def add_embedder_args(p: Parser) -> None:
    """``--embedder``, ``--device`` and ``--cache``: what embeds a command's texts."""
    add_embedder(p)
    add_device(p)
    add_cache(p)


def add_corpus(p: Parser, default: str) -> None:
    """``--corpus``: a built-in corpus name or a file of texts."""
    p.add_argument("--corpus", default=default, help=f"built-in name or file (default: {default})")


def add_column(p: Parser, of: str = "file") -> None:
    """``--column``: the text column of a table file."""
    p.add_argument("--column", help=f"text column of a .jsonl/.csv/.parquet {of}")


def add_limit(p: Parser, help: str) -> None:
    """``--limit N``: only the first N records."""
    p.add_argument("--limit", type=int, help=help)


def add_batch_size(p: Parser, default: int, help: str | None = None) -> None:
    """``--batch-size``."""
    p.add_argument("--batch-size", type=int, default=default, help=help)


def add_seed(p: Parser, help: str | None = None) -> None:
    """``--seed`` (default 0)."""
    p.add_argument("--seed", type=int, default=0, help=help)


def add_out(
    p: Parser,
    help: str,
    *,
    required: bool = True,
    default: str | None = None,
    what: str = "output file",
) -> None:
    """``--out`` and ``--overwrite`` (which allows replacing an existing ``what``)."""
    if default is not None:
        p.add_argument("--out", default=default, help=help)
    else:
        p.add_argument("--out", required=required, help=help)
    p.add_argument("--overwrite", action="store_true", help=f"replace an existing {what}")


# --------------------------------------------------------------------------- reading them


def refuse_existing(out: Path, overwrite: bool) -> None:
    """Raise ``FileExistsError`` when ``out`` exists and ``--overwrite`` was not given."""
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists: pass --overwrite to replace it")


def check_out(path: str | None, suffixes: tuple[str, ...], overwrite: bool) -> Path | None:
    """``--out`` as a path with one of ``suffixes`` that may be written (None stays None)."""
    if path is None:
        return None
    out = Path(path)
    if out.suffix.lower() not in suffixes:
        raise ValueError(f"--out must end in {' or '.join(suffixes)}, got {out.name!r}")
    refuse_existing(out, overwrite)
    return out


def required_out(path: str | None, suffixes: tuple[str, ...], overwrite: bool) -> Path:
    """:func:`check_out` for a command that needs ``--out``."""
    out = check_out(path, suffixes, overwrite)
    if out is None:
        raise ValueError(f"pass --out, a {' or '.join(suffixes)} file")
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
