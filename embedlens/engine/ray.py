"""The Ray engine: embedding and per-record work with Ray Data over parquet shards.

The texts (or records) are written as parquet shards with an index column, read back with
``ray.data.read_parquet``, transformed with ``map_batches`` on the workers, and streamed back to
the driver, where the index column puts every row in its place. The driver never holds more than
the inputs and the results; the work itself spreads over every CPU (or GPU) of the cluster.

Install with ``pip install 'embedlens[ray]'``. Use it through
``embedlens.engine.get_engine("ray", ...)``.
"""

from __future__ import annotations

import copy
import logging
import os
import pickle
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlens._utils import in_interactive_session
from embedlens.engine.base import Engine, check_batch, check_results

if TYPE_CHECKING:
    from embedlens.embedders import Embedder

logger = logging.getLogger(__name__)

__all__ = ["RayEngine", "ray_installed"]

INDEX = "_embedlens_index"
_INSTALL = "pip install 'embedlens[ray]'"
#: objects shipped to a worker once and reused by every batch it runs (key: ObjectRef hex)
_WORKER_OBJECTS: dict[str, Any] = {}


def ray_installed() -> bool:
    """Whether Ray can be imported (checked without importing it: that takes seconds)."""
    import importlib.util

    try:
        return importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):
        return False


def _import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError as err:
        raise ImportError(
            f"the ray engine needs Ray Data, which is not installed ({err}): {_INSTALL}, "
            "or use engine='local'"
        ) from err
    return ray


class RayEngine(Engine):
    """Run embedding and per-record functions on a Ray cluster (or a local Ray instance).

    Nothing starts until the first call. Then the engine connects to the cluster at
    ``address`` (or ``$RAY_ADDRESS``), reuses a Ray session this process already opened, or
    starts a local instance with ``num_cpus`` CPUs; :meth:`close` (or leaving a ``with`` block)
    shuts down only an instance the engine started itself.

    Parameters
    ----------
    address
        A Ray cluster address (``"ray://host:10001"``, ``"auto"``, ...). ``None``: use
        ``$RAY_ADDRESS`` if set, else start a local instance.
    num_cpus
        CPUs of a local instance (``None``: all of this machine's).
    shard_rows
        Records per parquet shard; each shard is one unit of work Ray can hand to a worker.
    shard_dir
        Where the shards are written (a temporary folder below it, removed after each call).
        On a multi-machine cluster it must be storage every worker reads: a shared file system
        or a URI pyarrow understands (``s3://bucket/prefix``). ``None``:
        ``$EMBEDLENS_RAY_SHARD_DIR`` if set (so ``embedlens audit --engine ray`` can use
        shared storage), else the system temp dir.
    concurrency
        At most this many tasks run at once (``None``: as many as the cluster allows).
    ray_remote_args
        Resources per task, passed to ``map_batches`` (e.g. ``{"num_gpus": 1}``).
    init_options
        More keyword arguments for ``ray.init`` (e.g. ``object_store_memory``).
    progress
        Ray Data's progress bars; ``None`` shows them only in interactive sessions.

    Notes
    -----
    ``map_batches(fn, ...)`` sends ``fn`` to the workers with cloudpickle, so it must be
    importable there (a function of an installed module) or defined in ``__main__``/a closure.
    Batches may be cut differently than by :class:`~embedlens.engine.LocalEngine` (at shard
    boundaries), so ``fn`` must compute each item's result from that item alone.

    Examples
    --------
    >>> from embedlens.engine import get_engine
    >>> with get_engine("ray", num_cpus=2) as engine:  # doctest: +SKIP
    ...     X = engine.embed(emb, texts)
    """

    name = "ray"

    def __init__(
        self,
        *,
        address: str | None = None,
        num_cpus: int | None = None,
        shard_rows: int = 10_000,
        shard_dir: str | os.PathLike[str] | None = None,
        concurrency: int | None = None,
        ray_remote_args: dict[str, Any] | None = None,
        init_options: dict[str, Any] | None = None,
        progress: bool | None = None,
    ) -> None:
        check_batch(shard_rows, "shard_rows")
        for what, count in (("num_cpus", num_cpus), ("concurrency", concurrency)):
            if count is not None:
                check_batch(count, what)
        self.address = address
        self.num_cpus = num_cpus
        self.shard_rows = int(shard_rows)
        if shard_dir is None:
            shard_dir = os.environ.get("EMBEDLENS_RAY_SHARD_DIR") or None
        self.shard_dir = None if shard_dir is None else os.fspath(shard_dir)
        self.concurrency = concurrency
        self.ray_remote_args = dict(ray_remote_args or {})
        self.init_options = dict(init_options or {})
        self.progress = progress
        self._owns_ray = False
        self._started = False
        if not ray_installed():  # fail now, with the install line, not at the first call
            _import_ray()

    # ------------------------------------------------------------------ lifecycle
    def _ray(self) -> Any:
        ray = _import_ray()
        if self._started and ray.is_initialized():
            return ray
        address = self.address or os.environ.get("RAY_ADDRESS") or None
        if ray.is_initialized():
            logger.info("ray engine: reusing the Ray session this process already opened")
        elif address:
            logger.info("ray engine: connecting to the Ray cluster at %s", address)
            ray.init(address=address, logging_level=logging.WARNING, **self.init_options)
            if self.shard_dir is None:
                logger.warning(
                    "ray engine: shards go to this machine's temp dir; on a multi-machine "
                    "cluster pass shard_dir= (or set EMBEDLENS_RAY_SHARD_DIR) to storage "
                    "every worker reads"
                )
        else:
            options: dict[str, Any] = {
                "num_cpus": self.num_cpus,
                "include_dashboard": False,
                "logging_level": logging.WARNING,
            }
            options.update(self.init_options)
            logger.info("ray engine: starting a local Ray instance (%s CPUs)", self.num_cpus)
            ray.init(**options)
            self._owns_ray = True
        self._started = True
        return ray

    def close(self) -> None:
        """Shut down the local Ray instance if this engine started it."""
        if self._owns_ray:
            import ray

            ray.shutdown()
            self._owns_ray = False
        self._started = False

    def __repr__(self) -> str:
        where = self.address or os.environ.get("RAY_ADDRESS") or f"local, {self.num_cpus} CPUs"
        return f"RayEngine({where}, shard_rows={self.shard_rows})"

    # ------------------------------------------------------------------ the contract
    def _embed(
        self, embedder: Embedder, texts: list[str], batch_size: int, progress: bool | None
    ) -> np.ndarray:
        """With a cache attached to ``embedder``, cached texts are read on the driver, only the
        others go to the workers, and each batch that comes back is cached at once (an
        interrupted run resumes). ``embedder.queries`` counts the texts the workers embedded.
        """
        cache = getattr(embedder, "cache", None)
        todo = list(range(len(texts)))
        out: np.ndarray | None = None
        if cache is not None:
            found = cache.get_many(embedder.fingerprint, texts)
            todo = [i for i, vec in enumerate(found) if vec is None]
            hits = [(i, vec) for i, vec in enumerate(found) if vec is not None]
            if hits:
                out = np.empty((len(texts), hits[0][1].shape[0]), dtype=np.float32)
                for i, vec in hits:
                    out[i] = vec
        if not todo and out is not None:  # every text was a cache hit
            return out
        ray = self._ray()
        shipped = copy.copy(embedder)
        if cache is not None:
            shipped.cache = None  # type: ignore[attr-defined]  # the driver owns the cache
        kwargs = {"ref": ray.put(shipped), "batch_size": batch_size}
        columns = {"text": [texts[i] for i in todo]}
        with (
            self._settings(progress),
            self._on_workers(_embed_batch, kwargs, columns, todo, batch_size, "numpy") as batches,
        ):
            for batch in batches:
                idx = np.asarray(batch[INDEX], dtype=np.int64)
                vecs = np.asarray(batch["vector"], dtype=np.float32)
                if out is None:
                    out = np.empty((len(texts), vecs.shape[1]), dtype=np.float32)
                out[idx] = vecs
                if cache is not None:
                    cache.put_many(embedder.fingerprint, [texts[i] for i in idx], vecs)
        if hasattr(embedder, "queries"):
            embedder.queries += len(todo)  # type: ignore[attr-defined]
        if out is None:  # pragma: no cover - Ray returned no rows at all
            raise RuntimeError("ray engine: the workers returned no vectors")
        return out

    def _map(
        self, fn: Callable[..., Any], items: list[Any], batch_size: int, progress: bool | None
    ) -> list[Any]:
        """Items that parquet stores exactly (strings, numbers, dicts with the same keys, ...)
        go into a native column; others travel pickled (between this process and its own
        workers only; nothing is saved). Results come back pickled the same way, so they are
        the same Python objects ``fn`` returned.
        """
        if not callable(fn):
            raise TypeError(f"map_batches needs a callable fn, got {type(fn).__name__}")
        if not items:
            return []
        ref = self._ray().put(fn)
        column, values = _item_column(items)
        kwargs, columns = {"ref": ref, "column": column}, {column: values}
        results: list[Any] = [None] * len(items)
        filled = np.zeros(len(items), dtype=bool)
        index = list(range(len(items)))
        with (
            self._settings(progress),
            self._on_workers(
                _apply_batch, kwargs, columns, index, batch_size, "pyarrow"
            ) as batches,
        ):
            for table in batches:
                for i, blob in zip(
                    table.column(INDEX).to_pylist(), table.column("result").to_pylist(), strict=True
                ):
                    results[i] = pickle.loads(blob)
                    filled[i] = True
        if not filled.all():  # pragma: no cover - a Ray Data failure would raise before this
            raise RuntimeError(f"ray engine: {int((~filled).sum())} items came back without result")
        return results

    # ------------------------------------------------------------------ helpers
    @contextmanager
    def _on_workers(
        self,
        worker: Callable[..., Any],
        fn_kwargs: dict[str, Any],
        columns: dict[str, list[Any]],
        index: list[int],
        batch_size: int,
        batch_format: str,
    ) -> Iterator[Iterator[Any]]:
        """Write ``columns`` plus the index column as parquet shards, apply ``worker`` to their
        batches on the workers and yield the batches as they come back (a failing batch raises
        the user's exception, not Ray's wrapper); the shards are removed afterwards."""
        import pyarrow as pa
        import pyarrow.fs as pafs
        import pyarrow.parquet as pq
        import ray.data

        if self.shard_dir is None:
            fs, base = pafs.LocalFileSystem(), tempfile.mkdtemp(prefix="embedlens-ray-")
        else:
            uri = self.shard_dir
            uri = uri if "://" in uri else os.path.abspath(os.path.expanduser(uri))
            fs, parent = pafs.FileSystem.from_uri(uri)
            base = f"{parent.rstrip('/')}/embedlens-ray-{uuid.uuid4().hex[:12]}"
            fs.create_dir(base, recursive=True)
        try:
            idx = np.asarray(index, dtype=np.int64)
            paths = []
            for k, start in enumerate(range(0, len(idx), self.shard_rows)):
                stop = start + self.shard_rows
                part = {
                    name: _arrow_array(vals[start:stop], name) for name, vals in columns.items()
                }
                path = f"{base}/shard-{k:06d}.parquet"
                pq.write_table(
                    pa.table({INDEX: pa.array(idx[start:stop]), **part}), path, filesystem=fs
                )
                paths.append(path)
            logger.debug("ray engine: %d rows in %d shards under %s", len(idx), len(paths), base)
            ds = ray.data.read_parquet(paths, filesystem=fs).map_batches(
                worker,
                batch_size=batch_size,
                batch_format=batch_format,
                fn_kwargs=fn_kwargs,
                concurrency=self.concurrency,
                **self.ray_remote_args,
            )
            yield _unwrapped(ds.iter_batches(batch_size=None, batch_format=batch_format))
        finally:
            try:
                fs.delete_dir(base)
            except Exception as err:  # pragma: no cover - best effort clean-up
                logger.warning("ray engine: could not remove the shards in %s (%s)", base, err)

    @contextmanager
    def _settings(self, progress: bool | None) -> Iterator[None]:
        """Ray Data settings for one call, restored afterwards.

        Progress bars on or off (and Ray Data's INFO progress logs off when the bars are), the
        user's own exception raised from a failing batch, and the file-based parquet reader
        (the newer one adds a file-listing stage that costs seconds per call on a small CPU).
        """
        import ray.data

        show = self.progress if progress is None else progress
        show = in_interactive_session() if show is None else bool(show)
        ctx = ray.data.DataContext.get_current()
        wanted = {
            "enable_progress_bars": show,
            "raise_original_map_exception": True,
            "use_datasource_v2": False,
        }
        before = {k: getattr(ctx, k) for k in wanted if hasattr(ctx, k)}
        data_logger = logging.getLogger("ray.data")
        level = data_logger.level
        for k in before:
            setattr(ctx, k, wanted[k])
        if not show:
            data_logger.setLevel(logging.WARNING)
        try:
            yield
        finally:
            for k, v in before.items():
                setattr(ctx, k, v)
            data_logger.setLevel(level)


# ---------------------------------------------------------------------- on the workers


def _worker_object(ref: Any) -> Any:
    """The object behind ``ref``, fetched once per worker process and then reused."""
    key = ref.hex()
    if key not in _WORKER_OBJECTS:
        import ray

        _WORKER_OBJECTS.clear()  # one engine call at a time: drop the previous call's object
        _WORKER_OBJECTS[key] = ray.get(ref)
    return _WORKER_OBJECTS[key]


def _embed_batch(batch: dict[str, np.ndarray], *, ref: Any, batch_size: int) -> dict[str, Any]:
    embedder = _worker_object(ref)
    texts = [str(t) for t in batch["text"]]
    vecs = embedder.embed(texts, batch_size=batch_size, progress=False)
    return {INDEX: batch[INDEX], "vector": np.asarray(vecs, dtype=np.float32)}


def _apply_batch(table: Any, *, ref: Any, column: str) -> Any:
    import pyarrow as pa

    fn = _worker_object(ref)
    values = table.column(column).to_pylist()
    if column == "item_pickled":
        values = [pickle.loads(v) for v in values]
    results = check_results(fn(values), len(values), fn)
    blobs = [pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL) for r in results]
    return pa.table({INDEX: table.column(INDEX), "result": pa.array(blobs, type=pa.binary())})


# ---------------------------------------------------------------------- small helpers


def _item_column(items: list[Any]) -> tuple[str, list[Any]]:
    """``("item", items)`` when parquet round-trips them exactly, else pickled blobs."""
    import pyarrow as pa

    try:
        if _identical(pa.array(items).to_pylist(), items):
            return "item", items
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        pass
    logger.debug("ray engine: items are not plain parquet values; sending them pickled")
    return "item_pickled", [pickle.dumps(x, protocol=pickle.HIGHEST_PROTOCOL) for x in items]


def _identical(a: Any, b: Any) -> bool:
    """Equal values of the same types all the way down (``1 == 1.0`` is not enough here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_identical(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_identical(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _arrow_array(values: list[Any], name: str) -> Any:
    import pyarrow as pa

    if name == "item_pickled":
        return pa.array(values, type=pa.binary())
    if name == "text":
        return pa.array(values, type=pa.large_string())
    return pa.array(values)


def _unwrapped(batches: Iterable[Any]) -> Iterator[Any]:
    """``batches``; a failing one raises the user's exception inside Ray's wrappers
    (RayTaskError, UserCodeException) instead of the wrapper."""
    try:
        yield from batches
    except Exception as err:
        seen = err
        for _ in range(5):
            cause = getattr(seen, "cause", None) or seen.__cause__
            if not isinstance(cause, Exception) or cause is seen:
                break
            seen = cause
        raise seen from err
