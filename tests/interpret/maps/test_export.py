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


# --------------------------------------------------------------------------- paper figures


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib")
def test_save_image_in_inches_records_its_dpi(pca_map, tmp_path):
    from interpret.maps.export import png_dpi

    path = tmp_path / "fig.png"
    pca_map.save_image(path, engine="matplotlib", width_in=3.5, height_in=2.5, dpi=300)
    assert round(png_dpi(path)) == 300
    assert read_png(path).shape[:2] == (750, 1050)  # 2.5 x 3.5 in at 300 dpi
    pca_map.save_image(path, engine="matplotlib", dpi=150)  # default 6.5 x 5 in
    assert round(png_dpi(path)) == 150 and read_png(path).shape[:2] == (750, 975)


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib")
def test_vector_figures_keep_text_as_text(pca_map, tmp_path):
    pca_map.cluster("kmeans", n_clusters=3, random_state=0)
    svg = tmp_path / "fig.svg"
    pca_map.save_image(svg, engine="matplotlib", width_in=4, dpi=300, color="cluster")
    page = svg.read_text(encoding="utf-8")
    name = pca_map.clusters_.names[0].split(",")[0]
    assert "<text" in page and name in page  # searchable, editable text, not outlines
    assert re.search(r'font-size: ?[5-9](\.\d+)?px|font-size="[5-9]', page) or "font:" in page
    pdf = tmp_path / "fig.pdf"
    pca_map.save_image(pdf, engine="matplotlib", width_in=4, dpi=300)
    assert b"/FontFile2" in pdf.read_bytes() or b"TrueType" in pdf.read_bytes()


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib")
def test_dark_theme_reaches_the_image(pca_map, tmp_path):
    path = tmp_path / "dark.png"
    pca_map.save_image(path, engine="matplotlib", width_in=3, dpi=100, theme="dark")
    pixels = read_png(path)
    assert (pixels[2, 2].astype(int) - [0x11, 0x14, 0x18]).__abs__().sum() < 6
    fig = pca_map.figure(theme="dark")
    assert fig.layout.paper_bgcolor == "#111418" and fig.layout.font.color == "#e8e8e8"
    assert pca_map.figure().layout.paper_bgcolor == "#ffffff"


def test_save_image_refuses_sizes_that_are_not_inches(pca_map, tmp_path):
    with pytest.raises(ValueError, match="width_in must be between"):
        pca_map.save_image(tmp_path / "x.png", width_in=1000)
    with pytest.raises(ValueError, match="dpi must be between"):
        pca_map.save_image(tmp_path / "x.png", dpi=5)


def test_set_png_dpi_replaces_an_existing_chunk(tmp_path):
    from interpret.maps.export import png_dpi, set_png_dpi

    path = tmp_path / "a.png"
    from PIL import Image

    Image.new("RGB", (4, 3), "red").save(path, dpi=(72, 72))
    assert round(png_dpi(path)) == 72
    set_png_dpi(path, 600)
    assert round(png_dpi(path)) == 600 and read_png(path).shape == (3, 4, 3)
    assert path.read_bytes().count(b"pHYs") == 1
    with Image.open(path) as image:  # still a valid PNG (CRCs right)
        image.load()
        assert round(image.info["dpi"][0]) == 600


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("kaleido") is None or shutil.which("chromium") is None,
    reason="needs kaleido and a Chromium (apt-get install chromium)",
)
def test_save_image_kaleido_at_300_dpi(pca_map, tmp_path):
    from interpret.maps.export import png_dpi

    path = tmp_path / "map.png"
    assert pca_map.save_image(path, width_in=3.5, height_in=3, dpi=300, theme="dark") == "kaleido"
    assert round(png_dpi(path)) == 300 and read_png(path).shape[:2] == (900, 1050)
