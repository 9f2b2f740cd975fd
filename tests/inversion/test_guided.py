"""inversion.guided: zero-shot beam search ranked by the embedder's cosine, queries, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from inversion.guided import GuidedInverter

TEXTS = ["a cat", "the dog sat", "red hat"]


class _Recording:
    """Wraps an embedder, records every text it embeds (an attack's queries)."""

    def __init__(self, inner) -> None:
        self.inner, self.texts = inner, []
        self.name, self.dim, self.fingerprint = inner.name, inner.dim, inner.fingerprint

    def embed(self, texts, *, batch_size=32, progress=None):
        self.texts.extend(texts)
        return self.inner.embed(texts, batch_size=batch_size, progress=progress)


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.sum(a * b, axis=-1)


@pytest.fixture(scope="module")
def lm():
    from embedlens.tiny import tiny_causal_lm

    return tiny_causal_lm()


def test_returns_the_best_scored_text_and_counts_queries(tiny_emb, lm, one_torch_thread):
    emb = _Recording(tiny_emb)
    X = tiny_emb.embed(TEXTS)
    g = GuidedInverter(embedder=emb, decoder=lm, beam_width=2, top_k=4, max_length=6)
    out = g.invert(X)
    assert len(out) == 3 and all(isinstance(t, str) and t for t in out)
    assert g.queries_.dtype == np.int64 and g.queries_.shape == (3,)
    assert int(g.queries_.sum()) == len(emb.texts) > 0  # every query is counted, once
    assert (g.queries_ <= 4 + 2 * 4 * 5).all()  # step 1: one beam; then beam_width * top_k
    # the cosine decides: each answer is the best of the texts scored for it
    np.testing.assert_allclose(g.cosines_, _cos(tiny_emb.embed(out), X), atol=1e-5)
    seen = tiny_emb.embed(sorted(set(emb.texts)))
    best_any = _cos(seen[None, :, :], X[:, None, :]).max(axis=1)
    assert (g.cosines_ <= best_any + 1e-6).all()
    assert g.cosines_.max() > 0.5


def test_query_budget_is_respected(tiny_emb, lm, one_torch_thread):
    emb = _Recording(tiny_emb)
    g = GuidedInverter(embedder=emb, decoder=lm, beam_width=3, top_k=5, max_length=8)
    g.set_params(max_queries=7)
    g.invert(tiny_emb.embed(TEXTS))
    assert (g.queries_ <= 7).all() and (g.queries_ > 0).all()
    assert int(g.queries_.sum()) == len(emb.texts)


def test_refinement_never_makes_the_answer_worse(tiny_emb, lm, one_torch_thread):
    X = tiny_emb.embed(TEXTS)
    g = GuidedInverter(embedder=tiny_emb, decoder=lm, beam_width=2, top_k=3, max_length=5)
    g.invert(X)
    plain, plain_q = g.cosines_.copy(), g.queries_.copy()
    g.set_params(refine_rounds=1, refine_prompt="Again: {text}")
    g.invert(X)
    assert (g.cosines_ >= plain - 1e-9).all()
    assert (g.queries_ > plain_q).all()  # the round costs queries


def test_black_box_function_embedder(tiny_emb, lm, one_torch_thread):
    from embedlens.embedders import FunctionEmbedder

    calls = []

    def remote(batch):
        calls.append(len(batch))
        return tiny_emb.embed(batch).tolist()

    api = FunctionEmbedder(remote, name="vendor/model", dim=tiny_emb.dim)
    g = GuidedInverter(embedder=api, decoder=lm, beam_width=2, top_k=3, max_length=4)
    g.set_params(embed_batch_size=4)
    out = g.invert(tiny_emb.embed(TEXTS[:2]))
    assert len(out) == 2 and calls and max(calls) <= 4  # batched as asked
    assert sum(calls) == int(g.queries_.sum())


def test_the_cached_search_sees_what_a_full_forward_sees(
    tiny_emb, lm, one_torch_thread, monkeypatch
):
    """Left-padded prompts of different lengths + the reordered KV cache == recomputing."""
    import torch

    g = GuidedInverter(embedder=tiny_emb, decoder=lm, beam_width=2, top_k=3, max_length=4)
    g.set_params(refine_rounds=1, refine_prompt="Make it better, please: {text}")
    checked = []
    original = GuidedInverter._step
    prompts: dict[int, list[int]] = {}
    original_search = GuidedInverter._search

    def search(self, rows, prompt_ids, targets, states):
        prompts.update(dict(zip(rows, prompt_ids, strict=True)))
        return original_search(self, rows, prompt_ids, targets, states)

    def step(self, beams, logits, *args):
        for b, row_logits in zip(beams, logits, strict=True):
            full = torch.tensor([[*prompts[b.row], *b.ids]])
            with torch.no_grad():
                ref = lm.model(input_ids=full).logits[0, -1]
            torch.testing.assert_close(row_logits, ref, atol=1e-4, rtol=1e-4)
            checked.append(len(b.ids))
        return original(self, beams, logits, *args)

    monkeypatch.setattr(GuidedInverter, "_search", search)
    monkeypatch.setattr(GuidedInverter, "_step", step)
    g.invert(tiny_emb.embed(TEXTS))
    assert max(checked) >= 2  # beams several tokens deep were checked


def test_bad_input_and_parameters(tiny_emb, lm):
    X = tiny_emb.embed(TEXTS)
    for params, match in [
        ({"beam_width": 0}, "beam_width must be a positive integer"),
        ({"top_k": 0}, "top_k"),
        ({"max_length": -1}, "max_length"),
        ({"max_queries": 0}, "max_queries"),
        ({"refine_rounds": -1}, "refine_rounds"),
        ({"refine_prompt": "no slot"}, "must contain"),
    ]:
        g = GuidedInverter(embedder=tiny_emb, decoder=lm).set_params(**params)
        with pytest.raises(ValueError, match=match):
            g.invert(X)
    g = GuidedInverter(embedder=tiny_emb, decoder=lm)
    with pytest.raises(ValueError, match="expects 32-dim embeddings from 'tiny-bert-32', got 8"):
        g.invert(X[:, :8])
    bad = X.copy()
    bad[1, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        g.invert(bad)
    with pytest.raises(ValueError, match="unknown parameters"):
        g.set_params(beams=3)


def test_an_encoder_decoder_is_refused(tiny_emb):
    from embedlens.tiny import tiny_seq2seq

    g = GuidedInverter(embedder=tiny_emb, decoder=tiny_seq2seq())
    with pytest.raises(ValueError, match="needs a causal LM"):
        g.invert(tiny_emb.embed(["a cat"]))


@pytest.mark.slow
def test_minilm_and_smollm2_find_a_close_text(minilm, smollm2, one_torch_thread):
    target = ["the cat sat on the mat"]
    g = GuidedInverter(
        embedder=minilm, decoder=smollm2, beam_width=4, top_k=8, max_length=8, max_queries=200
    )
    out = g.invert(minilm.embed(target))
    assert g.queries_[0] <= 200
    assert g.cosines_[0] > 0.6, (out, g.cosines_)
    assert "cat" in out[0].lower()
