"""The measured sections of an audit report: the summary, what each attack recovers, attribute
inference, the defenses and the examples, as HTML built from the result's numbers only.

Every rate is printed with its ``k/n`` and its interval (:func:`~embedlens.audit.cells.rate_cell`);
every text from the corpus or an attack is escaped. Tables sit in a scrolling box, so a narrow
screen scrolls a wide table instead of shrinking the page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from embedlens.audit.cells import e, fmt, num, rate_cell
from embedlens.audit.figures import AuditNumbers
from embedlens.audit.separation import RANKING_RULE

__all__ = [
    "attacks_section",
    "attributes_section",
    "defenses_section",
    "summary_section",
    "table",
]


def table(head: Sequence[str], rows: Sequence[str], cls: str = "") -> str:
    """A table (header cells escaped, rows as given) in a box that scrolls sideways."""
    ths = "".join(f"<th>{e(h)}</th>" for h in head)
    klass = f' class="{cls}"' if cls else ""
    return f'<div class="scroll"><table{klass}><tr>{ths}</tr>{"".join(rows)}</table></div>'


def _verdict(cmp: Mapping[str, Any] | None, parts: Sequence[Any]) -> str:
    """'-7.3 points [-9.1, -5.6]: lower' or 'not separable at n = 38'."""
    if not cmp:
        return ""
    v = cmp.get("verdict")
    if v in ("lower", "higher"):
        ci = cmp.get("diff_ci") or [None, None]
        return (
            f'<span class="verdict {e(v)}">{num(cmp["diff"], "pts", *parts, "diff", tag="span")}'
            f" points [{num(ci[0], 'pts', *parts, 'diff_ci', 0, tag='span')}, "
            f"{num(ci[1], 'pts', *parts, 'diff_ci', 1, tag='span')}]: {e(v)} than none</span>"
        )
    if v == "untested":
        return '<span class="verdict">untested (no bootstrap)</span>'
    return (
        f'<span class="verdict">not separable from none at n = '
        f"{num(cmp.get('n'), 'int', *parts, 'n', tag='span')}</span>"
    )


# --------------------------------------------------------------------------- summary


def summary_section(r: AuditNumbers) -> str:
    s, c = r.summary, r.config
    risk, status = str(s.get("risk", "unknown")), str(s.get("status", "complete"))
    out = [
        f'<p><span class="risk risk-{e(risk)}">risk: {e(risk)}</span> '
        f'<span class="muted">status: <b id="status">{e(status)}</b></span></p>',
        f'<p class="headline" id="headline">{e(s.get("headline", ""))}</p>',
        '<p class="muted">Every rate is what these attacks found within this budget (a lower '
        "bound), printed as a percentage with its count (k/n) and its 95% bootstrap interval "
        "[low, high].</p>",
    ]
    top = s.get("top_fields", {})
    if top:
        rows = [
            f"<tr><td>{e(f.replace('_', ' '))}</td>"
            + rate_cell(v, ["summary", "top_fields", f], value="rate", k="recovered", n="total")
            + num(v.get("prior"), "pct", "summary", "top_fields", f, "prior")
            + f"<td>{e(v['attack'])}</td></tr>"
            for f, v in top.items()
        ]
        out.append(
            table(
                ["fact", "best recovery (k/n attacked records)", "guess without the vectors", "by"],
                rows,
            )
        )
    out.append(_best_defense(s))
    ran = ", ".join(e(a) for a in s.get("ran", [])) or "none"
    out.append(f"<p>Attacks that ran: {ran}.</p>")
    if s.get("skipped"):
        out.append("<p>Attacks skipped or failed:</p><ul>")
        out.extend(
            f'<li class="skipped"><b>{e(k)}</b>: {e(v)}</li>' for k, v in s["skipped"].items()
        )
        out.append("</ul>")
    b = c["budget"]
    out.append(
        f"<p>Attack budget {e(b['text'])}: the attacks spent "
        f"{num(b.get('spent_seconds'), 'f1', 'config', 'budget', 'spent_seconds', tag='span')} s "
        f"and {num(b.get('spent_queries'), 'int', 'config', 'budget', 'spent_queries', tag='span')} "
        "embedder queries on the victims' vectors.</p>"
    )
    out.append(_coverage(r))
    if s.get("risk_rule"):
        out.append(f'<p><b>Risk rule.</b> <span id="risk-rule">{e(s["risk_rule"])}</span></p>')
    emb, corpus, att = c["embedder"], c["corpus"], c["attacker"]
    out.append(
        f'<p class="muted">Embedder <b>{e(emb["name"])}</b> (dim {e(emb["dim"])}, fingerprint '
        f"{e(emb['fingerprint'])}); corpus {e(corpus['name'])} with "
        f"{num(corpus['records'], 'int', 'config', 'corpus', 'records', tag='span')} victim "
        f"records; the attacker holds "
        f"{num(att['records'], 'int', 'config', 'attacker', 'records', tag='span')} records of "
        f"its own ({e(att['source'])}); engine {e(c['engine'])}; seed {e(c['seed'])}; total "
        f"{num(r.timings.get('total'), 'f1', 'timings', 'total', tag='span')} s.</p>"
        f'<p class="muted" id="provenance">embedlens {e(c.get("embedlens_version", "?"))}; '
        f"run {e(c.get('created', 'date not recorded'))}; machine "
        f"{e(c.get('machine', 'not recorded'))}.</p>"
    )
    return "\n".join(out)


def _best_defense(s: Mapping[str, Any]) -> str:
    best = s.get("best_defense")
    if best:
        shown = [x for x in s.get("defenses_shown", []) if x != best["name"]]
        also = (
            f" Also shown to lower it: {e(', '.join(shown))} (not ranked against each other)."
            if shown
            else ""
        )
        ci = best.get("leakage_ci") or [None, None]
        return (
            f'<p id="best-defense">Best defense: <b>{e(best["name"])}</b>, the least leaky of '
            "the defenses shown to lower the strongest attack's leakage by the ranking rule "
            "while keeping 90% of the clean recall@10: leakage "
            f"{num(best['leakage'], 'pct', 'summary', 'best_defense', 'leakage', tag='span')} "
            f"[{num(ci[0], 'pct', 'summary', 'best_defense', 'leakage_ci', 0, tag='span')}, "
            f"{num(ci[1], 'pct', 'summary', 'best_defense', 'leakage_ci', 1, tag='span')}] "
            "against "
            f"{num(best['undefended'], 'pct', 'summary', 'best_defense', 'undefended', tag='span')} "
            f"undefended, on the same "
            f"{num(best['n'], 'int', 'summary', 'best_defense', 'n', tag='span')} records; "
            f"recall@10 "
            f"{num(best['recall@10'], 'pct', 'summary', 'best_defense', 'recall@10', tag='span')}."
            f"{also}</p>"
        )
    why = s.get("no_best_defense")
    return f'<p id="best-defense">No best defense: {e(why)}.</p>' if why else ""


def _not_ran(name: str, a: Mapping[str, Any], span: int) -> str:
    """The row of an attack that did not run: its status and the reason, across the row."""
    return (
        f'<tr><td>{e(name)}</td><td colspan="{span}" class="skipped">{e(a["status"])}: '
        f"{e(a.get('reason'))}</td></tr>"
    )


def _coverage(r: AuditNumbers) -> str:
    """Records attacked of total, queries used and why an attack was capped."""
    from embedlens.audit.narrative import STRONGER_ATTACKER

    rows = []
    for n, a in r.attacks.items():
        if a.get("status") != "ran":
            rows.append(_not_ran(n, a, 3))
            continue
        capped = a.get("n_attacked", 0) < a.get("n_records", 0)
        rows.append(
            f"<tr><td>{e(n)}</td><td>"
            f"{num(a['n_attacked'], 'int', 'attacks', n, 'n_attacked', tag='span')} of "
            f"{num(a.get('n_records'), 'int', 'attacks', n, 'n_records', tag='span')}"
            f"{' (capped)' if capped else ''}</td>"
            f"{num(a.get('queries_used'), 'int', 'attacks', n, 'queries_used')}"
            f"<td>{e(a.get('note') or '')}</td></tr>"
        )
    head = ["attack", "records attacked", "embedder queries used", "note"]
    return (
        "<h3>What the attacks could try</h3>" + table(head, rows) + f"<p>{e(STRONGER_ATTACKER)}</p>"
    )


# --------------------------------------------------------------------------- attacks


def attacks_section(r: AuditNumbers) -> str:
    from embedlens.audit.figures import leakage_figure, plot

    rows = []
    for name, a in r.attacks.items():
        if a.get("status") != "ran":
            rows.append(_not_ran(name, a, 10))
            continue
        m, p = a["metrics"], ("attacks", name)
        cells = [
            num(a["n_attacked"], "int", *p, "n_attacked"),
            num(m.get("bleu"), "f1", *p, "metrics", "bleu"),
            num(m.get("token_f1"), "f3", *p, "metrics", "token_f1"),
            num(m.get("exact_match"), "pct", *p, "metrics", "exact_match"),
            num(m.get("cosine"), "f3", *p, "metrics", "cosine"),
            rate_cell(
                a,
                p,
                value="overall",
                k="overall_recovered",
                n="overall_total",
                ci="overall_ci",
                unit=" facts",
            ),
            num(a["queries_per_record"], "f1", *p, "queries_per_record"),
            num(a["training_queries"], "int", *p, "training_queries"),
            num(a["seconds"], "f1", *p, "seconds"),
        ]
        rows.append(f"<tr><td>{e(name)}</td><td>ran</td>{''.join(cells)}</tr>")
    head = [
        "attack",
        "status",
        "records attacked",
        "BLEU",
        "token F1",
        "exact match",
        "cosine",
        "facts recovered",
        "embedder queries / record",
        "training queries",
        "seconds",
    ]
    out = [table(head, rows)]
    ran = {n: a for n, a in r.attacks.items() if a.get("status") == "ran"}
    fields = list(dict.fromkeys(f for a in ran.values() for f in a.get("fields", {})))
    if fields:
        prior = r.summary.get("prior_fields") or {}
        out.append(
            "<h3>Recovery rate per field: k of n attacked records [95% CI]</h3>"
            + (
                '<p class="muted">prior: the rate of a guess that needs no vector (the most '
                "common value of each field among the attacker's own records, over all "
                "records); an attack leaks a field where it beats it.</p>"
                if prior
                else ""
            )
        )
        rows = []
        for f in fields:
            cells = [f"<td>{e(f)}</td>"]
            if prior:
                cells.append(
                    num(prior[f], "pct", "summary", "prior_fields", f)
                    if f in prior
                    else "<td>n/a</td>"
                )
            for n, a in ran.items():
                row = a["fields"].get(f)
                cells.append(
                    "<td>n/a</td>"
                    if row is None
                    else rate_cell(
                        row, ["attacks", n, "fields", f], value="rate", k="recovered", n="total"
                    )
                )
            rows.append(f"<tr>{''.join(cells)}</tr>")
        head = [
            "field",
            *(["prior"] if prior else []),
            *[f"{n} ({a['n_attacked']} of {a['n_records']} records)" for n, a in ran.items()],
        ]
        out.append(table(head, rows))
    return "\n".join(out) + plot(leakage_figure(r), "fig-leakage")


def attributes_section(r: AuditNumbers) -> str:
    from embedlens.audit.figures import attributes_figure, plot

    if not r.attributes:
        return "<p>The corpus has no attribute labels.</p>"
    rows = []
    for attr, row in r.attributes.items():
        if "accuracy" not in row:
            rows.append(
                f'<tr><td>{e(attr)}</td><td class="skipped" colspan="4">skipped: '
                f"{e(row.get('skipped'))}</td></tr>"
            )
            continue
        p = ["attributes", attr]
        rows.append(
            f"<tr><td>{e(attr)}</td>"
            + rate_cell(row, p, value="accuracy", k="correct", n="n", unit=" records")
            + num(row["baseline"], "pct", *p, "baseline")
            + num(row["classes"], "int", *p, "classes")
            + f"<td>{e(row.get('note') or '')}</td></tr>"
        )
    head = ["attribute", "probe accuracy (k/n) [95% CI]", "majority baseline", "classes", "note"]
    probed = any("accuracy" in v for v in r.attributes.values())
    return table(head, rows) + (plot(attributes_figure(r), "fig-attributes") if probed else "")


# --------------------------------------------------------------------------- defenses


def defenses_section(r: AuditNumbers) -> str:
    from embedlens.audit.defended import CANDIDATE_UTILITY
    from embedlens.audit.figures import plot, tradeoff_figure

    u = r.utility
    intro = (
        f"<p>Utility: recall@1 and @10 of {num(u.get('n'), 'int', 'utility', 'n', tag='span')} "
        f"queries built from {e(u.get('queries', 'parts of each record'))} against the "
        "defended vectors of all records (clean: "
        + rate_cell(
            u, ["utility"], value="recall@10", k="k/recall@10", n="n", ci="ci/recall@10", tag="span"
        )
        + "). Leakage: facts recovered (k of n facts, over the records attacked) by the strongest "
        "attack against the defense, compared with no defense on the same records. Every defense "
        "is fitted without the records it is measured on (per fold). "
        f"<b>Ranking rule.</b> {e(RANKING_RULE)}</p>"
    )
    if not r.defenses:
        return intro + "<p>No defense was evaluated.</p>"
    attrs = list(dict.fromkeys(a for d in r.defenses for a in d.get("attributes", {})))
    rows = []
    for i, d in enumerate(r.defenses):
        p = ["defenses", i]
        cells = [
            rate_cell(d["utility"], [*p, "utility"], value=k, k=f"k/{k}", n="n", ci=f"ci/{k}")
            for k in ("recall@1", "recall@10")
        ]
        cells.append(
            rate_cell(d, p, value="leakage_score", ci="leakage_ci")
            .replace('class="num rate"', 'class="num rate leak"', 1)
            .replace(
                "</td>",
                f'<br><span class="muted">{e(d.get("leakage_attack") or "")}, n = '
                f"{num(d.get('leakage_n'), 'int', *p, 'leakage_n', tag='span')}</span></td>",
                1,
            )
        )
        missing = d.get("not_measured") or []
        only = (
            f'<br><span class="muted">{e(", ".join(missing))} not run against it: its leakage '
            "is a lower bound, compared with none on the attacks that met it</span>"
            if missing
            else ""
        )
        verdict = _verdict(d.get("vs_none"), [*p, "vs_none"]) or "reference"
        cells.append(f"<td>{verdict}{only}</td>")
        for a in attrs:
            cnt = (d.get("attribute_counts") or {}).get(a)
            cells.append(
                "<td>n/a</td>"
                if cnt is None
                else rate_cell(cnt, [*p, "attribute_counts", a], value="accuracy", k="k", n="n")
            )
        effects = [
            f"{e(a)} probe {fmt(v, 'pts')} points ({e(ci['verdict'])})"
            for a, v in (d.get("side_effects") or {}).items()
            if (ci := (d.get("side_effect_ci") or {}).get(a))
            and ci["verdict"] in ("lower", "higher")
        ]
        notes = [f"failed: {e(x)}" for x in d.get("failed") or []]
        cells.append(
            f'<td class="effects">{"; ".join([*effects, *notes]) or "none separable"}</td>'
        )
        cand = d["utility"]["recall@10"] >= CANDIDATE_UTILITY * float(u.get("recall@10") or 0)
        mark = (
            "" if cand or d["name"] == "none" else ' <span class="muted">(under 90% recall)</span>'
        )
        rows.append(f"<tr><td><b>{e(d['name'])}</b>{mark}</td>{''.join(cells)}</tr>")
    head = [
        "defense",
        "recall@1 (k/n)",
        "recall@10 (k/n)",
        "leakage, strongest attack",
        "against none (points)",
        *[f"{a} probe" for a in attrs],
        "side effects",
    ]
    out = [intro, table(head, rows, "defenses"), _per_attack(r), _footnotes(r)]
    return "\n".join(out) + plot(tradeoff_figure(r), "fig-tradeoff")


def _per_attack(r: AuditNumbers) -> str:
    """Each attack (and mode) against each defense: k/n, interval, verdict or why not run."""
    keys = list(
        dict.fromkeys(
            (mode, a) for d in r.defenses for mode, rows in d["leakage"].items() for a in rows
        )
    )
    rows = []
    for i, d in enumerate(r.defenses):
        cells = []
        for mode, a in keys:
            row = d["leakage"].get(mode, {}).get(a)
            p = ["defenses", i, "leakage", mode, a]
            if row is None:
                cells.append("<td>-</td>")
            elif "failed" in row or "not_run" in row:
                cells.append(f'<td class="muted">{e(row.get("failed") or row.get("not_run"))}</td>')
            else:
                cell = rate_cell(row, p, value="overall", k="recovered", n="total", unit=" facts")
                extra = (
                    f'<br><span class="muted">n = {num(row["n"], "int", *p, "n", tag="span")}'
                    f" records</span>"
                )
                verdict = _verdict(row.get("vs_none"), [*p, "vs_none"])
                cells.append(
                    cell.replace(
                        "</td>", extra + (f"<br>{verdict}" if verdict else "") + "</td>", 1
                    )
                )
        rows.append(f"<tr><td><b>{e(d['name'])}</b></td>{''.join(cells)}</tr>")
    head = ["defense", *[f"{a} ({m.replace('_', '-')})" for m, a in keys]]
    return "<h3>Each attack against each defense</h3>" + table(head, rows, "defenses")


#: what each kind of defense is, and what it cannot do
_KIND_NOTES = {
    "noise": "Gaussian noise added to each stored vector (strength: its norm over the mean "
    "record norm); needs nothing but a strength, and costs retrieval as it protects.",
    "int8": "8-bit quantization: saves space; it is no privacy defense on its own.",
    "binary": "1-bit quantization (the sign of each coordinate): saves space; it is no privacy "
    "defense on its own.",
    "truncate": "keeps the first dimensions only: it protects little.",
    "leace": "LEACE needs the sensitive labels ({attr}) of the stored records and protects only "
    "that attribute, not names or other facts.",
}


def _footnotes(r: AuditNumbers) -> str:
    """Where the undefended row differs from the main tables, and what the samples were."""
    notes = []
    for name, s in (r.config.get("defense_sample") or {}).items():
        main = r.attacks.get(name, {})
        met = ", ".join(s["defenses"]) or "no defense"
        notes.append(
            f"<li>The <b>{e(name)}</b> attack (non-adaptive) met {e(met)} on the first "
            f"{fmt(s['records'], 'int')} of the {fmt(s['of'], 'int')} records it attacked "
            f"({'at least' if s['records'] >= s['minimum'] else 'fewer than'} the "
            f"{s['minimum']} aimed at): {e(s['why'])}."
            + (
                f" The undefended row measures it on those {fmt(s['records'], 'int')} records "
                f"({fmt(r.defenses[0]['leakage']['non_adaptive'][name]['overall'], 'pct')}), "
                f"the main table on all {fmt(s['of'], 'int')} "
                f"({fmt(main.get('overall'), 'pct')}): the same attack on a smaller sample."
                if s["records"] < s["of"]
                else " The undefended row is the main table's measurement."
            )
            + "</li>"
        )
    kinds = {d["kind"]: d["name"] for d in r.defenses}
    for kind, text in _KIND_NOTES.items():
        if kind in kinds:
            attr = kinds[kind].partition(":")[2]
            notes.append(f"<li><b>{e(kind)}</b>: {e(text.format(attr=attr))}</li>")
    notes.append(
        "<li>The undefended row's probe accuracies are the attribute inference table's (the "
        "same folds, the same predictions); each defense's probe uses those folds too.</li>"
    )
    return '<ul class="footnotes">' + "".join(notes) + "</ul>"
