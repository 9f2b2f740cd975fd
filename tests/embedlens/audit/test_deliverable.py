"""The report as an auditor's deliverable (issue 19): its sections, limits, status, redaction
and PDF."""

from __future__ import annotations

import re

import pytest

from embedlens.audit import audit
from embedlens.data import load_corpus


@pytest.fixture(scope="module")
def result(toy, join_corpora):
    victims = load_corpus("pii", n=30, seed=0)
    own = join_corpora(load_corpus("pii", n=20, seed=5), victims.subset(range(15)))
    return audit(
        toy,
        victims,
        attacker_corpus=own,
        attacks=["nn"],
        defenses=["noise:0.05", "leace:condition"],
        bootstrap=20,
        progress=False,
    )


@pytest.fixture(scope="module")
def page(result, tmp_path_factory):
    out = tmp_path_factory.mktemp("deliverable") / "report"
    return result.to_html(out).read_text(encoding="utf-8")


def test_the_page_has_the_sections_an_auditor_needs(page, result):
    order = [
        "summary",
        "leakage",
        "defenses",
        "examples",
        "recommendations",
        "threat-model",
        "methodology",
        "limitations",
        "glossary",
    ]
    positions = [page.index(f'<section id="{k}">') for k in order]
    assert positions == sorted(positions)
    assert 'id="risk-rule"' in page and "20 points above its majority baseline" in page
    assert "Morris et al., 2023" in page and "89% of full names" in page
    from embedlens import __version__

    assert f"embedlens {__version__}" in page and result.config["created"][:10] in page
    assert result.config["machine"] and "CPUs" in result.config["machine"]
    assert "Fact matching rule." in page and "first name, last name and full name" in page
    assert "This report is sensitive" in page  # not redacted: the warning at the top
    # the limits: records attacked of total and queries used, per attack
    assert re.search(r'data-key="/attacks/nearest-neighbour/n_attacked"[^>]*>30</span> of', page)
    assert 'data-key="/attacks/nearest-neighbour/queries_used"' in page
    # the headline leads with what set the rating, counts as "k of n attacked records" and
    # describes the attacker as the threat model does (half the victims are in its corpus)
    headline = result.summary["headline"]
    assert headline.startswith("Risk high, set by an identifying fact: the nearest-neighbour")
    assert re.search(
        r"recovered the \w[\w ]* of 15 of 30 attacked records \(50\.0%, 95% CI", headline
    )
    assert "holds the stored vectors, 35 records of its own and query access" in headline
    assert result.summary["set_by"] == [{"kind": "identifying", "field": "full_name"}]
    assert "LEACE needs the sensitive labels (condition)" in page


def test_no_percent_is_printed_as_a_fraction(page):
    """One unit everywhere: rates print as percentages, never as 0.xx fractions."""
    for m in re.finditer(r'data-fmt="(\w+)"', page):
        assert m.group(1) in ("pct", "pts", "int", "f1", "f3")
    shown = re.findall(r'data-key="(/[^"]*)" data-fmt="f3"', page)
    assert all(k.endswith(("token_f1", "cosine")) for k in shown)


def test_every_defense_leakage_carries_its_n_and_interval(page, result):
    """No defense leakage cell without n and interval; each rate cell has its k/n."""
    import html as html_mod

    for i, d in enumerate(result.defenses):
        assert f'data-key="/defenses/{i}/leakage_ci/0"' in page
        assert f'data-key="/defenses/{i}/leakage_n"' in page
        for mode, rows in d["leakage"].items():
            for att, row in rows.items():
                key = html_mod.escape(f"/defenses/{i}/leakage/{mode}/{att}")
                assert f'data-key="{key}/ci/0"' in page and f'data-key="{key}/n"' in page
                assert f'data-key="{key}/recovered"' in page and f'data-key="{key}/total"' in page
                if d["name"] != "none":
                    assert row["vs_none"]["verdict"] in ("lower", "higher", "not separable")
    # the undefended row is the main tables' measurement: probes and the cheap attacks
    none = result.defense("none")
    for attr, row in result.attributes.items():
        if "accuracy" in row:
            assert none["attributes"][attr] == row["accuracy"]
    nn = result.attacks["nearest-neighbour"]
    assert none["leakage"]["non_adaptive"]["nearest-neighbour"]["overall"] == nn["overall"]


def test_redacted_report_masks_identifying_fields_and_keeps_facts_countable(result, tmp_path):
    import json

    page = result.to_html(tmp_path / "r", redact=True).read_text(encoding="utf-8")
    data = json.loads((tmp_path / "r" / "result.json").read_text(encoding="utf-8"))
    victims = load_corpus("pii", n=30, seed=0)
    for f in victims.fields:
        for key in ("email", "phone", "name"):
            assert f[key] not in page and f[key] not in json.dumps(data), key
    assert "This report is sensitive" not in page and "Identifying text is masked" in page
    assert re.search(r"<mark>[^<]*\[last name\][^<]*</mark>", page)
    assert "<mark>[email]</mark>" in page
    assert "identifying" not in data["records"]
    # the numbers do not change
    assert (
        data["attacks"]["nearest-neighbour"]["fields"]
        == result.attacks["nearest-neighbour"]["fields"]
    )


def test_defenses_report_side_effects_and_face_every_attack(result):
    for d in result.defenses:
        assert set(result.summary["ran"]) <= set(d["leakage"]["non_adaptive"])
        assert set(d["side_effects"]) <= set(d["attributes"])
    none = result.defense("none")
    assert all(v == 0 for v in none["side_effects"].values())


@pytest.mark.skipif(
    __import__("interpret.maps.export", fromlist=["find_chromium"]).find_chromium() is None,
    reason="needs a headless Chromium: `make demo` installs it (apt-get install chromium)",
)
def test_pdf_is_printed_with_its_pages(result, tmp_path):
    from embedlens.audit.report import pdf_pages

    result.to_html(tmp_path / "r", pdf=True, redact=True)
    pdf = tmp_path / "r" / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    assert pdf_pages(pdf) >= 3  # a dozen sections, tables and plots: several A4/Letter pages


#: the sections issue 19 added, as the page names them
NEW_SECTIONS = ("threat-model", "methodology", "glossary", "limitations", "recommendations")
# what the browser laid out: each section's and the banner's box, text and colours, as JSON
_LAYOUT = """<script>
window.addEventListener('load', function () { setTimeout(function () {
  var out = {};
  document.querySelectorAll('section[id], #redaction').forEach(function (el) {
    var r = el.getBoundingClientRect(), s = getComputedStyle(el);
    out[el.id] = {top: r.top + window.scrollY, height: r.height, width: r.width,
      text: el.innerText.length, shown: s.display !== 'none' && s.visibility !== 'hidden',
      border: s.borderTopColor, cls: el.className};
  });
  var pre = document.createElement('pre');
  pre.id = '__layout';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 300); });
</script>"""


def _layout(page, tmp_path):
    """How headless Chromium lays ``page`` out (see ``_LAYOUT``)."""
    from chromium_dom import dumped_json

    probe = tmp_path / "layout.html"
    text = page.read_text(encoding="utf-8")
    probe.write_text(text.replace("</body>", _LAYOUT + "</body>", 1), encoding="utf-8")
    found = dumped_json(probe, tmp_path / "profile", "__layout", width=1200, height=1600)
    assert found is not None, "the page never finished loading"
    return found


def _rgb(css):
    return tuple(int(v) for v in re.findall(r"\d+", css)[:3])


@pytest.mark.skipif(
    __import__("interpret.maps.export", fromlist=["find_chromium"]).find_chromium() is None,
    reason="needs a headless Chromium: `make demo` installs it (apt-get install chromium)",
)
def test_the_new_sections_render_in_chromium(result, tmp_path):
    """A screenshot-level check of the page as a reader sees it: no JavaScript error, ink on
    the screen, each new section laid out with its text, and the red warning at the top of a
    report that is not redacted (a masked note instead when it is)."""
    from interpret.maps.browser import render_check

    page = result.to_html(tmp_path / "plain")
    check = render_check(page, screenshot=tmp_path / "shot.png", width=1200, height=1600)
    assert check.errors == [], check.errors
    assert check.plots >= 2 and check.ink > 0.05 and check.colors > 20  # not a blank page
    masked_page = result.to_html(tmp_path / "masked", redact=True)
    masked_check = render_check(masked_page, screenshot=tmp_path / "masked.png", height=1600)
    assert masked_check.errors == [], masked_check.errors

    def red(pixels):  # red pixels near the top of a screenshot (the risk badge has some too)
        top = pixels[:500].astype(int)
        return int(((top[..., 0] > 170) & (top[..., 1] < 90) & (top[..., 2] < 90)).sum())

    # the warning's red border (2 px round a full-width box) is painted, and only unredacted
    assert red(check.pixels) - red(masked_check.pixels) > 1000

    boxes = _layout(page, tmp_path)
    for key in NEW_SECTIONS:
        box = boxes[key]
        assert box["shown"] and box["height"] > 40 and box["width"] > 300, (key, box)
        assert box["text"] > 150, (key, box)  # a heading and real content, not an empty box
    warning = boxes["redaction"]
    assert "warning" in warning["cls"] and warning["shown"] and warning["height"] > 20
    assert warning["top"] < 400  # at the top: above every section
    assert warning["top"] < min(b["top"] for k, b in boxes.items() if k != "redaction")
    r, g, b = _rgb(warning["border"])
    assert r > 150 and g < 90 and b < 90, warning["border"]  # red

    masked = _layout(masked_page, tmp_path)
    assert "warning" not in masked["redaction"]["cls"] and masked["redaction"]["shown"]
    assert all(masked[k]["shown"] and masked[k]["text"] > 150 for k in NEW_SECTIONS)
