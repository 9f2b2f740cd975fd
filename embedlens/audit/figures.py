"""The plotly figures of an audit report, drawn from an audit result's numbers only (read
through the fields :class:`AuditNumbers` names, as the report reads them)."""

from __future__ import annotations

import html
import textwrap
from typing import Any, Protocol

from embedlens.audit.defenses import pareto_front

__all__ = ["AuditNumbers", "attributes_figure", "leakage_figure", "map_figure", "tradeoff_figure"]


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


def tradeoff_figure(result: AuditNumbers, *, family: str | None = None) -> Any:
    """Retrieval recall@10 against leakage for every defense, the Pareto front marked.

    Each defense kind is one curve starting at the undefended point; filled markers are the
    adaptive attacker (trained on defended vectors), hollow ones the non-adaptive attacker.
    The Pareto front (adaptive leakage, utility) is the dashed line.
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
    for kind in [k for k in _FAMILY_ORDER if any(d["kind"] == k for d in defs)]:
        if family is not None and kind != family:
            continue
        members = [d for d in defs if d["kind"] == kind]
        members.sort(key=lambda d: d["strength"] if d["strength"] is not None else 0.0)
        if kind == "truncate":
            members.reverse()  # from most dimensions kept to fewest
        line = ([base] if base is not None else []) + members
        fig.add_trace(
            go.Scatter(
                x=[d["leakage_score"] for d in line],
                y=[d["utility"]["recall@10"] for d in line],
                mode="lines+markers",
                name=kind,
                legendgroup=kind,
                text=[_plotly_text(d["name"]) for d in line],
                hovertemplate="%{text}<br>leakage %{x:.3f}<br>recall@10 %{y:.3f}<extra></extra>",
            )
        )
        hollow = [d for d in line if d.get("leakage_score_non_adaptive") is not None]
        fig.add_trace(
            go.Scatter(
                x=[d["leakage_score_non_adaptive"] for d in hollow],
                y=[d["utility"]["recall@10"] for d in hollow],
                mode="markers",
                marker={"symbol": "circle-open", "size": 9},
                name=f"{kind} (non-adaptive)",
                legendgroup=kind,
                text=[_plotly_text(d["name"]) for d in hollow],
                hovertemplate="%{text} non-adaptive<br>leakage %{x:.3f}<extra></extra>",
            )
        )
    shown = [d for d in defs if family is None or d["kind"] in (family, "none")]
    front = pareto_front([(d["leakage_score"], d["utility"]["recall@10"]) for d in shown])
    ordered = sorted((shown[i] for i in front), key=lambda d: d["leakage_score"])
    fig.add_trace(
        go.Scatter(
            x=[d["leakage_score"] for d in ordered],
            y=[d["utility"]["recall@10"] for d in ordered],
            mode="lines+markers",
            line={"dash": "dash", "color": "black", "width": 1},
            marker={"symbol": "star", "size": 12, "color": "gold", "line": {"width": 1}},
            name="Pareto front",
            text=[_plotly_text(d["name"]) for d in ordered],
            hovertemplate="Pareto: %{text}<extra></extra>",
        )
    )
    fig.update_layout(
        title="Retrieval utility vs leakage per defense (up and left is better)",
        xaxis_title="leakage: facts recovered by the strongest attack",
        yaxis_title="retrieval recall@10",
        yaxis_range=[-0.02, 1.02],
        template="plotly_white",
        height=480,
    )
    return fig


def leakage_figure(result: AuditNumbers) -> Any:
    """Recovery rate per PII field, one bar group per attack that ran, with intervals."""
    bars = []
    for name, att in result.attacks.items():
        if att.get("status") != "ran" or not att.get("fields"):
            continue
        names = list(att["fields"])
        rates = [att["fields"][k]["rate"] for k in names]
        shown = [_plotly_text(str(k)) for k in names]
        bar: dict[str, Any] = {"x": shown, "y": rates, "name": _plotly_text(name)}
        cis = [att["fields"][k].get("ci") for k in names]
        if all(ci is not None for ci in cis):
            bar["error_y"] = {
                "type": "data",
                "symmetric": False,
                "array": [ci[1] - r for ci, r in zip(cis, rates, strict=True)],  # type: ignore[index]
                "arrayminus": [r - ci[0] for ci, r in zip(cis, rates, strict=True)],  # type: ignore[index]
            }
        bars.append(bar)
    title = "Share of each private fact recovered from the vectors (95% bootstrap CI)"
    return _bar_groups(bars, title, "recovery rate", 420)


def attributes_figure(result: AuditNumbers) -> Any:
    """Probe accuracy per sensitive attribute next to the majority baseline."""
    rows = {k: v for k, v in result.attributes.items() if "accuracy" in v}
    bars = [
        {
            "x": [_plotly_text(str(k)) for k in rows],
            "y": [r[key] for r in rows.values()],
            "name": name,
        }
        for key, name in (("accuracy", "linear probe"), ("baseline", "majority baseline"))
    ]
    return _bar_groups(bars, "Attribute inference from the vectors", "accuracy (5-fold)", 380)


def _bar_groups(bars: list[dict[str, Any]], title: str, yaxis_title: str, height: int) -> Any:
    """Bars (``go.Bar`` keywords) side by side in groups, on a 0-1 axis."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for bar in bars:
        fig.add_trace(go.Bar(**bar))
    fig.update_layout(
        barmode="group",
        title=title,
        yaxis_title=yaxis_title,
        yaxis_range=[0, 1],
        template="plotly_white",
        height=height,
    )
    return fig


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
