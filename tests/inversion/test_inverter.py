"""inversion.inverter: a tiny inverter memorizes and decodes; save/load; bad input; SmolLM2."""

from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from inversion.inverter import Inverter  # noqa: E402
from tiny_models import save_tiny, tiny_causal_lm, tiny_embedder, tiny_seq2seq  # noqa: E402

TEXTS = [
    "the cat sat",
    "a dog ran",
    "red sun",
    "blue moon",
    "hello world",
    "green tree",
    "big house",
    "old man",
]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def emb():
    return tiny_embedder(dim=32)


@pytest.fixture(scope="module")
def fitted(emb):
    """A tiny decoder-only inverter trained to memorize eight texts."""
    torch.set_num_threads(1)
    inv = Inverter(
        embedder=emb,
        decoder=tiny_causal_lm(hidden=64, seed=0),
        prefix_tokens=4,
        max_length=16,
        finetune="full",
    )
    return inv.fit(TEXTS, steps=80, batch_size=8, lr=1e-2, warmup_steps=5, progress=False)


def test_tiny_inverter_memorizes_and_inverts(fitted, emb):
    hyp = fitted.invert(emb.embed(TEXTS), progress=False)
    assert isinstance(hyp, list) and all(isinstance(h, str) for h in hyp)
    exact = sum(h == t for h, t in zip(hyp, TEXTS, strict=True))
    assert exact >= 7, list(zip(hyp, TEXTS, strict=True))
    assert fitted.history_.final_loss < 0.05
    beams = fitted.invert(emb.embed(TEXTS[:3]), num_beams=3, batch_size=2, progress=False)
    assert beams == TEXTS[:3]
    one = fitted.invert(emb.embed(TEXTS[:1])[0], progress=False)  # a single vector
    assert one == TEXTS[:1]
    short = fitted.invert(emb.embed(["hello world"]), max_length=3, progress=False)
    assert short == ["hel"]  # at most max_length new tokens


def test_save_load_round_trip_gives_identical_inversions(fitted, emb, tmp_path):
    X = emb.embed(TEXTS)
    path = fitted.save_pretrained(tmp_path / "inv")
    config = json.loads((path / "config.json").read_text())
    assert config["format_version"] == 1 and config["class"] == "Inverter"
    assert config["embedder"] == {"name": emb.name, "dim": 32, "fingerprint": emb.fingerprint}
    assert config["prefix_tokens"] == 4 and config["finetune"] == "full"
    assert config["decoder"]["stored"] == "decoder"  # given as an object: written beside
    from safetensors import safe_open

    with safe_open(str(path / "model.safetensors"), "pt") as fh:
        keys = list(fh.keys())
    assert any(k.startswith("projector.") for k in keys)
    assert any(k.startswith("lm.") for k in keys)  # full fine-tuning: the LM was trained
    loaded = Inverter.from_pretrained(path, embedder=emb)
    assert loaded.invert(X, progress=False) == fitted.invert(X, progress=False)
    again = loaded.save_pretrained(tmp_path / "again")  # a loaded inverter saves again
    assert Inverter.from_pretrained(again, embedder=emb).invert(X[:2]) == loaded.invert(X[:2])


def test_frozen_decoder_is_referenced_by_spec_not_copied(emb, tmp_path):
    lm = tiny_causal_lm(hidden=32, seed=2)
    lm_dir = save_tiny(lm.model, lm.tokenizer, tmp_path / "lm")
    inv = Inverter(embedder=emb, decoder=str(lm_dir), prefix_tokens=2, max_length=12, device="cpu")
    inv.fit(TEXTS, steps=3, batch_size=4, progress=False)
    path = inv.save_pretrained(tmp_path / "inv")
    config = json.loads((path / "config.json").read_text())
    assert config["decoder"]["spec"] == str(lm_dir.resolve())
    assert not (path / "decoder").exists()
    from safetensors import safe_open

    with safe_open(str(path / "model.safetensors"), "pt") as fh:
        assert all(k.startswith("projector.") for k in fh.keys())  # noqa: SIM118 (a safe_open handle)
    X = emb.embed(TEXTS[:3])
    with pytest.raises(ValueError, match="reads only its own files"):  # a path: named, or not read
        Inverter.from_pretrained(path, embedder=emb, device="cpu")
    loaded = Inverter.from_pretrained(path, embedder=emb, decoder=str(lm_dir), device="cpu")
    assert loaded.invert(X) == inv.invert(X)
    # the LM stayed frozen: its weights are those in the directory
    for p, q in zip(inv.decoder_.model.parameters(), lm.model.parameters(), strict=True):
        assert torch.equal(p, q)


def test_loading_for_another_embedder_raises(fitted, tmp_path):
    path = fitted.save_pretrained(tmp_path / "inv")
    with pytest.raises(ValueError, match="fingerprint"):
        Inverter.from_pretrained(path, embedder=tiny_embedder(dim=32, seed=7))
    with pytest.raises(ValueError, match="trained for embedder"):
        Inverter.from_pretrained(path, embedder=tiny_embedder(dim=16))
    with pytest.raises(ValueError, match="pass it as embedder"):
        Inverter.from_pretrained(path)  # the tiny embedder's name cannot be loaded


def test_newer_format_and_foreign_directories_raise(fitted, emb, tmp_path):
    path = fitted.save_pretrained(tmp_path / "inv")
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**config, "format_version": 99}))
    with pytest.raises(ValueError, match="newer"):
        Inverter.from_pretrained(path, embedder=emb)
    (path / "config.json").write_text(json.dumps({**config, "class": "Explainer"}))
    with pytest.raises(ValueError, match="not an Inverter"):
        Inverter.from_pretrained(path, embedder=emb)
    (path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        Inverter.from_pretrained(path, embedder=emb)
    with pytest.raises(FileNotFoundError, match="not a saved model directory"):
        Inverter.from_pretrained(tmp_path / "missing", embedder=emb)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"config\.json"):
        Inverter.from_pretrained(tmp_path / "empty", embedder=emb)


def test_wrong_dimension_nan_and_unfitted_raise(fitted):
    with pytest.raises(ValueError, match=r"expects 32-dim embeddings from 'tiny-bert-32', got 48"):
        fitted.invert(np.zeros((2, 48), dtype=np.float32))
    bad = np.ones((3, 32), dtype=np.float32)
    bad[1, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fitted.invert(bad)
    with pytest.raises(ValueError, match="2-D"):
        fitted.invert(np.zeros((2, 3, 32)))
    with pytest.raises(ValueError, match="num_beams"):
        fitted.invert(np.ones((1, 32)), num_beams=0)
    with pytest.raises(ValueError, match="batch_size"):
        fitted.invert(np.ones((1, 32)), batch_size=0)
    with pytest.raises(RuntimeError, match="not fitted"):
        Inverter(embedder=fitted.embedder_).invert(np.ones((1, 32)))


def test_bad_constructor_arguments_raise_at_fit(emb):
    lm = tiny_causal_lm(hidden=32)
    with pytest.raises(ValueError, match="unknown finetune mode"):
        Inverter(embedder=emb, decoder=lm, finetune="adapters").fit(TEXTS, steps=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="prefix_tokens"):
        Inverter(embedder=emb, decoder=lm, prefix_tokens=0).fit(TEXTS, steps=1)
    with pytest.raises(TypeError, match="decoder must be"):
        Inverter(embedder=emb, decoder=42).fit(TEXTS, steps=1, progress=False)  # type: ignore[arg-type]


def test_lora_without_peft_names_the_extra(emb, monkeypatch):
    monkeypatch.setitem(sys.modules, "peft", None)  # as if peft were not installed
    inv = Inverter(embedder=emb, decoder=tiny_causal_lm(hidden=32), finetune="lora")
    with pytest.raises(ImportError, match=r"embedlens\[lora\]"):
        inv.fit(TEXTS, steps=1, progress=False)


@pytest.mark.skipif(importlib.util.find_spec("peft") is None, reason="needs embedlens[lora]")
def test_lora_trains_only_adapters_and_round_trips(emb, tmp_path):
    lm = tiny_causal_lm(hidden=64, seed=0)
    inv = Inverter(
        embedder=emb, decoder=lm, prefix_tokens=4, max_length=16, finetune="lora", lora_rank=4
    )
    inv.fit(TEXTS[:4], steps=60, batch_size=4, lr=1e-2, warmup_steps=5, progress=False)
    trained = [n for n, p in inv.trainable_module().named_parameters() if p.requires_grad]
    assert any("lora_" in n for n in trained)
    assert all("lora_" in n or n.startswith("projector.") for n in trained)
    X = emb.embed(TEXTS[:4])
    hyp = inv.invert(X, progress=False)
    path = inv.save_pretrained(tmp_path / "lora")
    from safetensors import safe_open

    with safe_open(str(path / "model.safetensors"), "pt") as fh:
        lm_keys = [k for k in fh.keys() if k.startswith("lm.")]  # noqa: SIM118
    assert lm_keys and all("lora_" in k for k in lm_keys)  # adapters only, not the base LM
    loaded = Inverter.from_pretrained(path, embedder=emb)
    assert loaded.invert(X, progress=False) == hyp
    again = loaded.save_pretrained(tmp_path / "again")
    assert Inverter.from_pretrained(again, embedder=emb).invert(X, progress=False) == hyp


def test_projector_only_keeps_the_decoder_untouched(emb):
    lm = tiny_causal_lm(hidden=32, seed=5)
    before = [p.detach().clone() for p in lm.model.parameters()]
    inv = Inverter(embedder=emb, decoder=lm, prefix_tokens=2, max_length=12)
    inv.fit(TEXTS, steps=3, batch_size=4, lr=1e-2, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(lm.model.parameters(), before, strict=True))
    full = Inverter(embedder=emb, decoder=lm, prefix_tokens=2, max_length=12, finetune="full")
    full.fit(TEXTS, steps=3, batch_size=4, lr=1e-2, progress=False)
    assert all(
        torch.equal(p, q) for p, q in zip(lm.model.parameters(), before, strict=True)
    )  # copied
    assert not all(
        torch.equal(p, q) for p, q in zip(full.decoder_.model.parameters(), before, strict=True)
    )


def test_seq2seq_backbone_learns_and_round_trips(emb, tmp_path):
    inv = Inverter(
        embedder=emb,
        decoder=tiny_seq2seq(hidden=32, seed=0),
        prefix_tokens=4,
        max_length=16,
        finetune="full",
    )
    inv.fit(TEXTS[:4], steps=100, batch_size=4, lr=1e-2, warmup_steps=5, progress=False)
    X = emb.embed(TEXTS[:4])
    hyp = inv.invert(X, progress=False)
    assert sum(h == t for h, t in zip(hyp, TEXTS[:4], strict=True)) >= 3, hyp
    path = inv.save_pretrained(tmp_path / "t5inv")
    assert json.loads((path / "config.json").read_text())["decoder"]["is_encoder_decoder"]
    assert Inverter.from_pretrained(path, embedder=emb).invert(X) == hyp


@pytest.mark.slow
def test_smollm2_inverter_on_minilm_trains_and_inverts(minilm, user_cache, tmp_path, monkeypatch):
    monkeypatch.setenv("EMBEDLENS_CACHE", str(user_cache))  # the converted SmolLM2 lives there
    texts = ["a cat sat on the mat", "the stock market fell", "she plays the violin"]
    inv = Inverter(embedder=minilm, decoder="smollm2", prefix_tokens=4, max_length=12, device="cpu")
    inv.fit(texts, steps=2, batch_size=3, lr=1e-3, progress=False)
    hyp = inv.invert(minilm.embed(texts[:2]), max_length=6, progress=False)
    assert len(hyp) == 2 and all(isinstance(h, str) for h in hyp)
    width = inv.decoder_.model.get_input_embeddings().weight.shape[1]
    assert inv.projector_.embed_dim == width == 576
    with pytest.raises(ValueError, match="expects 384-dim embeddings from"):
        inv.invert(np.zeros((1, 768), dtype=np.float32))
    path = inv.save_pretrained(tmp_path / "inv")
    config = json.loads((path / "config.json").read_text())
    assert config["decoder"]["spec"] == "smollm2" and not (path / "decoder").exists()
    loaded = Inverter.from_pretrained(path, embedder=minilm, device="cpu")
    assert loaded.invert(minilm.embed(texts[:1]), max_length=6) == hyp[:1]


def test_train_inverter_splits_trains_and_saves(emb, tmp_path):
    from inversion.recipes import train_inverter

    corpus = [f"text number {i}" for i in range(40)]
    inv = train_inverter(
        corpus,
        tmp_path / "run",
        embedder=emb,
        decoder=tiny_causal_lm(hidden=32),
        prefix_tokens=2,
        max_length=16,
        eval_size=5,
        steps=2,
        batch_size=4,
        progress=False,
    )
    held_out = [
        json.loads(x) for x in (tmp_path / "run" / "eval_texts.jsonl").read_text().splitlines()
    ]
    assert 1 <= len(held_out) <= 5 and set(held_out) <= set(corpus)
    assert inv.history_.history[0]["n_train"] <= 40 - len(held_out)  # held-out texts left out
    assert any(r.get("event") == "eval" for r in inv.history_.history)
    loaded = Inverter.from_pretrained(tmp_path / "run" / "inverter", embedder=emb)
    X = emb.embed(held_out[:2])
    assert loaded.invert(X) == inv.invert(X)
    with pytest.raises(ValueError, match="eval_size"):
        train_inverter(corpus, tmp_path / "x", embedder=emb, eval_size=-1)


def test_params_follow_the_scikit_learn_convention(emb):
    inv = Inverter(embedder=emb, decoder="smollm2", prefix_tokens=3)
    params = inv.get_params()
    assert params["prefix_tokens"] == 3 and params["embedder"] is emb
    assert not [k for k in vars(inv) if k.endswith("_")]  # __init__ only stores its arguments
    assert inv.set_params(max_length=20, finetune="full").max_length == 20
    assert Inverter(**inv.get_params()).get_params() == inv.get_params()
    with pytest.raises(ValueError, match="unknown parameters"):
        inv.set_params(beam=3)
    assert "prefix_tokens=3" in repr(inv)


def test_hub_id_without_hub_is_a_clear_error(emb, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="hub cannot be reached"):
        Inverter.from_pretrained("someone/minilm-inverter", embedder=emb)


def test_fit_on_given_vectors(emb):
    """Vectors computed elsewhere train the same model as embedding the texts in fit."""

    def make():
        return Inverter(
            embedder=emb,
            decoder=tiny_causal_lm(hidden=32, seed=0),
            prefix_tokens=2,
            max_length=12,
            finetune="projector",
        )

    kw = {"steps": 3, "batch_size": 4, "progress": False}
    a = make().fit(TEXTS, **kw)
    b = make().fit(TEXTS, vectors=emb.embed(TEXTS), **kw)
    for (name, wa), (_, wb) in zip(
        a.projector_.state_dict().items(), b.projector_.state_dict().items(), strict=True
    ):
        assert torch.equal(wa, wb), name
    shifted = make().fit(TEXTS, vectors=emb.embed(TEXTS) + 0.5, **kw)
    assert not torch.equal(
        next(iter(shifted.projector_.state_dict().values())),
        next(iter(a.projector_.state_dict().values())),
    )
    with pytest.raises(ValueError, match=r"vectors has shape \(3, 32\), expected \(8, 32\)"):
        make().fit(TEXTS, vectors=emb.embed(TEXTS[:3]), **kw)
    bad = emb.embed(TEXTS)
    bad[2, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        make().fit(TEXTS, vectors=bad, **kw)
