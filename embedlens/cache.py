"""An on-disk embedding cache keyed by (embedder fingerprint, text).

One SQLite file holds the vectors of any number of embedders; a vector is found again only for
the exact same text and the exact same model (its fingerprint). Writes are committed batch by
batch, so a run that stops midway keeps what it computed and a re-run resumes from there.

Examples
--------
>>> import tempfile, numpy as np
>>> cache = EmbeddingCache(tempfile.mkdtemp() + "/emb.sqlite")
>>> cache.put_many("fp", ["hello"], np.ones((1, 3), dtype=np.float32))
>>> cache.get_many("fp", ["hello", "other"])[1] is None
True
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    fingerprint TEXT NOT NULL,
    key BLOB NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (fingerprint, key)
) WITHOUT ROWID
"""
_COLUMNS = ("fingerprint", "key", "dim", "vector")
_CHUNK = 500  # SQLite's default limit on bound parameters is 999 (older builds)


class EmbeddingCache:
    """A SQLite file of float32 vectors keyed by (fingerprint, sha256(text)).

    Parameters
    ----------
    path
        The database file; created with its parent directories if missing.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        if self.path.is_dir():
            self.path = self.path / "embeddings.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        existed = self.path.is_file() and self.path.stat().st_size > 0
        self._conn = sqlite3.connect(self.path, check_same_thread=False)
        try:
            if existed:  # read only: another application's database is left exactly as it was
                self._check_is_cache()
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(_SCHEMA)
            self._conn.commit()
        except sqlite3.DatabaseError as err:
            self._conn.close()
            raise ValueError(
                f"{str(self.path)!r} is not an embedlens cache (SQLite said: {err}): "
                "pass a new path or delete the file"
            ) from err
        except ValueError:
            self._conn.close()
            raise

    def _check_is_cache(self) -> None:
        """Raise ``ValueError`` unless the open database is empty or holds only the cache's
        ``vectors`` table, with its columns, and no other application marked it as its own
        (an ``application_id`` or ``user_version``, which an embedlens cache never sets)."""
        marks = {
            pragma: int(self._conn.execute(f"PRAGMA {pragma}").fetchone()[0])
            for pragma in ("application_id", "user_version")
        }
        if any(marks.values()):
            found = ", ".join(f"{k} {v}" for k, v in marks.items() if v)
            raise ValueError(
                f"{str(self.path)!r} is a SQLite database that another application marked as "
                f"its own ({found}), not an embedlens cache: it was left unchanged; pass a new "
                "path for the cache"
            )
        tables = [
            row[0]
            for row in self._conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
            ).fetchall()
        ]
        if not tables:
            return
        columns = [row[1] for row in self._conn.execute("PRAGMA table_info(vectors)").fetchall()]
        if tables != ["vectors"] or columns != list(_COLUMNS):
            raise ValueError(
                f"{str(self.path)!r} is a SQLite database but not an embedlens cache (it holds "
                f"{len(tables)} other table(s)): it was left unchanged; pass a new path for the "
                "cache"
            )

    @staticmethod
    def _key(text: str) -> bytes:
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()

    def get_many(self, fingerprint: str, texts: Sequence[str]) -> list[np.ndarray | None]:
        """The cached vector of each text, or ``None`` where there is none."""
        keys = [self._key(t) for t in texts]
        found: dict[bytes, np.ndarray] = {}
        with self._lock:
            for s in range(0, len(keys), _CHUNK):
                chunk = list(dict.fromkeys(keys[s : s + _CHUNK]))
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT key, dim, vector FROM vectors WHERE fingerprint = ? AND key IN ({marks})",
                    [fingerprint, *chunk],
                ).fetchall()
                for key, dim, blob in rows:
                    vec = np.frombuffer(blob, dtype=np.float32)
                    if vec.shape[0] == dim:
                        found[key] = vec
        return [found.get(k) for k in keys]

    def put_many(self, fingerprint: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store one vector per text (replacing older entries) and commit."""
        arr = np.ascontiguousarray(vectors, dtype=np.float32)
        if arr.ndim != 2 or arr.shape[0] != len(texts):
            raise ValueError(
                f"put_many needs one vector per text: {len(texts)} texts, array {arr.shape}"
            )
        rows = [
            (fingerprint, self._key(t), int(arr.shape[1]), arr[i].tobytes())
            for i, t in enumerate(texts)
        ]
        with self._lock:
            self._conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)", rows)
            self._conn.commit()

    def count(self, fingerprint: str | None = None) -> int:
        """Number of cached vectors (of one embedder, if a fingerprint is given)."""
        with self._lock:
            if fingerprint is None:
                row = self._conn.execute("SELECT COUNT(*) FROM vectors").fetchone()
            else:
                row = self._conn.execute(
                    "SELECT COUNT(*) FROM vectors WHERE fingerprint = ?", [fingerprint]
                ).fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.path)!r})"
