"""The local engine: everything runs in this process, with no extra dependency."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlens._utils import check_texts, progress_bar
from embedlens.engine.base import check_batch, check_results

if TYPE_CHECKING:
    from embedlens.embedders import Embedder

__all__ = ["LocalEngine"]


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
