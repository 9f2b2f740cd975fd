"""What embedlens refuses (issue 16): replacing what it did not write, artifacts that point
outside themselves or hold non-finite weights, options for attacks that do not run, a
foreign SQLite database as a cache, and map labels that plotly would render or mangle."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from embedlens._utils import atomic_path
from embedlens.cache import EmbeddingCache

FIXTURES = Path(__file__).parents[1] / "fixtures" / "soft_prefix_v1"


# --------------------------------------------------------------------------- 1: --overwrite


def _user_folder(root: Path) -> Path:
    """A folder of someone's own files, as `--out ~/work` would name it."""
    root.mkdir()
    (root / "thesis.tex").write_text("my thesis", encoding="utf-8")
    (root / "sub").mkdir()
    (root / "sub" / "data.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    return root


def _unchanged(root: Path) -> bool:
    return (root / "thesis.tex").read_text(encoding="utf-8") == "my thesis" and (
        root / "sub" / "data.csv"
    ).is_file()


def test_atomic_path_never_replaces_a_folder_it_did_not_write(tmp_path):
    work = _user_folder(tmp_path / "work")
    with pytest.raises(FileExistsError, match="work"), atomic_path(work) as tmp:
        tmp.mkdir()
        (tmp / "result.json").write_text("{}", encoding="utf-8")
        (tmp / "index.html").write_text("<p>", encoding="utf-8")
    assert _unchanged(work)
    with (
        pytest.raises(FileExistsError, match="did not write"),
        atomic_path(work, markers=("result.json", "index.html")) as tmp,
    ):
        tmp.mkdir()
        (tmp / "result.json").write_text("{}", encoding="utf-8")
    assert _unchanged(work)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]  # no temporary left behind


def test_atomic_path_never_swaps_a_folder_and_a_file(tmp_path):
    folder = _user_folder(tmp_path / "dir.html")
    with pytest.raises(IsADirectoryError, match=r"dir\.html"), atomic_path(folder) as tmp:
        tmp.write_text("<html>", encoding="utf-8")
    assert _unchanged(folder)
    file = tmp_path / "report"
    file.write_text("mine", encoding="utf-8")
    with pytest.raises(NotADirectoryError, match="report"), atomic_path(file) as tmp:
        tmp.mkdir()
        (tmp / "index.html").write_text("<p>", encoding="utf-8")
    assert file.read_text(encoding="utf-8") == "mine"


def test_atomic_path_replaces_what_embedlens_wrote(tmp_path):
    out = tmp_path / "report"
    markers = ("result.json", "index.html")
    for version in ("1", "2"):
        with atomic_path(out, markers=markers) as tmp:
            tmp.mkdir()
            for name in markers:
                (tmp / name).write_text(version, encoding="utf-8")
    assert (out / "index.html").read_text(encoding="utf-8") == "2"
    file = tmp_path / "x.json"
    for version in ("1", "2"):
        with atomic_path(file) as tmp:
            tmp.write_text(version, encoding="utf-8")
    assert file.read_text(encoding="utf-8") == "2"
    (tmp_path / "empty").mkdir()  # an empty folder holds nothing to lose
    with atomic_path(tmp_path / "empty", markers=markers) as tmp:
        tmp.mkdir()
        (tmp / "index.html").write_text("3", encoding="utf-8")
    assert (tmp_path / "empty" / "index.html").is_file()


def test_the_current_folder_is_never_replaced(tmp_path, monkeypatch):
    from embedlens._utils import check_replaceable

    monkeypatch.chdir(tmp_path)
    for out in (".", str(tmp_path), ".."):
        with pytest.raises(FileExistsError, match="current folder"):
            check_replaceable(out, kind="folder", markers=("index.html",))


def test_write_report_refuses_a_user_folder_before_rendering(tmp_path, monkeypatch):
    from embedlens.audit import report

    work = _user_folder(tmp_path / "work")

    def boom(result):  # rendering is the work that a late refusal would throw away
        raise AssertionError("rendered before --out was checked")

    monkeypatch.setattr(report, "render_html", boom)
    with pytest.raises(FileExistsError, match="did not write"):
        report.write_report(object(), work, overwrite=True)  # type: ignore[arg-type]
    assert _unchanged(work)


# --------------------------------------------------------------------------- 2, 6: artifacts


@pytest.fixture
def saved_inverter(tmp_path):
    """A copy of a saved inverter (with its stored base LM) that a test may tamper with."""
    return Path(shutil.copytree(FIXTURES / "inverter", tmp_path / "models" / "inverter"))


@pytest.fixture(scope="module")
def emb():
    pytest.importorskip("torch")
    from tiny_models import tiny_embedder

    return tiny_embedder(dim=16)


def _edit_config(root: Path, **decoder: object) -> None:
    file = root / "config.json"
    config = json.loads(file.read_text(encoding="utf-8"))
    config["decoder"].update(decoder)
    file.write_text(json.dumps(config), encoding="utf-8")


@pytest.mark.parametrize("stored", ["../foreign", "/", "~", "decoder/../../foreign", "."])
def test_a_stored_path_outside_the_model_folder_is_refused(saved_inverter, emb, stored):
    from inversion import Inverter

    foreign = saved_inverter.parent / "foreign"
    foreign.mkdir()
    (foreign / "secret-notes.txt").write_text("private", encoding="utf-8")
    _edit_config(saved_inverter, stored=stored)
    with pytest.raises(ValueError, match="outside the model folder") as err:
        Inverter.from_pretrained(saved_inverter, embedder=emb)
    assert "secret-notes" not in str(err.value)


def test_a_stored_link_that_leads_out_is_refused(saved_inverter, emb):
    from inversion import Inverter

    shutil.move(str(saved_inverter / "decoder"), str(saved_inverter.parent / "lm"))
    (saved_inverter / "decoder").symlink_to(saved_inverter.parent / "lm")
    with pytest.raises(ValueError, match="outside the model folder"):
        Inverter.from_pretrained(saved_inverter, embedder=emb)


def test_a_saved_spec_that_is_no_model_folder_lists_nothing(saved_inverter, emb, tmp_path):
    from inversion import Inverter

    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "secret-notes.txt").write_text("private", encoding="utf-8")
    _edit_config(saved_inverter, stored=None, spec=str(foreign))
    with pytest.raises(ValueError, match="outside the model folder") as err:
        Inverter.from_pretrained(saved_inverter, embedder=emb)
    assert "secret-notes" not in str(err.value)


def test_non_finite_weights_are_refused_with_the_path(saved_inverter, emb):
    from safetensors.torch import load_file, save_file

    from inversion import Inverter

    file = saved_inverter / "model.safetensors"
    weights = load_file(str(file))
    weights = {k: torch_full_nan(v) for k, v in weights.items()}
    save_file(weights, str(file), metadata={"format": "pt"})
    with pytest.raises(ValueError, match=r"NaN or inf") as err:
        Inverter.from_pretrained(saved_inverter, embedder=emb)
    assert str(file) in str(err.value)


def torch_full_nan(tensor):
    return tensor.clone().fill_(float("nan")) if tensor.is_floating_point() else tensor


def test_a_damaged_safetensors_header_names_the_file(saved_inverter, emb):
    from inversion import Inverter

    file = saved_inverter / "model.safetensors"
    file.write_bytes(b"\xff" * 8 + b"not a header")
    with pytest.raises(ValueError, match="not a readable safetensors file") as err:
        Inverter.from_pretrained(saved_inverter, embedder=emb)
    assert str(file) in str(err.value)


def test_a_config_without_its_entries_is_a_clear_error(tmp_path):
    from inversion import Alignment

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 4))
    folder = (
        Alignment(method="lstsq")
        .fit(X, X @ rng.normal(size=(4, 3)))
        .save_pretrained(tmp_path / "align")
    )
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    del config["params"]
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ValueError, match=r"no 'params' entry") as err:
        Alignment.from_pretrained(folder)
    assert str(folder) in str(err.value)


def test_non_finite_alignment_weights_are_refused(tmp_path):
    from safetensors.numpy import load_file, save_file

    from inversion import Alignment

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 4))
    folder = Alignment(method="lstsq").fit(X, X).save_pretrained(tmp_path / "align")
    weights = load_file(str(folder / "model.safetensors"))
    weights["W"][0, 0] = np.inf
    save_file(weights, str(folder / "model.safetensors"))
    with pytest.raises(ValueError, match="NaN or inf"):
        Alignment.from_pretrained(folder)


# --------------------------------------------------------------------------- 6: the audit


def test_options_for_an_attack_that_does_not_run_are_refused():
    from embedlens import FunctionEmbedder
    from embedlens.audit import audit

    calls = []

    def embed(texts):
        calls.append(len(texts))
        return [[len(t), t.count(" ")] for t in texts]

    toy = FunctionEmbedder(embed, name="toy")
    with pytest.raises(ValueError, match=r"'guided'.*does not run"):
        audit(toy, "pii", records=20, attacks=["nn"], attack_options={"guided": {"top_k": 2}})
    with pytest.raises(ValueError, match="unknown attack 'gided'"):
        audit(toy, "pii", records=20, attacks=["nn"], attack_options={"gided": {"top_k": 2}})
    with pytest.raises(ValueError, match="not a keyword"):
        audit(toy, "pii", records=20, attacks=["nn"], attack_options={"nn": {"k k": 2}})
    assert calls == []  # refused before anything was embedded


def test_audit_figures_escape_label_names():
    from embedlens.audit.figures import attributes_figure, tradeoff_figure

    class Result:
        attributes: ClassVar[dict[str, Any]] = {'<b>x</b>"q"': {"accuracy": 0.5, "baseline": 0.4}}
        defenses: ClassVar[list[dict[str, Any]]] = [
            {
                "name": "none",
                "kind": "none",
                "strength": None,
                "leakage_score": 0.5,
                "utility": {"recall@10": 1.0},
            },
            {
                "name": 'leace:<i>x</i>"q"',
                "kind": "leace",
                "strength": None,
                "leakage_score": 0.2,
                "utility": {"recall@10": 0.9},
            },
        ]

    names = attributes_figure(Result()).data[0].x  # type: ignore[arg-type]
    assert names == ('&lt;b&gt;x&lt;/b&gt;"q"',)
    texts = [t for trace in tradeoff_figure(Result()).data for t in trace.text]  # type: ignore[arg-type]
    assert 'leace:&lt;i&gt;x&lt;/i&gt;"q"' in texts
    assert not any("<i>" in t or "&quot;" in t for t in texts)


# --------------------------------------------------------------------------- 6: readers, cache


def test_a_csv_without_a_text_column_says_which_column_it_read(tmp_path, caplog):
    from embedlens.data import load_texts

    file = tmp_path / "notes.csv"
    file.write_text("id,title\n1,first note\n2,second note\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="embedlens"):
        assert load_texts(str(file)) == ["first note", "second note"]
    assert "'title'" in caplog.text and "notes.csv" in caplog.text
    two = tmp_path / "two.csv"
    two.write_text("title,author\nfirst,ann\nsecond,bob\n", encoding="utf-8")
    with pytest.raises(ValueError, match="column"):
        load_texts(str(two))


def _foreign_db(path: Path) -> bytes:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT)")
    conn.execute("INSERT INTO accounts VALUES (1, 'ann')")
    conn.commit()
    conn.close()
    return path.read_bytes()


def test_another_applications_database_is_refused_and_left_as_it_was(tmp_path):
    db = tmp_path / "app.sqlite"
    before = _foreign_db(db)
    with pytest.raises(ValueError, match="not an embedlens cache"):
        EmbeddingCache(db)
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.sqlite"]  # no -wal, no -shm
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    conn.close()
    assert tables == ["accounts"]


def test_an_embedlens_cache_opens_again(tmp_path):
    cache = EmbeddingCache(tmp_path / "emb.sqlite")
    cache.put_many("fp", ["hello"], np.ones((1, 3), dtype=np.float32))
    cache.close()
    again = EmbeddingCache(tmp_path / "emb.sqlite")
    assert again.count("fp") == 1
    again.close()
    (tmp_path / "not-sqlite.sqlite").write_bytes(b"hello, not a database" * 10)
    with pytest.raises(ValueError, match="not an embedlens cache"):
        EmbeddingCache(tmp_path / "not-sqlite.sqlite")
