"""The plotly figures of an audit report, drawn from an audit result's numbers only (read
through the fields :class:`AuditNumbers` names, as the report reads them)."""

from __future__ import annotations

import html
import textwrap
from typing import Any, Protocol

__all__ = [
    "AuditNumbers",
    "attributes_figure",
    "leakage_figure",
    "map_figure",
    "plot",
    "tradeoff_figure",
]


class AuditNumbers(Protocol):
    """What the figures and the report read of an audit result (an ``AuditResult`` is one).

    The result draws itself through these modules (``result.figure()``, ``result.to_html()``),
    so they name the fields they read rather than import the result's class.
    """

    config: dict[str, Any]
    summary: dict[str, Any]
    utility: dict[str, Any]
    attacks: dict[str, dict[str, Any]]
    attributes: dict[str, dict[str, Any]]
    defenses: list[dict[str, Any]]
    records: dict[str, Any]
    timings: dict[str, float]

    def to_json(self, path: Any = None) -> str: ...


_FAMILY_ORDER = ("noise", "truncate", "int8", "binary", "leace")


def _plotly_text(text: str) -> str:
    """A label from the data (a label or field name, a defense such as ``leace:ATTR``, an
    attack such as ``inverter:PATH``) escaped for plotly, which renders a few HTML tags:
    ``&``, ``<``, ``>`` as entities, quotes as they are (plotly shows ``&quot;`` literally)."""
    return html.escape(text, quote=False)


def _pct_axis(title: str) -> dict[str, Any]:
    return {"title": title, "tickformat": ".0%", "rangemode": "tozero"}


def _error(values: list[float], cis: list[Any]) -> dict[str, Any] | None:
    """Plotly error bars from intervals (None when any is missing)."""
    if not cis or any(ci is None for ci in cis):
        return None
    return {
        "type": "data",
        "symmetric": False,
        "array": [ci[1] - v for ci, v in zip(cis, values, strict=True)],
        "arrayminus": [v - ci[0] for ci, v in zip(cis, values, strict=True)],
        "thickness": 1,
    }


_PLACES = (
    "top center",
    "bottom center",
    "middle right",
    "middle left",
    "top right",
    "top left",
    "bottom right",
    "bottom left",
)


def _label_place(d: dict[str, Any], defs: list[dict[str, Any]]) -> str:
    """Where a point's label goes: each point close to earlier ones (within 2 points on both
    axes, "none" first) takes the next free place around its marker."""
    ordered = sorted(defs, key=lambda x: x["name"] != "none")
    x, y = d["leakage_score"], d["utility"]["recall@10"]
    near = 0
    for other in ordered:
        if other is d:
            break
        if abs(other["leakage_score"] - x) < 0.02 and abs(other["utility"]["recall@10"] - y) < 0.02:
            near += 1
    return _PLACES[near % len(_PLACES)]


def tradeoff_figure(result: AuditNumbers, *, family: str | None = None) -> Any:
    """Retrieval recall@10 against the strongest attack's leakage, one labelled point per
    defense, "none" marked, both on % axes with their 95% intervals.

    A filled circle is a defense separably lower than none by the ranking rule, a hollow one
    not separable; a triangle one that an expensive attack did not meet, whose leakage is that
    of the attacks that did (a lower bound). The dashed lines are none's leakage and
    90% of its recall@10 (what a recommended defense must keep). ``family`` keeps one kind.
    """
    import plotly.graph_objects as go

    defs = [d for d in result.defenses if d.get("leakage_score") is not None]
    if family is not None:
        kinds = {d["kind"] for d in result.defenses}
        if family not in kinds:
            raise ValueError(
                f"no defense of kind {family!r} in this result: it has {sorted(kinds)}"
            )
    base = next((d for d in defs if d["name"] == "none"), None)
    fig = go.Figure()
    order = [k for k in _FAMILY_ORDER if any(d["kind"] == k for d in defs)]
    for kind in order:
        if family is not None and kind != family:
            continue
        members = sorted(
            (d for d in defs if d["kind"] == kind),
            key=lambda d: d["strength"] if d["strength"] is not None else 0.0,
        )
        if not members:
            continue
        x = [d["leakage_score"] for d in members]
        y = [d["utility"]["recall@10"] for d in members]
        lower = [(d.get("vs_none") or {}).get("verdict") == "lower" for d in members]
        partial = [bool(d.get("not_measured")) for d in members]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="markers+text",
                name=kind,
                text=[_plotly_text(d["name"]) for d in members],
                textposition=[_label_place(d, defs) for d in members],
                marker={
                    "size": 11,
                    "symbol": [
                        "triangle-right-open" if part else "circle" if lo else "circle-open"
                        for lo, part in zip(lower, partial, strict=True)
                    ],
                    "line": {"width": 2},
                },
                error_x=_error(x, [d.get("leakage_ci") for d in members]),
                customdata=[
                    ("lower than none" if lo else "not separable from none")
                    + (
                        f"; not met by {', '.join(d['not_measured'])}: a lower bound"
                        if part
                        else ""
                    )
                    for d, lo, part in zip(members, lower, partial, strict=True)
                ],
                hovertemplate="%{text}: leakage %{x:.1%}, recall@10 %{y:.1%}<br>"
                "%{customdata}<extra></extra>",
            )
        )
    if base is not None:
        bx, by = base["leakage_score"], base["utility"]["recall@10"]
        fig.add_trace(
            go.Scatter(
                x=[bx],
                y=[by],
                mode="markers+text",
                name="none (no defense)",
                text=["none"],
                textposition=_label_place(base, defs),
                marker={"size": 14, "symbol": "x", "color": "black"},
                error_x=_error([bx], [base.get("leakage_ci")]),
                hovertemplate="no defense: leakage %{x:.1%}, recall@10 %{y:.1%}<extra></extra>",
            )
        )
        fig.add_vline(x=bx, line={"dash": "dash", "color": "grey", "width": 1})
        fig.add_hline(
            y=0.9 * by,
            line={"dash": "dot", "color": "grey", "width": 1},
            annotation_text="90% of the clean recall@10",
            annotation_position="bottom left",
        )
    fig.update_layout(
        title="Retrieval against leakage per defense (up and left is better; filled: lower "
        "than none, hollow: not separable, triangle: not met by every attack, a lower bound)",
        xaxis=_pct_axis("leakage: facts recovered by the strongest attack (95% CI)"),
        yaxis={**_pct_axis("retrieval recall@10"), "range": [-0.02, 1.08]},
        template="plotly_white",
        height=520,
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def leakage_figure(result: AuditNumbers) -> Any:
    """Recovery rate per fact and attack that ran (its coverage in the legend), with 95%
    intervals, and the prior (a guess without the vectors) as a black bar on each fact."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fields: list[str] = []
    for name, att in result.attacks.items():
        if att.get("status") != "ran" or not att.get("fields"):
            continue
        names = list(att["fields"])
        fields.extend(f for f in names if f not in fields)
        rates = [att["fields"][k]["rate"] for k in names]
        fig.add_trace(
            go.Bar(
                x=[_plotly_text(k) for k in names],
                y=rates,
                name=_plotly_text(
                    f"{name} ({att.get('n_attacked')} of {att.get('n_records')} records)"
                ),
                error_y=_error(rates, [att["fields"][k].get("ci") for k in names]),
                customdata=[
                    f"{att['fields'][k].get('recovered')} of {att['fields'][k].get('total')}"
                    for k in names
                ],
                hovertemplate="%{x}: %{y:.1%} (%{customdata})<extra></extra>",
            )
        )
    prior = result.summary.get("prior_fields") or {}
    shown = [f for f in fields if f in prior]
    if shown:
        fig.add_trace(
            go.Scatter(
                x=[_plotly_text(f) for f in shown],
                y=[prior[f] for f in shown],
                mode="markers",
                name="prior: a guess without the vectors",
                marker={
                    "symbol": "line-ew-open",
                    "size": 28,
                    "line": {"width": 3, "color": "black"},
                },
                hovertemplate="%{x}: prior %{y:.1%}<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="group",
        title="Share of each private fact recovered from the vectors (95% CI)",
        yaxis={**_pct_axis("records whose fact was recovered"), "range": [0, 1.05]},
        template="plotly_white",
        height=440,
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def attributes_figure(result: AuditNumbers) -> Any:
    """Probe accuracy per sensitive attribute (95% CI) next to the majority baseline."""
    import plotly.graph_objects as go

    rows = {k: v for k, v in result.attributes.items() if "accuracy" in v}
    x = [_plotly_text(str(k)) for k in rows]
    acc = [r["accuracy"] for r in rows.values()]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=x,
            y=acc,
            name="linear probe",
            error_y=_error(acc, [r.get("ci") for r in rows.values()]),
        )
    )
    fig.add_trace(go.Bar(x=x, y=[r["baseline"] for r in rows.values()], name="majority baseline"))
    fig.update_layout(
        barmode="group",
        title="Attribute inference from the vectors (5-fold, 95% CI)",
        yaxis={**_pct_axis("accuracy"), "range": [0, 1.05]},
        template="plotly_white",
        height=380,
        legend={"orientation": "h", "y": -0.15},
    )
    return fig


def go_copy(fig: Any) -> Any:
    """A copy of a plotly figure (the caller's stays as it was)."""
    import plotly.graph_objects as go

    return go.Figure(fig)


def plot(fig: Any, div_id: str) -> str:
    """A figure as an HTML fragment (plotly.js is inlined once by the page), in a
    ``<figure>`` that print keeps on one page; the toolbar shows on hover only."""
    import plotly.io as pio

    title = fig.layout.title.text or ""
    fig = go_copy(fig)
    # the title becomes the caption: HTML wraps it on a narrow screen, where plotly cuts it
    fig.update_layout(title=None, margin={"t": 24, "l": 56, "r": 16})
    body = pio.to_html(
        fig,
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True, "displayModeBar": "hover"},
        default_width="100%",
    )
    caption = f"<figcaption>{html.escape(title)}</figcaption>" if title else ""
    return f'<figure class="plot">{caption}{body}</figure>'


def has_map(result: AuditNumbers) -> bool:
    """Whether the result holds map coordinates for at least 3 records (every result the audit
    writes does; a ``result.json`` edited by hand may not, and keeps no vectors to lay out)."""
    rec = result.records
    n = len(rec.get("texts", []))
    return n >= 3 and len(rec.get("x", [])) == n and len(rec.get("y", [])) == n


def map_figure(result: AuditNumbers, *, hover_chars: int = 400) -> Any:
    """The corpus map the audit laid out, coloured by how much each record leaks.

    The points are the coordinates the audit's map stage computed (``records["x"]``,
    ``records["y"]``); nothing is fitted again. Hover texts are HTML-escaped and wrapped.
    """
    import plotly.graph_objects as go

    rec = result.records
    best = rec.get("best_attack") or [""] * len(rec["texts"])
    hover = []
    for i, (text, leak, attack) in enumerate(zip(rec["texts"], rec["leakage"], best, strict=True)):
        flat = " ".join(str(text).split())
        if len(flat) > hover_chars:
            flat = flat[: hover_chars - 1].rstrip() + "…"
        body = "<br>".join(_plotly_text(line) for line in textwrap.wrap(flat, 60))
        head = (
            f"<b>#{i}</b> · leakage: {leak:.3g} · best attack: {_plotly_text(attack or '(none)')}"
        )
        hover.append(f"{head}<br>{body}")
    fig = go.Figure(
        go.Scattergl(
            x=rec["x"],
            y=rec["y"],
            mode="markers",
            hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>",
            showlegend=False,
            marker={
                "color": rec["leakage"],
                "colorscale": "Viridis",
                "cmin": 0.0,
                "cmax": max(1e-9, max(rec["leakage"], default=0.0)),
                "size": 7,
                "opacity": 0.8,
                "colorbar": {"title": {"text": "leakage"}},
            },
        )
    )
    method = str(rec.get("map_method", "pca"))
    fig.update_layout(
        title=f"The corpus ({method} map), coloured by the share of each record's facts recovered",
        xaxis={"title": f"{method} 1", "showticklabels": False},
        yaxis={"title": f"{method} 2", "showticklabels": False},
        template="plotly_white",
        height=560,
    )
    return fig
