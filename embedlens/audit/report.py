"""An :class:`~embedlens.audit.result.AuditResult` as a self-contained offline HTML report.

``write_report(result, "audit-report")`` writes ``index.html`` (plotly.js inlined; no remote
fonts, scripts or images) and ``result.json`` into a temporary directory beside the target and
renames it into place. The page shows the summary first, then the leakage tables, attribute
inference, the defenses with the utility-versus-leakage curve, original and recovered examples
with the recovered facts highlighted, and a map of the corpus coloured by leakage.

Every text from the corpus (and every attack's output) is HTML-escaped; plots carry texts as
JSON that plotly escapes too, so a record containing ``<script>`` cannot run. Every number
shown sits in an element with ``data-key`` (a JSON pointer into ``result.json``) and
``data-fmt`` (how it is printed), so tests check that the page and the JSON agree.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from embedlens.audit.figures import (
    AuditNumbers,
    attributes_figure,
    has_map,
    leakage_figure,
    map_figure,
    tradeoff_figure,
)
from embedlens.audit.narrative import (
    glossary,
    limitations,
    methodology,
    recommendations,
    threat_model,
)

__all__ = [
    "REPORT_EXTRAS",
    "REPORT_FILES",
    "attributes_figure",
    "fmt",
    "leakage_figure",
    "map_figure",
    "pdf_pages",
    "render_html",
    "resolve_pointer",
    "tradeoff_figure",
    "write_pdf",
    "write_report",
]

#: the files every report folder holds: a folder with both is one embedlens wrote
REPORT_FILES: tuple[str, ...] = ("result.json", "index.html")
#: what else a report folder may hold (--pdf): anything beyond these is not embedlens's
REPORT_EXTRAS: tuple[str, ...] = ("report.pdf",)

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;
color:#1d2330;background:#fafbfc}main{max-width:1200px;margin:0 auto;padding:24px}
h1{margin:0 0 4px}h2{margin-top:40px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
table{border-collapse:collapse;margin:12px 0;font-size:14px;background:#fff}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f3f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
.risk{display:inline-block;padding:4px 12px;border-radius:12px;color:#fff;font-weight:600}
.risk-high{background:#c62828}.risk-moderate{background:#ef6c00}.risk-low{background:#2e7d32}
.risk-inconclusive{background:#6a1b9a}.warning{border:2px solid #c62828;background:#fff3f3;
padding:8px 12px;border-radius:6px}@media print{.js-plotly-plot{page-break-inside:avoid}}
.headline{font-size:19px;margin:12px 0}.muted{color:#57606a;font-size:13px}
mark{background:#ffd54f;padding:0 2px;border-radius:2px}.example td{max-width:520px}
.skipped{color:#8c2f00}
"""


# --------------------------------------------------------------------------- numbers


def fmt(value: Any, kind: str) -> str:
    """How the report prints a number: ``pct`` (42.0%), ``f3`` (0.420), ``f1`` (4.2), ``int``."""
    if value is None:
        return "n/a"
    v = float(value)
    if kind == "pct":
        return f"{100 * v:.1f}%"
    if kind == "f3":
        return f"{v:.3f}"
    if kind == "f1":
        return f"{v:.1f}"
    if kind == "int":
        return f"{round(v)}"
    raise ValueError(f"unknown number format {kind!r}")


def _pointer(*parts: Any) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def resolve_pointer(data: Any, pointer: str) -> Any:
    """The value at a JSON pointer (RFC 6901) such as ``/attacks/bag-of-words/overall``."""
    node = data
    for raw in pointer.lstrip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _num(value: Any, kind: str, *parts: Any, tag: str = "td") -> str:
    cls = ' class="num"' if tag == "td" else ""
    return (
        f'<{tag}{cls} data-key="{html.escape(_pointer(*parts))}" data-fmt="{kind}">'
        f"{fmt(value, kind)}</{tag}>"
    )


def _ci(ci: Sequence[float] | None) -> str:
    if not ci:
        return ""
    return f'<span class="muted"> [{fmt(ci[0], "pct")}, {fmt(ci[1], "pct")}]</span>'


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


# --------------------------------------------------------------------------- sections


def _summary(r: AuditNumbers) -> str:
    s, c = r.summary, r.config
    risk = str(s.get("risk", "unknown"))
    status = str(s.get("status", "complete"))
    out = [
        f'<p><span class="risk risk-{_e(risk)}">risk: {_e(risk)}</span> '
        f'<span class="muted">status: <b id="status">{_e(status)}</b></span></p>',
        f'<p class="headline">{_e(s.get("headline", ""))}</p>',
        '<p class="muted">Every rate below is a lower bound: what these attacks found within '
        "this budget. All rates are percentages of the records (or facts) attacked.</p>",
    ]
    top = s.get("top_fields", {})
    if top:
        out.append("<table><tr><th>fact</th><th>best recovery rate</th><th>by</th></tr>")
        for f, row in top.items():
            out.append(
                f"<tr><td>{_e(f)}</td>{_num(row['rate'], 'pct', 'summary', 'top_fields', f, 'rate')}"
                f"<td>{_e(row['attack'])}</td></tr>"
            )
        out.append("</table>")
    best = s.get("best_defense")
    if best:
        out.append(
            f"<p>Best defense keeping at least 90% of the clean recall@10: <b>{_e(best['name'])}</b> "
            f"(recall@10 {_num(best['recall@10'], 'pct', 'summary', 'best_defense', 'recall@10', tag='span')}, "
            f"leakage {_num(best['leakage'], 'pct', 'summary', 'best_defense', 'leakage', tag='span')}).</p>"
        )
    ran = ", ".join(_e(a) for a in s.get("ran", [])) or "none"
    out.append(f"<p>Attacks that ran: {ran}.</p>")
    skipped = s.get("skipped", {})
    if skipped:
        out.append("<p>Attacks skipped or failed:</p><ul>")
        out.extend(f'<li class="skipped"><b>{_e(k)}</b>: {_e(v)}</li>' for k, v in skipped.items())
        out.append("</ul>")
    spent = c["budget"]
    out.append(
        f"<p>Attack budget {_e(spent['text'])}: the attacks spent "
        f"{_num(spent.get('spent_seconds'), 'f1', 'config', 'budget', 'spent_seconds', tag='span')} s "
        f"and {_num(spent.get('spent_queries'), 'int', 'config', 'budget', 'spent_queries', tag='span')} "
        "embedder queries on the victims' vectors.</p>"
    )
    out.append(_limits(r))
    if s.get("risk_rule"):
        out.append(f'<p><b>Risk rule.</b> <span id="risk-rule">{_e(s["risk_rule"])}</span></p>')
    emb, corpus, att = c["embedder"], c["corpus"], c["attacker"]
    out.append(
        f'<p class="muted">Embedder <b>{_e(emb["name"])}</b> (dim {_e(emb["dim"])}, fingerprint '
        f"{_e(emb['fingerprint'])}); corpus {_e(corpus['name'])} with "
        f"{_num(corpus['records'], 'int', 'config', 'corpus', 'records', tag='span')} victim records; "
        f"the attacker holds {_num(att['records'], 'int', 'config', 'attacker', 'records', tag='span')} "
        f"records of its own ({_e(att['source'])}); attack budget {_e(c['budget']['text'])}; "
        f"engine {_e(c['engine'])}; seed {_e(c['seed'])}; total "
        f"{_num(r.timings.get('total'), 'f1', 'timings', 'total', tag='span')} s.</p>"
        f'<p class="muted" id="provenance">embedlens {_e(c.get("embedlens_version", "?"))}; '
        f"run {_e(c.get('created', 'date not recorded'))}; machine "
        f"{_e(c.get('machine', 'not recorded'))}.</p>"
    )
    return "\n".join(out)


def _limits(r: AuditNumbers) -> str:
    """Which attacks were capped: records attacked of total, queries used, and why."""
    from embedlens.audit.narrative import STRONGER_ATTACKER

    rows = []
    for n, a in r.attacks.items():
        if a.get("status") != "ran":
            rows.append(
                f'<tr><td>{_e(n)}</td><td colspan="3" class="skipped">{_e(a["status"])}: '
                f"{_e(a.get('reason'))}</td></tr>"
            )
            continue
        capped = a.get("n_attacked", 0) < a.get("n_records", 0)
        rows.append(
            f"<tr><td>{_e(n)}</td><td>"
            f"{_num(a['n_attacked'], 'int', 'attacks', n, 'n_attacked', tag='span')} of "
            f"{_num(a.get('n_records'), 'int', 'attacks', n, 'n_records', tag='span')}"
            f"{' (capped)' if capped else ''}</td>"
            f"{_num(a.get('queries_used'), 'int', 'attacks', n, 'queries_used')}"
            f"<td>{_e(a.get('note') or '')}</td></tr>"
        )
    return (
        "<h3>What the attacks could try</h3><table><tr><th>attack</th><th>records attacked</th>"
        "<th>embedder queries used</th><th>note</th></tr>"
        + "".join(rows)
        + f"</table><p>{_e(STRONGER_ATTACKER)}</p>"
    )


def _attacks(r: AuditNumbers) -> str:
    out = [
        "<table><tr><th>attack</th><th>status</th><th>records attacked</th><th>BLEU</th>"
        "<th>token F1</th><th>exact match</th><th>cosine</th><th>facts recovered</th>"
        "<th>embedder queries / record</th><th>training queries</th><th>seconds</th></tr>"
    ]
    for name, a in r.attacks.items():
        if a.get("status") != "ran":
            out.append(
                f'<tr><td>{_e(name)}</td><td class="skipped" colspan="10">{_e(a["status"])}: '
                f"{_e(a.get('reason'))}</td></tr>"
            )
            continue
        m = a["metrics"]
        cells = [
            _num(a["n_attacked"], "int", "attacks", name, "n_attacked"),
            _num(m.get("bleu"), "f1", "attacks", name, "metrics", "bleu"),
            _num(m.get("token_f1"), "f3", "attacks", name, "metrics", "token_f1"),
            _num(m.get("exact_match"), "pct", "attacks", name, "metrics", "exact_match"),
            _num(m.get("cosine"), "f3", "attacks", name, "metrics", "cosine"),
            _num(a["overall"], "pct", "attacks", name, "overall"),
            _num(a["queries_per_record"], "f1", "attacks", name, "queries_per_record"),
            _num(a["training_queries"], "int", "attacks", name, "training_queries"),
            _num(a["seconds"], "f1", "attacks", name, "seconds"),
        ]
        out.append(f"<tr><td>{_e(name)}</td><td>ran</td>{''.join(cells)}</tr>")
    out.append("</table>")
    ran = {n: a for n, a in r.attacks.items() if a.get("status") == "ran"}
    fields = list(dict.fromkeys(f for a in ran.values() for f in a.get("fields", {})))
    if fields:
        prior = r.summary.get("prior_fields") or {}
        out.append(
            "<h3>Recovery rate per field (95% bootstrap CI)</h3>"
            + (
                '<p class="muted">prior: the rate of a guess that needs no vector (the most '
                "common value of each field among the attacker's own records); an attack leaks "
                "a field where it beats it.</p>"
                if prior
                else ""
            )
            + "<table><tr><th>field</th>"
            + ("<th>prior</th>" if prior else "")
        )
        out.extend(f"<th>{_e(n)}</th>" for n in ran)
        out.append("</tr>")
        for f in fields:
            out.append(f"<tr><td>{_e(f)}</td>")
            if prior:
                cell = _num(prior[f], "pct", "summary", "prior_fields", f) if f in prior else None
                out.append(cell or "<td>n/a</td>")
            for n, a in ran.items():
                row = a["fields"].get(f)
                if row is None:
                    out.append("<td>n/a</td>")
                    continue
                out.append(
                    f'<td class="num"><span data-key="{_e(_pointer("attacks", n, "fields", f, "rate"))}" '
                    f'data-fmt="pct">{fmt(row["rate"], "pct")}</span>{_ci(row.get("ci"))}'
                    f'<span class="muted"> ({row["recovered"]}/{row["total"]})</span></td>'
                )
            out.append("</tr>")
        out.append("</table>")
    return "\n".join(out) + _plot(leakage_figure(r), "fig-leakage")


def _attributes(r: AuditNumbers) -> str:
    if not r.attributes:
        return "<p>The corpus has no attribute labels.</p>"
    out = [
        "<table><tr><th>attribute</th><th>probe accuracy</th><th>95% CI</th>"
        "<th>majority baseline</th><th>classes</th><th>note</th></tr>"
    ]
    for attr, row in r.attributes.items():
        if "accuracy" not in row:
            out.append(
                f'<tr><td>{_e(attr)}</td><td class="skipped" colspan="5">skipped: {_e(row.get("skipped"))}</td></tr>'
            )
            continue
        out.append(
            f"<tr><td>{_e(attr)}</td>{_num(row['accuracy'], 'pct', 'attributes', attr, 'accuracy')}"
            f"<td>{_ci(row.get('ci'))}</td>{_num(row['baseline'], 'pct', 'attributes', attr, 'baseline')}"
            f"{_num(row['classes'], 'int', 'attributes', attr, 'classes')}<td>{_e(row.get('note') or '')}</td></tr>"
        )
    out.append("</table>")
    probed = any("accuracy" in v for v in r.attributes.values())
    return "\n".join(out) + (_plot(attributes_figure(r), "fig-attributes") if probed else "")


def _defenses(r: AuditNumbers) -> str:
    intro = (
        f"<p>Utility: recall@1 and @10 of queries built from {_e(r.utility.get('queries', 'parts of each record'))} "
        f"against the defended vectors of all records (clean: recall@10 "
        f"{_num(r.utility.get('recall@10'), 'pct', 'utility', 'recall@10', tag='span')}). Leakage: "
        "facts recovered by the strongest attack against the defense: every attack that ran, the "
        "trainable ones also retrained on defended vectors (adaptive), the expensive ones on a "
        "fixed sample of records. Every defense is fitted without the records it is measured "
        "on (per fold). Side effects: how the defense changed each attribute probe's accuracy "
        "(points; a rise means the defense made that attribute easier to infer).</p>"
    )
    if not r.defenses:
        return intro + "<p>No defense was evaluated.</p>"
    attrs = list(dict.fromkeys(a for d in r.defenses for a in d.get("attributes", {})))
    out = [
        "<table><tr><th>defense</th><th>recall@1</th><th>recall@10</th>"
        "<th>leakage (strongest attack)</th><th>leakage (non-adaptive)</th>"
        + "".join(f"<th>{_e(a)} probe</th>" for a in attrs)
        + "<th>side effects</th></tr>"
    ]
    recalls, leakage = ("recall@1", "recall@10"), ("leakage_score", "leakage_score_non_adaptive")
    for i, d in enumerate(r.defenses):
        cells = [_num(d["utility"][k], "pct", "defenses", i, "utility", k) for k in recalls]
        cells += [_num(d.get(k), "pct", "defenses", i, k) for k in leakage]
        cells += [
            _num(d["attributes"].get(a), "pct", "defenses", i, "attributes", a) for a in attrs
        ]
        effects = [
            f"{_e(a)} probe {100 * v:+.1f} points"
            for a, v in (d.get("side_effects") or {}).items()
            if abs(v) >= 0.02
        ]
        failed = [f"failed: {_e(x)}" for x in d.get("failed") or []]
        cells.append(f"<td>{'; '.join([*effects, *failed]) or '-'}</td>")
        out.append(f"<tr><td>{_e(d['name'])}</td>{''.join(cells)}</tr>")
    out.append("</table>")
    return intro + "\n".join(out) + _plot(tradeoff_figure(r), "fig-tradeoff")


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


def _examples(r: AuditNumbers, per_attack: int = 3) -> str:
    texts = r.records["texts"]
    out = []
    for name, a in r.attacks.items():
        if a.get("status") != "ran" or not a.get("records"):
            continue
        ranked = sorted(
            a["records"],
            key=lambda p: (-sum(h for h, _ in p["found"].values()), -p["token_f1"], p["index"]),
        )[:per_attack]
        out.append(
            f'<h3>{_e(name)}</h3><table class="example"><tr><th>original</th><th>recovered</th><th>facts recovered</th></tr>'
        )
        for p in ranked:
            got = [k for k, (h, _) in p["found"].items() if h]
            out.append(
                f"<tr><td>{highlight(texts[p['index']], p['values'])}</td>"
                f"<td>{highlight(p['hypothesis'], p['values'])}</td>"
                f"<td>{_e(', '.join(got) or 'none')}</td></tr>"
            )
        out.append("</table>")
    return "\n".join(out) or "<p>No attack ran.</p>"


def _plot(fig: Any, div_id: str) -> str:
    import plotly.io as pio

    return str(
        pio.to_html(
            fig,
            full_html=False,
            include_plotlyjs=False,
            div_id=div_id,
            config={"displaylogo": False, "responsive": True},
            default_width="100%",
        )
    )


def _map_section(result: AuditNumbers) -> str:
    if has_map(result):
        return _plot(map_figure(result), "fig-map")
    if len(result.records["texts"]) < 3:
        return "<p>Too few records for a map.</p>"
    return "<p>This result holds no map coordinates.</p>"


def render_html(result: AuditNumbers) -> str:
    """The report as one HTML page (plotly.js inlined)."""
    from plotly.offline import get_plotlyjs

    sections = [
        ("summary", "Summary", _summary(result)),
        ("leakage", "What each attack recovers", _attacks(result)),
        ("attributes", "Attribute inference", _attributes(result)),
        ("defenses", "Defenses: retrieval utility against leakage", _defenses(result)),
        (
            "examples",
            "Original and recovered text (recovered facts highlighted)",
            _examples(result),
        ),
        ("map", "Map of the corpus by leakage", _map_section(result)),
        ("recommendations", "Recommendations", recommendations(result)),
        ("threat-model", "Threat model", threat_model(result)),
        ("methodology", "Methodology", methodology(result)),
        ("limitations", "Limitations", limitations(result)),
        ("glossary", "Glossary", glossary(result)),
    ]
    nav = " · ".join(f'<a href="#{k}">{_e(t.split(":")[0])}</a>' for k, t, _ in sections)
    body = "\n".join(
        f'<section id="{k}"><h2>{_e(t)}</h2>\n{content}</section>' for k, t, content in sections
    )
    title = f"embedlens privacy audit: {result.config['embedder']['name']}"
    redacted = bool(result.config.get("redacted"))
    from embedlens.audit.redact import REDACTION_NOTE

    banner = (
        f'<p class="muted" id="redaction">{_e(REDACTION_NOTE)}</p>'
        if redacted
        else '<p class="warning" id="redaction"><b>This report is sensitive</b>: it prints '
        "original records next to the text recovered from their vectors. Share it only as you "
        "would the records, or write it with --redact.</p>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{_CSS}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head>'
        f'<body><main><h1>{_e(title)}</h1>{banner}<p class="muted">{nav}</p>\n{body}\n'
        "</main></body></html>\n"
    )


def write_report(
    result: AuditNumbers,
    out_dir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    redact: bool = False,
    pdf: bool = False,
) -> Path:
    """Write ``index.html`` and ``result.json`` to ``out_dir`` atomically; returns index.html.

    ``redact=True`` masks the identifying fields of every record in both
    (:func:`embedlens.audit.redact.redacted`); ``pdf=True`` also prints the page to
    ``report.pdf`` with headless Chromium (:func:`write_pdf`).

    Raises ``FileExistsError`` when ``out_dir`` exists and ``overwrite`` is False. With
    ``overwrite=True`` only an empty folder or an earlier report (a folder holding
    :data:`REPORT_FILES`) is replaced; anything else is refused before a byte is written.
    """
    from embedlens._utils import atomic_path, check_replaceable

    target = Path(out_dir)
    if os.path.lexists(target) and not overwrite:
        raise FileExistsError(f"{target} exists: pass --overwrite (overwrite=True) to replace it")
    check_replaceable(target, kind="folder", markers=REPORT_FILES, extras=REPORT_EXTRAS)
    if pdf:
        _chromium()  # no browser: refused before anything is written
    if redact:
        from embedlens.audit.redact import redacted

        result = redacted(result)
    page = render_html(result)
    data = result.to_json()
    with atomic_path(target, markers=REPORT_FILES, extras=REPORT_EXTRAS) as tmp:
        tmp.mkdir(parents=True)
        (tmp / "result.json").write_text(data, encoding="utf-8")
        (tmp / "index.html").write_text(page, encoding="utf-8")
        if pdf:
            write_pdf(tmp / "index.html", tmp / "report.pdf")
    return target / "index.html"


def _chromium() -> str:
    from interpret.maps.export import find_chromium

    browser = find_chromium()
    if browser is None:
        raise FileNotFoundError(
            "a PDF needs a headless Chromium and none was found: `make demo` installs it "
            "(apt-get install chromium), or set BROWSER_PATH"
        )
    return browser


def write_pdf(
    page: str | os.PathLike[str], pdf: str | os.PathLike[str], *, timeout: float = 300.0
) -> Path:
    """Print the HTML file ``page`` to ``pdf`` with headless Chromium (plots drawn first).

    Raises ``FileNotFoundError`` without a Chromium and ``RuntimeError`` when it writes no PDF.
    Chromium and its helpers are ended when the call ends, also by Ctrl-C or the timeout.
    """
    import tempfile

    from embedlens._process import run_group
    from interpret.maps.browser import CHROMIUM_FLAGS

    browser, out = _chromium(), Path(pdf)
    with tempfile.TemporaryDirectory(prefix="embedlens-pdf-") as profile:
        done = run_group(
            [
                browser,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--virtual-time-budget=20000",
                "--no-pdf-header-footer",
                f"--print-to-pdf={out.resolve()}",
                Path(page).resolve().as_uri(),
            ],
            timeout=timeout,
        )
    if not out.is_file() or not out.read_bytes().startswith(b"%PDF"):
        raise RuntimeError(f"Chromium wrote no PDF ({done.stderr.strip()[-300:]})")
    return out


def pdf_pages(pdf: str | os.PathLike[str]) -> int:
    """The number of pages of a PDF file (its ``/Type /Page`` objects)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", Path(pdf).read_bytes()))
