"""inversion.corrector: a tiny corrector trained for real, both backbones, save/load, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from inversion.corrector import HYPOTHESES_FILE, Corrector, cached_hypotheses  # noqa: E402
from inversion.inverter import Inverter  # noqa: E402
from tiny_models import tiny_causal_lm, tiny_embedder, tiny_seq2seq  # noqa: E402

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
def inverter(emb):
    """An under-trained tiny inverter: its hypotheses are close, not exact."""
    torch.set_num_threads(1)
    inv = Inverter(
        embedder=emb,
        decoder=tiny_causal_lm(hidden=64, seed=0),
        prefix_tokens=4,
        max_length=16,
        finetune="full",
    )
    return inv.fit(TEXTS, steps=20, batch_size=8, lr=1e-2, warmup_steps=2, progress=False)


@pytest.fixture(scope="module")
def corrector(inverter, tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("corrector-run")
    corr = Corrector(
        decoder=tiny_causal_lm(hidden=64, seed=1), prefix_tokens=4, max_length=16, finetune="full"
    )
    corr.fit(
        TEXTS,
        inverter=inverter,
        steps=60,
        batch_size=8,
        lr=1e-2,
        warmup_steps=3,
        out_dir=out,
        progress=False,
    )
    corr.run_dir = out
    return corr


def test_trained_corrector_improves_cosine_and_counts_queries(corrector, inverter, emb):
    X = emb.embed(TEXTS)
    losses = [r["loss"] for r in corrector.history_.history if "loss" in r]
    assert losses[-1] < 0.5 * losses[0]
    base = inverter.invert(X)
    assert inverter.queries_.tolist() == [0] * 8 and inverter.last_history_ is None
    out = inverter.invert(X, steps=4, beam_width=2, corrector=corrector)
    hist = inverter.last_history_
    assert hist.texts[0] == base and out == hist.final_texts
    assert np.all(np.diff(hist.cosine, axis=0) >= 0)
    assert hist.cosine[-1].mean() > hist.cosine[0].mean() + 0.02, hist.cosine
    assert inverter.queries_.tolist() == hist.queries[-1].tolist()
    assert np.all(inverter.queries_ >= 1) and np.all(inverter.queries_ <= 1 + 4 * 2 * 2)
    cos = emb.embed(out) @ X.T  # the reported cosine is that of the returned texts
    np.testing.assert_allclose(np.diag(cos), hist.cosine[-1], atol=1e-5)
    one = corrector.propose(X[:3], base[:3], num_candidates=3)
    assert [len(o) for o in one] == [3, 3, 3]
    assert corrector.correct(X[:3], base[:3]) == [o[0] for o in one]


def test_hypotheses_are_cached_and_the_run_saved(corrector, inverter, emb):
    lines = (corrector.run_dir / HYPOTHESES_FILE).read_text().splitlines()
    header = json.loads(lines[0])
    assert header["inverter"] == inverter.fingerprint and header["n"] == len(TEXTS)
    assert [json.loads(x)["text"] for x in lines[1:]] == inverter.invert(emb.embed(TEXTS))
    config = json.loads((corrector.run_dir / "corrector" / "config.json").read_text())
    assert config["class"] == "Corrector"
    assert config["inverter"]["fingerprint"] == inverter.fingerprint
    assert config["embedder"]["fingerprint"] == emb.fingerprint
    assert config["projector"]["roles"] == ["target", "hypothesis", "difference"]
    assert config["projector"]["difference"]["normalize_input"] is False


def test_hypothesis_cache_resumes_after_an_interruption(inverter, emb, tmp_path):
    X = emb.embed(TEXTS)
    path = tmp_path / HYPOTHESES_FILE

    class Interrupted:
        fingerprint = inverter.fingerprint

        def __init__(self) -> None:
            self.calls = 0

        def invert(self, X, **kw):
            self.calls += 1
            if self.calls > 1:
                raise KeyboardInterrupt
            return inverter.invert(X, **kw)

    with pytest.raises(KeyboardInterrupt):
        cached_hypotheses(Interrupted(), X, path, chunk=3)
    assert len(path.read_text().splitlines()) == 1 + 3  # header + the first chunk
    with path.open("a") as fh:
        fh.write('{"i": 3, "te')  # a line a crash cut short
    resumed = Interrupted()
    resumed.calls = -100  # no interruption now; count the texts it is asked for
    asked: list[int] = []
    original = resumed.invert

    def counting(X, **kw):
        asked.append(len(X))
        return original(X, **kw)

    resumed.invert = counting
    got = cached_hypotheses(resumed, X, path, chunk=3)
    assert got == inverter.invert(X) and sum(asked) == 5  # only the 5 missing were generated
    assert len(path.read_text().splitlines()) == 1 + 8
    with pytest.raises(ValueError, match="another inverter or for other texts"):
        cached_hypotheses(inverter, X[:4], path)


def test_save_load_round_trip_and_inverter_carries_its_corrector(
    corrector, inverter, emb, tmp_path
):
    X = emb.embed(TEXTS)
    hyps = inverter.invert(X)
    path = corrector.save_pretrained(tmp_path / "corr")
    loaded = Corrector.from_pretrained(path, inverter=inverter)
    assert loaded.propose(X, hyps, num_candidates=2) == corrector.propose(X, hyps, num_candidates=2)
    expected = inverter.invert(X, steps=3, beam_width=2, corrector=corrector)
    inverter.set_corrector(corrector)
    try:
        assert inverter.invert(X, steps=3, beam_width=2) == expected  # the attached one
        saved = inverter.save_pretrained(tmp_path / "inv")
    finally:
        inverter.set_corrector(None)
    assert (saved / "corrector" / "config.json").is_file()
    again = Inverter.from_pretrained(saved, embedder=emb)
    assert again.fingerprint == inverter.fingerprint
    assert again.invert(X, steps=3, beam_width=2) == expected
    assert again.queries_.tolist() == inverter.queries_.tolist()


def test_seq2seq_corrector_trains_and_corrects(inverter, emb, tmp_path):
    corr = Corrector(
        decoder=tiny_seq2seq(hidden=32), prefix_tokens=2, max_length=16, finetune="full"
    )
    corr.fit(TEXTS, inverter=inverter, steps=15, batch_size=8, lr=1e-2, progress=False)
    losses = [r["loss"] for r in corr.history_.history if "loss" in r]
    assert corr.is_seq2seq_ and losses[-1] < losses[0]
    X = emb.embed(TEXTS[:4])
    out = inverter.invert(X, steps=2, beam_width=2, corrector=corr)
    assert len(out) == 4 and all(isinstance(t, str) for t in out)
    loaded = Corrector.from_pretrained(corr.save_pretrained(tmp_path / "c"), inverter=inverter)
    hyps = inverter.invert(X)
    assert loaded.correct(X, hyps) == corr.correct(X, hyps)


def test_bad_input_raises(corrector, inverter, emb, tmp_path):
    X = emb.embed(TEXTS[:2])
    with pytest.raises(ValueError, match="steps must be an integer >= 0"):
        inverter.invert(X, steps=-1)
    with pytest.raises(ValueError, match="beam_width must be"):
        inverter.invert(X, beam_width=0)
    with pytest.raises(ValueError, match="needs a corrector"):
        inverter.invert(X, steps=2)
    path = corrector.save_pretrained(tmp_path / "corr")
    with pytest.raises(ValueError, match="fingerprint"):  # another embedder
        Corrector.from_pretrained(path, embedder=tiny_embedder(dim=32, seed=5))
    other = Inverter(
        embedder=emb, decoder=tiny_causal_lm(hidden=32, seed=3), prefix_tokens=2, max_length=16
    ).fit(TEXTS, steps=2, batch_size=4, progress=False)
    with pytest.raises(ValueError, match="hypotheses of another inverter"):
        other.invert(X, steps=1, corrector=corrector)
    with pytest.raises(ValueError, match="hypotheses of another inverter"):
        Corrector.from_pretrained(path, inverter=other)
    with pytest.raises(ValueError, match="hypotheses of another inverter"):
        other.set_corrector(corrector)
    foreign = Inverter(
        embedder=tiny_embedder(dim=32, seed=9),
        decoder=tiny_causal_lm(),
        prefix_tokens=2,
        max_length=16,
    ).fit(TEXTS, steps=1, batch_size=4, progress=False)
    with pytest.raises(ValueError, match="trained for embeddings from"):
        foreign.invert(foreign.embedder_.embed(TEXTS[:1]), steps=1, corrector=corrector)
    with pytest.raises(RuntimeError, match="needs a trained inverter"):
        Corrector(decoder=tiny_causal_lm()).fit(TEXTS, inverter=Inverter(embedder=emb))
    with pytest.raises(TypeError, match="unknown arguments"):
        Corrector(decoder=tiny_causal_lm()).fit(TEXTS, inverter=inverter, stpes=3)
    with pytest.raises(ValueError, match="corpus is empty"):
        Corrector(decoder=tiny_causal_lm()).fit([], inverter=inverter)
    with pytest.raises(ValueError, match="one hypothesis per training text"):
        Corrector(decoder=tiny_causal_lm()).fit(TEXTS, inverter=inverter, hypotheses=["a"], steps=1)
    with pytest.raises(ValueError, match="expects 32-dim"):
        corrector.propose(np.zeros((1, 16)), ["a"])
    with pytest.raises(ValueError, match="one text per target"):
        corrector.propose(X, ["a"])


def test_held_out_evaluation_uses_the_held_out_hypotheses(inverter, emb, monkeypatch):
    held = ["a red house", "the old tree", "blue cat"]
    expected = inverter.invert(emb.embed(held), progress=False)
    seen: list[list[str]] = []
    original = Corrector._loss

    def spy(self, vectors, texts, H_rows, hyps):
        if texts and set(texts) <= set(held):
            seen.append(list(hyps))
        return original(self, vectors, texts, H_rows, hyps)

    monkeypatch.setattr(Corrector, "_loss", spy)
    corr = Corrector(decoder=tiny_causal_lm(hidden=32, seed=4), prefix_tokens=2, max_length=16)
    run = {"steps": 4, "eval_every": 2, "batch_size": 4, "progress": False}
    corr.fit(TEXTS, inverter=inverter, eval_texts=held, **run)
    evals = [r for r in corr.history_.history if r.get("event") == "eval"]
    assert [r["step"] for r in evals] == [2, 4]
    assert all(np.isfinite(r["eval_loss"]) and "token_f1" in r for r in evals)
    assert [e["reference"] for e in evals[-1]["examples"]] == held
    # both evaluations scored the held-out batch (3 texts) against its own hypotheses, never
    # against the training rows' ones (the trainer's eval indices are held-out rows)
    assert seen == [expected, expected]
    assert not hasattr(corr, "_eval_H")  # the held-out tables are dropped after fit


def test_frozen_lm_is_shared_with_the_inverter_and_referenced_by_spec(emb, tmp_path):
    from embedlens.embedders import FunctionEmbedder
    from tiny_models import save_tiny

    # a black-box embedder (it also never sees a batch of only empty texts, which the tiny
    # character tokenizer, adding no special tokens, cannot embed)
    emb = FunctionEmbedder(lambda texts: inner.embed(["." + t for t in texts]), name="box")
    inner = tiny_embedder(dim=32)
    lm = tiny_causal_lm(hidden=32, seed=4)
    spec = str(save_tiny(lm.model, lm.tokenizer, tmp_path / "lm"))
    inv = Inverter(embedder=emb, decoder=spec, prefix_tokens=2, max_length=16, device="cpu")
    inv.fit(TEXTS, steps=2, batch_size=4, progress=False)
    corr = Corrector(decoder=spec, prefix_tokens=2, max_length=16, device="cpu")
    corr.fit(TEXTS, inverter=inv, steps=2, batch_size=4, progress=False)
    assert corr.decoder_.model is inv.decoder_.model  # one frozen LM in memory
    saved = inv.set_corrector(corr).save_pretrained(tmp_path / "inv")
    config = json.loads((saved / "corrector" / "config.json").read_text())
    assert config["decoder"]["spec"] == str((tmp_path / "lm").resolve())
    assert not (saved / "corrector" / "decoder").exists()
    again = Inverter.from_pretrained(saved, embedder=emb, decoder=spec, device="cpu")
    assert again.corrector_.decoder_.model is again.decoder_.model  # the named path, shared
    X = emb.embed(TEXTS[:3])
    assert again.invert(X, steps=2) == inv.invert(X, steps=2)


@pytest.mark.slow
def test_smollm2_corrector_on_minilm(minilm, user_cache, tmp_path, monkeypatch):
    monkeypatch.setenv("EMBEDLENS_CACHE", str(user_cache))  # the converted SmolLM2 lives there
    texts = ["a cat sat on the mat", "the stock market fell", "she plays the violin"]
    inv = Inverter(embedder=minilm, decoder="smollm2", prefix_tokens=2, max_length=8, device="cpu")
    inv.fit(texts, steps=1, batch_size=3, progress=False)
    corr = Corrector(decoder="smollm2", prefix_tokens=2, max_length=8, device="cpu")
    corr.fit(texts, inverter=inv, steps=2, batch_size=3, progress=False)
    assert corr.decoder_.model is inv.decoder_.model  # one frozen SmolLM2 for both
    assert corr.projector_.embed_dim == 576
    X = minilm.embed(texts[:2])
    out = inv.invert(X, steps=2, beam_width=2, corrector=corr)
    hist = inv.last_history_
    assert len(out) == 2 and np.all(np.diff(hist.cosine, axis=0) >= 0)
    assert inv.queries_.tolist() == hist.queries[-1].tolist() and np.all(inv.queries_ >= 1)
    saved = inv.set_corrector(corr).save_pretrained(tmp_path / "inv")
    config = json.loads((saved / "corrector" / "config.json").read_text())
    assert config["decoder"]["spec"] == "smollm2"
    assert not (saved / "corrector" / "decoder").exists()  # referenced, not copied
