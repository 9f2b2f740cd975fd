"""Export: self-contained HTML written atomically, and images (kaleido or matplotlib)."""

from __future__ import annotations

import importlib.util
import re
import shutil

import pytest

from interpret.maps.browser import read_png


def test_save_html_is_self_contained(pca_map, tmp_path):
    path = pca_map.save_html(tmp_path / "sub" / "map.html", color="score", title="T")
    page = path.read_text(encoding="utf-8")
    # plotly.js is inlined: no script is fetched from anywhere
    assert not re.search(r"<script[^>]+src=", page)
    assert len(page) > 3_000_000  # plotly.min.js itself is several MB
    assert '"type":"scattergl"' in page
    assert list(tmp_path.joinpath("sub").iterdir()) == [path]  # no temporary files left


def test_save_html_replaces_atomically(pca_map, tmp_path, monkeypatch):
    path = tmp_path / "map.html"
    path.write_text("old", encoding="utf-8")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    import interpret.maps.export as export

    monkeypatch.setattr(export, "figure_html", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        pca_map.save_html(path)
    assert path.read_text(encoding="utf-8") == "old"  # the old file survives a failed write


def test_to_html_returns_a_string_or_writes(pca_map, tmp_path):
    page = pca_map.to_html()
    assert page.startswith("<!doctype html>") and "Plotly.newPlot" in page
    assert pca_map.to_html(tmp_path / "m.html").is_file()


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib")
@pytest.mark.parametrize("suffix", ["png", "svg", "pdf"])
def test_save_image_matplotlib(pca_map, tmp_path, suffix, caplog):
    path = tmp_path / f"map.{suffix}"
    with caplog.at_level("WARNING"):
        engine = pca_map.save_image(path, engine="matplotlib", width=400, height=300)
    assert engine == "matplotlib" and path.stat().st_size > 1000
    assert "matplotlib fallback" in caplog.text
    head = path.read_bytes()[:8]
    assert {
        "png": head.startswith(b"\x89PNG"),
        "svg": b"<?xml" in head,
        "pdf": head.startswith(b"%PDF"),
    }[suffix]
    if suffix == "png":
        pixels = read_png(path)
        assert pixels.shape[:2] == (600, 800)  # scale 2
        assert (pixels.reshape(-1, 3) != 255).any(axis=1).mean() > 0.01


def test_save_image_auto_falls_back_without_kaleido(pca_map, tmp_path, monkeypatch, caplog):
    pytest.importorskip("matplotlib")
    import interpret.maps.export as export

    monkeypatch.setattr(export, "find_chromium", lambda: None)
    with caplog.at_level("WARNING"):
        engine = pca_map.save_image(tmp_path / "m.png", width=300, height=200)
    assert engine == "matplotlib"
    assert (
        "no Chromium or Chrome was found" in caplog.text
        or "kaleido is not installed" in caplog.text
    )
    with pytest.raises(RuntimeError, match=r"cannot write .* with kaleido"):
        pca_map.save_image(tmp_path / "k.png", engine="kaleido")


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("kaleido") is None or shutil.which("chromium") is None,
    reason="needs kaleido and a Chromium (apt-get install chromium)",
)
def test_save_image_kaleido(pca_map, tmp_path):
    path = tmp_path / "map.png"
    assert pca_map.save_image(path, width=400, height=300, scale=1) == "kaleido"
    pixels = read_png(path)
    assert pixels.shape[:2] == (300, 400)
    assert (pixels.reshape(-1, 3) != 255).any(axis=1).mean() > 0.005
