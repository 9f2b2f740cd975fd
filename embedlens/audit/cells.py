"""How the report prints a number: formats, JSON pointers to where it comes from, and rates
printed with their counts and intervals.

Every number shown sits in an element with ``data-key`` (a JSON pointer into ``result.json``)
and ``data-fmt`` (how it is printed), so tests check that the page and the JSON agree; a rate
is printed with its ``k/n`` and its interval, each keyed too.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["e", "fmt", "num", "pointer", "rate_cell", "resolve_pointer"]


def e(text: Any) -> str:
    """``text`` HTML-escaped (quotes too)."""
    return html.escape(str(text), quote=True)


def fmt(value: Any, kind: str) -> str:
    """How the report prints a number: ``pct`` (42.0%), ``f3`` (0.420), ``f1`` (4.2), ``int``,
    ``pts`` (a difference of rates in points, signed: -3.5)."""
    if value is None:
        return "n/a"
    v = float(value)
    if kind == "pct":
        return f"{100 * v:.1f}%"
    if kind == "pts":
        return f"{100 * v:+.1f}"
    if kind == "f3":
        return f"{v:.3f}"
    if kind == "f1":
        return f"{v:.1f}"
    if kind == "int":
        return f"{round(v):,}"
    raise ValueError(f"unknown number format {kind!r}: use pct, pts, f3, f1 or int")


def pointer(*parts: Any) -> str:
    """The JSON pointer (RFC 6901) of ``parts``: ``pointer("attacks", "nn", "overall")``."""
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def resolve_pointer(data: Any, ptr: str) -> Any:
    """The value at a JSON pointer (RFC 6901) such as ``/attacks/bag-of-words/overall``."""
    node = data
    for raw in ptr.lstrip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def num(value: Any, kind: str, *parts: Any, tag: str = "td") -> str:
    """One number in an element keyed by its JSON pointer (a table cell by default)."""
    cls = ' class="num"' if tag == "td" else ""
    return (
        f'<{tag}{cls} data-key="{e(pointer(*parts))}" data-fmt="{kind}">{fmt(value, kind)}</{tag}>'
    )


def interval(ci: Sequence[float] | None, *parts: Any, kind: str = "pct") -> str:
    """``[lo, hi]`` of an interval stored at ``parts`` (each bound keyed), or nothing."""
    if not ci:
        return ""
    lo, hi = (num(ci[j], kind, *parts, j, tag="span") for j in (0, 1))
    return f'<span class="ci">[{lo}, {hi}]</span>'


def rate_cell(
    row: Mapping[str, Any],
    parts: Sequence[Any],
    *,
    value: str,
    k: str | None = None,
    n: str | None = None,
    ci: str = "ci",
    unit: str = "",
    tag: str = "td",
) -> str:
    """A rate with its count and interval: ``12.0% 36/300 facts [8.4%, 15.9%]``.

    ``row`` is the JSON object at ``parts``; ``value``, ``k``, ``n`` and ``ci`` name its keys
    (``k``/``n`` may be paths such as ``"k/recall@10"``).
    """

    def at(key: str) -> tuple[Any, list[Any]]:
        node: Any = row
        path = key.split("/")
        for p in path:
            node = node.get(p) if isinstance(node, Mapping) else None
        return node, [*parts, *path]

    v, vp = at(value)
    out = [num(v, "pct", *vp, tag="span")]
    if k is not None and n is not None:
        (kv, kp), (nv, np_) = at(k), at(n)
        if kv is not None and nv is not None:
            out.append(
                f'<span class="count">{num(kv, "int", *kp, tag="span")}/'
                f"{num(nv, 'int', *np_, tag='span')}{e(unit)}</span>"
            )
    civ, cip = at(ci)
    out.append(interval(civ, *cip))
    body = " ".join(x for x in out if x)
    return f'<{tag} class="num rate">{body}</{tag}>' if tag == "td" else body
