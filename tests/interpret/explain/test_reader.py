"""The explainer's reader: words read off each vector, put after the soft tokens; the judge."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from embedlens.soft.reading import make_reader, reader_names, reader_spec  # noqa: E402
from interpret.explain import Explainer  # noqa: E402
from interpret.explain.tasks import DEFAULT_TASKS  # noqa: E402
from tiny_models import tiny_causal_lm, tiny_embedder  # noqa: E402

TEXTS = ["the cat sat", "a dog ran", "red sun", "blue moon"]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class NearestReader:
    """Reads a vector as the closest of known texts, and counts what it was asked."""

    def __init__(self, embedder, texts):
        self.texts = list(texts)
        self.V = np.asarray(embedder.embed(self.texts), dtype=np.float64)
        self.V /= np.linalg.norm(self.V, axis=1, keepdims=True)
        self.calls = 0

    def invert(self, X):
        self.calls += len(X)
        X = np.asarray(X, dtype=np.float64)
        X = X / np.linalg.norm(X, axis=1, keepdims=True)
        return [self.texts[int(j)] for j in (X @ self.V.T).argmax(axis=1)]


def _fitted(emb, lm, *, reader=None, tasks=("reconstruct",), steps=1, out_dir=None):
    """A tiny explainer (2 soft tokens, 8-token answers) after ``steps`` steps on TEXTS."""
    ex = Explainer(
        embedder=emb, decoder=lm, prefix_tokens=2, max_length=8, tasks=tasks, reader=reader
    )
    return ex.fit(TEXTS, steps=steps, batch_size=4, out_dir=out_dir, progress=False)


@pytest.fixture(scope="module")
def emb():
    return tiny_embedder(dim=32)


@pytest.fixture(scope="module")
def lm():
    return tiny_causal_lm()


def test_the_search_reader_is_registered_and_unknown_names_are_refused(emb):
    assert "search" in reader_names()
    reader = make_reader("search", emb, {"max_queries": 7, "progress": False})
    assert type(reader).__name__ == "SearchInverter" and reader.max_queries == 7
    # a saved model records how to build it again, without the embedder or any texts
    spec = reader_spec(reader)
    assert spec["name"] == "search" and spec["options"]["max_queries"] == 7
    assert "embedder" not in spec["options"] and "aux_texts" not in spec["options"]
    with pytest.raises(ValueError, match=r"unknown reader .nope.*search"):
        make_reader("nope", emb)


def test_readings_follow_the_soft_tokens_in_training_and_are_cached(emb, lm, tmp_path):
    reader = NearestReader(emb, TEXTS)
    ex = _fitted(emb, lm, reader=reader, steps=2, out_dir=tmp_path)
    assert reader.calls == len(TEXTS)
    # every training example carries the reading of its own vector
    assert ex.example_readings_ == TEXTS
    lines = (tmp_path / "readings.jsonl").read_text().splitlines()
    assert sorted(json.loads(x)["answer"] for x in lines) == sorted(TEXTS)
    # a second run in the same folder reads nothing again
    _fitted(emb, lm, reader=reader, out_dir=tmp_path)
    assert reader.calls == len(TEXTS)

    # the prompt: [chat prefix] [soft tokens] [the reading's tokens] [question]
    soft = torch.zeros(1, 2, lm.model.get_input_embeddings().weight.shape[1])
    parts = ex._prompt_parts(soft, ["Repeat this text word for word."], ["red sun"])
    ids = lm.tokenizer("red sun", add_special_tokens=False)["input_ids"]
    reading = parts[-2]
    real = reading.input_ids[0][reading.attention_mask[0].bool()]
    assert real.tolist() == list(ids)
    assert parts[-3] is soft
    without = ex._prompt_parts(soft, ["Repeat this text word for word."])
    assert len(without) == len(parts) - 1


def test_explain_reads_once_and_accepts_given_readings(emb, lm):
    reader = NearestReader(emb, TEXTS)
    ex = _fitted(emb, lm, reader=reader)
    X = emb.embed(TEXTS)
    before = reader.calls
    assert ex.read(X) == TEXTS
    out = ex.explain(X, max_new_tokens=4)
    assert len(out) == 4 and reader.calls == before + 2 * len(TEXTS)
    given = ex.explain(X, max_new_tokens=4, readings=TEXTS)
    assert reader.calls == before + 2 * len(TEXTS)  # given readings: no reading
    assert given == out  # the same words read, the same greedy answers
    seen = []
    real = ex._prompt_parts

    def spy(soft, prompts, readings=None):
        seen.append(readings)
        return real(soft, prompts, readings)

    ex._prompt_parts = spy  # the given readings are what the LM reads
    ex.explain(X, max_new_tokens=4, readings=["zzz", "a", "b", "c"], batch_size=2)
    assert seen == [["zzz", "a"], ["b", "c"]]
    with pytest.raises(ValueError, match="readings must be 4 strings"):
        ex.explain(X, readings=["a"])


def test_best_of_keeps_the_answer_closest_to_the_vector(emb, lm):
    ex = _fitted(emb, lm)
    X = emb.embed(TEXTS[:2])
    arr = ex._check_input(X)
    prompt = ex.tasks_[0].prompts[0]
    cands = ex._generate(arr, prompt, max_new_tokens=5, num_beams=3, num_return_sequences=3)
    E = np.asarray(emb.embed([c if c.strip() else " " for c in cands]), dtype=np.float64)
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    U = arr / np.linalg.norm(arr, axis=1, keepdims=True)
    want = [cands[3 * i + int(np.argmax(E[3 * i : 3 * i + 3] @ U[i]))] for i in range(2)]
    assert ex.explain(X, max_new_tokens=5, best_of=3) == want
    with pytest.raises(ValueError, match="best_of"):
        ex.explain(X, best_of=0)


def test_a_named_reader_is_saved_and_comes_back(emb, lm, tmp_path):
    ex = _fitted(emb, lm, reader=NearestReader(emb, TEXTS))
    # a reader object that is no installed reader is recorded by its class; the loaded
    # explainer refuses to explain until it is given one
    a = Explainer.from_pretrained(ex.save_pretrained(tmp_path / "a"), embedder=emb, decoder=lm)
    with pytest.raises(ValueError, match=r"NearestReader.*set_params"):
        a.explain(emb.embed(TEXTS[:1]))
    a.set_params(reader=NearestReader(emb, TEXTS))
    assert a.read(emb.embed(TEXTS[:1])) == TEXTS[:1]
    ex.set_params(reader="search", reader_options={"max_queries": 5})
    path = ex.save_pretrained(tmp_path / "b", dtype="float16")
    config = json.loads((path / "config.json").read_text())
    assert config["reader"] == {"name": "search", "options": {"max_queries": 5}}
    from safetensors.numpy import load_file

    assert {v.dtype for v in load_file(path / "model.safetensors").values()} == {
        np.dtype("float16")
    }
    back = Explainer.from_pretrained(path, embedder=emb, decoder=lm)
    assert back.reader == "search" and back.reader_options == {"max_queries": 5}
    same = ex.projector_.state_dict()
    for k, v in back.projector_.state_dict().items():
        assert torch.allclose(v, same[k].half().float())


def test_bad_reader_settings_are_refused(emb, lm):
    with pytest.raises(TypeError, match="invert"):
        Explainer(embedder=emb, decoder=lm, reader=42).fit(TEXTS, steps=1, progress=False)
    with pytest.raises(ValueError, match="reader_options"):
        Explainer(embedder=emb, decoder=lm, reader_options={"max_queries": 3}).fit(
            TEXTS, steps=1, progress=False
        )
    ex = _fitted(emb, lm, tasks=DEFAULT_TASKS)
    assert ex.read(emb.embed(TEXTS)) is None
    with pytest.raises(ValueError, match="no reader"):
        ex.set_corpus(TEXTS)


def test_the_judge_scores_against_the_text_with_another_embedder(emb, lm):
    judge = tiny_embedder(dim=24, seed=5)
    ex = _fitted(emb, lm, reader=NearestReader(emb, TEXTS))
    res = ex.evaluate(TEXTS[:2], corpus=TEXTS, judge=judge, max_new_tokens=4)
    assert set(res.judged) == {"explanation", "random", "nearest", "untrained", "reading"}
    # the reading of a held-out text found in the reader's list is the text itself: the
    # judge's cosine between a text and itself is 1
    assert res.baseline_texts["reading"] == TEXTS[:2]
    assert np.allclose(res.judged["reading"], 1.0)
    J = np.asarray(judge.embed(res.explanations + TEXTS[:2]), dtype=np.float64)
    J /= np.linalg.norm(J, axis=1, keepdims=True)
    assert np.allclose(res.judged["explanation"], (J[:2] * J[2:]).sum(axis=1))
    summary = res.summary()
    assert summary["judge"] == judge.name and "explanation" in summary["judged"]
    assert "judged" in res.table().columns


def test_a_saved_explainer_missing_an_entry_names_its_folder(emb, lm, tmp_path):
    ex = _fitted(emb, lm)
    path = ex.save_pretrained(tmp_path / "m")
    config = json.loads((path / "config.json").read_text())
    del config["tasks"]
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"(?s)m'?.*tasks"):
        Explainer.from_pretrained(path, embedder=emb, decoder=lm)


def test_with_reading_lets_the_readers_words_compete(emb, lm):
    reader = NearestReader(emb, TEXTS)
    ex = _fitted(emb, lm, reader=reader)
    X = emb.embed(TEXTS)
    # the reader reads each text exactly (cosine 1): no answer of an untrained LM beats it
    assert ex.explain(X, max_new_tokens=3, best_of=2, with_reading=True) == TEXTS
    # a reading far from the vector loses to the LM's answer
    far = ["zebra quantum"] * 4
    said = ex.explain(X, max_new_tokens=3, with_reading=True, readings=far)
    alone = ex.explain(X, max_new_tokens=3, readings=far)
    E = np.asarray(emb.embed(far[:1] + alone), dtype=np.float64)
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    for i in range(4):
        want = alone[i] if E[1 + i] @ U[i] >= E[0] @ U[i] else far[i]
        assert said[i] == want
    bare = _fitted(emb, lm, tasks=DEFAULT_TASKS)
    with pytest.raises(ValueError, match="with_reading=True needs"):
        bare.explain(X, with_reading=True)
