"""The shipped explainer ``minilm-smollm2``: loads offline by name, reads, explains, refuses others."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

NAME = "minilm-smollm2"


def test_the_shipped_explainer_is_small_fp16_and_records_its_reader():
    from embedlens.models import pretrained_names, pretrained_path

    assert NAME in pretrained_names()
    folder = pretrained_path(NAME)
    config = json.loads((folder / "config.json").read_text())
    assert config["class"] == "Explainer"
    assert config["reader"]["name"] == "search"
    assert [t["name"] for t in config["tasks"]] == ["reconstruct", "topic"]
    assert config["decoder"]["spec"] == "smollm2" and not config["decoder"].get("stored")
    card = (folder / "MODEL_CARD.md").read_text()
    for fact in ("scripts/train_explainer.py", "steps", "MPNet", "CPU"):
        assert fact in card, fact


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_load_by_name_explain_and_refuse_another_embedder(minilm, tmp_path, capsys):
    from embedlens.cli import main
    from interpret import Explainer
    from tiny_models import tiny_embedder

    ex = Explainer.from_pretrained(NAME, embedder=minilm)
    text = "the patient was treated for asthma at the clinic"
    X = minilm.embed([text])
    reading = ex.read(X)
    assert "asthma" in reading[0].lower()  # the reader finds the rare content word
    said = ex.explain(X, task="reconstruct", readings=reading)[0]
    assert said.strip()
    E = np.asarray(minilm.embed([said, "a recipe for chocolate cake"]), dtype=np.float64)
    cos = E @ X[0] / np.linalg.norm(E, axis=1) / np.linalg.norm(X[0])
    assert cos[0] > cos[1] and cos[0] > 0.5, (said, cos)

    with pytest.raises(ValueError, match="tiny-bert") as err:
        Explainer.from_pretrained(NAME, embedder=tiny_embedder(dim=384))
    assert "all-MiniLM-L6-v2" in str(err.value) or "minilm" in str(err.value).lower()

    # the CLI uses it with no --explainer
    corpus = tmp_path / "c.txt"
    corpus.write_text("the stock market fell sharply\n")
    out = tmp_path / "a.jsonl"
    args = ["explain", "--corpus", str(corpus), "--task", "topic", "--out", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    row = json.loads(out.read_text().splitlines()[0])
    assert row["text"] == "the stock market fell sharply" and row["explanation"].strip()


def test_the_cli_says_when_no_explainer_is_shipped_for_an_embedder(tmp_path, capsys):
    from embedlens.cli import main
    from tiny_models import save_tiny, tiny_encoder

    model, tok = tiny_encoder(dim=16)
    tiny = save_tiny(model, tok, tmp_path / "tiny")
    corpus = tmp_path / "c.txt"
    corpus.write_text("a text\n")
    out = tmp_path / "a.jsonl"
    args = ["explain", "--embedder", str(tiny), "--corpus", str(corpus), "--out", str(out)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "no explainer is shipped for embedder" in err and "--fit CORPUS" in err
    assert not out.exists()
