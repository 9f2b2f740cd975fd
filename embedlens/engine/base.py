"""What every execution engine provides, and the checks the engines share.

:class:`Engine` is the contract (see :mod:`embedlens.engine`); :func:`check_batch` and
:func:`check_results` are the argument and result checks that the local and the Ray engine both
apply, so the two refuse the same inputs with the same messages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from embedlens.embedders import Embedder

__all__ = ["ENGINES", "Engine", "EngineName", "check_batch", "check_results"]

EngineName = Literal["local", "ray"]
ENGINES: tuple[str, ...] = ("local", "ray")


@runtime_checkable
class Engine(Protocol):
    """What the audit needs of an execution engine (see :mod:`embedlens.engine`)."""

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
