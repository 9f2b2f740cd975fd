"""The Embedder protocol and the machinery every backend shares.

:class:`BaseEmbedder` does what all backends need (input checks, length-sorted batches, a
progress bar, output checks for shape and NaN/inf, the optional on-disk cache and the count of
queries); a backend only says how to embed one batch and how to fingerprint itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from embedlens._utils import check_texts, progress_bar
from embedlens.cache import EmbeddingCache

logger = logging.getLogger(__name__)

Pooling = Literal["mean", "cls", "last", "max"]
POOLINGS: tuple[str, ...] = ("mean", "cls", "last", "max")


@runtime_checkable
class Embedder(Protocol):
    """What embedlens needs of an embedding model.

    ``name`` says what it is, ``dim`` the vector size, ``fingerprint`` a stable hash of the
    weights and pooling (saved artifacts refuse an embedder with another fingerprint), and
    ``embed`` maps texts to a float32 array ``(len(texts), dim)``.
    """

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    @property
    def fingerprint(self) -> str: ...

    def embed(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: bool | None = None
    ) -> np.ndarray: ...


class BaseEmbedder:
    """Shared machinery of the backends; subclasses implement :meth:`_embed_batch`.

    Subclasses set ``self._name`` and may set ``self._dim``; ``fingerprint`` is computed lazily
    by :meth:`_compute_fingerprint` and remembered.
    """

    _name: str
    _dim: int | None = None
    _fingerprint: str | None = None
    cache: EmbeddingCache | None = None
    #: number of texts sent to the underlying model (cache hits excluded): an attack's cost
    queries: int = 0
    #: end batches at token-length changes (pays off for local models, not for remote calls)
    _split_lengths: bool = False

    # ---- the protocol
    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = self._infer_dim()
        return self._dim

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = self._compute_fingerprint()
        return self._fingerprint

    def embed(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: bool | None = None
    ) -> np.ndarray:
        """Embed ``texts`` into a float32 array ``(len(texts), dim)``.

        Texts are embedded in batches of similar length (less padding), then returned in the
        order given. With a cache attached, texts already embedded by this same model (same
        fingerprint) are read back instead of recomputed, and each new batch is written as soon
        as it is computed, so an interrupted run resumes where it stopped.

        Parameters
        ----------
        texts
            A non-empty list of strings.
        batch_size
            Texts per forward pass (or per call of a function embedder).
        progress
            Show a progress bar; ``None`` shows one only in interactive sessions.
        """
        items = check_texts(texts)
        check_batch_size(batch_size)
        todo = list(range(len(items)))
        hits: list[tuple[int, np.ndarray]] = []
        if self.cache is not None:
            found = self.cache.get_many(self.fingerprint, items)
            todo = [i for i, vec in enumerate(found) if vec is None]
            hits = [(i, vec) for i, vec in enumerate(found) if vec is not None]

        def store(chunk: list[str], vecs: np.ndarray) -> None:
            if self.cache is not None:  # written batch by batch: a crash keeps what was done
                self.cache.put_many(self.fingerprint, chunk, vecs)

        try:
            new = (
                self.map_batches(
                    [items[i] for i in todo],
                    self._checked_batch,
                    batch_size=batch_size,
                    progress=progress,
                    desc=f"embed {self.name}",
                    on_batch=store,
                )
                if todo
                else None
            )
        except NonFiniteVectors as err:  # its rows count in the texts not found in the cache
            raise err.at([todo[r] for r in err.rows]) from None
        dim = new.shape[1] if new is not None else hits[0][1].shape[0]
        out = np.empty((len(items), dim), dtype=np.float32)
        for i, vec in hits:
            out[i] = vec
        if new is not None:
            out[todo] = new
        return out

    def map_batches(
        self,
        items: list[str],
        fn: Callable[[list[str]], np.ndarray],
        *,
        batch_size: int,
        progress: bool | None = None,
        desc: str | None = None,
        on_batch: Callable[[list[str], np.ndarray], None] | None = None,
    ) -> np.ndarray:
        """Apply ``fn`` to length-sorted batches of ``items``; results come back in order.

        ``fn`` maps a batch of texts to an array whose first axis is the batch; the results are
        stacked along a first axis of ``len(items)``. This is the loop behind :meth:`embed`
        and behind per-layer embeddings, so both batch, sort and report progress alike.
        """
        check_batch_size(batch_size)
        lengths = self._lengths(items)
        out: np.ndarray | None = None
        batches = length_batches(lengths, batch_size, split_lengths=self._split_lengths)
        for idx in progress_bar(batches, progress=progress, total=len(batches), desc=desc):
            chunk = [items[i] for i in idx]
            try:
                res = fn(chunk)
            except NonFiniteVectors as err:  # its rows count in the batch: name them in items
                raise err.at([idx[r] for r in err.rows]) from None
            if out is None:
                out = np.empty((len(items), *res.shape[1:]), dtype=res.dtype)
            out[idx] = res
            if on_batch is not None:
                on_batch(chunk, res)
        if out is None:
            raise ValueError("map_batches got no texts: pass at least one text")
        return out

    # ---- what backends provide
    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def _compute_fingerprint(self) -> str:
        raise NotImplementedError

    def _infer_dim(self) -> int:
        return int(self._checked_batch(["dimension probe"]).shape[1])

    def _lengths(self, texts: list[str]) -> list[int]:
        return [len(t) for t in texts]

    # ---- helpers
    def _checked_batch(self, texts: list[str]) -> np.ndarray:
        raw = self._embed_batch(texts)
        self.queries += len(texts)
        vecs = np.asarray(raw, dtype=np.float32)
        expected = (len(texts), self._dim) if self._dim is not None else (len(texts), "dim")
        if (
            vecs.ndim != 2
            or vecs.shape[0] != len(texts)
            or (self._dim is not None and vecs.shape[1] != self._dim)
        ):
            raise ValueError(
                f"embedder {self.name!r} returned an array of shape {vecs.shape} for "
                f"{len(texts)} texts, expected {expected}: it must return one vector per text"
            )
        bad = ~np.isfinite(vecs).all(axis=1)
        if bad.any():
            raise NonFiniteVectors(self.name, np.flatnonzero(bad).tolist())
        if self._dim is None:
            self._dim = int(vecs.shape[1])
        return vecs

    def with_cache(self, cache: EmbeddingCache | str | os.PathLike[str] | None) -> BaseEmbedder:
        """Attach an on-disk cache (a path or an :class:`EmbeddingCache`); returns ``self``."""
        self.cache = (
            cache if cache is None or isinstance(cache, EmbeddingCache) else (EmbeddingCache(cache))
        )
        return self

    def __repr__(self) -> str:
        dim = self._dim if self._dim is not None else "?"
        return f"{type(self).__name__}(name={self.name!r}, dim={dim})"


class NonFiniteVectors(ValueError):
    """An embedder returned NaN or inf for the texts at ``rows``, named by their index only
    (a text may be private: an error message must not print it)."""

    def __init__(self, embedder: str, rows: list[int]) -> None:
        self.embedder, self.rows = embedder, rows
        shown = ", ".join(f"texts[{r}]" for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
        super().__init__(
            f"embedder {embedder!r} returned NaN or inf for {len(rows)} text(s) ({shown}): "
            "check the model's dtype and those inputs"
        )

    def at(self, rows: list[int]) -> NonFiniteVectors:
        """The same error, with its rows renumbered (a batch's rows as positions in all texts)."""
        return NonFiniteVectors(self.embedder, rows)


def check_batch_size(batch_size: Any) -> int:
    """Return ``batch_size`` if it is a positive int, else raise a clear ``ValueError``."""
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return batch_size


def length_batches(
    lengths: Sequence[int], batch_size: int, *, split_lengths: bool = False
) -> list[list[int]]:
    """Group positions into batches of similar length, longest first.

    Batches hold at most ``batch_size`` items. With ``split_lengths`` a batch also ends where
    the length changes if it is already at least half full, so many batches need no padding at
    all (and a model can skip the attention mask), while rare lengths still share batches.
    """
    order = np.argsort(-np.asarray(lengths), kind="stable")
    batches: list[list[int]] = []
    current: list[int] = []
    for j in order.tolist():
        if current and (
            len(current) == batch_size
            or (
                split_lengths
                and lengths[j] != lengths[current[0]]
                and 2 * len(current) >= batch_size
            )
        ):
            batches.append(current)
            current = []
        current.append(j)
    if current:
        batches.append(current)
    return batches


def hash_state(state: dict[str, Any], extra: dict[str, Any], *, sample: int = 4096) -> str:
    """A stable hash of named tensors plus a config dict.

    Each tensor contributes its name, shape, dtype and up to ``sample`` evenly spaced values
    (exact copies, so the hash does not depend on the device). Large models hash in
    milliseconds instead of reading every weight.
    """
    import torch

    h = hashlib.sha256(json.dumps(extra, sort_keys=True, default=str).encode())
    for key in sorted(state):
        t = state[key]
        if not isinstance(t, torch.Tensor):
            continue
        flat = t.detach().reshape(-1)
        if flat.numel() > sample:  # evenly spaced by integer arithmetic: a float32 index
            steps = torch.arange(sample, device=flat.device)  # is off by one past 2**24 values
            flat = flat[steps * (flat.numel() - 1) // (sample - 1)]
        h.update(f"{key}|{tuple(t.shape)}|{t.dtype}|".encode())
        h.update(flat.float().cpu().numpy().tobytes())
    return h.hexdigest()[:16]
