"""The map itself: :class:`EmbeddingMap` lays vectors out once and shows them with their texts.

``fit`` and ``cluster`` compute (with :mod:`~interpret.maps.layout` and
:mod:`~interpret.maps.cluster`); ``figure``, ``widget`` and the exports draw (with
:mod:`~interpret.maps.draw`, :mod:`~interpret.maps.widget` and :mod:`~interpret.maps.export`).
Importing this module loads numpy only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from embedlens.params import Params
from interpret.maps.cluster import (
    Clustering,
    ClusterLabeler,
    ClusterMethod,
    KeywordLabeler,
    cluster_points,
)
from interpret.maps.data import PointData, check_point_data, check_X
from interpret.maps.decode import DecodeBudget
from interpret.maps.draw import (
    Style,
    cluster_annotations,
    hover_texts,
    plotly_text,
    point_traces,
    resolve_coloring,
    style_layout,
    warn_many_colors,
)
from interpret.maps.export import FigureExport
from interpret.maps.layout import (
    Method,
    check_method,
    check_n_components,
    check_params,
    fit_layout,
    prepare,
    transform_points,
)
from interpret.maps.neighbors import check_k, neighbor_index, neighbors_of
from interpret.maps.palette import Theme
from interpret.maps.widget import ClickCallback, MapInteraction, SelectCallback

__all__ = ["EmbeddingMap"]


class EmbeddingMap(Params, FigureExport):
    """A 2-D or 3-D map of embeddings, drawn with their texts, labels and values.

    ``__init__`` only stores its arguments, and ``get_params``/``set_params`` read them
    (:class:`embedlens.params.Params`, so ``sklearn.base.clone`` works); :meth:`fit` computes
    the layout into ``embedding_``.

    Parameters
    ----------
    method : {"umap", "pca", "tsne"}
        UMAP keeps neighbourhoods and places new points; PCA is fast, linear and exact; t-SNE
        suits small sets and cannot place new points.
    n_components : {2, 3}
        Dimensions of the map.
    metric : str
        Distance between vectors, for the layout and for nearest neighbours. With PCA,
        ``"cosine"`` scales rows to unit length first and ``"euclidean"`` uses them as is.
    random_state : int or None
        Seed of the layout, sampling and clustering. A seed makes UMAP single-threaded
        (umap-learn's rule); leave it ``None`` for speed.
    max_fit_points : int or None
        UMAP above this many points fits a random sample of this size and places the rest
        with ``transform`` (faster, at the cost described in :mod:`interpret.maps`).
        ``None`` always fits all points.
    progress : bool or None
        Progress bars for long layouts; ``None`` shows them in interactive sessions.
    **params
        Passed to ``umap.UMAP``, ``sklearn.decomposition.PCA`` or ``sklearn.manifold.TSNE``,
        e.g. ``n_neighbors=30, min_dist=0.05`` or ``perplexity=20``.

    Attributes
    ----------
    embedding_ : numpy.ndarray
        ``(n, n_components)`` float32 coordinates.
    reducer_ : object
        The fitted umap/sklearn estimator.
    sample_indices_ : numpy.ndarray or None
        The rows UMAP was fitted on when the map was sampled.
    clusters_ : Clustering or None
        Set by :meth:`cluster`.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(100, 16)).astype("float32")
    >>> m = EmbeddingMap(method="umap", n_neighbors=10, random_state=0)
    >>> m = m.fit(X, texts=[f"doc {i}" for i in range(100)], labels=["a", "b"] * 50)
    >>> fig = m.figure(color="label")
    >>> [t.name for t in fig.data]
    ['a (50)', 'b (50)']
    """

    embedding_: np.ndarray
    reducer_: Any
    sample_indices_: np.ndarray | None
    fit_seconds_: float
    n_features_in_: int
    vectors_: np.ndarray
    points_: PointData
    clusters_: Clustering | None
    _hover_cache: dict[tuple[int, int], np.ndarray]
    _last_members: list[np.ndarray]
    _nn: Any
    _ui: MapInteraction

    def __init__(
        self,
        method: Method = "umap",
        n_components: int = 2,
        *,
        metric: str = "cosine",
        random_state: int | None = None,
        max_fit_points: int | None = 200_000,
        progress: bool | None = None,
        **params: Any,
    ) -> None:
        self.method = method
        self.n_components = n_components
        self.metric = metric
        self.random_state = random_state
        self.max_fit_points = max_fit_points
        self.progress = progress
        self.params = params

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"EmbeddingMap({args})"

    # ------------------------------------------------------------------ computing
    def fit(
        self,
        X: Any,
        *,
        texts: Sequence[str] | None = None,
        labels: Any = None,
        values: Any = None,
        ids: Sequence[Any] | None = None,
    ) -> EmbeddingMap:
        """Compute the layout of ``X`` and remember what to show with each point.

        Parameters
        ----------
        X : array-like (n, dim)
            One vector per row; NaN or inf rows are refused.
        texts : list of str, optional
            Shown (wrapped, escaped, truncated) when hovering a point.
        labels : sequence or dict of sequences, optional
            Categorical columns (e.g. ``corpus.labels``): colours with a legend.
        values : sequence or dict of sequences, optional
            Numeric columns: colours with a colour bar. NaN marks a missing value.
        ids : sequence, optional
            Shown instead of the row number in hover labels and tables.

        Returns
        -------
        EmbeddingMap
            ``self``, fitted.
        """
        method = check_method(self.method)
        n_components = check_n_components(self.n_components)
        check_params(method, self.params)
        if self.max_fit_points is not None and (
            isinstance(self.max_fit_points, bool)
            or not isinstance(self.max_fit_points, (int, np.integer))
            or self.max_fit_points < 2
        ):
            raise ValueError(
                f"max_fit_points must be an int >= 2 or None, got {self.max_fit_points!r}"
            )
        arr = check_X(X)
        prepare(arr[:1], method, self.metric)  # refuses a metric PCA cannot use, before any work
        data = check_point_data(arr.shape[0], texts=texts, labels=labels, values=values, ids=ids)
        layout = fit_layout(
            arr,
            method=method,
            n_components=n_components,
            metric=self.metric,
            random_state=self.random_state,
            params=self.params,
            max_fit_points=self.max_fit_points,
            progress=self.progress,
        )
        self.embedding_ = layout.embedding
        self.reducer_ = layout.reducer
        self.sample_indices_ = layout.sample
        self.fit_seconds_ = layout.seconds
        self.n_features_in_ = int(arr.shape[1])
        self.vectors_ = arr
        self.points_ = data
        self.clusters_ = None
        self._reset_interaction()
        return self

    def fit_transform(self, X: Any, **kwargs: Any) -> np.ndarray:
        """:meth:`fit`, then return ``embedding_``."""
        return self.fit(X, **kwargs).embedding_

    def transform(self, X: Any) -> np.ndarray:
        """Place new vectors in the fitted map (UMAP and PCA; t-SNE raises).

        Returns
        -------
        numpy.ndarray
            ``(len(X), n_components)`` float32 coordinates.
        """
        self._check_fitted()
        arr = check_X(X, dim=self.n_features_in_)
        return transform_points(
            self.reducer_, str(self.method), self.metric, arr, progress=self.progress
        )

    def neighbors(self, index: int, k: int = 10) -> Any:
        """The ``k`` nearest points of point ``index`` in the original space (not the map).

        Returns a pandas DataFrame with ``rank``, ``index``, ``distance`` (in ``metric``),
        and the point's id, text, labels, values and cluster.

        Examples
        --------
        >>> m.neighbors(0, k=3)  # doctest: +SKIP
        """
        self._check_fitted()
        n = self.embedding_.shape[0]
        if (
            isinstance(index, bool)
            or not isinstance(index, (int, np.integer))
            or not 0 <= index < n
        ):
            raise IndexError(f"index must be a point of the map, 0 <= index < {n}, got {index!r}")
        k = check_k(k, n)
        if self._nn is None:
            self._nn = neighbor_index(self.vectors_, self.metric)
        ind, dist = neighbors_of(
            self.vectors_, np.array([int(index)]), k, self.metric, index=self._nn
        )
        frame = self.frame(ind[0])
        frame.insert(0, "distance", dist[0].astype(np.float32))
        frame.insert(0, "rank", np.arange(1, k + 1))
        return frame

    def cluster(
        self,
        method: ClusterMethod = "hdbscan",
        *,
        n_clusters: int = 8,
        min_cluster_size: int | None = None,
        space: str = "layout",
        labeler: ClusterLabeler | None = None,
        random_state: int | None = None,
        **params: Any,
    ) -> Clustering:
        """Find clusters, name them with ``labeler`` and draw the names at their centres.

        Parameters
        ----------
        method : {"hdbscan", "kmeans"}
            scikit-learn's HDBSCAN (finds the number of clusters, marks noise as ``-1``) or
            KMeans (``n_clusters``).
        n_clusters : int
            Clusters of k-means.
        min_cluster_size : int, optional
            Smallest HDBSCAN cluster; default ``max(5, min(500, n // 100))``.
        space : {"layout", "original"}
            Cluster the map's coordinates (clusters match what the eye sees; fast) or the
            original vectors (unit vectors when the metric is cosine).
        labeler : callable, optional
            ``labeler(ClusterContext) -> names``; default :class:`KeywordLabeler`
            (class-based TF-IDF keywords of the member texts).
        random_state : int, optional
            Seed of k-means; default: the map's ``random_state``.
        **params
            Passed to ``HDBSCAN`` or ``KMeans``.

        Returns
        -------
        Clustering
            Also kept as ``clusters_``; ``figure(color="cluster")`` colours by it.

        Examples
        --------
        >>> c = m.cluster("kmeans", n_clusters=5)  # doctest: +SKIP
        >>> c.summary()  # doctest: +SKIP
        """
        self._check_fitted()
        if space not in ("layout", "original"):
            raise ValueError(f"space must be 'layout' or 'original', got {space!r}")
        if labeler is not None and not callable(labeler):
            raise TypeError(
                f"labeler must be callable (ClusterContext -> names), got {type(labeler).__name__}"
            )
        unit = prepare(self.vectors_, "pca", "cosine") if self.metric == "cosine" else self.vectors_
        self.clusters_ = cluster_points(
            self.embedding_ if space == "layout" else unit,
            layout=self.embedding_,
            vectors=unit,
            texts=self.points_.texts,
            method=method,
            space=space,
            labeler=labeler or KeywordLabeler(),
            n_clusters=n_clusters,
            min_cluster_size=min_cluster_size,
            random_state=self.random_state if random_state is None else random_state,
            params=params,
        )
        self._hover_cache.clear()
        return self.clusters_

    # ------------------------------------------------------------------ tables
    def frame(self, indices: Sequence[int] | np.ndarray | None = None) -> Any:
        """The map as a pandas DataFrame: index, id, coordinates, text, labels, values, cluster."""
        import pandas as pd

        self._check_fitted()
        idx = (
            np.arange(self.embedding_.shape[0])
            if indices is None
            else np.asarray(indices, dtype=np.int64)
        )
        data = self.points_
        cols: dict[str, Any] = {"index": idx}
        if data.ids is not None:
            cols["id"] = data.ids[idx]
        for j, axis in enumerate("xyz"[: self.embedding_.shape[1]]):
            cols[axis] = self.embedding_[idx, j]
        if data.texts is not None:
            cols["text"] = [data.texts[i] for i in idx.tolist()]
        cols.update({k: v[idx] for k, v in data.labels.items()})
        cols.update({k: v[idx] for k, v in data.values.items()})
        if self.clusters_ is not None:
            cols["cluster"] = self.clusters_.labels[idx]
            names = self.clusters_.display_names()
            cols["cluster_name"] = [names.get(int(c), "") for c in cols["cluster"]]
        return pd.DataFrame(cols)

    # ------------------------------------------------------------------ drawing
    def figure(
        self,
        color: Any = None,
        *,
        size: float | None = None,
        opacity: float | None = None,
        title: str | None = None,
        hover_width: int = 60,
        hover_chars: int | None = None,
        max_categories: int = 30,
        show_cluster_names: bool = True,
        width: int | None = None,
        height: int | None = None,
        theme: Theme = "light",
        font_size: float | None = None,
        symbols: bool = False,
    ) -> Any:
        """Draw the map as a plotly ``go.Figure`` (``Scattergl`` in 2-D, ``Scatter3d`` in 3-D).

        Parameters
        ----------
        color : str, array-like or None
            A labels or values column name, ``"cluster"``, ``"none"``, or an array with one
            entry per point (strings/bools: categories; numbers: a colour bar). ``None``: the
            first labels column, else the first values column, else the clusters.
        size, opacity : float, optional
            Marker size and opacity; chosen from the number of points when not given.
        title : str, optional
            Figure title (default: method and size).
        hover_width, hover_chars : int
            Hover texts wrap at ``hover_width`` characters and are cut at ``hover_chars``
            (default 400, shrinking to 80 for maps over 100k points).
        max_categories : int
            Categories beyond the most frequent ``max_categories`` are drawn as "(other)".
        show_cluster_names : bool
            Draw cluster names at cluster centres after :meth:`cluster`.
        theme : {"light", "dark"}
            Background and text colours (the categorical palette, colour-blind-safe and
            distinguishable for 20+ categories, reads on both; see :mod:`interpret.maps.palette`).
        font_size : float, optional
            Base font size in px (plotly's default 12); cluster names follow it. Paper figures
            set theirs in points (:meth:`save_image`).
        symbols : bool
            Give each category a marker shape as well as a colour (six shapes), which keeps
            more than about ten categories apart; above ten colours the figure logs this
            suggestion.

        The map keeps its aspect (one unit as long across as up and down). Cluster names are
        kept from overlapping each other (moved ones get a leader line) and have no box
        behind them, so the points below stay visible.

        Examples
        --------
        >>> fig = m.figure(color="condition", title="PII records")  # doctest: +SKIP
        >>> fig.write_html("map.html")  # doctest: +SKIP
        """
        import plotly.graph_objects as go

        self._check_fitted()
        n = self.embedding_.shape[0]
        style = Style(size, opacity, hover_width, hover_chars, max_categories, symbols).resolved(n)
        coloring = resolve_coloring(color, self.points_, self.clusters_, max_categories)
        traces, members = point_traces(self.embedding_, self._hover(style), coloring, style)
        fig = go.Figure(data=traces)
        default = (
            f"{str(self.method).upper() if self.method != 'tsne' else 't-SNE'} map of {n:,} points"
        )
        style_layout(
            fig,
            method=str(self.method),
            n_components=self.embedding_.shape[1],
            title=title or default,
            theme=theme,
            font_size=font_size,
        )
        if width or height:
            fig.update_layout(width=width, height=height)
        two_d = self.embedding_.shape[1] == 2
        if two_d:  # one unit as long across as up and down: the map keeps its aspect
            fig.update_yaxes(scaleanchor="x", scaleratio=1)
        if coloring.kind == "categorical":
            fig.update_layout(legend_title_text=plotly_text(coloring.name))
            warn_many_colors(coloring, len(traces), symbols)
        if self.clusters_ is not None and show_cluster_names:
            clusters = self.clusters_
            named = sorted(clusters.names, key=lambda c: -clusters.sizes[c])[:50]
            notes = cluster_annotations(
                np.array([clusters.centres[c] for c in named]).reshape(len(named), -1),
                [clusters.names[c] for c in named],
                scene=not two_d,
                theme=theme,
                font_size=font_size or 12,
                # the plot beside plotly's legend, at the figure's size or plotly's default
                area=((width or 900) - 240.0, (height or 450) - 70.0),
                bounds=(self.embedding_.min(axis=0), self.embedding_.max(axis=0)),
            )
            if two_d:
                fig.update_layout(annotations=notes)
            else:
                fig.update_layout(scene={"annotations": notes})
        self._last_members = members
        return fig

    def export_html(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        color: str | None = None,
        title: str | None = None,
        theme: Theme = "light",
        text_chars: int | None = None,
        k: int | None = None,
        exact_neighbors: int = 50_000,
        inverter: Any = None,
        explainer: Any = None,
        decode_budget: DecodeBudget | None = None,
    ) -> Any:
        """A page to share: one offline HTML file to search, click, filter and read the map.

        Plain JavaScript, no network, no plotly: a canvas map (zoom, pan, hover), a search box
        that highlights and lists matching texts, the clicked point and its ``k`` nearest
        neighbours in the original space (computed now), a table of a box selection
        (shift+drag), filters by category, and cluster names. Texts are compressed and cut to
        a per-point budget the page states, so a million points stay near 50 MB
        (:mod:`interpret.maps.page`). Every text from the data is shown as text, never as HTML.

        Parameters
        ----------
        path : str or Path, optional
            Where to write the ``.html`` (atomically); ``None`` returns the page as a string.
        color : str, optional
            The column coloured first (a labels or values name, or ``"cluster"``); the page
            can switch.
        theme : {"light", "dark"}
        text_chars, k : int, optional
            Characters of text and neighbours kept per point; by default from the number of
            points (1000 and 10 up to 10k points, 240 and 10 up to 100k, 100 and 5 up to 1M).
        exact_neighbors : int
            Exact neighbours up to this many points; approximate (NN-descent) above.
        inverter, explainer : optional
            Anything with ``invert(X) -> list[str]`` / ``explain(X) -> list[str]`` (e.g.
            ``inversion.invert``'s inverter, an ``Explainer``): the page then shows each
            cluster centroid's decoded text and explanation, and the decoded text of empty
            regions of the map (PCA and UMAP, which can map back; t-SNE cannot, and the page
            says so), within ``decode_budget`` (:class:`~interpret.maps.decode.DecodeBudget`).

        Examples
        --------
        >>> m.cluster("kmeans", n_clusters=8)  # doctest: +SKIP
        >>> m.export_html("map.html", color="cluster", theme="dark")  # doctest: +SKIP
        """
        from interpret.maps.page import PageBudget, export_page

        return export_page(
            self,
            path,
            color=color,
            title=title,
            theme=theme,
            budget=PageBudget(text_chars=text_chars, k=k, exact_neighbors=exact_neighbors),
            inverter=inverter,
            explainer=explainer,
            decode_budget=decode_budget,
        )

    def widget(
        self,
        color: Any = None,
        *,
        inverter: Any = None,
        explainer: Any = None,
        decode_grid: int = 24,
        **figure_kwargs: Any,
    ) -> Any:
        """A live ``go.FigureWidget`` for JupyterLab: lasso/box selections and clicks reach Python.

        A selection sets :attr:`selected` and :attr:`selected_frame` and calls the
        :meth:`on_select` callbacks; a click rings the point's nearest neighbours in the
        original space, sets :attr:`clicked_neighbors` and calls the :meth:`on_click`
        callbacks. With an ``inverter`` and/or ``explainer`` (see :meth:`decode_at`), the empty
        cells of a ``decode_grid`` x ``decode_grid`` lattice become clickable: a click decodes
        that spot on demand, labels it on the map and sets :attr:`decoded` (2-D PCA/UMAP maps).
        Other keyword arguments are those of :meth:`figure`.

        Examples
        --------
        >>> w = m.widget(color="label")  # doctest: +SKIP
        >>> m.on_select(lambda idx, df: print(len(idx), "selected"))  # doctest: +SKIP
        >>> w = m.widget(inverter=my_inverter)  # click an empty spot, then: m.decoded
        ... # doctest: +SKIP
        """
        fig = self.figure(color, **figure_kwargs)
        spots, decode = None, None
        if inverter is not None or explainer is not None:
            from interpret.maps.decode import check_decoder, empty_cells

            check_decoder(inverter, "invert", "inverter")
            check_decoder(explainer, "explain", "explainer")
            if self.embedding_.shape[1] != 2 or str(self.method) == "tsne":
                raise ValueError(
                    "decoding clicked spots needs a 2-D PCA or UMAP map (t-SNE has no inverse, "
                    f"3-D maps no empty spots to click), got {self.method} in "
                    f"{self.embedding_.shape[1]}-D"
                )
            spots = empty_cells(self.embedding_, decode_grid, decode_grid**2, min_around=0)

            def decode(points: np.ndarray) -> Any:
                return self.decode_at(points, inverter=inverter, explainer=explainer)

        return self._ui.attach(
            fig,
            self._last_members,
            three_d=self.embedding_.shape[1] == 3,
            spots=spots,
            decode=decode,
        )

    def decode_at(self, points: Any, *, inverter: Any = None, explainer: Any = None) -> Any:
        """Decode spots of the map: back to the original space, then to text.

        ``points`` are map coordinates ``(m, 2)``; each goes back through the layout's
        ``inverse_transform`` (exact for PCA, approximate for UMAP; t-SNE raises) and then to
        ``inverter.invert`` and/or ``explainer.explain`` (anything with those methods). Returns
        a DataFrame with ``x``, ``y``, ``inverted`` and/or ``explained``.

        Examples
        --------
        >>> m.decode_at([[0.5, -1.2]], inverter=inv)  # doctest: +SKIP
        """
        import pandas as pd

        from interpret.maps.decode import decode_points

        self._check_fitted()
        pts = np.asarray(points, dtype=np.float64).reshape(-1, self.embedding_.shape[1])
        if not np.isfinite(pts).all():
            raise ValueError("points must be finite map coordinates, got NaN or inf")
        rows = decode_points(
            pts, reducer=self.reducer_, method=str(self.method), inverter=inverter,
            explainer=explainer,
        )  # fmt: skip
        frame = pd.DataFrame({"x": pts[:, 0], "y": pts[:, 1]})
        for key in ("inverted", "explained"):
            if rows and key in rows[0]:
                frame[key] = [r[key] for r in rows]
        return frame

    @property
    def decoded(self) -> Any:
        """The last spot decoded by a click in a widget (DataFrame, see :meth:`decode_at`)."""
        return self._ui.decoded

    def explorer(
        self, color: Any = None, *, k: int = 10, rows: int = 15, **figure_kwargs: Any
    ) -> Any:
        """:meth:`widget` above a table of the selection, or of a clicked point's neighbours."""
        self._ui.k = check_k(k, self.embedding_.shape[0])
        return self._ui.explorer(self.widget(color, **figure_kwargs), rows=rows)

    # ------------------------------------------------------------------ selection
    @property
    def selected(self) -> np.ndarray:
        """Rows of the current selection (sorted; empty when nothing is selected)."""
        return self._ui.selected.copy()

    @property
    def selected_frame(self) -> Any:
        """The current selection as a pandas DataFrame (see :meth:`frame`)."""
        return self.frame(self._ui.selected)

    @property
    def clicked(self) -> int | None:
        """The row last clicked in a widget, or None."""
        return self._ui.clicked

    @property
    def clicked_neighbors(self) -> Any:
        """The nearest neighbours (DataFrame, see :meth:`neighbors`) of the last click."""
        return self._ui.clicked_neighbors

    def on_select(self, callback: SelectCallback) -> None:
        """Call ``callback(indices, frame)`` after every selection change (empty: cleared)."""
        self._ui.select_callbacks.append(callback)

    def on_click(self, callback: ClickCallback) -> None:
        """Call ``callback(index, neighbors_frame)`` after every click on a point."""
        self._ui.click_callbacks.append(callback)

    def select(self, indices: Sequence[int] | np.ndarray) -> None:
        """Select rows from Python: live widgets show it and ``on_select`` callbacks run."""
        self._check_fitted()
        idx = np.unique(np.asarray(indices, dtype=np.int64).reshape(-1))
        n = self.embedding_.shape[0]
        if idx.size and (idx[0] < 0 or idx[-1] >= n):
            raise IndexError(
                f"indices must be rows of the map, in [0, {n}), got {idx[0]}..{idx[-1]}"
            )
        self._ui.select(idx)

    # ------------------------------------------------------------------ helpers
    def _check_fitted(self) -> None:
        if not hasattr(self, "embedding_"):
            raise RuntimeError("this EmbeddingMap is not fitted yet: call fit(X, texts=...) first")

    def _reset_interaction(self) -> None:
        self._hover_cache = {}
        self._last_members = []
        self._nn = None
        self._ui = MapInteraction(
            coords=self.embedding_,
            frame=self.frame,
            neighbors=self.neighbors,
            hover=lambda: self._hover(Style().resolved(self.embedding_.shape[0])),
        )

    def _hover(self, style: Style) -> np.ndarray:
        key = (style.hover_width, int(style.hover_chars or 0))
        if key not in self._hover_cache:
            extra: list[tuple[str, Any]] = []
            if self.clusters_ is not None:
                names = self.clusters_.display_names()
                column = [names.get(int(c), "") for c in self.clusters_.labels]
                extra.append(("cluster", np.array(column, dtype=object)))
            self._hover_cache[key] = hover_texts(self.points_, style, extra)
        return self._hover_cache[key]
