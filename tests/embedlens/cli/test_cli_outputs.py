"""What the command line does with --out (issue 28): --overwrite replaces only what embedlens
wrote, --out is checked for writability and claimed before any work (a second run to it is
refused), an interrupted --pdf leaves no Chromium and no temporary behind; and what it checks
before models load (the width of --vectors), and what an audit says while it embeds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from embedlens.cli import main

from .test_cli_refusals import _audit

FIXTURES = Path(__file__).parents[2] / "fixtures" / "soft_prefix_v1"


@pytest.fixture
def report(tmp_path, toy_client, capsys):
    """A report folder written by a small audit."""
    out = tmp_path / "report"
    assert main(_audit(out)) == 0, capsys.readouterr().err
    capsys.readouterr()
    toy_client.CALLS.clear()
    return out


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --------------------------------------------------------------------------- 2: --overwrite


def test_overwrite_keeps_a_file_embedlens_did_not_write(report, tmp_path, capsys):
    (report / "notes.txt").write_text("my own notes", encoding="utf-8")
    code = main(["report", str(report / "result.json"), "--out", str(report), "--overwrite"])
    err = capsys.readouterr().err
    assert code == 1 and "'notes.txt'" in err, err
    assert (report / "notes.txt").read_text(encoding="utf-8") == "my own notes"
    assert (report / "result.json").is_file() and _leftovers(tmp_path) == []
    (report / "notes.txt").unlink()  # a folder of embedlens's own files is still replaced
    (report / "report.pdf").write_bytes(b"%PDF an earlier print")
    code = main(["report", str(report / "result.json"), "--out", str(report), "--overwrite"])
    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in report.iterdir()) == ["index.html", "result.json"]


# --------------------------------------------------------------------------- 3: writability


def test_an_out_under_a_file_is_refused_before_any_work(tmp_path, toy_client, capsys):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    assert main(_audit(tmp_path / "notes.txt" / "report")) == 1
    err = capsys.readouterr().err
    assert "notes.txt" in err and "is a file" in err, err
    assert toy_client.CALLS == []
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder this process cannot write into (root ignores permission bits: /sys is read-only
    to every user)."""
    if os.geteuid() != 0:
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    folder = Path("/sys/kernel")
    if not folder.is_dir() or _can_create(folder):
        pytest.skip("no read-only folder to test with")
    yield folder


def _can_create(folder: Path) -> bool:
    try:
        (folder / ".embedlens-probe").touch()
    except OSError:
        return False
    (folder / ".embedlens-probe").unlink()
    return True


def test_an_out_in_a_read_only_folder_is_refused_before_any_work(
    read_only_folder, toy_client, capsys
):
    assert main(_audit(read_only_folder / "report")) == 1
    err = capsys.readouterr().err
    assert "cannot write" in err and str(read_only_folder) in err, err
    assert toy_client.CALLS == []


def test_missing_parents_of_out_are_removed_when_the_run_fails(tmp_path, toy_client, capsys):
    out = tmp_path / "new" / "a" / "report"
    assert main(_audit(out, "--option", "guided.beam_width=2")) == 1
    assert "does not run" in capsys.readouterr().err
    assert not (tmp_path / "new").exists() and toy_client.CALLS == []


# --------------------------------------------------------------------------- 8: one run per --out


def test_a_second_run_to_an_out_in_use_is_refused(tmp_path, toy_client, capsys):
    from embedlens._utils import output_lock

    out = tmp_path / "report"
    with output_lock(out):
        assert main(_audit(out)) == 1
    err = capsys.readouterr().err
    assert "another embedlens run" in err and str(out) in err, err
    assert toy_client.CALLS == [] and not out.exists()
    assert main(_audit(out)) == 0  # released: the next run writes it
    assert _leftovers(tmp_path) == []


@pytest.fixture
def slow_chromium(tmp_path):
    """A stand-in for Chromium that takes 2 s to print a PDF and, like Chromium, leaves a
    helper process behind that writes into the profile and the PDF 3 s later."""
    marks = tmp_path / "marks"
    marks.mkdir()
    script = tmp_path / "chromium"
    script.write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do case "$a" in\n'
        '  --print-to-pdf=*) pdf="${a#--print-to-pdf=}";;\n'
        '  --user-data-dir=*) profile="${a#--user-data-dir=}";;\n'
        "esac; done\n"
        'mkdir -p "$profile/Default"\n'
        '( sleep 3; echo late > "$profile/Default/late"; echo \'%PDF late\' > "$pdf";'
        f" echo $$ > {marks}/helper-wrote ) >/dev/null 2>&1 &\n"
        f"echo $! > {marks}/helper.pid\n"
        f"echo $$ >> {marks}/started\n"
        "sleep 2\n"
        "printf '%%PDF-1.4 stand-in\\n' > \"$pdf\"\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    temp = tmp_path / "temp"
    temp.mkdir()
    env = {**os.environ, "BROWSER_PATH": str(script), "TMPDIR": str(temp)}
    env["PYTHONPATH"] = os.pathsep.join([str(Path.cwd()), env.get("PYTHONPATH", "")])
    return env, marks, temp


def _default_sigint() -> None:
    """In the child: Ctrl-C as a terminal delivers it, even when this test runs in a shell's
    background job (which ignores SIGINT, and a child inherits that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _report_process(env, result: Path, out: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "embedlens.cli", "report", str(result), "--pdf"]
    return subprocess.Popen(
        [*command, "--out", str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )


def test_two_runs_to_the_same_new_out_never_both_write(report, tmp_path, slow_chromium):
    env, _, _ = slow_chromium
    out = tmp_path / "copy"
    runs = [_report_process(env, report / "result.json", out) for _ in range(2)]
    done = [(p.wait(timeout=120), p.communicate()[1]) for p in runs]
    assert sorted(code for code, _ in done) == [0, 1], done
    refused = next(err for code, err in done if code == 1)
    assert "another embedlens run" in refused or "exists" in refused, refused
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF-1.4 stand-in")
    assert _leftovers(tmp_path) == []


# --------------------------------------------------------------------------- 7: interrupted --pdf


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_an_interrupted_pdf_leaves_no_browser_and_no_temporary(report, tmp_path, slow_chromium):
    env, marks, temp = slow_chromium
    out = tmp_path / "copy"
    run = _report_process(env, report / "result.json", out)
    deadline = time.monotonic() + 120
    while not (marks / "helper.pid").is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (marks / "helper.pid").is_file(), run.communicate()
    time.sleep(0.3)
    run.send_signal(signal.SIGINT)
    code = run.wait(timeout=60)
    err = run.communicate()[1]
    assert code == 130 and "Errno" not in err, err
    helper = int((marks / "helper.pid").read_text().split()[0])
    time.sleep(3.5)  # the helper would have written by now
    assert not _alive(helper) and not (marks / "helper-wrote").exists()
    assert not out.exists() and _leftovers(tmp_path) == []
    assert [p.name for p in temp.iterdir()] == []


# --------------------------------------------------------------------------- 9: invert's width


@pytest.fixture
def five_wide(tmp_path):
    path = tmp_path / "X.npy"
    np.save(path, np.ones((3, 5), dtype=np.float32))
    return path


def test_invert_refuses_vectors_of_another_width_before_the_embedder_loads(
    five_wide, tmp_path, capsys, monkeypatch
):
    import embedlens.embedders

    def never(*args, **kwargs):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(embedlens.embedders, "load_embedder", never)
    out = tmp_path / "decoded.jsonl"
    for extra in ([], ["--zero-shot"]):
        args = ["invert", "--vectors", str(five_wide), "--embedder", "minilm", *extra]
        assert main([*args, "--out", str(out)]) == 1
        err = capsys.readouterr().err
        assert "5" in err and "384" in err and "minilm" in err and "AssertionError" not in err, err


def test_invert_refuses_vectors_of_another_width_before_the_inverter_loads(
    five_wide, tmp_path, capsys, monkeypatch
):
    from inversion import Inverter

    def never(*args, **kwargs):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(Inverter, "from_pretrained", never)
    args = ["invert", "--vectors", str(five_wide), "--inverter", str(FIXTURES / "inverter")]
    assert main([*args, "--out", str(tmp_path / "decoded.jsonl")]) == 1
    err = capsys.readouterr().err
    assert "16" in err and "tiny-bert-16" in err and "AssertionError" not in err, err


# --------------------------------------------------------------------------- stage lines


def test_an_audit_says_what_it_embeds_before_it_embeds(tmp_path, toy_client, capsys):
    assert main(_audit(tmp_path / "report")) == 0
    lines = capsys.readouterr().out.splitlines()
    embedding = [i for i, ln in enumerate(lines) if "embedding " in ln]
    embedded = next(i for i, ln in enumerate(lines) if "embedded with" in ln)
    assert embedding and embedding[0] < embedded, lines
    assert any("embedding 20 victim records" in lines[i] for i in embedding), lines
    assert json.loads((tmp_path / "report" / "result.json").read_text(encoding="utf-8"))
