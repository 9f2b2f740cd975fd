"""The embedlens command: exit codes, one-line errors, and the embed/demo pipelines."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embedlens.cli import main
from embedlens.tiny import save_tiny, tiny_encoder


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    model, tok = tiny_encoder(dim=16)
    return save_tiny(model, tok, tmp_path_factory.mktemp("models") / "tiny")


def test_help_and_no_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "embed" in capsys.readouterr().out
    assert main([]) == 2


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "minilm" in out and "smollm2" in out and "pii" in out


def test_embed_writes_npy(tmp_path, tiny_dir, capsys):
    src = tmp_path / "texts.txt"
    src.write_text("first text\nsecond one\n\nthird\n", encoding="utf-8")
    out = tmp_path / "X.npy"
    code = main(["embed", "--embedder", str(tiny_dir), "--corpus", str(src), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    X = np.load(out)
    assert X.shape == (3, 16) and X.dtype == np.float32
    # an existing output is refused without --overwrite, and left as it was
    before = out.read_bytes()
    assert (
        main(["embed", "--embedder", str(tiny_dir), "--corpus", str(src), "--out", str(out)]) == 1
    )
    assert "exists: pass --overwrite" in capsys.readouterr().err
    assert out.read_bytes() == before


def test_embed_errors_are_one_line(tmp_path, tiny_dir, capsys):
    code = main(
        ["embed", "--corpus", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "x.npy")]
    )
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "embedlens embed: error:" in err
    code = main(["embed", "--corpus", "pii", "--out", str(tmp_path / "x.csv")])
    assert code == 1 and "must end in .npy" in capsys.readouterr().err
    assert not (tmp_path / "x.npy").exists()


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--records", "300", "--out", str(out), "--no-decoder"]) == 0
    result = json.loads((out / "demo.json").read_text())
    assert result["records"] == 300 and result["embedder"]["dim"] == 384
    assert 0.3 <= result["retrieval"]["recall@10"] <= 1.0
    condition = result["attribute_inference"]["condition"]
    assert condition["accuracy"] > condition["baseline"] + 0.2
    assert "[4/5]" in capsys.readouterr().out
    nn = result["attacks"]["nearest neighbour"]
    assert 0.0 <= nn["token_f1"] <= 1.0 and "condition" in nn["field_recovery"]
    assert (out / "map.html").stat().st_size > 100_000


def test_train_inverter_then_invert(tmp_path, tiny_dir, capsys):
    import random

    from embedlens.tiny import tiny_causal_lm

    lm = tiny_causal_lm(seed=0)
    lm_dir = save_tiny(lm.model, lm.tokenizer, tmp_path / "lm")
    rng = random.Random(0)
    words = [
        "cat",
        "dog",
        "bird",
        "fish",
        "sun",
        "moon",
        "tree",
        "star",
        "red",
        "blue",
        "big",
        "small",
    ]
    corpus = tmp_path / "texts.txt"
    corpus.write_text("\n".join(" ".join(rng.choices(words, k=3)) for _ in range(40)))
    run = tmp_path / "run"
    args = ["train-inverter", "--embedder", str(tiny_dir), "--decoder", str(lm_dir)]
    args += ["--corpus", str(corpus), "--out", str(run), "--steps", "6", "--batch-size", "4"]
    args += ["--prefix-tokens", "2", "--eval-size", "4", "--eval-every", "3"]
    assert main(args) == 0, capsys.readouterr().err
    assert (run / "inverter" / "config.json").is_file()
    out = tmp_path / "inv.jsonl"
    code = main(
        [
            "invert",
            "--inverter",
            str(run / "inverter"),
            "--corpus",
            str(corpus),
            "--limit",
            "3",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 3 and all(isinstance(r["text"], str) and r["reference"] for r in rows)
    assert "token_f1" in capsys.readouterr().out
    # a resume with other settings is refused with the reason, and changes nothing
    assert main([*args[:-4], "--lr", "0.5", "--resume"]) == 1
    assert "cannot resume" in capsys.readouterr().err
