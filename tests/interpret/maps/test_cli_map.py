"""``embedlens map``: clusters, the page to share, and paper figures from the command line."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from embedlens.cli import main
from interpret.maps.browser import read_png


@pytest.fixture()
def vectors(tmp_path, blobs):
    X, texts, _labels = blobs
    np.save(tmp_path / "X.npy", X)
    (tmp_path / "texts.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    return ["map", "--vectors", str(tmp_path / "X.npy"), "--texts", str(tmp_path / "texts.txt"),
            "--method", "pca"]  # fmt: skip


def test_cluster_png_dpi_theme(vectors, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from interpret.maps.export import png_dpi

    out = tmp_path / "fig.png"
    args = [*vectors, "--cluster", "kmeans:3", "--format", "png", "--dpi", "300", "--theme", "dark"]
    assert main([*args, "--width-in", "3", "--out", str(out)]) == 0, capsys.readouterr().err
    assert round(png_dpi(out)) == 300
    pixels = read_png(out)
    assert pixels.shape[1] == 900  # 3 in at 300 dpi; the height fits map and legend
    assert 0.5 * 900 <= pixels.shape[0] <= 1.6 * 900
    assert (np.abs(pixels[3, 3].astype(int) - [0x11, 0x14, 0x18]).sum()) < 8  # dark background
    fixed = tmp_path / "fixed.png"
    args += ["--width-in", "3", "--height-in", "2", "--font-pt", "7"]
    assert main([*args, "--out", str(fixed)]) == 0, capsys.readouterr().err
    assert read_png(fixed).shape[:2] == (600, 900)


def test_share_page_from_the_cli(vectors, tmp_path, capsys):
    out = tmp_path / "share.html"
    args = [*vectors, "--cluster", "kmeans:3", "--neighbors", "4"]  # the share page: the default
    assert main([*args, "--out", str(out)]) == 0, capsys.readouterr().err
    page = out.read_text(encoding="utf-8")
    data = json.loads(re.search(r'type="application/json">(.*?)</script>', page, re.S).group(1))
    assert data["neighbors"]["k"] == 4 and len(data["clusters"]["items"]) == 3
    assert data["columns"][data["default_color"]]["name"] == "cluster"


def test_svg_and_the_plotly_page_still_work(vectors, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    svg = tmp_path / "fig.svg"
    assert main([*vectors, "--format", "svg", "--out", str(svg)]) == 0, capsys.readouterr().err
    assert "<svg" in svg.read_text(encoding="utf-8")
    html = tmp_path / "m.html"
    assert main([*vectors, "--cluster", "hdbscan:5", "--page", "plotly", "--out", str(html)]) == 0
    assert "Plotly.newPlot" in html.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--cluster", "kmeans:zero", "--out", "x.html"], "is not kmeans:K, hdbscan"),
        (["--cluster", "kmeans:0", "--out", "x.html"], "is not kmeans:K"),
        (["--format", "png", "--out", "x.html"], "must end in .png for --format png"),
        (["--out", "x.png"], "must end in .html for a page"),
        (["--format", "png", "--dpi", "-3", "--out", "x.png"], "--dpi must be positive"),
        (["--decode", "search", "--page", "plotly", "--out", "x.html"], "add --page share"),
        (["--cluster-names", "explainer", "--out", "x.html"], "add --cluster kmeans:8"),
        (["--font-pt", "0", "--format", "pdf", "--out", "x.pdf"], "--font-pt must be positive"),
    ],
)
def test_refusals(vectors, tmp_path, capsys, extra, message):
    extra = [str(tmp_path / e) if e.startswith("x.") else e for e in extra]
    assert main([*vectors, *extra]) == 1
    assert message in capsys.readouterr().err
    assert not list(tmp_path.glob("x.*"))


@pytest.mark.slow  # the real MiniLM and the search inverter
def test_share_page_with_decoded_centroids(tmp_path, capsys):
    out = tmp_path / "decoded.html"
    args = ["map", "--corpus", "pii", "--limit", "40", "--method", "pca", "--page", "share"]
    args += ["--cluster", "kmeans:2", "--decode", "search", "--decode-cells", "1"]
    assert main([*args, "--decode-seconds", "30", "--out", str(out)]) == 0, capsys.readouterr().err
    page = out.read_text(encoding="utf-8")
    data = json.loads(re.search(r'type="application/json">(.*?)</script>', page, re.S).group(1))
    decoded = [c["inverted"] for c in data["clusters"]["items"] if "inverted" in c]
    assert decoded and all(isinstance(t, str) and t for t in decoded)
    assert "Decoded with SearchInverter" in data["decode"]["note"]
