"""The embedlens command: exit codes, one-line errors, and the embed/demo pipelines."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embedlens.cli import main
from tiny_models import save_tiny, tiny_encoder


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


def _audit_args(tiny_dir, out, *extra):
    return [
        "audit",
        "--embedder",
        str(tiny_dir),
        "--records",
        "20",
        "--attacks",
        "nn",
        "--bootstrap",
        "0",
        "--no-cache",
        "--threads",
        "1",
        "--out",
        str(out),
        *extra,
    ]


def test_audit_writes_the_report_and_refuses_an_existing_one(tmp_path, tiny_dir, capsys):
    out = tmp_path / "report"
    assert main(_audit_args(tiny_dir, out, "--defenses", "int8")) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "Risk " in printed and "report:" in printed
    result = json.loads((out / "result.json").read_text())
    assert [d["name"] for d in result["defenses"]] == ["none", "int8"]
    assert (out / "index.html").stat().st_size > 1_000_000
    before = (out / "result.json").read_bytes()
    assert main(_audit_args(tiny_dir, out, "--defenses", "none")) == 1
    assert "exists: pass --overwrite" in capsys.readouterr().err
    assert (out / "result.json").read_bytes() == before
    assert main(_audit_args(tiny_dir, out, "--defenses", "none", "--overwrite")) == 0
    assert json.loads((out / "result.json").read_text())["defenses"] == []
    capsys.readouterr()

    # --compare diffs the two results: the same run, so every change is 0
    other = tmp_path / "other"
    assert main(_audit_args(tiny_dir, other, "--defenses", "int8")) == 0
    capsys.readouterr()
    assert main(["audit", "--compare", str(out), str(other / "result.json")]) == 0
    diff = capsys.readouterr().out
    assert "utility recall@10" in diff and "nearest-neighbour overall recovery" in diff
    assert "defense int8 recall@10" in diff  # only B has it: n/a on A's side
    not_result = tmp_path / "x.json"
    not_result.write_text("[1, 2]")
    assert main(["audit", "--compare", str(out), str(not_result)]) == 1
    assert "not an audit result" in capsys.readouterr().err


def test_audit_bad_input_is_one_line_and_writes_nothing(tmp_path, tiny_dir, capsys):
    out = tmp_path / "report"
    cases = [
        (["--attacks", "telepathy"], "valid attacks are nearest-neighbour"),
        (["--defenses", "prayer"], "valid defenses are noise"),
        (["--defenses", "leace:religion"], "no label column 'religion'"),
        (["--corpus", str(tmp_path / "missing.txt")], "missing.txt"),
        (["--budget", "soon"], "cannot read the budget"),
        (["--option", "guided"], "not ATTACK.KEY=VALUE"),
    ]
    for extra, message in cases:
        assert main(_audit_args(tiny_dir, out, *extra)) == 1, extra
        err = capsys.readouterr().err  # (transformers may draw a loading bar before it)
        last = err.strip().splitlines()[-1]
        assert last.startswith("embedlens audit: error:") and message in last, err
        assert err.count("embedlens audit: error:") == 1
        assert not out.exists()


def test_demo_runs_the_default_audit_and_replaces_its_output(tmp_path, tiny_dir, capsys):
    out = tmp_path / "demo"
    args = ["demo", "--embedder", str(tiny_dir), "--records", "20", "--attacks", "nn,guided"]
    args += ["--defenses", "noise:0.1", "--no-decoder", "--bootstrap", "0", "--no-cache"]
    args += ["--out", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    assert main(args) == 0  # demo-out is scratch: a re-run replaces it
    result = json.loads((out / "result.json").read_text())
    assert list(result["attacks"]) == ["nearest-neighbour"]  # --no-decoder dropped guided
    # 3.5 minutes: the redacted copy and its PDF follow within make demo's 5
    assert result["config"]["budget"]["seconds"] == 210.0


def test_train_inverter_then_invert(tmp_path, tiny_dir, capsys):
    import random

    from tiny_models import tiny_causal_lm

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
            "--embedder",  # the paths its config.json names are read only when named again
            str(tiny_dir),
            "--decoder",
            str(lm_dir),
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


def test_audit_of_a_function_embedder(tmp_path, tiny_dir, capsys, monkeypatch):
    """--embedder py:MODULE:FUNCTION audits any function texts -> vectors (a remote API)."""
    (tmp_path / "my_client.py").write_text(
        "import numpy as np\n"
        "def embed(texts):\n"
        "    return [[len(t), t.count('a'), t.count('e'), 1.0] for t in texts]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "report"
    args = _audit_args(tiny_dir, out, "--defenses", "none")
    args[args.index("--embedder") + 1] = "py:my_client:embed"
    assert main(args) == 0, capsys.readouterr().err
    result = json.loads((out / "result.json").read_text())
    assert result["config"]["embedder"]["name"] == "my_client:embed"
    assert result["config"]["embedder"]["dim"] == 4
    args[args.index("--embedder") + 1] = "py:my_client:nothing"
    assert main([*args, "--overwrite"]) == 1
    assert "cannot load 'nothing'" in capsys.readouterr().err


def test_invert_with_correction_steps(tmp_path, tiny_dir, capsys):
    """invert --steps N --beam-width B --corrector DIR: correction from the command line."""
    import torch

    from embedlens import load_embedder
    from inversion.corrector import Corrector
    from inversion.inverter import Inverter
    from tiny_models import tiny_causal_lm

    torch.set_num_threads(1)
    texts = ["the cat sat", "a dog ran", "red sun", "blue moon", "green tree", "old man"]
    corpus = tmp_path / "texts.txt"
    corpus.write_text("\n".join(texts))
    emb = load_embedder(str(tiny_dir))
    inv = Inverter(embedder=emb, decoder=tiny_causal_lm(seed=0), prefix_tokens=2, max_length=16)
    inv.fit(texts, steps=2, batch_size=3, progress=False)
    inv.save_pretrained(tmp_path / "inv")
    corr = Corrector(decoder=tiny_causal_lm(seed=1), prefix_tokens=2, max_length=16)
    corr.fit(texts, inverter=inv, steps=2, batch_size=3, progress=False)
    corr.save_pretrained(tmp_path / "corr")
    base = ["invert", "--inverter", str(tmp_path / "inv"), "--corpus", str(corpus)]
    base += ["--embedder", str(tiny_dir)]  # a path its config.json names: read only when named
    out = tmp_path / "fixed.jsonl"
    # steps > 0 with no corrector anywhere: a one-line reason, nothing written
    assert main([*base, "--steps", "2", "--out", str(out)]) == 1
    assert "corrector" in capsys.readouterr().err and not out.exists()
    args = [*base, "--steps", "2", "--beam-width", "2", "--corrector", str(tmp_path / "corr")]
    assert main([*args, "--out", str(out)]) == 0, capsys.readouterr().err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == len(texts) and all(r["queries"] >= 1 for r in rows)
    assert "embedder queries per text" in capsys.readouterr().out


def test_invert_zero_shot(tmp_path, tiny_dir, capsys):
    """invert --zero-shot: no trained model, the embedder's queries counted per text."""
    from tiny_models import tiny_causal_lm

    lm = tiny_causal_lm(seed=0)
    lm_dir = save_tiny(lm.model, lm.tokenizer, tmp_path / "lm")
    corpus = tmp_path / "texts.txt"
    corpus.write_text("a cat\nthe dog sat\nred hat\n")
    out = tmp_path / "zs.jsonl"
    args = ["invert", "--zero-shot", "--embedder", str(tiny_dir), "--decoder", str(lm_dir)]
    args += ["--corpus", str(corpus), "--limit", "2", "--out", str(out)]
    args += ["--max-queries", "20", "--max-length", "3", "--edit-queries", "0"]
    assert main(args) == 0, capsys.readouterr().err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["reference"] for r in rows] == ["a cat", "the dog sat"]
    assert all(0 < r["queries"] <= 20 and isinstance(r["text"], str) for r in rows)
    printed = capsys.readouterr().out
    assert "embedder queries per text" in printed and "token_f1" in printed
    # correction needs a trained inverter; a zero-shot run with --steps is refused
    assert main([*args, "--steps", "2", "--overwrite"]) == 1
    assert "need a trained --inverter" in capsys.readouterr().err
    # the tiny character-level LM has no whole words: the word search says what to do
    assert main([*args[:-2], "--edit-queries", "5", "--overwrite"]) == 1
    assert "vocabulary" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # both modes: argparse's usage error
        main(["invert", "--zero-shot", "--inverter", "x", "--corpus", str(corpus), "--out", "o"])
    assert exc.value.code == 2


def test_invert_default_search_attack(tmp_path, tiny_dir, capsys):
    """invert without --inverter runs the CPU search attack; bad vectors cost no set-up."""
    aux = tmp_path / "aux.txt"
    aux.write_text(
        "\n".join(
            f"the {a} sees a {b}"
            for a in ["cat", "dog", "bird"]
            for b in ["river", "barn", "tree", "hill"]
        )
        + "\n"
    )
    corpus = tmp_path / "texts.txt"
    corpus.write_text("the cat sees a hill\nthe bird sees a barn\n")
    out = tmp_path / "search.jsonl"
    args = ["invert", "--embedder", str(tiny_dir), "--aux", str(aux), "--out", str(out)]
    args += ["--max-queries", "60", "--threads", "1", "--method", "search"]
    assert main([*args, "--corpus", str(corpus)]) == 0, capsys.readouterr().err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["reference"] for r in rows] == ["the cat sees a hill", "the bird sees a barn"]
    assert all(0 < r["queries"] <= 60 and -1 <= r["cosine"] <= 1 for r in rows)
    printed = capsys.readouterr().out
    assert "token_f1" in printed and "queries once" in printed
    # the default method writes sentences with --decoder (here a tiny LM saved to a folder)
    from tiny_models import save_tiny, tiny_causal_lm

    lm = tiny_causal_lm(seed=0)
    lm_dir = save_tiny(lm.model, lm.tokenizer, tmp_path / "lm")
    sentence = [*args[:-2], "--decoder", str(lm_dir), "--corpus", str(corpus), "--overwrite"]
    assert main(sentence) == 0, capsys.readouterr().err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2 and all(0 < r["queries"] <= 60 for r in rows)
    # a 1-D file and a file of the wrong width are refused, with nothing written
    for name, arr in (("flat.npy", np.ones(16)), ("narrow.npy", np.ones((2, 10)))):
        np.save(tmp_path / name, arr)
        bad_out = tmp_path / f"{name}.jsonl"
        bad = ["invert", "--embedder", str(tiny_dir), "--aux", str(aux), "--out", str(bad_out)]
        assert main([*bad, "--vectors", str(tmp_path / name)]) == 1
        err = capsys.readouterr().err
        assert ("2-D" in err) if name == "flat.npy" else ("10 columns" in err), err
        assert not bad_out.exists()
    assert main([*args, "--corpus", str(corpus), "--overwrite", "--threads", "0"]) == 1
    assert "--threads" in capsys.readouterr().err
