"""Static pictures in notebooks: plotly figures and widgets carry a PNG; pages show as pictures."""

from __future__ import annotations

import base64
import importlib.util
import shutil

import pytest

from embedlens.notebook import figure_bundle, page_bundle, static_figures
from embedlens.png import read_png

needs_kaleido = pytest.mark.skipif(
    importlib.util.find_spec("kaleido") is None or shutil.which("chromium") is None,
    reason="needs kaleido and a Chromium (apt-get install chromium)",
)


def png_size(b64: str, tmp_path) -> tuple[int, int]:
    path = tmp_path / "x.png"
    path.write_bytes(base64.b64decode(b64))
    h, w = read_png(path).shape[:2]
    return w, h


@pytest.fixture()
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    yield InteractiveShell.instance()
    static_figures(False)
    InteractiveShell.clear_instance()


def test_outside_ipython_it_says_where_it_works():
    with pytest.raises(RuntimeError, match="works in a notebook"):
        static_figures()


@needs_kaleido
@pytest.mark.slow
def test_figures_and_widgets_carry_a_png(shell, tmp_path):
    import plotly.graph_objects as go
    from IPython.display import display
    from IPython.utils.capture import capture_output

    def shown(obj) -> dict:
        with capture_output() as out:
            display(obj)
        return {k: v for output in out.outputs for k, v in output.data.items()}

    fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2]), layout={"width": 400, "height": 300})
    static_figures()
    data = shown(fig)
    assert {"application/vnd.plotly.v1+json", "image/png", "text/plain"} <= set(data)
    assert "text/html" not in data  # not all of plotly.js in every output
    assert png_size(data["image/png"], tmp_path) == (400, 300)
    data = shown(go.FigureWidget(fig))
    assert {"application/vnd.jupyter.widget-view+json", "image/png"} <= set(data)
    static_figures(False)  # plotly's own display again
    assert "image/png" not in shown(fig)


@needs_kaleido
@pytest.mark.slow
def test_a_figure_without_a_size_gets_the_default_picture(tmp_path):
    import plotly.graph_objects as go

    bundle = figure_bundle(go.Figure(go.Bar(x=["a", "b"], y=[1, 2])), scale=0.5)
    assert png_size(bundle["image/png"], tmp_path) == (450, 250)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs a Chromium")
def test_a_page_shows_as_a_linked_picture(tmp_path, monkeypatch):
    page = tmp_path / "out" / "page.html"
    page.parent.mkdir()
    page.write_text("<html><body style='background:#c00'><h1>hello</h1></body></html>")
    monkeypatch.chdir(tmp_path)
    bundle = page_bundle(page, width=600, height=400)
    assert png_size(bundle["image/png"], tmp_path) == (600, 400)
    assert 'href="out/page.html"' in bundle["text/html"]  # relative to the notebook's folder
    assert bundle["image/png"] in bundle["text/html"]
    with pytest.raises(FileNotFoundError, match="write it first"):
        page_bundle(tmp_path / "missing.html")
