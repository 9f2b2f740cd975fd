"""The audit report: self-contained, escaped, its numbers equal to result.json, written atomically."""

from __future__ import annotations

import html
import json
import re
import shutil

import pytest

from embedlens.audit import audit
from embedlens.audit.report import fmt, highlight, resolve_pointer, write_report
from embedlens.audit.result import AuditResult
from embedlens.data import Corpus

FAST = {"bag-of-words": {"epochs": 30}}  # fewer epochs: unit tests check plumbing, not strength
PAYLOAD = (
    "<script>document.title='pwned'</script>"
    "<img src=x onerror=\"throw new Error('pwned by a record')\"> "
)


def _poisoned(n: int, seed: int) -> Corpus:
    from embedlens.corpora import generate_pii

    c = generate_pii(n, seed=seed)
    texts = [PAYLOAD + c.texts[0], *c.texts[1:]]
    return Corpus("pii-poisoned", texts, fields=c.fields, labels=c.labels)


@pytest.fixture(scope="module")
def report(tiny_emb, tmp_path_factory):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = audit(
            tiny_emb,
            _poisoned(30, 0),
            attacker_corpus=_poisoned(40, 1),
            attacks=["nn", "bow"],
            defenses=["noise:0.1", "noise:2", "int8", "truncate:8", "leace:condition"],
            bootstrap=50,
            progress=False,
            attack_options=FAST,
        )
    finally:
        torch.set_num_threads(before)
    out = tmp_path_factory.mktemp("reports") / "audit"
    page = result.to_html(out)
    return result, page, page.read_text(encoding="utf-8")


def test_report_is_written_with_its_json(report):
    result, page, _ = report
    assert page.name == "index.html" and (page.parent / "result.json").is_file()
    assert AuditResult.from_json(page.parent) == result
    assert sorted(p.name for p in page.parent.iterdir()) == ["index.html", "result.json"]


def test_corpus_text_cannot_run_in_the_report(report):
    _, _, text = report
    assert "pwned" in text  # the record is shown...
    assert "<script>document.title" not in text and "<img src=x" not in text  # ...never live
    assert "&lt;script&gt;document.title" in text  # shown as text, escaped
    # every script on the page is plotly.js or draws a plot; none came from the corpus
    plots = text.count('class="plotly-graph-div"')
    assert plots == 4 and text.count("<script") == 1 + plots  # plotly.js and one per plot


def test_report_is_offline(report):
    _, _, text = report
    assert not re.search(r"<script[^>]+src=", text)
    assert not re.search(r"<link[^>]+href=", text)
    assert not re.search(r"url\(\s*['\"]?https?:", text)
    assert not re.search(r"<img[^>]+src=[\"']?https?:", text)
    assert "Plotly" in text and len(text) > 3_000_000  # plotly.js inlined


def test_every_number_shown_equals_result_json(report):
    _, page, text = report
    data = json.loads((page.parent / "result.json").read_text())
    cells = re.findall(r'data-key="([^"]+)" data-fmt="(\w+)">([^<]*)<', text)
    assert len(cells) > 60
    keys = {html.unescape(k) for k, _, _ in cells}
    for prefix in ("/attacks/", "/defenses/", "/summary/", "/utility/", "/config/"):
        assert any(k.startswith(prefix) for k in keys), prefix
    for key, kind, shown in cells:
        value = resolve_pointer(data, html.unescape(key))
        assert shown == fmt(value, kind), (key, shown, value)
    # and the page really carries the numbers: change one in the JSON and it no longer matches
    rate = data["attacks"]["nearest-neighbour"]["fields"]["condition"]["rate"]
    assert fmt(rate, "pct") in text


def test_sections_come_in_order(report):
    _, _, text = report
    ids = [
        text.index(f'<section id="{s}">')
        for s in ("summary", "leakage", "attributes", "defenses", "examples", "map")
    ]
    assert ids == sorted(ids)
    assert "risk-" in text[ids[0] : ids[1]]


def test_existing_directory_is_refused_and_nothing_half_written(report, tmp_path, monkeypatch):
    result, _, _ = report
    out = tmp_path / "rep"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="pass --overwrite"):
        write_report(result, out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]

    from embedlens.audit import report as rep

    def broken(_result):
        raise RuntimeError("disk full")

    monkeypatch.setattr(rep, "render_html", broken)
    fresh = tmp_path / "fresh"
    with pytest.raises(RuntimeError, match="disk full"):
        write_report(result, fresh)
    assert not fresh.exists() and [p.name for p in tmp_path.iterdir()] == ["rep"]
    monkeypatch.undo()
    # overwrite=True replaces only a report embedlens wrote, never a folder of one's own files
    with pytest.raises(FileExistsError, match="did not write"):
        write_report(result, out, overwrite=True)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    (out / "keep.txt").unlink()
    write_report(result, out, overwrite=True)  # an empty folder
    write_report(result, out, overwrite=True)  # an earlier report
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "result.json"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_tradeoff_figure_labels_every_defense_and_none_on_percent_axes(report):
    result, _, _ = report
    fig = result.figure("tradeoff")
    names = [t.name for t in fig.data]
    assert names == ["noise", "truncate", "int8", "leace", "none (no defense)"]
    labels = [t for trace in fig.data for t in trace.text]
    assert sorted(labels) == sorted(d["name"] for d in result.defenses)  # every point named
    assert all(tr.mode == "markers+text" for tr in fig.data)
    assert fig.layout.xaxis.tickformat == ".0%" and fig.layout.yaxis.tickformat == ".0%"
    noise = fig.data[0]
    assert list(noise.text) == ["noise:0.1", "noise:2"]
    assert list(noise.x) == [result.defense(n)["leakage_score"] for n in noise.text]
    # intervals as error bars, and filled markers only where the ranking rule separates
    d = result.defense("noise:2")
    assert noise.error_x.array[1] == pytest.approx(d["leakage_ci"][1] - d["leakage_score"])
    filled = [s == "circle" for s in noise.marker.symbol]
    assert filled == [result.defense(n)["vs_none"]["verdict"] == "lower" for n in noise.text]
    # the reference lines: none's leakage and 90% of its recall@10
    none = result.defense("none")
    lines = {(sh.x0, sh.y0) for sh in fig.layout.shapes}
    assert any(x == none["leakage_score"] for x, _ in lines)
    assert any(y == pytest.approx(0.9 * none["utility"]["recall@10"]) for _, y in lines)
    only = result.figure("tradeoff", family="truncate")
    assert {t.name for t in only.data} == {"truncate", "none (no defense)"}
    with pytest.raises(ValueError, match="no defense of kind"):
        result.figure("tradeoff", family="rot13")
    with pytest.raises(ValueError, match="unknown figure"):
        result.figure("pie")


def test_leakage_and_attribute_figures(report):
    result, _, _ = report
    fig = result.figure("leakage")
    nn_att = result.attacks["nearest-neighbour"]
    assert [t.name for t in fig.data] == [
        f"nearest-neighbour ({nn_att['n_attacked']} of {nn_att['n_records']} records)",
        "bag-of-words (30 of 30 records)",
        "prior: a guess without the vectors",
    ]
    nn = fig.data[0]
    assert list(nn.y) == [nn_att["fields"][f]["rate"] for f in nn.x]
    prior = fig.data[-1]
    assert list(prior.y) == [result.summary["prior_fields"][f] for f in prior.x]
    assert fig.layout.yaxis.tickformat == ".0%"
    attrs = result.figure("attributes")
    assert attrs.layout.yaxis.title.text.startswith("accuracy")
    assert attrs.data[0].error_y.array is not None


def test_highlight_escapes_and_marks():
    out = highlight("Ann <b>Lee</b> of Boston", ["ann", "boston"])
    assert out == "<mark>Ann</mark> &lt;b&gt;Lee&lt;/b&gt; of <mark>Boston</mark>"
    assert highlight("<x>", []) == "&lt;x&gt;"


def test_fmt():
    assert fmt(0.4213, "pct") == "42.1%" and fmt(None, "f3") == "n/a" and fmt(7.0, "int") == "7"
    assert fmt(7111, "int") == "7,111" and fmt(-0.035, "pts") == "-3.5"
    with pytest.raises(ValueError):
        fmt(1, "roman")


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("chromium") is None and shutil.which("google-chrome") is None,
    reason="needs a headless Chromium: apt-get install chromium (Debian)",
)
def test_real_audit_report_renders_in_chromium(minilm, tmp_path, one_torch_thread):
    """MiniLM on 120 records: the report renders without a JavaScript error (the poisoned
    record's onerror would raise one), and noise keeps retrieval at small strength and
    destroys it at large strength."""
    from interpret.maps.browser import render_check

    result = audit(
        minilm,
        _poisoned(120, 0),
        attacker_corpus=_poisoned(150, 1),
        attacks=["nn", "bow"],
        defenses=["noise:0.05", "noise:3", "leace:condition"],
        bootstrap=100,
        progress=False,
    )
    clean = result.utility
    small, large = result.defense("noise:0.05")["utility"], result.defense("noise:3")["utility"]
    assert clean["recall@10"] > 0.5
    assert small["recall@10"] >= clean["recall@10"] - 0.1
    assert large["recall@1"] < 0.5 * clean["recall@1"]
    assert large["recall@10"] < clean["recall@10"] - 0.2
    cond = result.attributes["condition"]
    assert cond["accuracy"] > cond["baseline"] + 0.2
    erased = result.defense("leace:condition")["attributes"]["condition"]
    assert erased < cond["baseline"] + 0.15
    page = result.to_html(tmp_path / "report")
    shot = tmp_path / "shot.png"
    check = render_check(page, screenshot=shot, width=1200, height=1600)
    assert check.errors == [], check.errors
    assert check.plots >= 4 and check.points > 120
    assert check.ink > 0.05 and check.colors > 20  # not a blank page
