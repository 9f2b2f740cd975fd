"""embedlens.saving: the soft-prefix directory helpers the inverter family and explainer share."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from embedlens.models import Decoder  # noqa: E402
from embedlens.saving import CONFIG_FILE, FORMAT_VERSION, WEIGHTS_FILE, embedder_record  # noqa: E402
from embedlens.soft.io import (  # noqa: E402
    DECODER_DIR,
    decoder_record,
    decoder_to_store,
    load_soft_prefix_weights,
    open_soft_prefix_dir,
    soft_prefix_config,
    soft_prefix_kwargs,
    soft_prefix_state,
    soft_prefix_weights,
    trained_lm_params,
    write_soft_prefix_dir,
)
from embedlens.soft.projector import SoftPromptedLM  # noqa: E402


class Projector(torch.nn.Module):
    """A projector with a parameter and a buffer (buffers are saved too)."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(3, 4)
        self.register_buffer("scale", torch.rand(4))


def tiny_module(seed: int, *, train_head: bool = True) -> SoftPromptedLM:
    """A projector plus an "LM" with a frozen body and (optionally) a trainable head."""
    torch.manual_seed(seed)
    lm = torch.nn.ModuleDict({"body": torch.nn.Linear(4, 4), "head": torch.nn.Linear(4, 2)})
    lm["body"].requires_grad_(False)
    lm["head"].requires_grad_(train_head)
    return SoftPromptedLM(Projector(), lm)


def test_trained_lm_params_are_only_those_that_require_grad():
    module = tiny_module(0)
    params = trained_lm_params(module.lm)
    assert sorted(params) == ["head.bias", "head.weight"]
    assert params["head.weight"] is module.lm["head"].weight  # the live parameters
    assert trained_lm_params(tiny_module(0, train_head=False).lm) == {}


def test_soft_prefix_weights_are_projector_and_trained_lm_on_cpu():
    module = tiny_module(0)
    state = soft_prefix_state(module)
    assert sorted(state) == [
        "lm.head.bias",
        "lm.head.weight",
        "projector.lin.bias",
        "projector.lin.weight",
        "projector.scale",
    ]
    assert state["lm.head.weight"].requires_grad  # live: the fingerprint reads these
    weights = soft_prefix_weights(module)
    assert list(weights) == list(state)
    for key, value in weights.items():
        assert value.device.type == "cpu" and value.is_contiguous() and not value.requires_grad
        assert torch.equal(value, state[key])


def test_write_then_load_restores_the_weights_and_leaves_eval_mode(tmp_path):
    saved = tiny_module(0)
    config = {"class": "Thing", "answer": 42}
    out = write_soft_prefix_dir(tmp_path / "run", soft_prefix_weights(saved), config)
    assert out == tmp_path / "run"
    assert sorted(p.name for p in out.iterdir()) == [CONFIG_FILE, WEIGHTS_FILE]  # no decoder/
    assert json.loads((out / CONFIG_FILE).read_text(encoding="utf-8")) == config

    fresh = tiny_module(1)
    fresh.train()
    assert not torch.equal(fresh.lm["head"].weight, saved.lm["head"].weight)
    load_soft_prefix_weights(out, fresh)  # reads model.safetensors
    for key, value in soft_prefix_state(saved).items():
        assert torch.equal(soft_prefix_state(fresh)[key], value), key
    assert not fresh.training and not fresh.projector.training and not fresh.lm.training
    # the frozen body is not in the file and stays as it was initialised
    assert not torch.equal(fresh.lm["body"].weight, saved.lm["body"].weight)


def test_loading_into_a_model_with_other_trained_params_names_the_keys(tmp_path):
    out = write_soft_prefix_dir(tmp_path / "run", soft_prefix_weights(tiny_module(0)), {})
    frozen = tiny_module(1, train_head=False)  # expects no lm.* weights
    with pytest.raises(ValueError) as info:
        load_soft_prefix_weights(out, frozen)
    message = str(info.value)
    assert repr(str(out)) in message
    assert "missing []" in message and "'head.bias', 'head.weight'" in message
    assert "load it with the decoder it was trained with" in message

    weights = soft_prefix_weights(tiny_module(0, train_head=False))
    with pytest.raises(
        ValueError, match=r"missing \['head.bias', 'head.weight'\], unexpected \[\]"
    ):
        load_soft_prefix_weights(tmp_path, tiny_module(1), weights)


def test_a_writer_that_raises_leaves_no_directory_and_keeps_an_old_one(tmp_path):
    def broken(directory: Path) -> None:
        (directory / "extra.txt").write_text("half", encoding="utf-8")
        raise RuntimeError("disk full")

    weights = soft_prefix_weights(tiny_module(0))
    with pytest.raises(RuntimeError, match="disk full"):
        write_soft_prefix_dir(tmp_path / "run", weights, {}, extra_writer=broken)
    assert list(tmp_path.iterdir()) == []  # neither the target nor a temporary directory

    write_soft_prefix_dir(tmp_path / "run", weights, {"v": 1})
    with pytest.raises(RuntimeError):
        write_soft_prefix_dir(tmp_path / "run", weights, {"v": 2}, extra_writer=broken)
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    assert json.loads((tmp_path / "run" / CONFIG_FILE).read_text(encoding="utf-8")) == {"v": 1}

    def writes(directory: Path) -> None:
        (directory / "extra.txt").write_text("whole", encoding="utf-8")

    write_soft_prefix_dir(tmp_path / "run", weights, {"v": 3}, extra_writer=writes)
    assert (tmp_path / "run" / "extra.txt").read_text(encoding="utf-8") == "whole"


def test_decoder_record_references_names_and_dirs_and_stores_loaded_decoders(tmp_path, monkeypatch):
    loaded = Decoder(model=None, tokenizer=None, name="tiny-llama-32")
    assert decoder_record("smollm2", loaded) == {
        "spec": "smollm2",
        "stored": None,
        "name": "tiny-llama-32",
    }
    (tmp_path / "lm").mkdir()
    monkeypatch.chdir(tmp_path)
    absolute = str((tmp_path / "lm").resolve())
    assert decoder_record("lm", loaded)["spec"] == absolute  # a relative directory, made absolute
    assert decoder_record(Path("lm"), loaded)["spec"] == absolute
    (tmp_path / "t5:lm").mkdir()
    assert decoder_record("t5:lm", loaded)["spec"] == "t5:lm"  # a seq2seq spec, not a path
    given = Decoder(model=None, tokenizer=None, name="given")
    record = decoder_record(given, loaded, is_encoder_decoder=True)
    assert record == {
        "spec": None,
        "stored": DECODER_DIR,
        "name": "tiny-llama-32",
        "is_encoder_decoder": True,
    }


def test_decoder_to_store_is_the_model_as_given_with_the_loaded_tokenizer():
    loaded = Decoder(model="with adapters", tokenizer="padded tokenizer", name="tiny")
    given = Decoder(model="as given", tokenizer="raw tokenizer", name="given")
    assert decoder_to_store(given, loaded) == Decoder("as given", "padded tokenizer", "tiny")
    assert decoder_to_store("smollm2", loaded) == loaded


def test_a_stored_decoder_is_written_and_the_directory_reopens(tmp_path, tiny_emb):
    from embedlens.models import load_backbone
    from tiny_models import tiny_causal_lm

    lm = tiny_causal_lm(hidden=16, layers=1)
    record = decoder_record(lm, lm)
    config = soft_prefix_config("Thing", tiny_emb, record, {"prefix_tokens": 2})
    assert list(config) == [
        "format_version",
        "embedlens_version",
        "class",
        "embedder",
        "decoder",
        "prefix_tokens",
    ]
    assert config["format_version"] == FORMAT_VERSION
    assert config["embedder"] == embedder_record(tiny_emb)
    weights = soft_prefix_weights(tiny_module(0))
    out = write_soft_prefix_dir(tmp_path / "run", weights, config, decoder_to_store(lm, lm))
    reloaded = load_backbone(out / DECODER_DIR)
    assert torch.equal(
        reloaded.model.get_input_embeddings().weight, lm.model.get_input_embeddings().weight
    )

    saved = open_soft_prefix_dir(out, "Thing", embedder=tiny_emb, decoder=None)
    assert saved.root == out and saved.config == config and saved.embedder is tiny_emb
    assert saved.stored == out / DECODER_DIR and saved.decoder == str(out / DECODER_DIR)
    override = open_soft_prefix_dir(os.fspath(out), "Thing", embedder=tiny_emb, decoder=lm)
    assert override.decoder is lm and override.stored is None
    with pytest.raises(ValueError, match="not an Other"):
        open_soft_prefix_dir(out, "Other", embedder=tiny_emb, decoder=None)


def test_soft_prefix_kwargs_reads_the_shared_settings_with_defaults_for_old_configs():
    config = {"prefix_tokens": 4, "finetune": "lora", "max_length": 16, "tasks": []}
    assert soft_prefix_kwargs(config) == {
        "prefix_tokens": 4,
        "finetune": "lora",
        "max_length": 16,
        "hidden": None,
        "lora_rank": 16,
    }
    assert soft_prefix_kwargs({**config, "hidden": 8, "lora_rank": 2})["lora_rank"] == 2
