"""Live maps in JupyterLab: selection and clicks of a plotly ``FigureWidget`` back in Python.

plotly dispatches one browser event (a lasso, a box, a click) to every trace of the widget in
order, each with its own point positions. :class:`EventCollector` gathers the per-trace
positions, turns them into row indices of the map, and reports the whole event once, when
the last trace has been dispatched. It needs no widget and no browser, so tests drive it
directly.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

SelectCallback = Callable[[np.ndarray, Any], None]
ClickCallback = Callable[[int, Any], None]


class EventCollector:
    """Turns plotly's per-trace selection and click callbacks into one map-level event.

    Parameters
    ----------
    members
        For each trace of the widget, the map rows its points are (``None`` for overlay
        traces such as the neighbour highlight).
    on_select
        Called with the sorted selected rows once per selection (empty on deselect).
    on_click
        Called with the clicked row once per click on a point.
    """

    def __init__(
        self,
        members: Sequence[np.ndarray | None],
        on_select: Callable[[np.ndarray], None],
        on_click: Callable[[int], None],
    ) -> None:
        self.members = list(members)
        self.on_select = on_select
        self.on_click = on_click
        self._parts: dict[int, np.ndarray] = {}
        self._clicked: int | None = None

    @property
    def last(self) -> int:
        return len(self.members) - 1

    def rows(self, trace_index: int, point_inds: Sequence[int]) -> np.ndarray:
        idx = self.members[trace_index] if 0 <= trace_index < len(self.members) else None
        if idx is None or len(point_inds) == 0:
            return np.empty(0, dtype=np.int64)
        return idx[np.asarray(point_inds, dtype=np.int64)]

    def selection(self, trace_index: int, point_inds: Sequence[int]) -> None:
        """One trace's part of a selection event."""
        rows = self.rows(trace_index, point_inds)
        if rows.size:
            self._parts[trace_index] = rows
        if trace_index >= self.last:
            parts = list(self._parts.values())
            self._parts = {}
            chosen = np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)
            self.on_select(chosen.astype(np.int64))

    def deselect(self, trace_index: int) -> None:
        """One trace's part of a deselect (double click) event."""
        if trace_index >= self.last:
            self._parts = {}
            self.on_select(np.empty(0, dtype=np.int64))

    def click(self, trace_index: int, point_inds: Sequence[int]) -> None:
        """One trace's part of a click event."""
        rows = self.rows(trace_index, point_inds)
        if rows.size:
            self._clicked = int(rows[0])
        if trace_index >= self.last:
            clicked, self._clicked = self._clicked, None
            if clicked is not None:
                self.on_click(clicked)

    # plotly's callback signatures: (trace, points, selector) / (trace, points, state)
    def plotly_selection(self, trace: Any, points: Any, selector: Any = None) -> None:
        self.selection(points.trace_index, points.point_inds)

    def plotly_deselect(self, trace: Any, points: Any) -> None:
        self.deselect(points.trace_index)

    def plotly_click(self, trace: Any, points: Any, state: Any = None) -> None:
        self.click(points.trace_index, points.point_inds)


def widget_of(fig: Any) -> Any:
    """``go.FigureWidget(fig)``, or an ImportError that says what to install."""
    try:
        import plotly.graph_objects as go

        return go.FigureWidget(fig)
    except ImportError as err:
        raise ImportError(
            f"a live map needs plotly's FigureWidget, which could not load ({err}): "
            "pip install anywidget ipywidgets, then restart the kernel"
        ) from err


def make_widget(
    fig: Any,
    members: Sequence[np.ndarray | None],
    *,
    on_select: Callable[[np.ndarray], None],
    on_click: Callable[[int], None],
    highlight_3d: bool = False,
    spots: np.ndarray | None = None,
    on_spot: Callable[[int], None] | None = None,
) -> Any:
    """A ``FigureWidget`` of ``fig`` with a neighbour-highlight trace and the event wiring.

    With ``spots`` (2-D map coordinates of empty regions), an invisible layer of clickable
    markers sits there and a click on one calls ``on_spot(j)`` (plotly reports clicks on
    markers only, so the empty map needs these to be clickable).
    """
    import plotly.graph_objects as go

    widget = widget_of(fig)
    overlays: list[None] = [None]
    if spots is not None and on_spot is not None and len(spots):
        widget.add_trace(
            go.Scattergl(
                x=spots[:, 0],
                y=spots[:, 1],
                mode="markers",
                name="decode",
                hovertemplate="empty region: click to decode<extra></extra>",
                marker={"size": 14, "color": "rgba(0,0,0,0)"},
                showlegend=False,
            )
        )
        overlays.append(None)
    highlight = go.Scatter3d if highlight_3d else go.Scattergl
    extra: dict[str, Any] = {"z": []} if highlight_3d else {}
    widget.add_trace(
        highlight(
            x=[],
            y=[],
            **extra,
            mode="markers",
            name="neighbours",
            hovertemplate="%{hovertext}<extra>neighbour</extra>",
            marker={"size": 13, "color": "rgba(0,0,0,0)", "line": {"width": 2, "color": "#d62728"}},
            showlegend=False,
        )
    )
    connect(
        widget, EventCollector([*members, *overlays], on_select, on_click), three_d=highlight_3d
    )
    if len(overlays) == 2 and on_spot is not None:

        def spot_clicked(trace: Any, points: Any, state: Any = None) -> None:
            if len(points.point_inds):
                on_spot(int(points.point_inds[0]))

        widget.data[-2].on_click(spot_clicked, append=True)
    return widget


def connect(widget: Any, collector: EventCollector, *, three_d: bool) -> None:
    """Send every trace's selections and clicks to ``collector``; lasso in 2-D, orbit in 3-D."""
    for trace in widget.data:
        trace.on_selection(collector.plotly_selection)
        trace.on_deselect(collector.plotly_deselect)
        trace.on_click(collector.plotly_click)
    widget.layout.dragmode = "orbit" if three_d else "lasso"


def show_selection(widget: Any, members: Sequence[np.ndarray | None], chosen: np.ndarray) -> None:
    """Mark ``chosen`` rows as selected in every trace of a widget (none: clear)."""
    with widget.batch_update():
        for trace, idx in zip(widget.data, members, strict=False):
            if idx is None:
                continue
            trace.selectedpoints = (
                np.flatnonzero(np.isin(idx, chosen)).tolist() if chosen.size else None
            )


def show_neighbors(widget: Any, coords: np.ndarray, rows: np.ndarray, hover: np.ndarray) -> None:
    """Ring the given rows in the widget's highlight trace (its last trace)."""
    ring = widget.data[-1]
    with widget.batch_update():
        ring.x = coords[rows, 0]
        ring.y = coords[rows, 1]
        if coords.shape[1] == 3:
            ring.z = coords[rows, 2]
        ring.hovertext = hover[rows]


def show_decoded(widget: Any, frame: Any) -> None:
    """Label a decoded spot on the widget's map (one such label at a time; text escaped)."""
    from interpret.maps.draw import plotly_text

    row = frame.iloc[0]
    parts = [str(row[c]) for c in ("inverted", "explained") if c in frame.columns]
    note = {
        "x": float(row["x"]),
        "y": float(row["y"]),
        "text": "<i>decoded:</i> " + plotly_text(" / ".join(parts)[:120]),
        "showarrow": True,
        "arrowhead": 2,
        "name": "decoded",
        "bgcolor": "rgba(255,255,200,0.9)",
        "font": {"color": "#1a1a1a", "size": 11},
    }
    kept = [a for a in (widget.layout.annotations or ()) if a.name != "decoded"]
    widget.layout.annotations = [*kept, note]


def explorer_panel(widget: Any) -> tuple[Any, Callable[[str], None]]:
    """A VBox of the widget and an HTML pane below it, and a function that sets the pane."""
    import ipywidgets

    pane = ipywidgets.HTML(
        value="<i>Lasso or box-select points, or click one for its neighbours.</i>"
    )

    def set_html(value: str) -> None:
        pane.value = value

    return ipywidgets.VBox([widget, pane]), set_html


class MapInteraction:
    """Selection and click state of one map, shared by all its live widgets.

    Parameters
    ----------
    coords
        The map's coordinates (for the neighbour rings).
    frame
        ``frame(rows) -> DataFrame`` of the map's points.
    neighbors
        ``neighbors(row, k) -> DataFrame`` of a point's nearest neighbours (original space).
    hover
        ``hover() -> array`` of every point's hover HTML.
    """

    def __init__(
        self,
        *,
        coords: np.ndarray,
        frame: Callable[[np.ndarray], Any],
        neighbors: Callable[[int, int], Any],
        hover: Callable[[], np.ndarray],
    ) -> None:
        self.coords = coords
        self.frame = frame
        self.neighbors = neighbors
        self.hover = hover
        self.k = 10
        self.selected = np.empty(0, dtype=np.int64)
        self.select_callbacks: list[SelectCallback] = []
        self.click_callbacks: list[ClickCallback] = []
        self.clicked: int | None = None
        self.clicked_neighbors: Any = None
        self.decoded: Any = None
        self.decode_callbacks: list[Callable[[Any], None]] = []
        self._widgets: list[tuple[weakref.ref[Any], list[np.ndarray | None]]] = []

    def attach(
        self,
        fig: Any,
        members: Sequence[np.ndarray],
        *,
        three_d: bool,
        spots: np.ndarray | None = None,
        decode: Callable[[np.ndarray], Any] | None = None,
    ) -> Any:
        """A widget of ``fig`` whose events update this state.

        With ``spots`` and ``decode`` (``decode(points) -> DataFrame``), clicking an empty
        region decodes it: the result lands in :attr:`decoded` and on the map as a label.
        """
        holder: list[Any] = []

        def on_spot(j: int) -> None:
            if spots is None or decode is None:
                return
            frame = decode(spots[j : j + 1])
            self.decoded = frame
            if holder:
                show_decoded(holder[0], frame)
            for callback in self.decode_callbacks:
                callback(frame)

        widget = make_widget(
            fig,
            members,
            on_select=self.selection_changed,
            on_click=self.point_clicked,
            highlight_3d=three_d,
            spots=spots if decode is not None else None,
            on_spot=on_spot,
        )
        holder.append(widget)
        overlays = len(widget.data) - len(members)
        self._widgets.append((weakref.ref(widget), [*members, *([None] * overlays)]))
        return widget

    def explorer(self, widget: Any, *, rows: int) -> Any:
        """``widget`` above an HTML table of the selection or of a click's neighbours."""
        box, set_html = explorer_panel(widget)

        def table(frame: Any) -> str:
            shown = frame.drop(columns=[c for c in ("x", "y", "z") if c in frame])
            return str(shown.head(rows).to_html(index=False, escape=True))

        self.select_callbacks.append(
            lambda idx, frame: set_html(f"<b>{len(idx):,} selected</b>{table(frame)}")
        )
        self.click_callbacks.append(
            lambda i, frame: set_html(f"<b>Nearest neighbours of #{i}</b>{table(frame)}")
        )
        return box

    def live_widgets(self) -> list[tuple[Any, list[np.ndarray | None]]]:
        alive = [(ref(), members) for ref, members in self._widgets]
        self._widgets = [(weakref.ref(w), m) for w, m in alive if w is not None]
        return [(w, m) for w, m in alive if w is not None]

    def select(self, rows: np.ndarray) -> None:
        """Select ``rows`` (sorted, unique) from Python and show it in every live widget."""
        for widget, members in self.live_widgets():
            show_selection(widget, members, rows)
        self.selection_changed(rows)

    def selection_changed(self, rows: np.ndarray) -> None:
        self.selected = np.asarray(rows, dtype=np.int64)
        if self.select_callbacks:
            frame = self.frame(self.selected)
            for callback in self.select_callbacks:
                callback(self.selected.copy(), frame)

    def point_clicked(self, row: int) -> None:
        frame = self.neighbors(row, min(self.k, self.coords.shape[0] - 1))
        self.clicked, self.clicked_neighbors = row, frame
        ringed = np.concatenate([[row], frame["index"].to_numpy()]).astype(np.int64)
        live = self.live_widgets()
        if live:
            hover = self.hover()
            for widget, _ in live:
                show_neighbors(widget, self.coords, ringed, hover)
        for callback in self.click_callbacks:
            callback(row, frame)
