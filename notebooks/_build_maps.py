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

code("""
# Parameters
N_WORDNET = 100      # WordNet example sentences (48k available)
N_PII = 50           # synthetic personal records, with condition / state / age labels
METHOD = "pca"       # "umap" for a real look (its first call compiles for ~20 s), "tsne", "pca"
N_NEIGHBORS = 15     # UMAP's neighbourhood size
LAYER = 3            # the hidden layer compared with the output
SEED = 0
OUT_DIR = None       # where the exported files go (None: a temporary folder)
""", tags=["parameters"])

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
m.figure(color="source", title="MiniLM: WordNet sentences and PII records")
""")

md("Continuous values get a colour bar:")

code("""
m.figure(color="length", title="Text length")
""")

md("""
## Clusters, named by their keywords
`cluster` finds clusters (HDBSCAN or k-means) and names each with class-based TF-IDF keywords
of its texts; the names are drawn at the cluster centres.
""")

code("""
clusters = m.cluster("kmeans", n_clusters=6)
clusters.summary()
""")

code("""
m.figure(color="cluster", title="k-means clusters and their keywords")
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

m.cluster("kmeans", n_clusters=6, labeler=closest_text).summary()
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
m.selected_frame[["index", "text", "condition"]]
""")

code("""
m.neighbors(0, k=5)[["rank", "distance", "text", "source"]]
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
try:
    engine = m.save_image(out / "map.png", color="source", width=900, height=700, scale=1)
    print("image written with", engine)
except RuntimeError as err:  # neither kaleido + Chromium nor matplotlib is installed
    print(err)
""")

nb = new_notebook(cells=cells)
nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
nb.metadata["language_info"] = {"name": "python"}
nbformat.write(nb, "notebooks/maps.ipynb")
