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

import os
import re
from pathlib import Path

from embedlens.audit.cells import e, fmt, resolve_pointer
from embedlens.audit.examples import examples_section, highlight
from embedlens.audit.figures import (
    AuditNumbers,
    attributes_figure,
    has_map,
    leakage_figure,
    map_figure,
    plot,
    tradeoff_figure,
)
from embedlens.audit.narrative import (
    glossary,
    limitations,
    methodology,
    recommendations,
    threat_model,
)
from embedlens.audit.sections import (
    attacks_section,
    attributes_section,
    defenses_section,
    summary_section,
)

__all__ = [
    "REPORT_EXTRAS",
    "REPORT_FILES",
    "attributes_figure",
    "fmt",
    "highlight",
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


def _css() -> str:
    """The page's style sheet (screen, print and narrow screens): ``report.css`` beside this
    module."""
    return (Path(__file__).with_name("report.css")).read_text(encoding="utf-8")


def _map_section(result: AuditNumbers) -> str:
    if has_map(result):
        return plot(map_figure(result), "fig-map")
    if len(result.records["texts"]) < 3:
        return "<p>Too few records for a map.</p>"
    return "<p>This result holds no map coordinates.</p>"


def render_html(result: AuditNumbers) -> str:
    """The report as one HTML page (plotly.js inlined)."""
    from plotly.offline import get_plotlyjs

    sections = [
        ("summary", "Summary", summary_section(result)),
        ("leakage", "What each attack recovers", attacks_section(result)),
        ("attributes", "Attribute inference", attributes_section(result)),
        ("defenses", "Defenses: retrieval utility against leakage", defenses_section(result)),
        (
            "examples",
            "Original and recovered text (recovered facts highlighted)",
            examples_section(result),
        ),
        ("map", "Map of the corpus by leakage", _map_section(result)),
        ("recommendations", "Recommendations", recommendations(result)),
        ("threat-model", "Threat model", threat_model(result)),
        ("methodology", "Methodology", methodology(result)),
        ("limitations", "Limitations", limitations(result)),
        ("glossary", "Glossary", glossary(result)),
    ]
    nav = " · ".join(f'<a href="#{k}">{e(t.split(":")[0])}</a>' for k, t, _ in sections)
    body = "\n".join(
        f'<section id="{k}"><h2>{e(t)}</h2>\n{content}</section>' for k, t, content in sections
    )
    from embedlens.audit.redact import REDACTION_NOTE

    title = f"embedlens privacy audit: {result.config['embedder']['name']}"
    redacted = bool(result.config.get("redacted"))
    banner = (
        f'<p class="muted" id="redaction">{e(REDACTION_NOTE)}</p>'
        if redacted
        else '<p class="warning" id="redaction"><b>This report is sensitive</b>: it prints '
        "original records next to the text recovered from their vectors. Share it only as you "
        "would the records, or write it with --redact.</p>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{_css()}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head>'
        f'<body><main><h1>{e(title)}</h1>{banner}<nav class="muted">{nav}</nav>\n{body}\n'
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
