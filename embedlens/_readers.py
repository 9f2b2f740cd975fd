"""File readers behind :func:`embedlens.data.load_texts`: .txt, .jsonl, .csv and .parquet.

Every reader returns the non-blank texts of one file and raises a ``ValueError`` naming the
file and the problem when the file is not what its extension says. Without ``column``, a table's
text column is the first one named as in :data:`TEXT_COLUMNS`; failing that, its only column that
holds text, with a warning naming it; with several such columns, ``column`` is required. pyarrow is imported only
when a .parquet file is read.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from embedlens._utils import lone_surrogate

__all__ = ["SUPPORTED_EXTENSIONS", "TEXT_COLUMNS", "read_texts"]

logger = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS: tuple[str, ...] = (".txt", ".jsonl", ".csv", ".parquet")
"""File extensions :func:`read_texts` reads."""

TEXT_COLUMNS: tuple[str, ...] = ("text", "sentence", "content", "document", "body", "passage")
"""Column names tried, in this order (case-insensitively), when no column is given."""


def read_texts(
    source: str | os.PathLike[str], column: str | None, builtin_names: Sequence[str] = ()
) -> list[str]:
    """Read the non-blank texts of a .txt, .jsonl, .csv or .parquet file.

    ``builtin_names`` only serve the message when ``source`` looks like a mistyped corpus name.

    Examples
    --------
    >>> read_texts("notes.txt", column=None)  # doctest: +SKIP
    ['first note', 'second note']
    """
    path = Path(source)
    if not path.exists():
        if isinstance(source, str) and not path.suffix and os.sep not in source:
            raise ValueError(
                f"Unknown built-in corpus {source!r} (and no file of that name exists): "
                f"expected one of {', '.join(map(repr, builtin_names))} or a path to a "
                f"{'/'.join(SUPPORTED_EXTENSIONS)} file."
            )
        raise FileNotFoundError(
            f"No such file: {path} (expected a {'/'.join(SUPPORTED_EXTENSIONS)} file): "
            "check the path."
        )
    if path.is_dir():
        raise IsADirectoryError(
            f"{path} is a directory: pass a {'/'.join(SUPPORTED_EXTENSIONS)} file inside it."
        )
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        raise ValueError(
            f"Cannot read {path}: unsupported extension {path.suffix or '(none)'!r}; "
            f"supported are {', '.join(SUPPORTED_EXTENSIONS)}. Convert the file, or load it "
            "yourself and pass a list of strings."
        )
    if suffix == ".parquet":
        texts = _read_parquet(path, column)
    else:
        if column is not None and suffix == ".txt":
            raise ValueError(
                f"column={column!r} does not apply to {path} (a .txt file is one text per "
                "line): drop column=."
            )
        content = _read_text_file(path)
        if suffix == ".txt":
            texts = [ln for ln in _lines(content) if ln.strip()]
            texts = _nonempty(texts, path, "the file is empty or has only blank lines")
        elif suffix == ".jsonl":
            texts = _parse_jsonl(content, path, column)
        else:
            texts = _parse_csv(content, path, column)
    logger.debug("loaded %d texts from %s", len(texts), path)
    return texts


def _read_text_file(path: Path) -> str:
    raw = path.read_bytes()
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise ValueError(
            f"{path} does not look like {path.suffix} text: it holds binary data (a NUL byte "
            f"at byte {nul}). Pass a UTF-8 text file, or give the file its real extension."
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{path} is not UTF-8 text ({err.reason} at byte {err.start}): re-encode it as "
            "UTF-8 or pass a list of strings."
        ) from None


def _lines(content: str) -> list[str]:
    """Split on newlines only (not on the other characters str.splitlines knows)."""
    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def _pick_column(columns: Sequence[str], string_columns: Sequence[str], path: Path) -> str:
    lowered = {c.strip().lower(): c for c in reversed(columns)}
    for name in TEXT_COLUMNS:
        if name in columns:
            return name
        if name in lowered:
            return lowered[name]
    if len(string_columns) == 1:
        # never silently: the only text column is used, and the log says which one
        logger.warning(
            "%s has no column named %s: reading the texts from its only text column %r "
            "(pass column=%r, or --column %s, to choose it explicitly)",
            path,
            "/".join(TEXT_COLUMNS),
            string_columns[0],
            string_columns[0],
            string_columns[0],
        )
        return string_columns[0]
    reason = (
        f"several text-like columns {list(string_columns)}"
        if string_columns
        else "no column holds text"
    )
    raise ValueError(
        f"Could not find the text column of {path}: found columns {list(columns)} ({reason}); "
        f"expected one named {'/'.join(TEXT_COLUMNS)}. Pass column=... to name it."
    )


def _missing_column(column: str, columns: Sequence[str], path: Path) -> ValueError:
    return ValueError(
        f"{path} has no column {column!r}: found columns {list(columns)}. "
        "Pass one of those as column=."
    )


def _parse_jsonl(content: str, path: Path, column: str | None) -> list[str]:
    records: list[tuple[int, Any]] = []
    for lineno, line in enumerate(_lines(content), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(
                f"{path} is not valid JSON Lines: line {lineno} is not JSON ({err.msg} at "
                f"column {err.colno}). Fix that line; each line must be one JSON object or string."
            ) from None
        if not isinstance(value, dict | str):
            raise ValueError(
                f"{path} line {lineno}: expected a JSON object or string, got "
                f"{type(value).__name__}. Put one record per line."
            )
        records.append((lineno, value))
    if not records:
        return _nonempty([], path, "the file is empty or has only blank lines")
    first = records[0][1]
    if isinstance(first, dict) and column is None:
        keys = list(first)
        column = _pick_column(keys, [k for k, v in first.items() if isinstance(v, str)], path)
    texts: list[str] = []
    for lineno, value in records:
        if isinstance(value, str):
            if column is not None:
                raise ValueError(
                    f"{path} line {lineno}: expected a JSON object with a {column!r} field "
                    "(like the lines before), got a JSON string. Use one kind per file."
                )
            text: Any = value
        else:
            if column is None:
                raise ValueError(
                    f"{path} line {lineno}: expected a JSON string (like the lines before), "
                    "got an object. Use one kind per file."
                )
            if column not in value:
                raise ValueError(
                    f"{path} line {lineno} has no field {column!r}: found {list(value)}. "
                    "Pass column= naming a field every line has."
                )
            text = value[column]
        if text is None:
            continue
        if not isinstance(text, str):
            raise ValueError(
                f"{path} line {lineno}: expected field {column!r} to be a string, got "
                f"{type(text).__name__}. Pass column= naming the text field."
            )
        at = lone_surrogate(text)
        if at is not None:
            raise ValueError(
                f"{path} line {lineno}: the text holds a lone surrogate (U+{ord(text[at]):04X} "
                f"at character {at}), an unpaired \\uD800-\\uDFFF escape that is not Unicode "
                "text and cannot be embedded or written: fix the escape on that line or drop "
                "the record"
            )
        if text.strip():
            texts.append(text)
    return _nonempty(texts, path, f"every {column or 'line'!s} value is blank")


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _parse_csv(content: str, path: Path, column: str | None) -> list[str]:
    try:
        rows = list(csv.reader(io.StringIO(content, newline="")))
    except csv.Error as err:
        raise ValueError(f"{path} is not a readable CSV file ({err}): check its quoting.") from None
    if not rows or not any(h.strip() for h in rows[0]):
        return _nonempty([], path, "the file has no header row")
    header, body = rows[0], rows[1:]
    if column is None:
        text_like = [
            name
            for j, name in enumerate(header)
            if any(j < len(r) and r[j].strip() and not _is_number(r[j]) for r in body)
        ]
        column = _pick_column(header, text_like, path)
    elif column not in header:
        raise _missing_column(column, header, path)
    j = header.index(column)
    texts = [r[j] for r in body if j < len(r) and r[j].strip()]
    return _nonempty(texts, path, f"column {column!r} is blank in every row")


def _read_parquet(path: Path, column: str | None) -> list[str]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as err:
        raise ImportError(
            f'Reading {path} needs pyarrow: pip install "embedlens[parquet]" (or pyarrow).'
        ) from err
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as err:
        raise ValueError(
            f"{path} is not a Parquet file ({err}): check the file, or give it the extension "
            "of its real format."
        ) from None
    columns = list(schema.names)
    if column is None:
        strings = [
            f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
        ]
        column = _pick_column(columns, strings, path)
    elif column not in columns:
        raise _missing_column(column, columns, path)
    values = pq.read_table(path, columns=[column]).column(column).to_pylist()
    bad = next((v for v in values if v is not None and not isinstance(v, str)), None)
    if bad is not None:
        raise ValueError(
            f"{path}: expected column {column!r} to hold strings, got {type(bad).__name__}. "
            "Pass column= naming the text column."
        )
    texts = [v for v in values if v is not None and v.strip()]
    return _nonempty(texts, path, f"column {column!r} is blank or null in every row")


def _nonempty(texts: list[str], path: Path, what: str) -> list[str]:
    if not texts:
        raise ValueError(
            f"Expected at least one non-blank text in {path}, found none ({what}): "
            "check the file, or the column you passed."
        )
    return texts
