"""inversion.vec2text: vec2text checkpoints' keys and shapes, offline, from tiny configs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from inversion.vec2text import (
    CORRECTOR_ROLES,
    Vec2TextInverter,
    Vec2TextUnavailableError,
    corrector_state_dict,
    inverter_from_vec2text,
    load_vec2text_inverter,
)

K, HIDDEN = 4, 24  # num_repeat_tokens, bottleneck width


def _transform(in_dim: int, d_model: int, seed: int) -> torch.nn.Sequential:
    """vec2text's embedding transform: Linear -> Dropout -> GELU -> Linear (as they define it)."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(in_dim, HIDDEN),
        torch.nn.Dropout(0.1),
        torch.nn.GELU(),
        torch.nn.Linear(HIDDEN, K * d_model),
    ).eval()


def _t5_state(t5) -> dict[str, torch.Tensor]:
    """The T5 weights as a hub checkpoint stores them: tied copies of `shared` left out."""
    tied = {"encoder.embed_tokens.weight", "decoder.embed_tokens.weight", "lm_head.weight"}
    return {k: v.clone() for k, v in t5.state_dict().items() if k not in tied}


@pytest.fixture(scope="module")
def source():
    """A tiny 'vec2text hypothesis checkpoint': T5, an embedder's weights, the transform."""
    from tiny_models import tiny_encoder, tiny_seq2seq

    t5 = tiny_seq2seq(seed=1)
    transform = _transform(32, 32, seed=2)
    encoder, _ = tiny_encoder(dim=32, seed=5)
    state = {f"encoder_decoder.{k}": v for k, v in _t5_state(t5.model).items()}
    state.update({f"embedder.{k}": v.clone() for k, v in encoder.state_dict().items()})
    state.update({f"embedding_transform.{k}": v.clone() for k, v in transform.state_dict().items()})
    return t5, transform, state


def _reference(t5, transform, X: np.ndarray, max_new_tokens: int) -> list[str]:
    """What vec2text's InversionModel computes: transform, reshape, T5 generate."""
    with torch.no_grad():
        embeds = transform(torch.from_numpy(X)).reshape(len(X), K, -1)
        ids = t5.model.generate(
            inputs_embeds=embeds,
            attention_mask=torch.ones(embeds.shape[:2], dtype=torch.long),
            max_new_tokens=max_new_tokens,
            num_beams=1,
            do_sample=False,
        )
    return [t.strip() for t in t5.tokenizer.batch_decode(ids, skip_special_tokens=True)]


def test_hypothesis_checkpoint_becomes_an_inverter_that_computes_the_same(
    source, tiny_emb, tmp_path, one_torch_thread
):
    from tiny_models import tiny_seq2seq

    t5, transform, state = source
    fresh = tiny_seq2seq(seed=9)  # other random weights: the checkpoint must replace them
    inv = inverter_from_vec2text(
        state,
        model=fresh.model,
        tokenizer=fresh.tokenizer,
        embedder=tiny_emb,
        prefix_tokens=K,
        max_length=6,
    )
    assert isinstance(inv, Vec2TextInverter) and inv.is_seq2seq_
    for key, value in t5.model.state_dict().items():
        torch.testing.assert_close(inv.decoder_.model.state_dict()[key], value)
    X = tiny_emb.embed(["a cat", "the dog sat", "red hat"])
    with torch.no_grad():
        soft = inv.projector_(torch.from_numpy(X))
        ref = transform(torch.from_numpy(X)).reshape(3, K, -1)
    torch.testing.assert_close(soft, ref)
    expected = _reference(t5, transform, X, max_new_tokens=6)
    assert inv.invert(X) == expected
    inv.save_pretrained(tmp_path / "v2t")
    again = Vec2TextInverter.from_pretrained(tmp_path / "v2t", embedder=tiny_emb)
    assert again.invert(X) == expected


def test_local_checkpoint_directory_loads_offline(source, tiny_emb, tmp_path, one_torch_thread):
    from safetensors.torch import save_file

    from tiny_models import save_tiny

    t5, transform, state = source
    base = save_tiny(t5.model, t5.tokenizer, tmp_path / "t5-base-tiny")
    ckpt = tmp_path / "gtr__nq__32"
    ckpt.mkdir()
    save_file({k: v.contiguous() for k, v in state.items()}, str(ckpt / "model.safetensors"))
    config = {
        "model_name_or_path": str(base),
        "num_repeat_tokens": K,
        "max_seq_length": 5,
        "embedder_model_name": "gtr_base",
    }
    (ckpt / "config.json").write_text(json.dumps(config))
    inv = load_vec2text_inverter(ckpt, embedder=tiny_emb)
    assert inv.max_length == 5 and inv.prefix_tokens == K
    X = tiny_emb.embed(["a cat"])
    assert inv.invert(X) == _reference(t5, transform, X, max_new_tokens=5)


def test_hub_unreachable_names_what_is_missing(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(Vec2TextUnavailableError) as err:
        load_vec2text_inverter()
    message = str(err.value)
    for piece in (
        "jxm/gtr__nq__32",
        "sentence-transformers/gtr-t5-base",
        "t5-base",
        "HF_HUB_OFFLINE",
    ):
        assert piece in message


def test_bad_checkpoints_are_refused(source, tiny_emb):
    from tiny_models import tiny_embedder, tiny_seq2seq

    _, _, state = source
    fresh = tiny_seq2seq()
    kw = {"model": fresh.model, "tokenizer": fresh.tokenizer, "prefix_tokens": K}
    with pytest.raises(ValueError, match="lacks"):
        broken = {k: v for k, v in state.items() if k != "embedding_transform.3.bias"}
        inverter_from_vec2text(broken, embedder=tiny_emb, **kw)
    with pytest.raises(ValueError, match="has shape"):
        inverter_from_vec2text(state, embedder=tiny_emb, **{**kw, "prefix_tokens": K + 1})
    with pytest.raises(ValueError, match="unexpected keys"):
        inverter_from_vec2text({**state, "extra.weight": torch.zeros(1)}, embedder=tiny_emb, **kw)
    with pytest.raises(ValueError, match="reads 32-dim vectors but the embedder"):
        inverter_from_vec2text(state, embedder=tiny_embedder(dim=16), **kw)
    wider = tiny_seq2seq(hidden=48)
    with pytest.raises(ValueError, match="has shape"):
        inverter_from_vec2text(
            state,
            model=wider.model,
            tokenizer=wider.tokenizer,
            embedder=tiny_emb,
            prefix_tokens=K,
        )


def test_corrector_keys_map_onto_the_corrector_projectors(one_torch_thread):
    from embedlens.soft import SoftPrompt
    from inversion.corrector import ROLES
    from tiny_models import tiny_seq2seq

    t5 = tiny_seq2seq(seed=3)
    state = {f"encoder_decoder.{k}": v for k, v in _t5_state(t5.model).items()}
    transforms = {}
    for i, name in enumerate(CORRECTOR_ROLES):
        transforms[name] = _transform(32, 32, seed=10 + i)
        state.update({f"{name}.{k}": v for k, v in transforms[name].state_dict().items()})
    state.update({"layernorm.weight": torch.ones(32), "layernorm.bias": torch.zeros(32)})
    out = corrector_state_dict(state, prefix_tokens=K, d_model=32)
    prompt = SoftPrompt.for_model(
        t5.model, 32, K, hidden=HIDDEN, roles=ROLES, normalize_input=(True, True, False)
    )
    own = {f"projector.{k}": v for k, v in prompt.state_dict().items()}
    proj = {k: v for k, v in out["weights"].items() if k.startswith("projector.")}
    assert set(proj) <= set(own)
    for key, value in proj.items():
        assert value.shape == own[key].shape, key
    # what embedlens's corrector has and vec2text's does not: gains and input LayerNorms
    left = {f"projector.{r}.gain" for r in ("target", "hypothesis", "difference")}
    left |= {
        f"projector.{r}.norm_in.{p}" for r in ("target", "hypothesis") for p in ("weight", "bias")
    }
    assert set(own) - set(proj) == left
    # e -> target, e - ê -> difference (transform 2), ê -> hypothesis (transform 3)
    torch.testing.assert_close(
        out["weights"]["projector.difference.mlp.3.weight"],
        transforms["embedding_transform_2"][3].weight,
    )
    lm = {k[3:] for k in out["weights"] if k.startswith("lm.")}
    assert lm == set(_t5_state(t5.model))
    assert out["sequence"][1::2] == ["target", "hypothesis", "difference", "tokens"]
    with pytest.raises(ValueError, match="layernorm"):
        corrector_state_dict(
            {k: v for k, v in state.items() if k != "layernorm.bias"}, prefix_tokens=K, d_model=32
        )
