"""Two spaces side by side: the maps of the same texts under two embedders, aligned.

The second layout is rotated (or reflected), scaled and shifted onto the first by orthogonal
Procrustes, so the same point sits in about the same place in both panels. Each point's
neighbourhood overlap, the fraction of its ``k`` nearest neighbours that the two original
spaces share, says where the embedders agree.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from interpret.maps.data import PointData, check_point_data, check_X
from interpret.maps.draw import Coloring, Style, hover_texts, point_traces, style_layout
from interpret.maps.export import FigureExport
from interpret.maps.layout import (
    check_method,
    check_n_components,
    check_params,
    fit_layout,
    prepare,
)
from interpret.maps.neighbors import check_k, knn_indices, overlap
from interpret.maps.widget import EventCollector, connect, show_selection, widget_of

logger = logging.getLogger(__name__)


def procrustes_align(reference: np.ndarray, moving: np.ndarray) -> tuple[np.ndarray, float]:
    """Rotate/reflect, scale and shift ``moving`` onto ``reference`` (same rows, same dims).

    Returns the aligned copy of ``moving`` and the disparity: the squared residual between
    the two after both are centred and scaled to unit norm (0 = same shape, up to 1).
    """
    from scipy.linalg import orthogonal_procrustes

    ref = np.asarray(reference, dtype=np.float64)
    mov = np.asarray(moving, dtype=np.float64)
    ref_c, mov_c = ref - ref.mean(axis=0), mov - mov.mean(axis=0)
    ref_n = float(np.linalg.norm(ref_c)) or 1.0
    mov_n = float(np.linalg.norm(mov_c)) or 1.0
    rotation, scale = orthogonal_procrustes(mov_c / mov_n, ref_c / ref_n)
    fitted = (mov_c / mov_n) @ rotation * scale  # the least-squares similarity transform
    disparity = float(np.sum((ref_c / ref_n - fitted) ** 2))
    aligned = fitted * ref_n + ref.mean(axis=0)
    return aligned.astype(np.float32), disparity


# JavaScript run after the page's plot is drawn (plotly's post_script): hovering or selecting
# a point in one panel shows the same point in the other. Traces [0, half) draw panel A and
# [half, 2 * half) panel B, in the same order and with the same points.
_LINK_SCRIPT = """
(function () {
  var gd = document.getElementById('{plot_id}');
  if (!gd || !gd.on) { return; }
  var half = gd.data.length / 2, busy = false;
  gd.on('plotly_hover', function (ev) {
    if (busy || !ev || !ev.points || !ev.points.length || ev.points[0].data.type !== 'scattergl') { return; }
    var p = ev.points[0], t = p.curveNumber, other = t < half ? t + half : t - half;
    busy = true;
    try {
      Plotly.Fx.hover(gd, [{curveNumber: t, pointNumber: p.pointNumber},
                           {curveNumber: other, pointNumber: p.pointNumber}], ['xy', 'x2y2']);
    } finally { busy = false; }
  });
  gd.on('plotly_selected', function (ev) {
    if (busy || !ev || !ev.points) { return; }
    var picked = {};
    ev.points.forEach(function (p) {
      var t = p.curveNumber % half;
      (picked[t] = picked[t] || []).push(p.pointNumber);
    });
    var sel = [];
    for (var t = 0; t < 2 * half; t++) { sel.push(picked[t % half] || []); }
    busy = true;
    Plotly.restyle(gd, {selectedpoints: sel}).then(function () { busy = false; });
  });
  gd.on('plotly_deselect', function () {
    Plotly.restyle(gd, {selectedpoints: [null]});
  });
})();
"""


@dataclass(frozen=True)
class MapComparison(FigureExport):
    """Two aligned maps of the same points and where their neighbourhoods agree.

    Attributes
    ----------
    layout_a, layout_b : numpy.ndarray
        ``(n, n_components)`` float32 maps; ``layout_b`` is aligned onto ``layout_a``.
    overlap : numpy.ndarray
        Per point, the fraction of its ``k`` nearest neighbours (in the original spaces, not
        the maps) shared by the two spaces: 1 = same neighbours, 0 = none in common.
    k : int
        Neighbours compared.
    names : tuple of str
        Names of the two spaces (panel titles).
    disparity : float
        Procrustes residual of the two layouts (0 = same shape up to rotation and scale).
    method : str
        The layout method.
    points : PointData
        Texts, labels, values and ids shown with each point.
    """

    layout_a: np.ndarray
    layout_b: np.ndarray
    overlap: np.ndarray
    k: int
    names: tuple[str, str]
    disparity: float
    method: str
    points: PointData

    _post_script = _LINK_SCRIPT  # hovering or selecting in one panel shows it in both
    _image_size = (1600, 750)
    _image_inches = (7.0, 3.3)

    @property
    def mean_overlap(self) -> float:
        """Average neighbourhood overlap over all points."""
        return float(self.overlap.mean())

    def frame(self) -> Any:
        """A pandas DataFrame: index, both maps' coordinates, overlap, texts and labels."""
        import pandas as pd

        cols: dict[str, Any] = {"index": np.arange(self.points.n)}
        if self.points.ids is not None:
            cols["id"] = self.points.ids
        for tag, layout in (("a", self.layout_a), ("b", self.layout_b)):
            for j, axis in enumerate("xyz"[: layout.shape[1]]):
                cols[f"{axis}_{tag}"] = layout[:, j]
        cols["overlap"] = self.overlap
        if self.points.texts is not None:
            cols["text"] = self.points.texts
        cols.update(self.points.labels)
        cols.update(self.points.values)
        return pd.DataFrame(cols)

    def figure(
        self,
        color: Any = "overlap",
        *,
        size: float | None = None,
        opacity: float | None = None,
        title: str | None = None,
        hover_width: int = 60,
        hover_chars: int | None = None,
        max_categories: int = 30,
    ) -> Any:
        """Both maps as two subplots of one plotly figure, in the same colours.

        ``color`` is ``"overlap"`` (a colour bar), a labels or values column name, or
        ``"none"``. Categorical legends toggle a group in both panels at once; each hover
        label shows the point's overlap.

        Examples
        --------
        >>> cmp = compare_maps(X_layer3, X_output, texts=texts)  # doctest: +SKIP
        >>> cmp.figure(color="overlap").show()  # doctest: +SKIP
        """
        from plotly.subplots import make_subplots

        n, dims = self.layout_a.shape
        style = Style(size, opacity, hover_width, hover_chars, max_categories).resolved(n)
        hover = hover_texts(self.points, style, [("overlap", self.overlap)])
        coloring = self._coloring(color)
        spec = {"type": "scene"} if dims == 3 else {"type": "xy"}
        fig = make_subplots(
            rows=1,
            cols=2,
            subplot_titles=[f"{self.names[0]}", f"{self.names[1]} (aligned)"],
            specs=[[spec, spec]],
            horizontal_spacing=0.03,
        )
        for panel, layout in enumerate((self.layout_a, self.layout_b)):
            where: dict[str, Any] = (
                {"scene": "scene" if panel == 0 else "scene2"}
                if dims == 3
                else {"axes": ("x", "y") if panel == 0 else ("x2", "y2")}
            )
            traces, _ = point_traces(layout, hover, coloring, style, showlegend=panel == 0, **where)
            for trace in traces:
                fig.add_trace(trace)
        default = (
            f"{self.names[0]} vs {self.names[1]}: mean {self.k}-NN overlap {self.mean_overlap:.2f}"
        )
        style_layout(fig, method=self.method, n_components=dims, title=title or default)
        if dims == 2:
            fig.update_yaxes(scaleanchor="x", row=1, col=1)
            fig.update_yaxes(scaleanchor="x2", row=1, col=2)
        return fig

    def widget(
        self,
        color: Any = "overlap",
        *,
        on_select: Callable[[np.ndarray, Any], None] | None = None,
        **figure_kwargs: Any,
    ) -> Any:
        """A live ``FigureWidget`` of :meth:`figure` whose panels select together.

        A lasso or box selection in either panel selects the same points in both; with
        ``on_select``, ``on_select(indices, frame)`` receives the rows and their :meth:`frame`
        rows. (The exported page of :meth:`save_html` links hover and selection in the browser
        without Python.)

        Examples
        --------
        >>> w = cmp.widget(on_select=lambda idx, df: print(df["overlap"].mean()))  # doctest: +SKIP
        """
        widget = widget_of(self.figure(color, **figure_kwargs))
        members = [np.asarray(t.customdata, dtype=np.int64) for t in widget.data]

        def selected(rows: np.ndarray) -> None:
            show_selection(widget, members, rows)
            if on_select is not None:
                on_select(rows, self.frame().iloc[rows])

        collector = EventCollector(members, selected, lambda row: None)
        connect(widget, collector, three_d=self.layout_a.shape[1] == 3)
        return widget

    def _coloring(self, color: Any) -> Coloring:
        if color == "overlap":
            return Coloring("continuous", f"{self.k}-NN overlap", self.overlap)
        if color is None or color == "none":
            return Coloring("none")
        if color in self.points.labels:
            return Coloring("categorical", color, self.points.labels[color])
        if color in self.points.values:
            return Coloring("continuous", color, self.points.values[color])
        known = ["overlap", *self.points.labels, *self.points.values, "none"]
        raise ValueError(f"unknown color {color!r}: use one of {known}")


def compare_maps(
    X_a: Any,
    X_b: Any,
    *,
    texts: Sequence[str] | None = None,
    labels: Any = None,
    values: Any = None,
    ids: Sequence[Any] | None = None,
    names: tuple[str, str] = ("A", "B"),
    method: str = "umap",
    n_components: int = 2,
    metric: str = "cosine",
    k: int = 10,
    random_state: int | None = None,
    max_fit_points: int | None = 200_000,
    progress: bool | None = None,
    **params: Any,
) -> MapComparison:
    """Map the same points under two embedders and align the maps for side-by-side reading.

    Parameters
    ----------
    X_a, X_b : array-like
        ``(n, dim_a)`` and ``(n, dim_b)``: row ``i`` of both embeds the same text (the two
        dimensions may differ).
    texts, labels, values, ids
        As for :meth:`EmbeddingMap.fit`.
    names : tuple of str
        Names of the two spaces, e.g. ``("layer 3", "output")``.
    method, n_components, metric, random_state, max_fit_points, **params
        As for :class:`EmbeddingMap`; both maps use the same settings.
    k : int
        Neighbours per point for the overlap score (exact search: O(n² · dim) time).

    Returns
    -------
    MapComparison
        With ``.figure()`` (two panels), ``.overlap`` and ``.mean_overlap``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(80, 16)).astype("float32")
    >>> B = A @ rng.normal(size=(16, 16)).astype("float32")
    >>> cmp = compare_maps(A, B, method="pca", k=5, names=("A", "A rotated"))
    >>> cmp.overlap.shape
    (80,)
    """
    method = check_method(method)
    n_components = check_n_components(n_components)
    check_params(method, params)
    a = check_X(X_a, what="X_a")
    b = check_X(X_b, what="X_b")
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"X_a has {a.shape[0]} rows but X_b has {b.shape[0]}: compare_maps needs the same "
            "texts embedded by both models, row for row"
        )
    if len(names) != 2 or not all(isinstance(s, str) for s in names):
        raise ValueError(f"names must be two strings, e.g. ('layer 3', 'output'), got {names!r}")
    prepare(a[:1], method, metric)
    k = check_k(k, a.shape[0])
    data = check_point_data(a.shape[0], texts=texts, labels=labels, values=values, ids=ids)
    settings = {
        "method": method,
        "n_components": n_components,
        "metric": metric,
        "random_state": random_state,
        "params": params,
        "max_fit_points": max_fit_points,
        "progress": progress,
    }
    layout_a = fit_layout(a, **settings).embedding  # type: ignore[arg-type]
    layout_b = fit_layout(b, **settings).embedding  # type: ignore[arg-type]
    aligned, disparity = procrustes_align(layout_a, layout_b)
    shared = overlap(knn_indices(a, k, metric), knn_indices(b, k, metric))
    logger.info(
        "compared %d points: mean %d-NN overlap %.3f, Procrustes disparity %.3f",
        a.shape[0],
        k,
        float(shared.mean()),
        disparity,
    )
    return MapComparison(
        layout_a=layout_a,
        layout_b=aligned,
        overlap=shared,
        k=k,
        names=(str(names[0]), str(names[1])),
        disparity=disparity,
        method=method,
        points=data,
    )
