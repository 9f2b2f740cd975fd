"""Small helpers every part of embedlens shares: input checks, progress bars, atomic writes.

Only the standard library and numpy are imported here, so any module may use these helpers
without slowing down ``import embedlens``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

T = TypeVar("T")


def check_texts(texts: Any, *, what: str = "texts") -> list[str]:
    """Validate a list of texts and return it as a ``list[str]``.

    Raises ``TypeError`` for a bare string or a non-string element and ``ValueError`` for an
    empty sequence, naming what came and what to do.
    """
    if isinstance(texts, (str, bytes)):
        raise TypeError(
            f"{what} must be a list of strings, got a single {type(texts).__name__}: "
            f"wrap it in a list, e.g. [{texts[:30]!r}]"
        )
    if not isinstance(texts, Sequence) and not isinstance(texts, Iterable):
        raise TypeError(f"{what} must be a list of strings, got {type(texts).__name__}")
    out = list(texts)
    if not out:
        raise ValueError(f"{what} is empty: pass at least one text")
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(
                f"{what}[{i}] is {type(t).__name__} ({t!r:.40}), expected str: "
                f"convert the element to text or drop it"
            )
    check_unicode(out, what=what)
    return out


def lone_surrogate(text: str) -> int | None:
    """The position of the first lone surrogate (U+D800 to U+DFFF) in ``text``, or ``None``.

    Such a character is not Unicode text: no UTF-8 encoder, tokenizer or file takes it. JSON
    lets it in through an unpaired escape such as ``"\\ud800"``.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        return int(err.start)
    return None


def check_unicode(texts: Sequence[str], *, what: str = "texts") -> None:
    """Raise ``ValueError`` naming the first of ``texts`` (by index, never by its content)
    that holds a lone surrogate."""
    try:
        "".join(texts).encode("utf-8")
    except UnicodeEncodeError:
        for i, text in enumerate(texts):
            at = lone_surrogate(text)
            if at is not None:
                raise ValueError(
                    f"{what}[{i}] holds a lone surrogate (U+{ord(text[at]):04X} at character "
                    f"{at}), which is not Unicode text and cannot be embedded or written: fix "
                    "that text at its source (an unpaired \\uD800-\\uDFFF escape in JSON) or "
                    "drop it"
                ) from None


def check_matrix(X: Any, *, what: str = "X", dim: int | None = None) -> np.ndarray:
    """Return ``X`` as a 2-D float32 array with finite values, or raise a clear error."""
    arr = np.asarray(X)
    if arr.dtype == object:
        raise TypeError(f"{what} must be a numeric array, got ragged or non-numeric data")
    if arr.dtype.kind not in "biuf":  # text, bytes, complex, dates, records
        raise TypeError(
            f"{what} must be a real numeric array, got dtype {arr.dtype}: pass float vectors"
        )
    if arr.ndim == 1 and dim is not None and arr.shape[0] == dim:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(
            f"{what} must be a 2-D array (n_vectors, dim), got shape {arr.shape}: "
            "reshape a single vector with x[None, :]"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{what} has no rows: pass at least one vector")
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(f"{what} has {arr.shape[1]} columns, expected {dim}")
    arr = arr.astype(np.float32, copy=False)
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(
            f"{what} has {rows.size} row(s) with NaN or inf (first at row {rows[0]}): "
            "drop or recompute those vectors"
        )
    return arr


def unit_targets(X: Any, *, dim: int, embedder_name: str, who: str) -> np.ndarray:
    """``X`` as unit float64 rows of ``dim`` values: the targets of an inversion attack.

    Refuses a wrong width (1-D or 2-D), ragged data, no rows, NaN/inf and all-zero rows with
    a clear message, before the attack spends anything. A 1-D array of ``dim`` values is one
    row.
    """
    arr = np.asarray(X)
    if arr.dtype != object and arr.ndim in (1, 2) and arr.shape[-1] != dim:
        shape = (
            f"is 1-D with {arr.shape[0]} values" if arr.ndim == 1 else f"has {arr.shape[1]} columns"
        )
        raise ValueError(
            f"X {shape}: {who} expects {dim}-dim embeddings from {embedder_name!r}, got "
            f"{arr.shape[-1]}; pass a 2-D array (n_vectors, {dim}) of vectors from that "
            "embedder, or give the embedder that made them"
        )
    targets = check_matrix(arr, what="X", dim=dim).astype(np.float64)
    norms = np.linalg.norm(targets, axis=1)
    if (norms == 0).any():
        row = int(np.flatnonzero(norms == 0)[0])
        raise ValueError(
            f"X has an all-zero row (first at row {row}): a zero vector has no text to find"
        )
    return targets / norms[:, None]


def check_int(value: Any, name: str, *, minimum: int = 1, optional: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` is an int >= ``minimum`` (or ``None`` if optional)."""
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {'None or ' if optional else ''}{what}, got {value!r}")


def in_interactive_session() -> bool:
    """True in a Python REPL, inside IPython/Jupyter, or when stderr is a terminal."""
    if hasattr(sys, "ps1") or sys.flags.interactive:
        return True
    if "IPython" in sys.modules:
        try:
            from IPython import get_ipython

            if get_ipython() is not None:
                return True
        except Exception:  # pragma: no cover - IPython half-installed
            pass
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def progress_bar(
    iterable: Iterable[T],
    *,
    progress: bool | None,
    total: int | None = None,
    desc: str | None = None,
    unit: str = "it",
) -> Iterator[T]:
    """Wrap ``iterable`` in ``tqdm.auto`` when progress is on (``None``: only if interactive)."""
    enabled = in_interactive_session() if progress is None else bool(progress)
    if not enabled:
        yield from iterable
        return
    from tqdm.auto import tqdm

    yield from tqdm(iterable, total=total, desc=desc, unit=unit, leave=False)


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike[str],
    *,
    markers: Sequence[str] | None = None,
    extras: Sequence[str] = (),
) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    Works for files and folders: whatever the block writes at the temporary path replaces
    ``path`` in one rename, so a crash never leaves a half-written artifact. What is already at
    ``path`` is replaced only when embedlens may replace it (:func:`check_replaceable`): a file
    by a file, and a folder by a folder only when the old one is empty or was written by
    embedlens, that is, it holds every one of ``markers`` and nothing but those, ``extras`` and
    what the new folder writes again (``markers=None``: every entry of the old folder is one
    the new folder writes again). Anything else raises before ``path`` is touched, and the new
    output is discarded.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "notes.txt"
    >>> with atomic_path(out) as tmp:
    ...     _ = tmp.write_text("hello", encoding="utf-8")
    >>> out.read_text(encoding="utf-8")
    'hello'
    """
    target = Path(os.path.abspath(os.fspath(path)))
    _refuse_working_folder(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    work = tmp / target.name
    try:
        yield work
        kind: Literal["file", "folder"] = (
            "folder" if work.is_dir() and not work.is_symlink() else "file"
        )
        new = [p.name for p in work.iterdir()] if kind == "folder" else []
        if markers is None and kind == "folder" and target.is_dir() and not target.is_symlink():
            _refuse_foreign(target, new, "embedlens would not write again")
        else:
            check_replaceable(target, kind=kind, markers=markers or (), extras=[*extras, *new])
        if kind == "folder" and target.is_dir() and not target.is_symlink():
            old = Path(
                tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)
            )
            os.replace(target, old / target.name)
            os.replace(work, target)
            _rmtree(old)
        else:
            os.replace(work, target)
    finally:
        _rmtree(tmp)


def check_replaceable(
    path: str | os.PathLike[str],
    *,
    kind: Literal["file", "folder"],
    markers: Sequence[str] = (),
    extras: Sequence[str] = (),
) -> Path:
    """Raise unless a ``kind`` written at ``path`` may replace what is there; return the path.

    Nothing there: fine. A file (or a link to one) may be replaced by a file. A folder may be
    replaced by a folder only when it is empty, or holds every one of ``markers`` (the files
    embedlens writes into such a folder, e.g. ``result.json`` and ``index.html`` of a report)
    and nothing but ``markers`` and ``extras`` (the other entries embedlens may write there,
    e.g. ``report.pdf``): then embedlens wrote all of it. A folder is never replaced by a file
    nor a file by a folder, a link never by a folder, and the current folder (or one above it)
    is never replaced.

    Raises
    ------
    FileExistsError
        For a folder embedlens did not write (or that holds an entry it did not write), a link
        where a folder goes, or the current folder.
    IsADirectoryError, NotADirectoryError
        For a folder where a file goes, or a file where a folder goes.

    Examples
    --------
    >>> import tempfile
    >>> check_replaceable(Path(tempfile.mkdtemp()) / "new", kind="folder").name
    'new'
    """
    target = Path(os.path.abspath(os.fspath(path)))
    _refuse_working_folder(target)
    if not os.path.lexists(target):
        return target
    shown = repr(str(path))
    if kind == "file":
        if target.is_dir():
            raise IsADirectoryError(
                f"{shown} is a folder: embedlens never replaces a folder by a file; "
                "pass a file name that is free (or a file embedlens wrote)"
            )
        if not target.is_file():
            raise FileExistsError(f"{shown} exists and is not a regular file: pass another path")
        return target
    if target.is_symlink():
        pointee = "a folder" if target.is_dir() else "a file" if target.exists() else "nothing"
        raise FileExistsError(
            f"{shown} is a link to {pointee}: embedlens never replaces a link by a folder; "
            "pass a folder name that is free (or a folder embedlens wrote)"
        )
    if not target.is_dir():
        raise NotADirectoryError(
            f"{shown} is a file: embedlens never replaces a file by a folder; "
            "pass a folder name that is free (or a folder embedlens wrote)"
        )
    if not any(target.iterdir()):
        return target
    missing = [m for m in markers if not (target / m).is_file()]
    if missing or not markers:
        wanted = " and ".join(map(repr, markers)) if markers else "its own files"
        raise FileExistsError(
            f"{shown} is a folder embedlens did not write (it lacks {wanted}): embedlens "
            "replaces only a folder it wrote itself; pass a new folder, or move that one away "
            "yourself"
        )
    _refuse_foreign(target, [*markers, *extras], "embedlens did not write")
    return target


def _refuse_foreign(target: Path, own: Sequence[str], what: str) -> None:
    """Raise ``FileExistsError`` when the folder ``target`` holds an entry not in ``own``."""
    foreign = sorted(p.name for p in target.iterdir() if p.name not in set(own))
    if foreign:
        raise FileExistsError(
            f"{str(target)!r} holds {len(foreign)} entries {what} (e.g. {foreign[0]!r}): "
            "embedlens replaces only a folder of its own files; move them away, or pass a new "
            "folder"
        )


@contextlib.contextmanager
def output_lock(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold ``path`` as this process's output while the block runs.

    Before any work: makes the missing folders above ``path`` (proving they can be written:
    a file on the way or a folder without write permission raises now, not after the work)
    and takes an exclusive lock on a hidden file beside it, ``.NAME.lock``, so a second run
    that asks for the same ``path`` meanwhile is refused instead of silently replacing this
    run's output. The lock file and the folders made here (when still empty) are removed when
    the block ends; a lock left by a killed process is free again (the system releases it).

    Raises
    ------
    FileExistsError
        When another process holds ``path``, or it is the current folder (or one above it).
    NotADirectoryError, PermissionError
        When a file stands where a folder above ``path`` goes, or a folder cannot be written.

    Examples
    --------
    >>> import tempfile
    >>> with output_lock(Path(tempfile.mkdtemp()) / "report") as out:
    ...     out.name
    'report'
    """
    target = Path(os.path.abspath(os.fspath(path)))
    _refuse_working_folder(target)  # before a lock file is made beside it
    made = _make_folders(target.parent, shown=str(path))
    lock = target.parent.resolve() / f".{target.name}.lock"
    try:
        fd = _hold(lock, shown=str(path))
    except BaseException:
        _remove_empty(made)
        raise
    try:
        yield target
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()
        os.close(fd)  # releases the lock
        _remove_empty(made)


def _make_folders(folder: Path, *, shown: str) -> list[Path]:
    """Make ``folder`` and the missing ones above it; the folders made, deepest first."""
    missing: list[Path] = []
    here = folder
    while not here.exists() and not here.is_symlink() and here != here.parent:
        missing.append(here)
        here = here.parent
    if not here.is_dir():
        raise NotADirectoryError(
            f"{shown!r} cannot be written: {str(here)!r} is a file, not a folder; pass a path "
            "in a folder"
        )
    made: list[Path] = []
    try:
        for part in reversed(missing):
            part.mkdir()
            made.insert(0, part)
    except OSError as err:
        _remove_empty(made)
        raise _unwritable(shown, part, err) from None
    return made


def _hold(lock: Path, *, shown: str) -> int:
    """Open and exclusively lock the file ``lock``; its descriptor (``close`` releases it)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: the file's existence is the lock
        fcntl = None  # type: ignore[assignment]
    while True:
        flags = os.O_RDWR | os.O_CREAT | (os.O_EXCL if fcntl is None else 0)
        try:
            fd = os.open(lock, flags, 0o644)
        except FileExistsError:  # pragma: no cover - Windows
            raise _held(shown, lock) from None
        except OSError as err:
            raise _unwritable(shown, lock.parent, err) from None
        if fcntl is None:  # pragma: no cover - Windows
            return fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise _held(shown, lock) from None
        try:  # the run that held it may have removed the file before this one locked it
            current = os.stat(lock)
        except FileNotFoundError:
            current = None
        if current is not None and os.path.samestat(os.fstat(fd), current):
            os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        os.close(fd)


def _held(shown: str, lock: Path) -> FileExistsError:
    return FileExistsError(
        f"another embedlens run is writing {shown!r} (it holds {str(lock)!r}): wait for it to "
        "end, or pass another output path"
    )


def _unwritable(shown: str, folder: Path, err: OSError) -> PermissionError:
    return PermissionError(
        f"{shown!r} cannot be written: cannot write in {str(folder)!r} "
        f"({err.strerror or type(err).__name__}); pass a path in a folder you can write to"
    )


def _remove_empty(folders: Sequence[Path]) -> None:
    """Remove ``folders`` (deepest first) where they are empty; anything else stays."""
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()


def _refuse_working_folder(target: Path) -> None:
    """Raise ``FileExistsError`` when ``target`` is the current folder or a folder above it."""
    try:
        here = Path.cwd()
    except OSError:  # the current folder was removed: nothing to protect
        return
    if target == here or target in here.parents:
        raise FileExistsError(
            f"{str(target)!r} is the current folder (or holds it): embedlens never replaces "
            "it; pass a new folder such as ./report"
        )


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` torch threads (``None``: leave torch's setting)."""
    if threads is None:
        yield
        return
    if isinstance(threads, bool) or not isinstance(threads, int | np.integer) or threads < 1:
        raise ValueError(f"threads must be None or a positive int, got {threads!r}")
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)
