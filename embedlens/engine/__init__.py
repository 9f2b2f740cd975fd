"""Execution engines: where embedding and per-record work run.

The audit (and anything else that runs one function over many records) asks an engine to do
the work instead of looping itself, so the same code runs in this process
(:class:`LocalEngine`, the default, no extra dependency) or on a Ray cluster
(:class:`~embedlens.engine.ray.RayEngine`, ``pip install 'embedlens[ray]'``), which spreads
the records over workers as parquet shards read by Ray Data.

Both engines keep the contract:

- ``engine.embed(embedder, texts, batch_size=64)`` returns a float32 array ``(n, dim)`` whose
  rows are in the order of ``texts``;
- ``engine.map_batches(fn, items, batch_size=256)`` applies ``fn(list_of_items) -> list`` to
  consecutive batches and returns the concatenated results in the order of ``items``; ``fn``
  must return exactly one result per item.

Examples
--------
>>> from embedlens import FunctionEmbedder
>>> from embedlens.engine import get_engine
>>> engine = get_engine("local")
>>> engine.embed(FunctionEmbedder(lambda texts: [[len(t), 1.0] for t in texts]), ["a", "bc"])
array([[1., 1.],
       [2., 1.]], dtype=float32)
>>> engine.map_batches(lambda xs: [x * 2 for x in xs], [1, 2, 3], batch_size=2)
[2, 4, 6]
"""

from __future__ import annotations

from typing import Any

from embedlens.engine.base import ENGINES, Engine, EngineName, check_results
from embedlens.engine.local import LocalEngine

__all__ = ["ENGINES", "Engine", "EngineName", "LocalEngine", "check_results", "get_engine"]


def get_engine(name: EngineName | str = "local", **options: Any) -> Engine:
    """Return the engine called ``name``.

    Parameters
    ----------
    name
        ``"local"`` (this process, no options) or ``"ray"`` (Ray Data; options ``address``,
        ``num_cpus``, ``shard_rows``, ``shard_dir``, ``concurrency``, ...; see
        :class:`~embedlens.engine.ray.RayEngine`).
    **options
        Passed to the engine's constructor.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones) or options the engine lacks.
    ImportError
        For ``"ray"`` when Ray is not installed.

    Examples
    --------
    >>> get_engine("local").name
    'local'
    """
    if name == "local":
        if options:
            raise ValueError(
                f"the local engine takes no options, got {sorted(options)}: drop them or "
                "use get_engine('ray', ...)"
            )
        return LocalEngine()
    if name == "ray":
        import inspect

        from embedlens.engine.ray import RayEngine

        valid = [p for p in inspect.signature(RayEngine.__init__).parameters if p != "self"]
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise ValueError(
                f"unknown option(s) {unknown} for the ray engine: valid options are "
                f"{', '.join(valid)}"
            )
        return RayEngine(**options)
    raise ValueError(f"unknown engine {name!r}: expected one of {', '.join(ENGINES)}")
