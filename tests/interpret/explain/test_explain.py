"""interpret.explain: training with the shared trainer, the teacher cache, explaining, save/load."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from interpret.explain import Explainer, ExplainerLabeler, ExplainResult, Task  # noqa: E402
from tiny_models import tiny_causal_lm, tiny_embedder  # noqa: E402

TEXTS = ["the cat sat", "a dog ran", "red sun", "blue moon"]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def emb():
    return tiny_embedder(dim=32)


@pytest.fixture(scope="module")
def lora_fitted(emb):
    """Projector + LoRA on a tiny LM, trained on reconstruction and a teacher task."""
    torch.set_num_threads(1)
    ex = Explainer(
        embedder=emb,
        decoder=tiny_causal_lm(hidden=64),
        prefix_tokens=4,
        max_length=16,
        tasks=("reconstruct", "topic"),
        finetune="lora",
    )
    return ex.fit(TEXTS, steps=100, batch_size=4, lr=1e-2, warmup_steps=5, progress=False)


@pytest.fixture(scope="module")
def quick(emb):
    """A projector-only explainer after a few steps: enough for the API around it."""
    torch.set_num_threads(1)
    ex = Explainer(embedder=emb, decoder=tiny_causal_lm(), prefix_tokens=2, max_length=8)
    return ex.fit(TEXTS, steps=2, batch_size=4, progress=False)


def test_training_lowers_the_loss_on_mixed_tasks(lora_fitted):
    losses = [r["loss"] for r in lora_fitted.history_.history if "loss" in r and "event" not in r]
    assert losses[-1] < losses[0] - 0.2, losses
    # one example per text and task: reconstruction targets are the texts, topic ones the
    # teacher's answers; each example keeps its own prompt
    assert lora_fitted.n_examples_ == 2 * len(TEXTS)
    prompts = set(lora_fitted.example_prompts_)
    assert prompts == {t.prompts[0] for t in lora_fitted.tasks_}
    out = lora_fitted.explain(lora_fitted.embedder_.embed(TEXTS), task="reconstruct")
    assert len(out) == len(TEXTS) and all(isinstance(t, str) for t in out)


def test_projector_changes_with_training_and_lm_stays_frozen(emb):
    lm = tiny_causal_lm(hidden=32, seed=3)
    before = {k: v.clone() for k, v in lm.model.state_dict().items()}
    ex = Explainer(embedder=emb, decoder=lm, prefix_tokens=2, tasks=("reconstruct",))
    ex.fit(TEXTS, steps=3, batch_size=2, lr=1e-2, progress=False)
    init = Explainer(embedder=emb, decoder=lm, prefix_tokens=2, tasks=("reconstruct",))
    init.fit(TEXTS, steps=1, batch_size=2, lr=1e-12, progress=False)
    trained = ex.projector_.state_dict()
    untouched = init.projector_.state_dict()
    assert any(not torch.equal(trained[k], untouched[k]) for k in trained)
    after = lm.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_teacher_answers_are_the_lm_reading_the_text_and_are_cached(emb, tmp_path, monkeypatch):
    import embedlens.soft.generate as sp

    calls = {"n": 0}
    real = sp.generate_from_embeds

    def counting(*args, **kwargs):
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(sp, "generate_from_embeds", counting)
    lm = tiny_causal_lm()
    cache = tmp_path / "teacher.jsonl"
    ex = Explainer(embedder=emb, decoder=lm, prefix_tokens=2, tasks=("topic", "keywords"))
    ex.fit(TEXTS, steps=1, batch_size=2, teacher_batch_size=3, teacher_cache=cache, progress=False)
    assert calls["n"] == 4  # two tasks, four texts in batches of three
    lines = [json.loads(line) for line in cache.read_text().splitlines()]
    assert len(lines) == 8 and {r["task"] for r in lines} == {"topic", "keywords"}
    # the cached answer is what the LM says when it reads the real text with the same question
    fmt = ex.format_
    prompt = fmt.render(TEXTS[0], ex.tasks_[0].prompts[0])
    ids = lm.tokenizer([prompt], add_special_tokens=False, return_tensors="pt")["input_ids"]
    direct = real(
        lm.model,
        lm.tokenizer,
        lm.model.get_input_embeddings()(ids),
        torch.ones_like(ids),
        max_new_tokens=ex.tasks_[0].max_answer_tokens,
    )[0]
    from interpret.explain.tasks import TeacherCache

    key = TeacherCache.key(lm.name, ex.tasks_[0], prompt)
    assert [r["answer"] for r in lines if r["key"] == key] == [direct] and direct
    # a second run (or a resumed one) generates nothing again
    calls["n"] = 0
    again = Explainer(embedder=emb, decoder=lm, prefix_tokens=2, tasks=("topic", "keywords"))
    again.fit(TEXTS, steps=1, batch_size=2, teacher_cache=cache, progress=False)
    assert calls["n"] == 0
    assert len(cache.read_text().splitlines()) == 8


def test_teacher_cache_survives_a_torn_last_line(tmp_path):
    from interpret.explain.tasks import TeacherCache

    path = tmp_path / "t.jsonl"
    store = TeacherCache(path)
    store.put_many([("k1", "topic", "cats")])
    with path.open("a") as fh:
        fh.write('{"key": "k2", "task": "topic", "ans')  # a crash mid-line
    reread = TeacherCache(path)
    assert reread.get("k1") == "cats" and reread.get("k2") is None
    reread.put_many([("k3", "topic", "dogs")])
    assert TeacherCache(path).get("k3") == "dogs"


def test_out_dir_writes_log_model_and_resumes(emb, tmp_path):
    lm = tiny_causal_lm()
    kwargs: dict[str, Any] = {"steps": 4, "batch_size": 2, "checkpoint_every": 2, "progress": False}
    ex = Explainer(embedder=emb, decoder=lm, prefix_tokens=2, tasks=("reconstruct", "topic"))
    ex.fit(TEXTS, out_dir=tmp_path, **kwargs)
    assert (tmp_path / "explainer" / "config.json").is_file()
    assert (tmp_path / "teacher.jsonl").is_file() and (tmp_path / "train_log.jsonl").is_file()
    again = Explainer(embedder=emb, decoder=lm, prefix_tokens=2, tasks=("reconstruct", "topic"))
    again.fit(TEXTS, out_dir=tmp_path, resume=True, **kwargs)
    assert again.history_.resumed_from == 4


def test_explain_variants(quick, emb):
    X = emb.embed(["a cat", "a dog", "blue sky"])
    assert len(quick.explain(X)) == 3
    assert len(quick.explain(X[0], task="keywords", max_new_tokens=3)) == 1
    assert len(quick.explain(X[:2], num_beams=2, batch_size=1, max_new_tokens=3)) == 2
    assert len(quick.explain(X[:1], task="question", prompt="Who is it?", max_new_tokens=3)) == 1
    mid = quick.explain_midpoint(X[0], X[1], max_new_tokens=3)
    assert mid == quick.explain(((X[0] + X[1]) / 2)[None], max_new_tokens=3)[0]
    path = quick.interpolate(X[0], X[1], n=4, max_new_tokens=3)
    assert len(path) == 4
    assert path[0] == quick.explain(X[:1], max_new_tokens=3)[0]
    assert path[-1] == quick.explain(X[1:2], max_new_tokens=3)[0]
    groups = quick.explain_centroid(np.vstack([X, X]), ["b", "a", "b", "b", "a", "b"])
    assert list(groups) == ["a", "b"]
    assert groups["a"] == quick.explain(X[1:2])[0]


def test_explain_direction_accepts_arrays_and_duck_typed_objects(quick, emb):
    from probes import concept_direction

    X = emb.embed(TEXTS)
    concept = concept_direction(X, [1, 1, 0, 0], method="mean_diff")
    res = quick.explain_direction(concept, X[:2], alpha=0.5, max_new_tokens=3)
    assert len(res.plus) == len(res.minus) == len(res.context) == 2
    v = concept.vector
    step = 0.5 * float(np.median(np.linalg.norm(X[:2], axis=1)))
    assert res.step == pytest.approx(step)
    assert res.plus == quick.explain(X[:2] + step * v, max_new_tokens=3)
    assert res.minus == quick.explain(X[:2] - step * v, max_new_tokens=3)

    class Probe:  # a binary linear model: coef_ of shape (1, dim)
        coef_ = 3.0 * v[None, :]

    res2 = quick.explain_direction(Probe(), X[:2], alpha=0.5, max_new_tokens=3)
    assert res2.plus == res.plus
    alone = quick.explain_direction(v, alpha=1.0, max_new_tokens=3)
    assert alone.context == [] and len(alone.plus) == 1
    fig = res.figure()
    assert list(fig.data[0].cells.values[3]) == res.plus


def test_labeler_names_map_clusters_by_their_centroids(quick, emb):
    from interpret.maps import EmbeddingMap

    texts = [f"{w} number {i}" for w in ("cat", "stock", "rain") for i in range(6)]
    X = emb.embed(texts)
    m = EmbeddingMap(method="pca").fit(X, texts=texts)
    labeler = ExplainerLabeler(quick, task="topic", max_new_tokens=3)
    clusters = m.cluster("kmeans", n_clusters=3, random_state=0, labeler=labeler)
    assert len(clusters.names) == 3
    for c, name in clusters.names.items():
        members = np.flatnonzero(clusters.labels == c)
        expected = quick.explain(X[members].mean(axis=0)[None], max_new_tokens=3)[0]
        assert name == (expected or f"cluster {c}")


def test_evaluate_scores_against_baselines(quick, emb):
    held = ["a red cat", "the blue dog"]
    res = quick.evaluate(held, max_new_tokens=4)
    assert isinstance(res, ExplainResult)
    X = emb.embed(held)
    E = emb.embed(res.explanations)
    manual = (E * X).sum(1) / np.linalg.norm(E, axis=1) / np.linalg.norm(X, axis=1)
    assert np.allclose(res.consistency, manual, atol=1e-5)
    assert set(res.baselines) == {"random", "nearest", "untrained"}
    # the nearest corpus text really is the corpus text closest to each vector
    C = emb.embed(TEXTS)
    sims = (X / np.linalg.norm(X, axis=1, keepdims=True)) @ (
        C / np.linalg.norm(C, axis=1, keepdims=True)
    ).T
    assert res.baseline_texts["nearest"] == [TEXTS[i] for i in sims.argmax(axis=1)]
    assert np.allclose(res.baselines["nearest"], sims.max(axis=1), atol=1e-5)
    assert set(res.baseline_texts["random"]) <= set(TEXTS)
    assert "reconstruct" in res.token_f1
    assert res.reconstructions is not None and len(res.reconstructions) == 2
    summary = res.summary()
    fig = res.figure()
    names = list(fig.data[0].x)
    assert names == ["explanation", "random", "nearest", "untrained"]
    assert list(fig.data[0].y) == pytest.approx([summary["consistency"][n]["mean"] for n in names])
    assert list(fig.data[1].x) == ["reconstruct", "nearest", "random"]
    assert len(res.table()) == 2


def test_held_out_text_is_never_its_own_nearest(quick):
    res = quick.evaluate(TEXTS[:2], baselines=("nearest",), max_new_tokens=2)
    assert all(n != t for n, t in zip(res.baseline_texts["nearest"], TEXTS[:2], strict=True))


def test_save_load_round_trip(lora_fitted, emb, tmp_path):
    out = lora_fitted.save_pretrained(tmp_path / "ex")
    config = json.loads((out / "config.json").read_text())
    assert config["class"] == "Explainer" and config["finetune"] == "lora"
    assert [t["name"] for t in config["tasks"]] == ["reconstruct", "topic"]
    assert (out / "decoder" / "config.json").is_file()  # the LM was given as a Decoder
    loaded = Explainer.from_pretrained(out, embedder=emb)
    X = emb.embed(TEXTS)
    assert loaded.explain(X, task="reconstruct") == lora_fitted.explain(X, task="reconstruct")
    assert loaded.explain(X) == lora_fitted.explain(X)
    again = loaded.save_pretrained(tmp_path / "ex2")
    assert Explainer.from_pretrained(again, embedder=emb).explain(X) == loaded.explain(X)


def test_load_refuses_another_embedder_and_another_class(quick, tmp_path):
    out = quick.save_pretrained(tmp_path / "ex")
    with pytest.raises(ValueError, match="trained on embeddings from"):
        Explainer.from_pretrained(out, embedder=tiny_embedder(dim=32, seed=5))
    config = json.loads((out / "config.json").read_text())
    config["class"] = "Inverter"
    (out / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="not an Explainer"):
        Explainer.from_pretrained(out)


def test_sklearn_style_params():
    ex = Explainer(prefix_tokens=4, tasks=("topic",))
    assert ex.get_params()["prefix_tokens"] == 4
    assert ex.set_params(prefix_tokens=6).prefix_tokens == 6
    with pytest.raises(ValueError, match="unknown parameters"):
        ex.set_params(nope=1)
    assert "Explainer(" in repr(ex)


def test_custom_task(emb):
    own = Task("sentiment", ("Is this text positive or negative?",), max_answer_tokens=4)
    ex = Explainer(embedder=emb, decoder=tiny_causal_lm(), prefix_tokens=2, tasks=(own,))
    ex.fit(TEXTS, steps=1, batch_size=2, progress=False)
    assert [t.name for t in ex.tasks_] == ["sentiment"]
    assert len(ex.explain(emb.embed(TEXTS[:1]))) == 1


def test_answer_loss_equals_the_lm_loss(quick, emb):
    from embedlens.soft import answer_loss, splice

    vec = torch.from_numpy(emb.embed(TEXTS[:3]))
    prompts = [quick.example_prompts_[i] for i in (0, 1, len(TEXTS))]  # two tasks
    parts = quick._prompt_parts(quick.projector_(vec), prompts)
    parts.append(
        quick._tokens(quick._answer_ids(["a cat", "it is a long answer", "x"]), target=True)
    )
    batch = splice(quick.decoder_.model, parts, padding_side="right")
    full = quick.decoder_.model(**batch.model_inputs()).loss
    assert float(answer_loss(quick.decoder_.model, batch)) == pytest.approx(float(full), rel=1e-5)
