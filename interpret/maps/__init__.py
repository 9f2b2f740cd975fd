"""Interactive embedding maps: lay vectors out in 2-D or 3-D and look at them with their texts.

:class:`EmbeddingMap` computes a layout once (UMAP, PCA or t-SNE; any parameter of umap-learn
or scikit-learn passes through) and draws it as a plotly figure with WebGL markers, wrapped
and escaped hover texts, categorical or continuous colours, cluster names at cluster centres,
and a live widget whose selections and clicks come back to Python. :func:`compare_maps` puts
two embedders' maps of the same texts side by side, aligned, with how much their neighbour
lists agree. Computing and drawing are separate: ``fit`` and ``cluster`` compute, ``figure``
draws.

One idea a module: ``map`` (:class:`EmbeddingMap`), ``data`` (the texts, labels, values and
ids of the points), ``layout`` (UMAP, PCA, t-SNE), ``neighbors`` (nearest neighbours in the
original space), ``cluster`` (clusters and their names), ``draw`` (plotly traces), ``palette``
(a colour-blind-safe palette for 20+ categories, CIEDE2000, light and dark themes), ``widget``
(live selections and clicks), ``export`` (the plotly page, and images for papers in inches at
a DPI), ``page`` and ``page_script`` (the page to share: search, neighbours, tables, filters,
in plain JavaScript), ``decode`` (decoded centroids and empty regions, with any inverter or
explainer), ``compare`` (two spaces side by side) and ``browser`` (checking an exported page in
headless Chromium, and driving it as a reader would).

Scale: figures use WebGL and compact float32 payloads, and hover texts are truncated (shorter
as maps grow), so a million points stay interactive. The page to share
(:meth:`EmbeddingMap.export_html`) is smaller still: uint16 coordinates, packed neighbour
indices and deflated texts with a stated per-point budget put a million points near 50 MB. Above ``max_fit_points`` points UMAP is
fitted on a random sample and the other points are placed with ``transform``: the layout of a
million points takes minutes instead of hours, at the cost that the sample alone shapes the
map (a group much rarer than one in ``max_fit_points`` may be placed inside a neighbouring
cluster rather than forming its own island).

Importing this package loads numpy only; umap, scikit-learn, plotly and pandas load when a
method needs them.

Examples
--------
>>> import numpy as np
>>> from interpret.maps import EmbeddingMap
>>> X = np.random.default_rng(0).normal(size=(60, 8)).astype("float32")
>>> m = EmbeddingMap(method="pca").fit(X, texts=[f"text {i}" for i in range(60)])
>>> m.embedding_.shape
(60, 2)
>>> fig = m.figure(title="a map")  # a plotly Figure; m.widget() in JupyterLab
>>> page = m.export_html()  # or m.export_html("map.html"): one offline page to share
>>> page.startswith("<!doctype html>")
True
"""

from __future__ import annotations

from interpret.maps.cluster import ClusterContext, Clustering, ClusterLabeler, KeywordLabeler
from interpret.maps.compare import MapComparison, compare_maps
from interpret.maps.layout import METHODS
from interpret.maps.map import EmbeddingMap

__all__ = [
    "METHODS",
    "ClusterContext",
    "ClusterLabeler",
    "Clustering",
    "EmbeddingMap",
    "KeywordLabeler",
    "MapComparison",
    "compare_maps",
]
