"""The examples of an audit report: original records beside what the attacks recovered from
their vectors, the recovered facts highlighted.

The records behind the headline come first: every record whose fact set the rating (or the
best identifying fact) was recovered, with whether a recovered full name stands as a name or as
words scattered in the text; then, per attack, the records with the most facts recovered.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

from embedlens.audit.cells import e
from embedlens.audit.figures import AuditNumbers
from embedlens.audit.sections import table

__all__ = ["examples_section", "highlight"]


def highlight(text: str, values: Sequence[str]) -> str:
    """``text`` HTML-escaped, with every case-insensitive occurrence of ``values`` in <mark>."""
    spans: list[tuple[int, int]] = []
    low = text.casefold()
    for v in sorted({v for v in values if v.strip()}, key=len, reverse=True):
        for m in re.finditer(re.escape(v.casefold()), low):
            if all(m.end() <= a or m.start() >= b for a, b in spans):
                spans.append((m.start(), m.end()))
    out, pos = [], 0
    for a, b in sorted(spans):
        out.append(html.escape(text[pos:a]))
        out.append(f"<mark>{html.escape(text[a:b])}</mark>")
        pos = b
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _example_rows(
    r: AuditNumbers, recs: Sequence[Mapping[str, Any]], fact: str | None
) -> list[str]:
    texts = r.records["texts"]
    rows = []
    for p in recs:
        got = [k for k, (h, _) in p["found"].items() if h]
        how = ""
        if fact == "full_name":
            how = f'<br><span class="muted">{e(_together(p))}</span>'
        rows.append(
            f"<tr><td>{highlight(texts[p['index']], p['values'])}</td>"
            f"<td>{highlight(p['hypothesis'], p['values'])}</td>"
            f"<td>{e(', '.join(got) or 'none')}{how}</td></tr>"
        )
    return rows


def _together(p: Mapping[str, Any]) -> str:
    """Whether a recovered full name stands as a name (its words next to each other) or as
    scattered words of the recovered text."""
    words = re.findall(r"[^\W\d_]+|\[[^\]]+\]", p["hypothesis"].casefold())
    name = max((v for v in p["values"] if " " in v), key=len, default="")
    parts = re.findall(r"[^\W\d_]+|\[[^\]]+\]", name.casefold())
    if len(parts) >= 2:
        for i in range(len(words) - len(parts) + 1):
            if sorted(words[i : i + len(parts)]) == sorted(parts):
                return "the name stands as a name"
    return "the name's words are scattered in the text"


def examples_section(r: AuditNumbers, per_attack: int = 3) -> str:
    head = ["original", "recovered", "facts recovered"]
    out = []
    top = r.summary.get("top_fields", {})
    # the facts the headline names: what set the rating, then its identifying fact
    named = [x.get("field") for x in r.summary.get("set_by", [])]
    named.append(r.summary.get("identifying_fact"))
    shown = [f for f in dict.fromkeys(named) if f and (top.get(f) or {}).get("recovered")]
    for fact in shown:
        v = top[fact]
        att = r.attacks.get(v["attack"], {})
        recs = [p for p in att.get("records", []) if p["found"].get(fact, [0])[0]]
        out.append(
            f"<h3>Every record whose {e(fact.replace('_', ' '))} the {e(v['attack'])} attack "
            f"recovered ({len(recs)} of {v.get('total')}; first 10 shown)</h3>"
            + table(head, _example_rows(r, recs[:10], fact), "example")
        )
    for name, a in r.attacks.items():
        if a.get("status") != "ran" or not a.get("records"):
            continue
        ranked = sorted(
            a["records"],
            key=lambda p: (-sum(h for h, _ in p["found"].values()), -p["token_f1"], p["index"]),
        )[:per_attack]
        out.append(
            f"<h3>{e(name)}: the {per_attack} records with the most facts recovered</h3>"
            + table(head, _example_rows(r, ranked, None), "example")
        )
    return "\n".join(out) or "<p>No attack ran.</p>"
