"""What every execution engine provides (:class:`Engine`), and the checks the engines share,
so that the local and the Ray engine refuse the same inputs with the same messages."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np

from embedlens._utils import check_texts

if TYPE_CHECKING:
    from embedlens.embedders import Embedder

__all__ = ["ENGINES", "Engine", "EngineName", "check_batch", "check_results"]

EngineName = Literal["local", "ray"]
ENGINES: tuple[str, ...] = ("local", "ray")
_E = TypeVar("_E", bound="Engine")


class Engine(ABC):
    """What the audit needs of an execution engine (see :mod:`embedlens.engine`).

    Any object with ``embed``, ``map_batches`` and ``close`` methods counts as an engine for
    ``isinstance``; the engines here subclass it and implement ``_embed`` and ``_map``.
    """

    name: str

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
        return self._embed(embedder, items, batch_size, progress)

    def map_batches(
        self,
        fn: Callable[[list[Any]], Sequence[Any]],
        items: Sequence[Any],
        *,
        batch_size: int = 256,
        progress: bool | None = None,
    ) -> list[Any]:
        """Apply ``fn`` to consecutive batches of ``items``; one result per item, in order
        (an empty ``items`` gives ``[]`` without calling ``fn``)."""
        check_batch(batch_size)
        return self._map(fn, list(items), batch_size, progress)

    @abstractmethod
    def _embed(
        self, embedder: Embedder, texts: list[str], batch_size: int, progress: bool | None
    ) -> np.ndarray: ...

    @abstractmethod
    def _map(
        self, fn: Callable[..., Any], items: list[Any], batch_size: int, progress: bool | None
    ) -> list[Any]: ...

    def close(self) -> None:  # noqa: B027 - a hook: most engines hold nothing to release
        """Release what the engine holds (the local engine holds nothing)."""

    def __enter__(self: _E) -> _E:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def __subclasshook__(cls, other: type) -> bool:
        methods = ("embed", "map_batches", "close")
        duck = cls is Engine and all(callable(getattr(other, m, None)) for m in methods)
        return duck or NotImplemented


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
    """Refuse a batch size (or another count named ``what``) that is not a positive int."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"{what} must be a positive int, got {type(batch_size).__name__}")
    if batch_size < 1:
        raise ValueError(f"{what} must be at least 1, got {batch_size}")
