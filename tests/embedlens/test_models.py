"""Model resolution, devices, dtypes, the built-in decoder and the tiny test models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from embedlens.models import (
    cache_dir,
    check_model_dir,
    load_decoder,
    resolve_device,
    resolve_dtype,
    resolve_model_source,
    smollm2_dir,
)
from tiny_models import save_tiny, tiny_causal_lm, tiny_seq2seq, tiny_tokenizer


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device(None).type in {"cuda", "mps", "cpu"}
    with pytest.raises(ValueError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match=r"device='cuda' was asked for.*no CUDA device"):
            resolve_device("cuda")


def test_resolve_dtype():
    assert resolve_dtype(None) is torch.float32
    assert resolve_dtype("bf16") is torch.bfloat16
    assert resolve_dtype(torch.float16) is torch.float16
    with pytest.raises(ValueError, match="unknown dtype 'float8'"):
        resolve_dtype("float8")


def test_cache_dir_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("EMBEDLENS_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("EMBEDLENS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "embedlens"


def test_resolve_builtin_and_hub_like(tmp_path):
    assert (check_model_dir(resolve_model_source("minilm", builtins={"minilm": ""}))).is_dir()
    with pytest.raises(ValueError, match="not a model directory"):
        check_model_dir(tmp_path)


def test_tiny_tokenizer_round_trip():
    tok = tiny_tokenizer()
    ids = tok("Hello, world!")["input_ids"]
    assert len(ids) == len("Hello, world!")
    assert tok.decode(ids) == "Hello, world!"
    assert tok.decode(tok("é")["input_ids"]) == "[UNK]"


def test_tiny_causal_lm_is_deterministic_and_generates():
    a, b = tiny_causal_lm(seed=3), tiny_causal_lm(seed=3)
    for (ka, va), (_, vb) in zip(
        a.model.state_dict().items(), b.model.state_dict().items(), strict=True
    ):
        assert torch.equal(va, vb), ka
    c = tiny_causal_lm(seed=4)
    assert not torch.equal(a.model.lm_head.weight, c.model.lm_head.weight)
    ids = a.tokenizer("ab", return_tensors="pt")
    out = a.model.generate(**ids, max_new_tokens=5, do_sample=False)
    assert out.shape == (1, 7)


def test_tiny_models_leave_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tiny_causal_lm(seed=0)
    tiny_seq2seq(seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_load_decoder_from_local_directory(tmp_path):
    lm = tiny_causal_lm(seed=1)
    path = save_tiny(lm.model, lm.tokenizer, tmp_path / "lm")
    dec = load_decoder(str(path), device="cpu")
    ids = lm.tokenizer("hello", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        np.testing.assert_allclose(
            dec.model(ids).logits.numpy(), lm.model(ids).logits.numpy(), atol=1e-5
        )
    assert dec.name == str(path) and not dec.model.training


def test_load_decoder_bad_specs(tmp_path):
    with pytest.raises(ValueError, match="not a model directory"):
        load_decoder(str(tmp_path))
    with pytest.raises(ValueError, match="did you mean the built-in 'smollm2'"):
        load_decoder("smolm2")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_decoder("./no/such/dir")


@pytest.mark.slow
def test_smollm2_greedy_text_is_sensible(smollm2):
    model, tok, name = smollm2
    assert name == "smollm2" and model.config.model_type == "llama"
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    enc = tok.apply_chat_template(
        messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.inference_mode():
        out = model.generate(**enc, max_new_tokens=16, do_sample=False)
    answer = tok.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    assert "Paris" in answer


@pytest.mark.slow
def test_smollm2_perplexity_real_far_below_shuffled(smollm2):
    model, tok, _ = smollm2
    text = (
        "The committee will meet on Tuesday morning to discuss the budget for next year, "
        "and every member is expected to bring a written proposal."
    )
    ids = tok(text, return_tensors="pt")["input_ids"]
    perm = torch.randperm(ids.shape[1], generator=torch.Generator().manual_seed(0))
    shuffled = ids[:, perm]

    def ppl(x: torch.Tensor) -> float:
        with torch.inference_mode():
            return float(torch.exp(model(x, labels=x).loss))

    real, mixed = ppl(ids), ppl(shuffled)
    assert real < 60, real
    assert mixed > 10 * real, (real, mixed)


@pytest.mark.slow
def test_smollm2_conversion_is_cached(smollm2, user_cache):
    import time

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EMBEDLENS_CACHE", str(user_cache))
        path = smollm2_dir()
        assert (path / "model.safetensors").is_file()
        start = time.perf_counter()
        load_decoder("smollm2", device="cpu")
        assert time.perf_counter() - start < 10
