"""``embed`` and ``map`` cache embeddings by default (as ``audit`` does); ``--no-cache`` opts out."""

from __future__ import annotations

import sqlite3

import pytest

from embedlens.cli import main
from tiny_models import save_tiny, tiny_encoder


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    model, tok = tiny_encoder(dim=16)
    return save_tiny(model, tok, tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture()
def texts(tmp_path):
    src = tmp_path / "texts.txt"
    src.write_text("\n".join(f"text number {w}" for w in "abcdefghij") + "\n", encoding="utf-8")
    return src


def rows(path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])


@pytest.mark.parametrize("command", ["embed", "map"])
def test_the_default_cache_is_filled_and_no_cache_keeps_nothing(
    command, tiny_dir, texts, tmp_path, monkeypatch, capsys
):
    home = tmp_path / "cache-home"
    monkeypatch.setenv("EMBEDLENS_CACHE", str(home))
    out = tmp_path / ("X.npy" if command == "embed" else "map.html")
    extra = [] if command == "embed" else ["--method", "pca"]
    args = [command, "--embedder", str(tiny_dir), "--corpus", str(texts), *extra]
    assert main([*args, "--out", str(out)]) == 0, capsys.readouterr().err
    assert rows(home / "embeddings.sqlite") == 10  # every text, keyed by the model
    out.unlink()
    other = tmp_path / "no-cache-home"
    monkeypatch.setenv("EMBEDLENS_CACHE", str(other))
    assert main([*args, "--no-cache", "--out", str(out)]) == 0, capsys.readouterr().err
    assert out.is_file() and not other.exists()  # nothing written anywhere
    mine = tmp_path / "mine.sqlite"
    out.unlink()
    assert main([*args, "--cache", str(mine), "--out", str(out)]) == 0
    assert rows(mine) == 10


def test_cache_and_no_cache_together_are_refused(tiny_dir, texts, tmp_path, capsys):
    out = tmp_path / "X.npy"
    args = ["embed", "--embedder", str(tiny_dir), "--corpus", str(texts), "--out", str(out)]
    assert main([*args, "--cache", str(tmp_path / "c.sqlite"), "--no-cache"]) == 1
    assert "--cache and --no-cache contradict" in capsys.readouterr().err
    assert not out.exists()
