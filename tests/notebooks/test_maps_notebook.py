"""notebooks/maps.ipynb runs as stored (1,400 texts, UMAP), shows every map and page, and its
claims hold."""

from __future__ import annotations

import re

import pytest
from notebook_runs import executed, images, output_problems

pytestmark = pytest.mark.slow

FACTS = """
import json as _json, re as _re
from interpret.maps.export import png_dpi as _dpi
from PIL import Image as _Image
FACTS["n"] = len(texts)
FACTS["method"] = METHOD
FACTS["embedding"] = list(m.embedding_.shape)
FACTS["cluster_names"] = list(clusters.names.values())
FACTS["cluster_sizes"] = sum(clusters.sizes.values())
FACTS["closest_named"] = all(any(t.startswith(n) for t in texts) for n in by_text.names.values())
FACTS["selected"] = [len(m.selected), sorted(set(m.selected_frame["source"]))]
FACTS["near"] = [list(map(int, near["rank"])), list(map(float, near["distance"])),
                 list(map(int, near["index"]))]
FACTS["compare"] = [cmp.mean_overlap, cmp.disparity, float(overlaps["overlap"].min()),
                    float(overlaps["overlap"].max()), len(overlaps)]
page = shared.read_text(encoding="utf-8")
data = _json.loads(_re.search(r'type="application/json">(.*?)</script>', page, _re.S).group(1))
FACTS["share"] = [data["n"], data["neighbors"]["k"], data["neighbors"]["exact"],
                  len(data["clusters"]["items"]), "<script src=" in page, "Plotly" in page]
if DECODE:
    dec = _json.loads(_re.search(r'type="application/json">(.*?)</script>',
                                 decoded.read_text(encoding="utf-8"), _re.S).group(1))
    FACTS["decoded"] = [c["inverted"] for c in dec["clusters"]["items"] if "inverted" in c]
with _Image.open(column) as _p:
    FACTS["column_png"] = [list(_p.size), _dpi(column)]
FACTS["column_pdf"] = [float(v) for v in page_size.groups()] if (page_size := _re.search(
    rb"/MediaBox\\s*\\[0 0 ([\\d.]+) ([\\d.]+)", (out / "conditions-3.5in.pdf").read_bytes())) else None
with _Image.open(wide) as _p:
    FACTS["wide_png"] = list(_p.size)
FACTS["dpi"] = DPI
FACTS["files"] = sorted(p.name for p in out.iterdir())
"""


run = executed("maps.ipynb", FACTS)


def test_every_map_and_page_shows_on_a_static_viewer(run):
    nb, _ = run
    assert output_problems(nb) == []
    pictures = images(nb)
    plotly = [d for _, d in pictures if "application/vnd.plotly.v1+json" in d]
    widgets = [d for _, d in pictures if "application/vnd.jupyter.widget-view+json" in d]
    pages = [d for _, d in pictures if "text/html" in d and "maps-out/" in d["text/html"]]
    paper = [d for _, d in pictures if set(d) == {"image/png", "text/plain"}]
    assert len(plotly) == 4 and len(widgets) == 1 and len(pages) == 2 and len(paper) == 2
    assert {re.search(r'href="([^"]+)"', p["text/html"]).group(1) for p in pages} == {
        "maps-out/share.html",
        "maps-out/decoded.html",
    }


def test_enough_points_for_umap_to_show_structure(run):
    _, f = run
    assert f["n"] >= 1000 and f["method"] == "umap" and f["embedding"] == [f["n"], 2]


def test_clusters_are_named_by_words_that_say_something(run):
    _, f = run
    assert len(f["cluster_names"]) == 10 and f["cluster_sizes"] == f["n"]
    for name in f["cluster_names"]:
        assert "com" not in name.split(", ") and not re.search(r"\d|@", name), name
    assert f["closest_named"]


def test_selection_neighbours_and_comparison(run):
    _, f = run
    assert f["selected"] == [5, ["pii record"]]
    ranks, distances, indices = f["near"]
    assert ranks == [1, 2, 3, 4, 5] and distances == sorted(distances) and 0 not in indices
    overlap, disparity, low, high, rows = f["compare"]
    assert 0 <= overlap <= 1 and 0 <= disparity <= 1 and 0 <= low <= high <= 1
    assert rows == f["n"]


def test_the_pages_are_self_contained_and_decoded(run):
    _, f = run
    n, k, exact, clusters, fetches, plotly = f["share"]
    assert (n, k, exact, clusters) == (f["n"], 10, True, 10) and not fetches and not plotly
    assert f["decoded"] and all(isinstance(t, str) and t for t in f["decoded"])
    assert {"share.html", "decoded.html", "conditions-3.5in.png", "clusters-7in.png"} <= set(
        f["files"]
    )


def test_paper_figures_have_their_printed_size(run):
    _, f = run
    (width, height), dpi = f["column_png"]
    assert width == round(3.5 * f["dpi"]) and round(dpi) == f["dpi"]
    assert f["column_pdf"][0] == pytest.approx(252.0, abs=0.01)
    assert f["column_pdf"][1] == pytest.approx(height / f["dpi"] * 72, abs=0.6)
    assert f["wide_png"][0] == round(7 * f["dpi"])


def test_layer_three_agrees_on_about_a_quarter_of_the_neighbours(run):
    _, f = run
    assert 0.15 <= f["compare"][0] <= 0.4  # "about a quarter", as the text says
