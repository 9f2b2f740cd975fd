"""Property-based fuzzing of the parsers that take user strings and files (issue 16).

The property, for every input: either a correct result, or a ``ValueError``, ``TypeError`` or
``FileNotFoundError`` whose message names the input; never another exception, and never a
partial output file. Examples are few and have no deadline, so the file runs in seconds.
"""

from __future__ import annotations

import json
import math
import string
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, assume, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from embedlens._readers import TEXT_COLUMNS, read_texts  # noqa: E402
from embedlens._utils import atomic_path  # noqa: E402
from embedlens.audit.attacks import ATTACK_KINDS, AttackSpec, parse_attacks, parse_budget  # noqa: E402
from embedlens.audit.defenses import parse_defenses  # noqa: E402
from embedlens.audit.run import check_attack_options  # noqa: E402
from embedlens.cli.audit import _options  # noqa: E402
from embedlens.cli.sources import load_vectors, read_table  # noqa: E402

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CLEAR = (ValueError, TypeError, FileNotFoundError)

#: text that looks like the specs people type: the spec alphabet, and anything at all
spec_text = st.one_of(
    st.text(alphabet=string.ascii_lowercase + string.digits + ":,.-_ qsmh", max_size=30),
    st.text(max_size=30),
)


def _names_input(err: BaseException, *pieces: str) -> None:
    """The message names the input: one of ``pieces`` (a path, the text given) is in it."""
    message = str(err)
    assert message, f"{type(err).__name__} without a message"
    assert not pieces or any(
        repr(p)[:40] in message or (p and (p[:40] in message or repr(p)[1:41] in message))
        for p in pieces
    ), (message, pieces)


# --------------------------------------------------------------------------- specs


@FUZZ
@given(st.one_of(spec_text, st.floats(), st.integers(), st.none(), st.booleans()))
@example("9" * 400 + "q")  # found by fuzzing: an OverflowError
@example("9" * 400 + "m")  # an infinite time
@example(10**400)
@example("0.5q")  # half a query
def test_budget_strings(budget):
    try:
        plan = parse_budget(budget)
    except CLEAR as err:
        _names_input(err, budget if isinstance(budget, str) else str(budget))
        return
    for value in (plan.seconds, plan.queries):
        assert value is None or (math.isfinite(value) and value > 0)
    assert plan.queries is None or (isinstance(plan.queries, int) and plan.queries >= 1)


@FUZZ
@given(st.one_of(spec_text, st.lists(spec_text, max_size=4)))
@example("train-inverter:0")
@example("train-inverter:\u00b2")  # str.isdigit() is True for a superscript two
def test_attack_specs(names):
    try:
        specs = parse_attacks(names)
    except CLEAR as err:
        assert str(err)
        return
    assert specs and all(isinstance(s, AttackSpec) and s.kind in ATTACK_KINDS for s in specs)
    assert [s.cost for s in specs] == sorted(s.cost for s in specs)
    for s in specs:
        if s.kind == "train-inverter" and s.arg is not None:
            assert int(s.arg) > 0


@FUZZ
@given(st.one_of(spec_text, st.lists(spec_text, max_size=4)), st.integers(2, 512))
@example("truncate:1e400", 8)  # found by fuzzing: an OverflowError
@example("noise:inf", 8)
def test_defense_specs(names, dim):
    try:
        specs = parse_defenses(names, dim=dim, labels={"condition": ["a", "b"]})
    except CLEAR as err:
        assert str(err)
        return
    for s in specs:
        if s.strength is not None:
            assert math.isfinite(s.strength) and s.strength > 0
        if s.kind == "truncate":
            assert 1 <= s.strength < dim


@FUZZ
@given(st.lists(spec_text, max_size=4))
@example(["guided.beam width=2"])  # not a keyword: refused at once, not deep in the run
@example(["guided.beam_width=" + "[" * 100_000])  # a RecursionError inside json
def test_option_keys(pairs):
    try:
        options = _options(pairs)
    except CLEAR as err:
        _names_input(err, *pairs)
        return
    for kind, opts in options.items():
        assert kind and all(key.isidentifier() for key in opts)
    try:
        checked = check_attack_options(options, parse_attacks(["nn", "bow"]))
    except CLEAR as err:
        assert str(err)
        return
    assert set(checked) <= {"nearest-neighbour", "bag-of-words"}


# --------------------------------------------------------------------------- corpus readers

SUFFIXES = (".txt", ".jsonl", ".csv", ".parquet")
encodings = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"])
records = st.lists(
    st.dictionaries(
        st.sampled_from(["text", "Title", "body", "id", "x y", ""]),
        st.one_of(st.text(max_size=20), st.integers(), st.none(), st.floats()),
        max_size=4,
    ),
    max_size=6,
)


def _check_texts(texts: list[str]) -> None:
    assert texts and all(isinstance(t, str) and t.strip() for t in texts)


def _read(path: Path, column: str | None) -> None:
    try:
        texts = read_texts(path, column)
    except CLEAR as err:
        _names_input(err, str(path), path.name)
        return
    _check_texts(texts)


@pytest.fixture(scope="module")
def folder():
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


@FUZZ
@given(
    st.binary(max_size=300),
    st.sampled_from(SUFFIXES),
    st.one_of(st.none(), st.sampled_from(["text", "body", "missing"])),
)
def test_readers_on_random_bytes(folder, data, suffix, column):
    path = folder / f"random{suffix}"
    path.write_bytes(data)
    _read(path, column)


@FUZZ
@given(st.text(max_size=200), encodings, st.sampled_from(SUFFIXES[:3]), st.booleans())
def test_readers_on_text_in_any_encoding(folder, text, encoding, suffix, huge):
    if huge:  # a line far beyond the csv module's default field limit
        text = text + "x" * 300_000
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        assume(False)
    path = folder / f"encoded{suffix}"
    path.write_bytes(data)
    _read(path, None)


@FUZZ
@given(records, st.one_of(st.none(), st.sampled_from(["text", "Title", "missing"])))
def test_table_readers_with_missing_columns(folder, rows, column):
    jsonl = folder / "rows.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    _read(jsonl, column)
    header = sorted({k for r in rows for k in r})
    csv_file = folder / "rows.csv"
    lines = [",".join(json.dumps(h) for h in header)]
    lines += [",".join(json.dumps(str(r.get(h, ""))) for h in header) for r in rows]
    csv_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _read(csv_file, column)
    for path in (jsonl, csv_file):  # the CLI's table reader (pandas) keeps the other columns
        try:
            texts, columns = read_table(path, column)
        except CLEAR as err:
            _names_input(err, str(path))
            continue
        _check_texts(texts)
        assert all(len(v) == len(texts) for v in columns.values())


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(st.one_of(st.text(max_size=12), st.none()), st.integers(-5, 5)),
        max_size=6,
    ),
    st.sampled_from(["text", "name"]),
    st.one_of(st.none(), st.sampled_from(["text", "name", "n", "missing"])),
)
def test_parquet_reader(folder, rows, name, column):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({name: pa.array([r[0] for r in rows], pa.string()), "n": [r[1] for r in rows]})
    path = folder / "rows.parquet"
    pq.write_table(table, path)
    _read(path, column)


# --------------------------------------------------------------------------- vectors files

dtypes = st.one_of(
    hnp.floating_dtypes(),
    hnp.integer_dtypes(),
    hnp.boolean_dtypes(),
    hnp.complex_number_dtypes(),
    hnp.unicode_string_dtypes(max_len=3),
    hnp.datetime64_dtypes(),
)


@FUZZ
@given(
    hnp.arrays(dtypes, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)),
    st.one_of(st.none(), st.integers(1, 5)),
)
@example(np.float32(1.0), 2)  # found by fuzzing: a 0-d array sliced by --limit (IndexError)
@example(np.array([["1", "2"]]), None)  # text is not vectors
@example(np.ones((2, 2), dtype=np.complex64), None)
def test_vectors_files(folder, arr, limit):
    path = folder / "X.npy"
    np.save(path, arr)
    try:
        X = load_vectors(str(path), limit)
    except CLEAR as err:
        _names_input(err, str(path), path.name)
        return
    assert X.dtype == np.float32 and X.ndim == 2 and X.shape[0] >= 1
    assert np.isfinite(X).all()
    assert X.shape[0] == min(arr.shape[0], limit or arr.shape[0])


@FUZZ
@given(st.binary(max_size=200))
@example(b"")  # found by fuzzing: an empty file raised EOFError
def test_vectors_files_of_random_bytes(folder, data):
    path = folder / "bytes.npy"
    path.write_bytes(b"\x93NUMPY" + data if data[:1] == b"\x01" else data)
    with pytest.raises(CLEAR) as err:
        load_vectors(str(path), None)
    _names_input(err.value, str(path), path.name)


def test_vectors_file_missing_or_misnamed(folder):
    with pytest.raises(FileNotFoundError, match=r"nope\.npy"):
        load_vectors(str(folder / "nope.npy"), None)
    with pytest.raises(ValueError, match=r"X\.csv"):
        load_vectors(str(folder / "X.csv"), None)


# --------------------------------------------------------------------------- writing


@FUZZ
@given(st.binary(max_size=100), st.integers(0, 3), st.booleans())
def test_atomic_writes_leave_all_or_nothing(data, fail_at, folder_kind):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"

        def write(step: int) -> Any:
            with atomic_path(out) as work:
                target = work / "payload.bin" if folder_kind else work
                if folder_kind:
                    work.mkdir()
                for i in range(3):
                    if i == step:
                        raise KeyboardInterrupt  # a crash or Ctrl-C midway
                    with open(target, "ab") as fh:
                        fh.write(data)
            return None

        if fail_at < 3:
            with pytest.raises(KeyboardInterrupt):
                write(fail_at)
            assert list(Path(tmp).iterdir()) == []  # nothing half-written, no temporary left
        else:
            write(fail_at)
            written = out / "payload.bin" if folder_kind else out
            assert written.read_bytes() == data * 3
            assert [p.name for p in Path(tmp).iterdir()] == ["out"]


def test_text_columns_are_the_documented_ones():
    assert TEXT_COLUMNS[0] == "text"
