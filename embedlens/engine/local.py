"""The local engine: everything runs in this process, with no extra dependency."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlens._utils import progress_bar
from embedlens.engine.base import Engine, check_results

if TYPE_CHECKING:
    from embedlens.embedders import Embedder

__all__ = ["LocalEngine"]


class LocalEngine(Engine):
    """Run everything in this process: ``embed`` is the embedder's own ``embed``; it holds no
    resources, but :meth:`close` and the context manager let code treat every engine alike."""

    name = "local"

    def _embed(
        self, embedder: Embedder, texts: list[str], batch_size: int, progress: bool | None
    ) -> np.ndarray:
        X = embedder.embed(texts, batch_size=batch_size, progress=progress)
        return np.asarray(X, dtype=np.float32)

    def _map(
        self, fn: Callable[..., Any], items: list[Any], batch_size: int, progress: bool | None
    ) -> list[Any]:
        starts = range(0, len(items), batch_size)
        out: list[Any] = []
        for start in progress_bar(starts, progress=progress, total=len(starts), desc="batches"):
            chunk = items[start : start + batch_size]
            out.extend(check_results(fn(chunk), len(chunk), fn))
        return out

    def __repr__(self) -> str:
        return "LocalEngine()"
