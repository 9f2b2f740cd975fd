"""Execution engines: where embedding and per-record work run.

The audit (and anything else that runs one function over many records) asks an engine to do
the work instead of looping itself, so the same code runs in this process
(:class:`LocalEngine`, the default, no extra dependency) or on a Ray cluster
(:class:`~embedlens._engine_ray.RayEngine`, ``pip install 'embedlens[ray]'``), which spreads
the records over workers as parquet shards read by Ray Data.

Both engines keep the contract:

- ``engine.embed(embedder, texts, batch_size=64)`` returns a float32 array ``(n, dim)`` whose
  rows are in the order of ``texts``;
- ``engine.map_batches(fn, items, batch_size=256)`` applies ``fn(list_of_items) -> list`` to
  consecutive batches and returns the concatenated results in the order of ``items``; ``fn``
  must return exactly one result per item.

Examples
--------
>>> from embedlens.engine import get_engine
>>> from embedlens.tiny import tiny_embedder
>>> engine = get_engine("local")
>>> engine.embed(tiny_embedder(dim=8), ["a", "b", "c"]).shape
(3, 8)
>>> engine.map_batches(lambda xs: [x * 2 for x in xs], [1, 2, 3], batch_size=2)
[2, 4, 6]
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import numpy as np

from embedlens._utils import check_texts, progress_bar

if TYPE_CHECKING:
    from embedlens.embedder_base import Embedder

logger = logging.getLogger(__name__)

__all__ = ["ENGINES", "Engine", "EngineName", "LocalEngine", "check_results", "get_engine"]

EngineName = Literal["local", "ray"]
ENGINES: tuple[str, ...] = ("local", "ray")


@runtime_checkable
class Engine(Protocol):
    """What the audit needs of an execution engine (see the module docstring)."""

    name: str

    def embed(
        self,
        embedder: Embedder,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        progress: bool | None = None,
    ) -> np.ndarray: ...

    def map_batches(
        self,
        fn: Callable[[list[Any]], Sequence[Any]],
        items: Sequence[Any],
        *,
        batch_size: int = 256,
        progress: bool | None = None,
    ) -> list[Any]: ...

    def close(self) -> None: ...


def get_engine(name: EngineName | str = "local", **options: Any) -> Engine:
    """Return the engine called ``name``.

    Parameters
    ----------
    name
        ``"local"`` (this process, no options) or ``"ray"`` (Ray Data; options ``address``,
        ``num_cpus``, ``shard_rows``, ``concurrency``, ``tmp_dir``; see
        :class:`~embedlens._engine_ray.RayEngine`).
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

        from embedlens._engine_ray import RayEngine

        valid = [p for p in inspect.signature(RayEngine.__init__).parameters if p != "self"]
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise ValueError(
                f"unknown option(s) {unknown} for the ray engine: valid options are "
                f"{', '.join(valid)}"
            )
        return RayEngine(**options)
    raise ValueError(f"unknown engine {name!r}: expected one of {', '.join(ENGINES)}")


def check_results(results: Any, n_items: int, fn: Callable[..., Any]) -> list[Any]:
    """Return ``results`` of one batch as a list, or raise if there is not one per item."""
    what = getattr(fn, "__name__", type(fn).__name__)
    if isinstance(results, (str, bytes)) or not hasattr(results, "__len__"):
        raise TypeError(
            f"map_batches: {what} returned {type(results).__name__}, expected a list with one "
            f"result per item ({n_items}): return a list"
        )
    if len(results) != n_items:
        raise ValueError(
            f"map_batches: {what} returned {len(results)} results for a batch of {n_items} "
            "items: it must return exactly one result per item, in order"
        )
    return list(results)


def check_batch(batch_size: int, what: str = "batch_size") -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"{what} must be a positive int, got {type(batch_size).__name__}")
    if batch_size < 1:
        raise ValueError(f"{what} must be at least 1, got {batch_size}")


class LocalEngine:
    """Run everything in this process: ``embed`` is the embedder's own ``embed``.

    It holds no resources; :meth:`close` and the context manager exist so code can treat every
    engine alike.
    """

    name = "local"

    def embed(
        self,
        embedder: Embedder,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        progress: bool | None = None,
    ) -> np.ndarray:
        """Embed ``texts`` with ``embedder``; float32 ``(len(texts), dim)`` in input order."""
        items = check_texts(texts)
        check_batch(batch_size)
        X = embedder.embed(items, batch_size=batch_size, progress=progress)
        return np.asarray(X, dtype=np.float32)

    def map_batches(
        self,
        fn: Callable[[list[Any]], Sequence[Any]],
        items: Sequence[Any],
        *,
        batch_size: int = 256,
        progress: bool | None = None,
    ) -> list[Any]:
        """Apply ``fn`` to consecutive batches of ``items``; one result per item, in order.

        An empty ``items`` gives an empty list without calling ``fn``.
        """
        check_batch(batch_size)
        seq = list(items)
        starts = range(0, len(seq), batch_size)
        out: list[Any] = []
        for start in progress_bar(starts, progress=progress, total=len(starts), desc="batches"):
            chunk = seq[start : start + batch_size]
            out.extend(check_results(fn(chunk), len(chunk), fn))
        return out

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return "LocalEngine()"
