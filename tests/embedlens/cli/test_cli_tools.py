"""The probe, map and explain commands: real runs on tiny models, outputs, and one-line errors."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from embedlens.cli import main
from tiny_models import save_tiny, tiny_causal_lm, tiny_encoder


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    model, tok = tiny_encoder(dim=16)
    return str(save_tiny(model, tok, tmp_path_factory.mktemp("models") / "tiny"))


@pytest.fixture(scope="module")
def separable(tmp_path_factory):
    """Vectors whose label is the sign of their first coordinate, and the label files."""
    root = tmp_path_factory.mktemp("separable")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 8)).astype(np.float32)
    y = np.where(X[:, 0] > 0, "pos", "neg")
    np.save(root / "X.npy", X)
    (root / "labels.txt").write_text("\n".join(y) + "\n", encoding="utf-8")
    with open(root / "labels.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["sign", "strength", "group"])
        w.writerows(
            [s, f"{v:.4f}", f"g{i % 30}"] for i, (s, v) in enumerate(zip(y, X[:, 0], strict=True))
        )
    (root / "texts.txt").write_text(
        "\n".join(f"vector <b>{i}</b>" for i in range(len(X))) + "\n", encoding="utf-8"
    )
    return root


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    return err[-1] if err else ""


# --------------------------------------------------------------------------- probe


def test_probe_vectors_with_txt_labels_finds_the_signal(separable, tmp_path, capsys):
    out = tmp_path / "probe.json"
    args = ["probe", "--vectors", str(separable / "X.npy"), "--labels"]
    args += [str(separable / "labels.txt"), "--label", "sign", "--bootstrap", "200"]
    assert main([*args, "--out", str(out)]) == 0, capsys.readouterr().err
    summary = capsys.readouterr().out
    payload = json.loads(out.read_text())
    res = payload["result"]
    assert payload["records"] == 120 and payload["embedder"] is None
    assert res["metric"] == "accuracy" and res["score"] > 0.9 > 0.6 > res["baseline"]
    assert res["ci"][0] <= res["score"] <= res["ci"][1] and res["n_splits"] == 5
    assert summary.startswith("sign: accuracy ") and "95% CI" in summary and str(out) in summary
    # an existing output is refused and left alone
    before = out.read_text()
    assert main([*args, "--out", str(out)]) == 1
    assert "exists: pass --overwrite" in _err_line(capsys)
    assert out.read_text() == before
    # without --out the JSON goes to stdout, the summary to stderr
    assert main([*args, "--holdout", "0.25"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["result"]["n_splits"] == 1
    assert "held-out" in captured.err


def test_probe_regression_from_a_csv_column(separable, capsys):
    args = ["probe", "--vectors", str(separable / "X.npy"), "--labels"]
    args += [str(separable / "labels.csv"), "--label", "strength", "--task", "regression"]
    assert main([*args, "--bootstrap", "0"]) == 0, capsys.readouterr().err
    payload = json.loads(capsys.readouterr().out)
    assert payload["result"]["metric"] == "r2" and payload["result"]["score"] > 0.9


def test_probe_control_task_selectivity(separable, capsys):
    args = ["probe", "--vectors", str(separable / "X.npy"), "--labels"]
    args += [str(separable / "labels.csv"), "--label", "sign", "--control-key", "group"]
    assert main([*args, "--bootstrap", "100"]) == 0, capsys.readouterr().err
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    control = payload["control"]
    # the sign is in the vectors, a random label per group is not: high selectivity
    assert control["n_types"] == 30 and control["key"] == "group"
    assert control["selectivity"] > 0.3 and payload["result"]["score"] > 0.9
    assert control["ci"][0] <= control["selectivity"] <= control["ci"][1]
    assert "selectivity" in captured.err
    assert main([*args[:6], "strength", "--control-key", "group"]) == 1
    assert "needs class labels" in _err_line(capsys)


def test_probe_corpus_file_keeps_labels_aligned(tiny_dir, tmp_path, capsys):
    """Blank-text rows drop with their labels; the tiny embedder embeds the rest."""
    path = tmp_path / "notes.jsonl"
    rows = []
    for i in range(60):
        topic = "cats" if i % 2 else "dogs"
        rows.append({"text": f"my {topic} note number {i}", "topic": topic, "i": i})
    rows.insert(5, {"text": "   ", "topic": "cats", "i": -1})
    rows.insert(9, {"text": "a note nobody labelled", "topic": None, "i": -2})
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "topic.json"
    args = ["probe", "--corpus", str(path), "--label", "topic", "--embedder", tiny_dir]
    assert main([*args, "--bootstrap", "50", "--out", str(out)]) == 0, capsys.readouterr().err
    payload = json.loads(out.read_text())
    assert payload["records"] == 60 and payload["result"]["n_classes"] == 2
    assert payload["dropped"]["missing_label"] == 1
    assert payload["embedder"]["dim"] == 16 and payload["source"] == "notes.jsonl"
    # the topic word is in every text: even a random encoder separates two words this well
    assert payload["result"]["score"] > payload["result"]["baseline"]


def test_probe_builtin_corpus_rare_classes(tiny_dir, capsys):
    args = ["probe", "--corpus", "pii", "--limit", "40", "--label", "condition"]
    args += ["--embedder", tiny_dir, "--bootstrap", "0", "--cv", "2"]
    code = main(args)
    if code == 1:  # a condition with one record among 40: refused with the fix
        assert "--min-class-size" in _err_line(capsys)
    assert main([*args, "--min-class-size", "4"]) == 0, capsys.readouterr().err
    payload = json.loads(capsys.readouterr().out)
    kept = payload["records"] + payload["dropped"].get("rare_records", 0)
    assert kept == 40 and payload["result"]["n_samples"] == payload["records"]


@pytest.mark.slow
def test_probe_minilm_reads_the_condition_from_pii_vectors(tmp_path, capsys):
    """The built-in MiniLM: a linear probe recovers the medical condition far above chance."""
    out = tmp_path / "condition.json"
    args = ["probe", "--corpus", "pii", "--limit", "150", "--label", "condition"]
    args += ["--min-class-size", "5", "--bootstrap", "100", "--device", "cpu", "--out", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    res = json.loads(out.read_text())["result"]
    assert res["score"] > 0.8 and res["score"] > res["baseline"] + 0.5
    assert json.loads(out.read_text())["embedder"]["dim"] == 384


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--label", "colour"], "no column 'colour'"),
        (["--label", "sign", "--task", "regression"], "needs numeric labels"),
        (["--label", "sign", "--limit", "0"], "--limit must be at least 1"),
        (["--label", "sign", "--out", "x.txt"], "must end in .json"),
    ],
)
def test_probe_bad_input_gives_one_line(separable, capsys, extra, message):
    args = ["probe", "--vectors", str(separable / "X.npy"), "--labels"]
    args += [str(separable / "labels.csv"), *extra]
    assert main(args) == 1
    assert message in _err_line(capsys)


def test_probe_label_file_must_match_the_vectors(separable, tmp_path, capsys):
    short = tmp_path / "short.txt"
    short.write_text("pos\nneg\n", encoding="utf-8")
    args = ["probe", "--vectors", str(separable / "X.npy"), "--labels", str(short)]
    assert main([*args, "--label", "sign"]) == 1
    assert "has 2 rows but the vectors has 120" in _err_line(capsys)
    assert main(["probe", "--vectors", str(short), "--label", "x"]) == 1
    assert "expects a .npy file" in _err_line(capsys)


# --------------------------------------------------------------------------- map


def test_map_corpus_coloured_by_label(tiny_dir, tmp_path, capsys):
    out = tmp_path / "map.html"
    args = ["map", "--corpus", "pii", "--limit", "50", "--color", "condition", "--method", "pca"]
    args += ["--page", "plotly"]
    assert main([*args, "--embedder", tiny_dir, "--out", str(out)]) == 0, capsys.readouterr().err
    page = out.read_text(encoding="utf-8")
    assert "mapped 50 records" in capsys.readouterr().out
    assert "<script src=" not in page and "plotly" in page.lower()
    assert "coloured by condition" in page
    from embedlens.data import load_corpus

    conditions = set(load_corpus("pii", n=50).labels["condition"])
    assert sum(c in page for c in conditions) == len(conditions)
    assert main([*args, "--embedder", tiny_dir, "--out", str(out)]) == 1
    assert "--overwrite" in _err_line(capsys)


def test_map_vectors_with_texts_and_a_numeric_colour(separable, tmp_path, capsys):
    out = tmp_path / "vectors.html"
    args = ["map", "--vectors", str(separable / "X.npy"), "--texts", str(separable / "texts.txt")]
    args += ["--labels", str(separable / "labels.csv"), "--color", "strength", "--page", "plotly"]
    assert main([*args, "--method", "pca", "--out", str(out)]) == 0, capsys.readouterr().err
    page = out.read_text(encoding="utf-8")
    # a numeric column gets one trace with a colour bar, not 120 categories
    assert '"colorbar":{"title":{"text":"strength"}}' in page and '"showscale":true' in page
    assert "vector &lt;b&gt;7&lt;" in page  # hover texts are there, HTML-escaped
    assert main([*args, "--method", "pca", "--out", str(tmp_path / "m.png")]) == 1
    assert "must end in .html" in _err_line(capsys)
    short = tmp_path / "short.txt"
    short.write_text("one\ntwo\nthree\n", encoding="utf-8")
    args = ["map", "--vectors", str(separable / "X.npy"), "--texts", str(short), "--method", "pca"]
    assert main([*args, "--out", str(tmp_path / "bad.html")]) == 1
    assert "has 3 rows but" in _err_line(capsys)
    assert not (tmp_path / "bad.html").exists()


# --------------------------------------------------------------------------- explain


def test_explain_fit_then_load_per_row_and_per_group(tiny_dir, tmp_path, capsys, one_torch_thread):
    lm = tiny_causal_lm(seed=0)
    lm_dir = save_tiny(lm.model, lm.tokenizer, tmp_path / "lm")
    corpus = tmp_path / "notes.csv"
    with open(corpus, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "animal"])
        w.writerows([f"a {a} sat here {i}", a] for i in range(12) for a in ("cat", "dog"))
    run = tmp_path / "run"
    out = tmp_path / "fit.jsonl"
    args = ["explain", "--fit", str(corpus), "--embedder", tiny_dir, "--decoder", str(lm_dir)]
    args += ["--tasks", "reconstruct", "--steps", "2", "--train-batch-size", "4"]
    args += ["--prefix-tokens", "2", "--max-length", "24", "--save", str(run)]
    args += ["--corpus", str(corpus), "--limit", "3", "--max-new-tokens", "4", "--out", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["index"] for r in rows] == [0, 1, 2]
    assert all(isinstance(r["explanation"], str) for r in rows)
    assert rows[1]["text"] == "a dog sat here 0"
    assert (run / "explainer" / "config.json").is_file()
    assert "explained 3 vectors" in capsys.readouterr().out
    # the run directory is not trained over silently; --resume continues it
    args[args.index(str(out))] = str(tmp_path / "again.jsonl")
    assert main(args) == 1
    assert "--resume" in _err_line(capsys)
    assert main([*args, "--resume"]) == 0, capsys.readouterr().err

    grouped = tmp_path / "groups.jsonl"
    args = ["explain", "--explainer", str(run / "explainer"), "--corpus", str(corpus)]
    args += ["--embedder", tiny_dir, "--decoder", str(lm_dir)]  # the paths it names: opted in
    args += ["--by", "animal", "--max-new-tokens", "4", "--out", str(grouped)]
    assert main(args) == 0, capsys.readouterr().err
    groups = {r["group"]: r for r in map(json.loads, grouped.read_text().splitlines())}
    assert set(groups) == {"cat", "dog"} and groups["cat"]["records"] == 12

    # vectors of another dimension are refused with the reason
    X = np.zeros((2, 5), dtype=np.float32)
    np.save(tmp_path / "X5.npy", X)
    args = ["explain", "--explainer", str(run / "explainer"), "--vectors", str(tmp_path / "X5.npy")]
    args += ["--embedder", tiny_dir, "--decoder", str(lm_dir)]
    assert main([*args, "--out", str(tmp_path / "x.jsonl")]) == 1
    assert "16" in _err_line(capsys)
    assert main(["explain", "--explainer", str(run), "--out", str(tmp_path / "y.jsonl")]) == 1
    assert "--corpus or --vectors" in _err_line(capsys)


# --------------------------------------------------------------------------- the CLI as a whole


@pytest.mark.parametrize(
    "command", ["embed", "train-inverter", "invert", "probe", "map", "explain", "audit"]
)
def test_every_command_has_a_helpful_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    # where the command writes: --out, or --save for the run folder of a trained model
    where = "--save" if command == "train-inverter" else "--out"
    assert text.startswith(f"usage: embedlens {command}") and where in text
    description = text.split("\n\n")[1]  # argparse: usage, then the description
    assert len(description.split()) >= 10, description
