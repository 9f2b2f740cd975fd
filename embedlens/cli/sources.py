"""Where the ``probe``, ``map`` and ``explain`` commands get their vectors, texts and columns.

A *source* is one of: a built-in corpus (its label and field columns come along), a
.jsonl/.csv/.parquet file (its other columns come along, row-aligned with the texts), a .txt file
(texts only), or a ``.npy`` file of vectors (with columns from a separate ``--labels`` file and
texts from an optional ``--texts`` file). Rows whose text is blank are dropped together with their
columns, so texts, vectors and labels always stay aligned. :func:`source_vectors` embeds a
source's texts when it has no vectors of its own.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embedlens._utils import check_matrix
from embedlens.cli.common import add_flags

logger = logging.getLogger(__name__)

TABLE_EXTENSIONS = (".jsonl", ".csv", ".parquet")


@dataclass
class Source:
    """Texts and/or vectors with their columns, all row-aligned."""

    name: str
    texts: list[str] | None = None
    vectors: np.ndarray | None = None
    columns: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def n(self) -> int:
        if self.vectors is not None:
            return int(self.vectors.shape[0])
        return len(self.texts or [])

    def column(self, name: str) -> list[Any]:
        if name not in self.columns:
            found = ", ".join(sorted(self.columns)) or "none"
            raise ValueError(
                f"{self.name} has no column {name!r} (columns: {found}): pass one of those, "
                "or a --labels file that has it"
            )
        return self.columns[name]


def add_source_args(p: argparse.ArgumentParser, *, texts_help: str | None = None) -> None:
    """``--corpus``/``--vectors`` (one of them), ``--column``, ``--labels``, ``--texts``, ``--limit``."""
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--corpus",
        help="built-in corpus name or a .txt/.jsonl/.csv/.parquet file (default: pii); "
        "its other columns (or, for built-ins, its labels and fields) can be used as labels",
    )
    src.add_argument("--vectors", help=".npy file of vectors (n, dim) instead of a corpus")
    add_flags(p, "column")
    p.add_argument(
        "--labels",
        help="file with the label columns (.jsonl/.csv/.parquet, or .txt with one label per "
        "line), one row per vector; default: the corpus itself",
    )
    if texts_help is not None:
        p.add_argument("--texts", help=f"texts of the --vectors rows, one per line ({texts_help})")
    add_flags(p, "limit", help="only the first N records")


def load_source(args: argparse.Namespace, *, label: str | None = None) -> Source:
    """Read the source the arguments name (see the module docstring)."""
    from embedlens.data import BUILTIN_CORPORA, load_corpus, load_texts

    limit = args.limit
    if limit is not None and limit < 1:
        raise ValueError(f"--limit must be at least 1, got {limit}")
    if args.vectors:
        if args.column:
            raise ValueError("--column names the text column of a corpus: drop it with --vectors")
        X = load_vectors(args.vectors, limit)
        source = Source(name=Path(args.vectors).name, vectors=X)
        if getattr(args, "texts", None):
            texts = load_texts(args.texts)[: X.shape[0]]
            _same_rows(len(texts), X.shape[0], args.texts, args.vectors)
            source.texts = texts
    else:
        corpus = args.corpus or "pii"
        if corpus in BUILTIN_CORPORA:
            n = limit if corpus == "pii" else None
            c = load_corpus(corpus, n=n, limit=limit, column=args.column)
            fields = c.fields or [{}]
            columns: dict[str, list[Any]] = {k: [f.get(k) for f in fields] for k in fields[0]}
            columns.update(c.labels)
            source = Source(name=corpus, texts=c.texts, columns=columns)
        elif Path(corpus).suffix.lower() in TABLE_EXTENSIONS:
            texts, columns = read_table(Path(corpus), args.column, limit)
            source = Source(name=Path(corpus).name, texts=texts, columns=columns)
        else:
            source = Source(name=Path(corpus).name, texts=load_texts(corpus, limit=limit))
        if getattr(args, "texts", None):
            raise ValueError("--texts goes with --vectors; a corpus brings its own texts")
    if args.labels:
        source.columns.update(read_labels(Path(args.labels), source.n, label))
    return source


def add_cache_flags(p: Any) -> None:
    """``--cache FILE`` and ``--no-cache``: a command with these caches embeddings by default,
    in ``embeddings.sqlite`` of the embedlens cache directory (:func:`embedding_cache`)."""
    add_flags(
        p,
        "cache",
        help="embedding cache file (default: embeddings.sqlite in the embedlens cache "
        "directory); re-runs skip texts already embedded",
    )
    p.add_argument("--no-cache", action="store_true", help="embed everything anew, keep nothing")


def embedding_cache(args: argparse.Namespace) -> Path | str | None:
    """The cache a command embeds with: ``--cache``, else (for commands with ``--no-cache``,
    see :func:`add_cache_flags`) the default file unless ``--no-cache``; other commands cache
    only when given ``--cache``."""
    if not hasattr(args, "no_cache"):
        return args.cache
    if args.no_cache:
        if args.cache:
            raise ValueError("--cache and --no-cache contradict each other: pass one of them")
        return None
    if args.cache:
        return args.cache
    from embedlens.models import cache_dir

    return cache_dir() / "embeddings.sqlite"


def source_vectors(
    source: Source, args: argparse.Namespace, rows: np.ndarray | None = None
) -> tuple[np.ndarray, dict[str, Any] | None]:
    """The source's vectors (of ``rows`` only, if given), embedding its texts when it has none
    (with ``--embedder``, ``--device``, the cache of :func:`embedding_cache`, ``--batch-size``); and
    the embedder's
    identity (``None`` for vectors read from a file)."""
    if source.vectors is not None:
        return (source.vectors if rows is None else source.vectors[rows]), None
    from embedlens.embedders import load_embedder

    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}")
    texts = source.texts or []
    if rows is not None:
        texts = [texts[i] for i in rows]
    emb = load_embedder(args.embedder, device=args.device, cache=embedding_cache(args))
    X = emb.embed(texts, batch_size=args.batch_size, progress=True)
    return X, {"name": emb.name, "dim": emb.dim, "fingerprint": emb.fingerprint}


def load_vectors(path: str, limit: int | None) -> np.ndarray:
    """A finite float32 matrix from a ``.npy`` file (never unpickling objects)."""
    p = Path(path)
    if p.suffix.lower() != ".npy":
        raise ValueError(f"--vectors expects a .npy file (as `embedlens embed` writes), got {p}")
    if p.is_dir():
        raise IsADirectoryError(f"--vectors {p} is a folder: pass the .npy file inside it")
    if not p.is_file():
        raise FileNotFoundError(f"no such file: {p}")
    try:  # memory-mapped: with --limit only the rows asked for are read
        X = np.load(p, allow_pickle=False, mmap_mode="r")
    except (ValueError, OSError, EOFError, SyntaxError) as err:  # EOFError: an empty file
        raise ValueError(f"{p} is not a readable .npy array ({err or 'no data'})") from None
    if not isinstance(X, np.ndarray):  # np.load reads .npz archives too, whatever the name
        raise ValueError(f"{p} is not a .npy array (it is an archive of arrays): save one array")
    if limit and X.ndim >= 1:
        X = X[:limit]
    return check_matrix(np.array(X), what=f"vectors in {p.name}")  # a copy in memory


def read_table(
    path: Path, column: str | None, limit: int | None = None
) -> tuple[list[str], dict[str, list[Any]]]:
    """The non-blank texts of a table file and its other columns, row-aligned."""
    from embedlens._readers import _is_number, _pick_column
    from embedlens.data import load_texts

    frame = _read_frame(path)
    names = [str(c) for c in frame.columns]
    frame.columns = names
    if column is None:

        def texty(v: Any) -> bool:
            return isinstance(v, str) and bool(v.strip()) and not _is_number(v)

        strings = [c for c in names if frame[c].map(texty).any()]
        column = _pick_column(names, strings, path)
    elif column not in names:
        raise ValueError(f"{path} has no column {column!r}: found columns {names}")
    values = frame[column].tolist()
    keep = [i for i, v in enumerate(values) if isinstance(v, str) and v.strip()]
    if not keep:
        load_texts(str(path), column=column)  # raises the reader's own message
        raise ValueError(f"{path}: column {column!r} holds no text")
    if len(keep) < len(values):
        logger.info("%s: %d rows without text dropped", path, len(values) - len(keep))
    keep = keep[:limit] if limit else keep
    texts = [values[i] for i in keep]
    columns = {c: [_plain(frame[c].iat[i]) for i in keep] for c in names if c != column}
    return texts, columns


def read_labels(path: Path, n: int, label: str | None) -> dict[str, list[Any]]:
    """Label columns from a file with exactly one row per vector (``.txt``: one per line)."""
    if path.suffix.lower() == ".txt":
        if not path.is_file():
            raise FileNotFoundError(f"no such labels file: {path}")
        lines = path.read_text(encoding="utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        lines = lines[:n]
        _same_rows(len(lines), n, str(path), "the vectors")
        return {label or "label": [ln.strip() for ln in lines]}
    if path.suffix.lower() not in TABLE_EXTENSIONS:
        raise ValueError(
            f"--labels expects a .txt/.jsonl/.csv/.parquet file, got {path.suffix or path.name!r}"
        )
    frame = _read_frame(path).iloc[:n]
    _same_rows(len(frame), n, str(path), "the vectors")
    return {str(c): [_plain(v) for v in frame[c].tolist()] for c in frame.columns}


def _read_frame(path: Path) -> Any:
    import pandas as pd

    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return _numeric_columns(pd.read_csv(path, dtype=str, keep_default_na=False))
        if suffix == ".jsonl":
            return pd.read_json(path, lines=True, dtype=False)
        return pd.read_parquet(path)
    except Exception as err:
        raise ValueError(f"{path} is not a readable {suffix} table ({err})") from None


def _numeric_columns(frame: Any) -> Any:
    """CSV columns whose every non-blank cell is a number become numbers (blank: missing).

    Everything is read as text first, so a column of words keeps values like ``"NA"`` as
    they are; only all-numeric columns change (ints stay ints when no cell is blank).
    """
    import pandas as pd

    from embedlens._readers import _is_number

    for name in frame.columns:
        cells = [v for v in frame[name] if v.strip()]
        if cells and all(_is_number(v) for v in cells):
            numbers = pd.to_numeric(frame[name].where(frame[name].str.strip() != ""))
            frame[name] = numbers.astype(object).where(numbers.notna(), None)
            if len(cells) == len(frame) and all(float(v).is_integer() for v in cells):
                frame[name] = [int(v) for v in frame[name]]
    return frame


def _plain(value: Any) -> Any:
    """numpy scalars as Python values; NaN (pandas' missing value) as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _same_rows(got: int, expected: int, what: str, other: str) -> None:
    if got != expected:
        raise ValueError(
            f"{what} has {got} rows but {other} has {expected}: pass one row per vector"
        )


def labels_array(values: list[Any], name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(y, kept_rows)``: the non-missing labels as an array (numbers stay numbers)."""
    kept = np.array([i for i, v in enumerate(values) if v is not None and v != ""], dtype=np.int64)
    if kept.size == 0:
        raise ValueError(f"column {name!r} has no values: pick a column that holds labels")
    picked = [values[i] for i in kept]
    if all(isinstance(v, bool) for v in picked):
        return np.asarray(picked, dtype=bool), kept
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in picked):
        return np.asarray(picked), kept
    return np.asarray([str(v) for v in picked]), kept
