"""Build notebooks/maps.ipynb with nbformat: `.venv/bin/python notebooks/_build_maps.py` (from the repo root)."""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

cells = []


def md(text):
    cells.append(new_markdown_cell(text.strip()))


def code(text, tags=None):
    cell = new_code_cell(text.strip())
    if tags:
        cell.metadata["tags"] = tags
    cells.append(cell)


md("""
# Embedding maps

`interpret.maps` draws an embedding space inside the notebook: a UMAP (or PCA, t-SNE) layout with
the texts on hover, coloured by labels or values, clustered and named, and two spaces side by side.
This notebook maps the built-in MiniLM's embeddings of WordNet example sentences and synthetic
PII records. It runs offline and is executed in CI with the small sizes below; raise them for a
real look (UMAP stays interactive up to a million points).
""")

code(
    """
# Parameters
N_WORDNET = 100      # WordNet example sentences (48k available)
N_PII = 50           # synthetic personal records, with condition / state / age labels
METHOD = "pca"       # "umap" for a real look (its first call compiles for ~20 s), "tsne", "pca"
N_NEIGHBORS = 15     # UMAP's neighbourhood size
LAYER = 3            # the hidden layer compared with the output
SEED = 0
OUT_DIR = None       # where the exported files go (None: a temporary folder)
DECODE = True        # decode cluster centroids and empty regions with the CPU search inverter
DPI = 300            # resolution of the paper figure
""",
    tags=["parameters"],
)

md("""
## Texts and embeddings
One forward pass gives both MiniLM's layer-3 states and its output (mean-pooled; the maps use
cosine distance, so the output's normalisation does not matter).
""")

code("""
import tempfile
from pathlib import Path

import numpy as np

import embedlens
from interpret.maps import EmbeddingMap, compare_maps

rng = np.random.default_rng(SEED)
wordnet = embedlens.load_corpus("wordnet-examples")
picked = rng.choice(len(wordnet), size=N_WORDNET, replace=False)
pii = embedlens.load_corpus("pii", n=N_PII, seed=SEED)

texts = [wordnet.texts[i] for i in picked] + pii.texts
source = ["wordnet"] * N_WORDNET + ["pii record"] * N_PII
condition = ["(not a record)"] * N_WORDNET + pii.labels["condition"]
age_band = ["(not a record)"] * N_WORDNET + pii.labels["age_band"]

emb = embedlens.load_embedder("minilm")
layer_k, output = emb.embed_layers(texts, layers=[LAYER, emb.n_layers], batch_size=64)
assert output.shape == layer_k.shape == (N_WORDNET + N_PII, emb.dim)
output.shape
""")

md("""
## A map of the output space
`fit` computes the layout once; `figure` draws it (WebGL markers, hover shows each text wrapped
and HTML-escaped). The legend toggles groups.
""")

code("""
method_params = {"n_neighbors": N_NEIGHBORS} if METHOD == "umap" else {}
m = EmbeddingMap(method=METHOD, random_state=SEED, **method_params)
m.fit(
    output,
    texts=texts,
    labels={"source": source, "condition": condition, "age band": age_band},
    values={"length": [len(t) for t in texts]},
)
fig = m.figure(color="source", title="MiniLM: WordNet sentences and PII records")
# computed once: one 2-D point per text; one WebGL trace per legend group
assert m.embedding_.shape == (len(texts), 2)
assert {t.type for t in fig.data} == {"scattergl"} and len(fig.data) == 2
# hover texts are HTML-escaped: no raw tag from the data reaches the page
assert all("<script" not in h for t in fig.data for h in t.hovertext)
fig
""")

md("Continuous values get a colour bar:")

code("""
fig = m.figure(color="length", title="Text length")
assert len(fig.data) == 1 and fig.data[0].marker.showscale  # one trace with a colour bar
fig
""")

md("""
## Clusters, named by their keywords
`cluster` finds clusters (HDBSCAN or k-means) and names each with class-based TF-IDF keywords
of its texts; the names are drawn at the cluster centres.
""")

code("""
clusters = m.cluster("kmeans", n_clusters=6)
assert len(clusters.names) == 6 and sum(clusters.sizes.values()) == len(texts)
clusters.summary()
""")

code("""
fig = m.figure(color="cluster", title="k-means clusters and their keywords")
assert len(fig.layout.annotations) == 6  # the names, drawn at the cluster centres
fig
""")

md("""
The labeler is pluggable: anything that maps a `ClusterContext` (member indices, texts and
centroids in the original space) to names. A decoder of centroid embeddings fits here; as a
stand-in, this one names a cluster by the member text closest to its centroid.
""")

code("""
def closest_text(context):
    unit = output / np.linalg.norm(output, axis=1, keepdims=True)
    names = []
    for members, centroid in zip(context.members, context.centroids):
        best = members[np.argmax(unit[members] @ centroid)]
        names.append(context.texts[best][:40])
    return names

summary = m.cluster("kmeans", n_clusters=6, labeler=closest_text).summary()
assert all(any(t.startswith(name) for t in texts) for name in summary["name"])  # member texts
summary
""")

md("""
## Live in JupyterLab
`widget()` returns a `FigureWidget`: a lasso or box selection lands in `m.selected` (row indices)
and `m.selected_frame` (a DataFrame), and `on_select` callbacks run; clicking a point rings its
nearest neighbours in the original 384-dimensional space. `explorer()` adds a table below the map.
Selections can also be made from Python:
""")

code("""
m.widget(color="condition")
""")

code("""
m.on_select(lambda idx, frame: print(f"{len(idx)} points selected"))
m.select(np.flatnonzero(np.array(source) == "pii record")[:5])
assert len(m.selected) == 5 and set(m.selected_frame["source"]) == {"pii record"}
m.selected_frame[["index", "text", "condition"]]
""")

code("""
near = m.neighbors(0, k=5)
assert list(near["rank"]) == [1, 2, 3, 4, 5] and near["distance"].is_monotonic_increasing
assert 0 not in set(near["index"])  # a point is not its own neighbour
near[["rank", "distance", "text", "source"]]
""")

md("""
## Two spaces compared: layer 3 against the output
Both maps are laid out with the same settings and the second is aligned onto the first
(orthogonal Procrustes). Each point is coloured by how many of its 10 nearest neighbours the two
spaces share.
""")

code("""
cmp = compare_maps(
    layer_k, output, texts=texts, labels={"source": source}, names=(f"layer {LAYER}", "output"),
    method=METHOD, k=10, random_state=SEED, **method_params,
)
print(f"mean 10-NN overlap {cmp.mean_overlap:.2f}, Procrustes disparity {cmp.disparity:.2f}")
assert 0.0 <= cmp.mean_overlap <= 1.0 and 0.0 <= cmp.disparity <= 1.0
cmp.figure(color="overlap")
""")

md("""
In JupyterLab, `cmp.widget()` links the two panels: a lasso in one selects the same texts in the
other (`on_select` receives them). The exported page below links hover and selection too.
""")

code("""
cmp.widget(color="source", on_select=lambda idx, df: print(df["overlap"].mean()))
""")

code("""
df = cmp.frame()
assert len(df) == len(texts) and df["overlap"].between(0, 1).all()
df.sort_values("overlap")[["overlap", "source", "text"]].head(5)
""")

md("""
## Export
`save_html` writes one self-contained file (plotly.js inlined, works offline); `save_image`
writes PNG/SVG/PDF through kaleido and a Chromium when they are installed, else matplotlib.
""")

code("""
out = Path(OUT_DIR) if OUT_DIR else Path(tempfile.mkdtemp(prefix="embedlens-maps-"))
page = m.save_html(out / "map.html", color="condition")
linked = cmp.save_html(out / "layer-vs-output.html")
print(page, f"{page.stat().st_size / 1e6:.1f} MB")
assert "<script src=" not in page.read_text(encoding="utf-8")  # plotly.js inlined: offline
try:
    engine = m.save_image(out / "map.png", color="source", width=900, height=700, scale=1)
    print("image written with", engine)
except RuntimeError as err:  # neither kaleido + Chromium nor matplotlib is installed
    print(err)
""")

md("""
## A page to share
`export_html` writes the page to send to people who do not run Python: one offline file, plain
JavaScript, no plotly. A search box highlights matching points and lists them; clicking a point
shows its text and its nearest neighbours in the original 384-dimensional space (computed at
export); shift+drag selects a box of points into a table; the filter hides categories; cluster
names sit on the map. Texts are compressed and cut to a per-point budget the page states, so a
million points make a file of about 50 MB (`benchmarks/RESULTS.md`). Every text is shown as
text: a record that contains `<script>` cannot run it.
""")

code("""
import json, re

m.cluster("kmeans", n_clusters=6)  # keyword names again
shared = m.export_html(out / "share.html", color="condition", title="MiniLM map")
html = shared.read_text(encoding="utf-8")
data = json.loads(re.search(r'type="application/json">(.*?)</script>', html, re.S).group(1))
assert "<script src=" not in html and "Plotly" not in html  # self-contained, no library
assert data["n"] == len(texts) and data["neighbors"]["k"] == 10 and data["neighbors"]["exact"]
assert len(data["clusters"]["items"]) == 6
print(f"{shared}: {shared.stat().st_size / 1e3:.0f} kB")
for note in data["notes"]:
    print("-", note)
""")

md("""
## Decode the map
With an inverter (anything with `invert(X) -> list[str]`) or an explainer (`explain(X) ->
list[str]`), the page also shows what text each cluster centroid decodes to, and what the empty
regions between clusters decode to: their centres go back to the 384-dimensional space through
the layout's inverse (exact for PCA, approximate for UMAP; t-SNE has none and the page says so).
The work has a budget (`DecodeBudget`: regions and seconds). Here the CPU search inverter from
`inversion`, fed with other WordNet sentences, decodes them.
""")

code("""
from interpret.maps.decode import DecodeBudget

if DECODE:
    from inversion.search import SearchInverter

    others = [wordnet.texts[i] for i in rng.choice(len(wordnet), size=400, replace=False)]
    inverter = SearchInverter(embedder=emb, aux_texts=others, max_queries=60, max_seconds=1.0,
                              progress=False)
    decoded = m.export_html(out / "decoded.html", color="cluster", inverter=inverter,
                            decode_budget=DecodeBudget(max_cells=4, max_seconds=60))
    data = json.loads(re.search(r'type="application/json">(.*?)</script>',
                                decoded.read_text(encoding="utf-8"), re.S).group(1))
    centroids = [c for c in data["clusters"]["items"] if "inverted" in c]
    assert centroids, data["decode"]["note"]  # at least the largest cluster was decoded
    for c in centroids:
        print(f"{c['name'][:40]:40s} -> {c['inverted']}")
    print(data["decode"]["note"])
""")

md("""
## A figure for a paper
`save_image` in inches at a resolution: a PNG records its DPI (so LaTeX places it at the stated
size), SVG and PDF keep their text as text. The categorical palette starts with Okabe and Ito's
colour-blind-safe colours and stays apart for 20 categories, also under simulated deuteranopia
and protanopia (smallest CIEDE2000 difference of any two colours, measured below); `theme="dark"`
suits slides.
""")

code("""
from interpret.maps.export import png_dpi
from interpret.maps.palette import min_delta_e, palette

figure_path = out / "figure.png"
engine = m.save_image(figure_path, width_in=3.5, height_in=3.0, dpi=DPI, color="cluster",
                      title="MiniLM clusters")
m.save_image(out / "figure.pdf", width_in=3.5, height_in=3.0, color="cluster")
assert round(png_dpi(figure_path)) == DPI  # the PNG states its resolution
from PIL import Image
with Image.open(figure_path) as image:
    assert image.size == (round(3.5 * DPI), round(3.0 * DPI))  # 3.5 x 3 in at DPI
for vision in ("normal", "deuteranopia", "protanopia"):
    print(f"{vision:13s} smallest CIEDE2000 of 20 colours: {min_delta_e(palette(20), vision):.1f}")
assert min(min_delta_e(palette(20), v) for v in ("normal", "deuteranopia", "protanopia")) >= 9
print("written with", engine)
Image.open(figure_path)
""")

nb = new_notebook(cells=cells)
nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
nb.metadata["language_info"] = {"name": "python"}
nbformat.write(nb, "notebooks/maps.ipynb")
