"""Write notebooks/maps.ipynb, executed (run: .venv/bin/python notebooks/_build_maps.py).

The notebook maps 1,400 texts with UMAP and writes its pages and figures into ``maps-out/``
beside it, showing each inline; tests/notebooks/test_maps_notebook.py executes it and checks
what it claims.
"""

from __future__ import annotations

from _nbbuild import write_notebook

CELLS: list[tuple[str, str]] = [
    (
        "md",
        """# Embedding maps

`interpret.maps` draws an embedding space: a UMAP (or PCA, t-SNE) layout with the texts on
hover, coloured by labels or values, clustered and named, two spaces side by side, a page to
share with people who do not run Python, and figures at their exact size for a paper.

This notebook maps the built-in MiniLM's embeddings of 800 WordNet example sentences and 600
synthetic personal records (`pii`): enough points for UMAP to show real structure. Every figure
is interactive in JupyterLab and carries a picture for GitHub and other static viewers. The pages
and figures it writes go to `maps-out/` beside the notebook.""",
    ),
    (
        "params",
        """# Parameters
N_WORDNET = 800      # WordNet example sentences (48k available)
N_PII = 600          # synthetic personal records, with condition / state / age labels
METHOD = "umap"      # "umap", "pca" or "tsne"
N_NEIGHBORS = 15     # UMAP's neighbourhood size
N_CLUSTERS = 10      # k-means clusters named on the map
LAYER = 3            # the hidden layer compared with the output
SEED = 0
OUT_DIR = "maps-out" # the pages and figures, beside this notebook
DECODE = True        # decode cluster centroids and empty regions with the CPU search inverter
DECODE_SECONDS = 40  # its time budget
DPI = 150            # resolution of the paper figures' PNGs (300 for print)""",
    ),
    (
        "md",
        """## Texts and embeddings
One forward pass gives both MiniLM's layer-3 states and its output (mean-pooled). The maps use
cosine distance. `static_figures()` makes every plotly figure below also carry a PNG of itself.""",
    ),
    (
        "code",
        """from pathlib import Path

import numpy as np
from IPython.display import Image

import embedlens
from embedlens.notebook import show_page, static_figures
from interpret.maps import EmbeddingMap, compare_maps

static_figures()
out = Path(OUT_DIR)
out.mkdir(parents=True, exist_ok=True)

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
print(f"{len(texts):,} texts; layer {LAYER} and output: {output.shape[1]} dimensions each")""",
    ),
    (
        "md",
        """## A map of the output space
`fit` computes the layout once; `figure` draws it: WebGL markers, each text on hover (wrapped
and HTML-escaped), one legend entry per group. The records and the sentences fall apart at
once; the records split further by their template (intake note, pharmacy refill, study
enrollment...), the sentences into topics.""",
    ),
    (
        "code",
        """params = {"n_neighbors": N_NEIGHBORS} if METHOD == "umap" else {}
m = EmbeddingMap(method=METHOD, random_state=SEED, **params)
m.fit(
    output,
    texts=texts,
    labels={"source": source, "condition": condition, "age band": age_band},
    values={"length": [len(t) for t in texts]},
)
m.figure(color="source", title="MiniLM: WordNet sentences and PII records", height=550,
         hover_chars=100)""",
    ),
    ("md", "Numbers get a colour bar: here the length of each text."),
    (
        "code",
        """m.figure(color="length", title="Text length (characters)", height=550, hover_chars=100)""",
    ),
    (
        "md",
        """## Clusters, named by their keywords
`cluster` finds clusters (k-means here; HDBSCAN finds their number itself) and names each by
class-based TF-IDF: words frequent in the cluster's texts and rare in the others, used by at
least two of its texts, never e-mail addresses, URLs or numbers. The names sit at the cluster
centres; where two would overlap, one moves aside with a thin leader line, and no box hides
the points below.""",
    ),
    (
        "code",
        """clusters = m.cluster("kmeans", n_clusters=N_CLUSTERS)
clusters.summary()""",
    ),
    (
        "code",
        """m.figure(color="cluster", title="k-means clusters and their keywords", height=600,
         hover_chars=100)""",
    ),
    (
        "md",
        """The labeler is pluggable: anything that maps a `ClusterContext` (member indices, texts and
centroids in the original space) to names. An explainer or an inverter plugs in here
(`interpret.ExplainerLabeler`, see the explain notebook); this one names a cluster by the member
text closest to its centroid.""",
    ),
    (
        "code",
        """def closest_text(context):
    unit = output / np.linalg.norm(output, axis=1, keepdims=True)
    names = []
    for members, centroid in zip(context.members, context.centroids):
        best = members[np.argmax(unit[members] @ centroid)]
        names.append(context.texts[best][:40])
    return names


by_text = m.cluster("kmeans", n_clusters=N_CLUSTERS, labeler=closest_text)
by_text.summary().head(5)""",
    ),
    (
        "md",
        """## Live in JupyterLab
`widget()` returns a `FigureWidget`: a lasso or box selection lands in `m.selected` (row
indices) and `m.selected_frame` (a table), and `on_select` callbacks run; clicking a point rings
its nearest neighbours in the original 384-dimensional space. `explorer()` adds a table below
the map. (On a static viewer the widget shows as its picture.)""",
    ),
    (
        "code",
        """m.cluster("kmeans", n_clusters=N_CLUSTERS)  # the keyword names again
m.widget(color="age band", height=550, hover_chars=100)""",
    ),
    ("md", "Selections can also be made from Python:"),
    (
        "code",
        """m.on_select(lambda idx, frame: print(f"{len(idx)} points selected"))
m.select(np.flatnonzero(np.array(source) == "pii record")[:5])
m.selected_frame[["index", "text", "condition"]]""",
    ),
    ("md", "The nearest neighbours of a point, in the original space (not on the map):"),
    (
        "code",
        """near = m.neighbors(0, k=5)
near[["rank", "distance", "text", "source"]]""",
    ),
    (
        "md",
        """## Two spaces compared: layer 3 against the output
Both maps are laid out with the same settings and the second is aligned onto the first
(orthogonal Procrustes). Each point is coloured by the share of its 10 nearest neighbours the
two spaces agree on. Layer 3 agrees with the output on only about a quarter of each text's
neighbours: its map groups the records by their wording (one island per template), and the
last layers regroup them by what they are about.""",
    ),
    (
        "code",
        """cmp = compare_maps(
    layer_k, output, texts=texts, labels={"source": source}, names=(f"layer {LAYER}", "output"),
    method=METHOD, k=10, random_state=SEED, **params,
)
print(f"mean 10-NN overlap {cmp.mean_overlap:.2f}, Procrustes disparity {cmp.disparity:.2f}")
cmp.figure(color="overlap", hover_chars=100)""",
    ),
    (
        "md",
        """In JupyterLab, `cmp.widget()` links the two panels: a lasso in one selects the same
texts in the other (`on_select` receives them).""",
    ),
    (
        "code",
        """overlaps = cmp.frame()
overlaps.sort_values("overlap")[["overlap", "source", "text"]].head(5)""",
    ),
    (
        "md",
        """## A page to share
`export_html` writes one offline file for people who do not run Python: plain JavaScript, no
plotly. A search box highlights matching points and lists them; clicking a point shows its text
and its nearest neighbours in the original space (computed at export); shift+drag selects a box
of points into a table; the filter hides categories; cluster names sit on the map. On a phone
the map comes first and the tables below it. Texts are compressed and cut to a per-point budget
the page states, so a million points make a file of about 50 MB. Every text is shown as text:
a record that contains `<script>` cannot run it. Here is its first screen (a click opens it):""",
    ),
    (
        "code",
        """shared = m.export_html(out / "share.html", color="condition", title="MiniLM map")
print(f"{shared}: {shared.stat().st_size / 1e3:.0f} kB")
show_page(shared)""",
    ),
    (
        "md",
        """## Decode the map
With an inverter (anything with `invert(X) -> list[str]`) or an explainer (`explain(X) ->
list[str]`), the page also shows what text each cluster centroid decodes to, and what the empty
regions between clusters decode to: their centres go back to the 384-dimensional space through
the layout's inverse (exact for PCA, approximate for UMAP; t-SNE has none and the page says so).
The work has a budget (`DecodeBudget`). Here the CPU search inverter from `inversion`, given 400
other WordNet sentences, decodes them; the sidebar lists the decoded texts.""",
    ),
    (
        "code",
        """from interpret.maps.decode import DecodeBudget

if DECODE:
    from inversion.search import SearchInverter

    others = [wordnet.texts[i] for i in rng.choice(len(wordnet), size=400, replace=False)]
    inverter = SearchInverter(embedder=emb, aux_texts=others, max_queries=60, max_seconds=1.0,
                              progress=False)
    decoded = m.export_html(out / "decoded.html", color="cluster", inverter=inverter,
                            decode_budget=DecodeBudget(max_cells=4, max_seconds=DECODE_SECONDS))
    show_page(decoded)""",
    ),
    (
        "md",
        """## Figures for a paper
`save_image` in inches at a resolution: a PNG is `width_in x dpi` pixels and states its DPI
(so LaTeX places it at its size), a PDF or SVG page is `width_in x 72` points and keeps its text
as text. The text is set in points for that size (7-9 pt on a 3.5 in column), the map keeps its
aspect, cluster names never overlap, and the legend goes beside or below the map in as many
columns as fit; left without a height, the figure grows to hold the whole legend. With more
categories than fit, the smallest fold into one grey "other (k)" entry and a note says so.

Twenty conditions are more colours than a reader tells apart easily (the figure's log says so
and suggests `symbols=True`); the palette keeps neighbours in the legend far apart.""",
    ),
    (
        "code",
        """records = EmbeddingMap(method=METHOD, random_state=SEED, **params).fit(
    output[N_WORDNET:], texts=pii.texts, labels=pii.labels
)
column = out / "conditions-3.5in.png"
records.save_image(column, width_in=3.5, dpi=DPI, color="condition", title="Conditions")
records.save_image(out / "conditions-3.5in.pdf", width_in=3.5, color="condition",
                   title="Conditions")
Image(filename=column, width=int(3.5 * 96))  # shown at its printed size""",
    ),
    ("md", "The same map as a full-width (7 in) figure, with cluster names:"),
    (
        "code",
        """records.cluster("kmeans", n_clusters=8)
wide = out / "clusters-7in.png"
records.save_image(wide, width_in=7.0, dpi=DPI, color="cluster", title="Records by cluster")
Image(filename=wide, width=int(7 * 96))""",
    ),
    (
        "md",
        """What the files hold: pixels and DPI of the PNG, the page of the PDF, and the palette's
smallest colour differences (CIEDE2000) among 20 colours, also under simulated colour-vision
deficiencies, overall and between legend neighbours.""",
    ),
    (
        "code",
        """import re

from interpret.maps.export import png_dpi
from interpret.maps.palette import min_delta_e, neighbour_delta_e, palette
from PIL import Image as PILImage

with PILImage.open(column) as picture:
    print(f"{column.name}: {picture.size[0]} x {picture.size[1]} px at {png_dpi(column):.0f} dpi")
page = re.search(rb"/MediaBox\\s*\\[0 0 ([\\d.]+) ([\\d.]+)", (out / "conditions-3.5in.pdf").read_bytes())
print(f"conditions-3.5in.pdf: a page of {float(page.group(1)):g} x {float(page.group(2)):g} pt")
for vision in ("normal", "deuteranopia", "protanopia"):
    print(f"{vision:13s} any two of 20: {min_delta_e(palette(20), vision):5.1f}   "
          f"legend neighbours: {neighbour_delta_e(palette(20), vision):5.1f}")""",
    ),
]

if __name__ == "__main__":
    write_notebook(CELLS, "maps.ipynb")
