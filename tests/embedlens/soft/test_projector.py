"""embedlens.soft: the projector, splicing soft tokens into padded batches, generation."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from embedlens.soft import (  # noqa: E402
    IGNORE_INDEX,
    SoftPrompt,
    SoftPromptedLM,
    Tokens,
    generate_from_embeds,
    splice,
    token_embedding_norm,
)
from tiny_models import tiny_causal_lm, tiny_seq2seq  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def lm():
    return tiny_causal_lm(hidden=32, seed=3)


def _batch(tok, texts):
    enc = tok(texts, padding=True, add_special_tokens=False, return_tensors="pt")
    return enc["input_ids"], enc["attention_mask"]


# --------------------------------------------------------------------------- projector


def test_projector_shape_dtype_and_initial_norm(lm):
    sp = SoftPrompt.for_model(lm.model, in_dim=12, prefix_tokens=5)
    out = sp(torch.randn(3, 12))
    assert out.shape == (3, 5, 32)
    assert out.dtype == torch.float32
    target = token_embedding_norm(lm.model)
    norms = out.norm(dim=-1)
    assert torch.allclose(norms, torch.full_like(norms, target), rtol=1e-3)


def test_projector_several_vectors_per_row_get_their_own_tokens():
    sp = SoftPrompt(in_dim=6, embed_dim=8, prefix_tokens=2)
    x = torch.randn(4, 3, 6)
    out = sp(x)
    assert out.shape == (4, 6, 8)
    assert torch.allclose(out[:, 2:4], sp(x[:, 1]), atol=1e-6)


def test_projector_gradient_reaches_every_parameter():
    sp = SoftPrompt(in_dim=6, embed_dim=8, prefix_tokens=2, hidden=10)
    sp(torch.randn(4, 6)).pow(2).sum().backward()
    for name, p in sp.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_projector_without_input_norm_and_config_round_trip():
    sp = SoftPrompt(in_dim=6, embed_dim=8, prefix_tokens=2, normalize_input=False, target_norm=3.0)
    again = SoftPrompt(**sp.config())
    again.load_state_dict(sp.state_dict())
    x = torch.randn(2, 6)
    assert torch.equal(sp(x), again(x))
    assert float(sp(x).detach().norm(dim=-1).mean()) == pytest.approx(3.0, rel=1e-3)


@pytest.mark.parametrize(
    "kwargs", [{"in_dim": 0}, {"embed_dim": -1}, {"prefix_tokens": 0}, {"target_norm": -1.0}]
)
def test_projector_bad_arguments(kwargs):
    args = {"in_dim": 4, "embed_dim": 4, "prefix_tokens": 2, **kwargs}
    with pytest.raises(ValueError):
        SoftPrompt(**args)


def test_projector_rejects_wrong_input_width():
    sp = SoftPrompt(in_dim=6, embed_dim=8, prefix_tokens=2)
    with pytest.raises(ValueError, match=r"\(n, 6\)"):
        sp(torch.randn(2, 7))


# --------------------------------------------------------------------------- splicing


@pytest.mark.parametrize("side", ["left", "right"])
def test_padded_batch_gives_each_row_the_logits_it_gets_alone(lm, side):
    ids, mask = _batch(lm.tokenizer, ["hello there world", "hi", "a cat"])
    soft = torch.randn(3, 4, 32)
    batch = splice(lm.model, [soft, Tokens(ids, mask, target=True)], padding_side=side)
    with torch.no_grad():
        logits = lm.model(**batch.model_inputs(labels=False)).logits
    for i in range(3):
        n = int(mask[i].sum())
        alone = splice(lm.model, [soft[i : i + 1], Tokens(ids[i : i + 1, :n], mask[i : i + 1, :n])])
        with torch.no_grad():
            ref = lm.model(**alone.model_inputs(labels=False)).logits[0]
        real = batch.attention_mask[i].bool()
        assert real.sum() == 4 + n
        torch.testing.assert_close(logits[i][real], ref, atol=1e-5, rtol=1e-5)


def test_splice_labels_positions_and_padding_side(lm):
    pad = lm.tokenizer.pad_token_id
    left_ids = torch.tensor([[10, 11, 12], [pad, pad, 13]])  # input padded on the left
    left_mask = torch.tensor([[1, 1, 1], [0, 0, 1]])
    batch = splice(lm.model, [torch.zeros(2, 2, 32), Tokens(left_ids, left_mask, target=True)])
    assert batch.attention_mask.tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]
    assert batch.position_ids.tolist() == [[0, 1, 2, 3, 4], [0, 1, 2, 0, 0]]
    x = IGNORE_INDEX
    assert batch.labels.tolist() == [[x, x, 10, 11, 12], [x, x, 13, x, x]]
    right_mask = left_mask.flip(1)
    right_ids = torch.tensor([[10, 11, 12], [13, pad, pad]])
    left = splice(
        lm.model, [torch.zeros(2, 2, 32), Tokens(right_ids, right_mask)], padding_side="left"
    )
    assert left.attention_mask.tolist() == [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]]
    assert left.position_ids.tolist() == [[0, 1, 2, 3, 4], [0, 0, 0, 1, 2]]
    assert (left.labels == IGNORE_INDEX).all()  # nothing marked as a target
    assert torch.equal(left.inputs_embeds[1, :2], torch.zeros(2, 32))
    emb = lm.model.get_input_embeddings()
    assert torch.equal(left.inputs_embeds[1, 4], emb.weight[13])


def test_splice_bad_parts(lm):
    ids, mask = _batch(lm.tokenizer, ["ab", "c"])
    with pytest.raises(ValueError, match="rows"):
        splice(lm.model, [torch.zeros(3, 2, 32), Tokens(ids, mask)])
    with pytest.raises(ValueError, match="soft tokens"):
        splice(lm.model, [torch.zeros(2, 2, 31)])
    with pytest.raises(TypeError, match="Tokens"):
        splice(lm.model, [ids])
    with pytest.raises(ValueError, match="padding_side"):
        splice(lm.model, [torch.zeros(2, 2, 32)], padding_side="middle")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one"):
        splice(lm.model, [])


# --------------------------------------------------------------------------- generation


@pytest.mark.parametrize("beams", [1, 3])
def test_batched_generation_matches_rows_alone(lm, beams):
    ids, mask = _batch(lm.tokenizer, ["the sun", "x"])
    soft = torch.randn(2, 3, 32)
    batch = splice(lm.model, [soft, Tokens(ids, mask)], padding_side="left")
    together = generate_from_embeds(
        lm.model, lm.tokenizer, batch.inputs_embeds, batch.attention_mask,
        max_new_tokens=6, num_beams=beams,
    )  # fmt: skip
    assert len(together) == 2 and all(isinstance(t, str) for t in together)
    for i in range(2):
        n = int(mask[i].sum())
        one = splice(lm.model, [soft[i : i + 1], Tokens(ids[i : i + 1, :n], mask[i : i + 1, :n])])
        alone = generate_from_embeds(
            lm.model, lm.tokenizer, one.inputs_embeds, one.attention_mask,
            max_new_tokens=6, num_beams=beams,
        )  # fmt: skip
        assert alone == [together[i]]


def test_generation_serves_encoder_decoders_and_checks_arguments():
    s2s = tiny_seq2seq(hidden=32)
    embeds = torch.randn(2, 3, 32)
    mask = torch.ones(2, 3, dtype=torch.long)
    out = generate_from_embeds(s2s.model, s2s.tokenizer, embeds, mask, max_new_tokens=4)
    assert len(out) == 2 and all(len(t) <= 4 for t in out)
    with pytest.raises(ValueError, match="num_beams"):
        generate_from_embeds(s2s.model, s2s.tokenizer, embeds, mask, num_beams=0)
    with pytest.raises(ValueError, match="max_new_tokens"):
        generate_from_embeds(s2s.model, s2s.tokenizer, embeds, mask, max_new_tokens=0)


def test_training_mode_leaves_a_frozen_lm_in_eval_mode():
    s2s = tiny_seq2seq(hidden=32)  # T5 has dropout: a frozen LM must not apply it
    both = SoftPromptedLM(SoftPrompt(in_dim=4, embed_dim=32, prefix_tokens=2), s2s.model)
    s2s.model.requires_grad_(False)
    both.train()
    assert both.projector.training and not both.lm.training
    s2s.model.requires_grad_(True)
    both.train()
    assert both.lm.training
    both.eval()
    assert not both.lm.training and not both.projector.training
    names = {n.split(".")[0] for n, _ in both.named_parameters()}
    assert names == {"projector", "lm"}
