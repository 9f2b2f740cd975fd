"""The command line refuses, before any work, an --out it may not write (issue 16): a folder it
did not write, a folder where a file goes, the current folder, a run it would restart."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embedlens.cli import main


@pytest.fixture
def work(tmp_path):
    """Someone's own folder of files."""
    root = tmp_path / "work"
    (root / "sub").mkdir(parents=True)
    (root / "thesis.tex").write_text("my thesis", encoding="utf-8")
    (root / "sub" / "data.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    return root


def _intact(root) -> bool:
    return (
        sorted(p.name for p in root.iterdir()) == ["sub", "thesis.tex"]
        and (root / "sub" / "data.csv").is_file()
    )


def _audit(out, *extra):
    return [
        "audit",
        "--embedder",
        "py:toy_client:embed",
        "--limit",
        "20",
        "--attacks",
        "nn",
        "--defenses",
        "none",
        "--bootstrap",
        "0",
        "--no-cache",
        "--out",
        str(out),
        *extra,
    ]


def test_audit_overwrite_never_empties_a_users_folder(work, toy_client, capsys):
    assert main(_audit(work, "--overwrite")) == 1
    err = capsys.readouterr().err
    assert "did not write" in err and str(work) in err
    assert _intact(work)
    assert toy_client.CALLS == []  # refused before anything was embedded


def test_audit_out_dot_is_refused_up_front(tmp_path, toy_client, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(_audit(".", "--overwrite")) == 1
    assert "current folder" in capsys.readouterr().err
    assert toy_client.CALLS == []


def test_audit_overwrite_replaces_its_own_report(tmp_path, toy_client, capsys):
    out = tmp_path / "report"
    assert main(_audit(out)) == 0, capsys.readouterr().err
    first = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert main(_audit(out, "--overwrite", "--seed", "1")) == 0, capsys.readouterr().err
    again = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert (first["config"]["seed"], again["config"]["seed"]) == (0, 1)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")]


def test_audit_option_for_an_attack_not_run_is_refused(tmp_path, toy_client, capsys):
    out = tmp_path / "report"
    assert main(_audit(out, "--option", "guided.beam_width=2")) == 1
    assert "does not run" in capsys.readouterr().err
    assert not out.exists() and toy_client.CALLS == []


def test_map_overwrite_never_replaces_a_folder_by_a_file(tmp_path, work, capsys):
    X = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32)
    np.save(tmp_path / "X.npy", X)
    folder = work.rename(tmp_path / "dir.html")
    args = ["map", "--vectors", str(tmp_path / "X.npy"), "--method", "pca"]
    assert main([*args, "--out", str(folder), "--overwrite"]) == 1
    assert "is a folder" in capsys.readouterr().err
    assert _intact(folder)
    out = tmp_path / "map.html"  # a file embedlens wrote is replaced by a file
    assert main([*args, "--out", str(out)]) == 0
    assert main([*args, "--out", str(out), "--overwrite", "--title", "again"]) == 0
    assert "again" in out.read_text(encoding="utf-8")


def test_map_default_title_escapes_the_column_name(tmp_path, capsys):
    corpus = tmp_path / "notes.csv"
    rows = [f"note number {i},{'a' if i % 2 else 'b'}" for i in range(12)]
    corpus.write_text('text,<b>kind</b>"x"\n' + "\n".join(rows) + "\n", encoding="utf-8")
    np.save(tmp_path / "X.npy", np.random.default_rng(0).normal(size=(12, 4)).astype("f4"))
    out = tmp_path / "map.html"
    args = ["map", "--vectors", str(tmp_path / "X.npy"), "--labels", str(corpus)]
    args += ["--page", "plotly"]
    assert main([*args, "--color", '<b>kind</b>"x"', "--method", "pca", "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    # plotly's JSON writes "/" as \u002f; the quotes stay quotes (plotly shows &quot; as is)
    assert 'coloured by &lt;b&gt;kind&lt;\\u002fb&gt;\\"x\\"' in page
    assert "kind&lt;\\u002fb&gt;&quot;" not in page


def _run_folder(root):
    root.mkdir()
    (root / "train_log.jsonl").write_text('{"event": "start", "step": 0}\n', encoding="utf-8")
    (root / "eval_texts.jsonl").write_text('"held out"\n', encoding="utf-8")
    return root


def test_train_inverter_refuses_to_restart_an_existing_run(tmp_path, capsys):
    run = _run_folder(tmp_path / "run")
    corpus = tmp_path / "texts.txt"
    corpus.write_text("a cat\na dog\n", encoding="utf-8")
    args = ["train-inverter", "--embedder", str(tmp_path / "no-such-embedder")]
    args += ["--decoder", str(tmp_path / "no-such-lm"), "--corpus", str(corpus), "--out", str(run)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "--resume" in err and "--overwrite" in err and "holds a train-inverter run" in err
    assert (run / "train_log.jsonl").read_text(encoding="utf-8").count("\n") == 1
    assert (run / "eval_texts.jsonl").read_text(encoding="utf-8") == '"held out"\n'
    with pytest.raises(SystemExit) as exc:  # one or the other
        main([*args, "--resume", "--overwrite"])
    assert exc.value.code == 2


def test_train_inverter_run_folder_rules(tmp_path, work):
    from embedlens.cli.inversion import check_run_dir

    run = _run_folder(tmp_path / "run")
    check_run_dir(run, resume=True, overwrite=False)
    check_run_dir(run, resume=False, overwrite=True)
    check_run_dir(tmp_path / "new", resume=False, overwrite=False)
    (tmp_path / "empty").mkdir()
    check_run_dir(tmp_path / "empty", resume=False, overwrite=False)
    with pytest.raises(FileExistsError, match="holds no train-inverter run"):
        check_run_dir(work, resume=False, overwrite=True)
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(NotADirectoryError):
        check_run_dir(tmp_path / "file", resume=True, overwrite=False)
