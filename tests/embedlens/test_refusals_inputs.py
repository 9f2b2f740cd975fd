"""What embedlens refuses on the way in (issue 28): a saved model that reads outside its folder,
pickle weights, texts that are not Unicode, embedder outputs that are ragged or not finite
(named by index, never by content), a foreign SQLite file, wrong files where a folder or a .npy
goes; and what it survives: a record longer than spaCy reads at once, a vectors file larger
than memory with --limit."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from embedlens.cache import EmbeddingCache

FIXTURES = Path(__file__).parents[1] / "fixtures" / "soft_prefix_v1"


# --------------------------------------------------------------------------- 4: outside the folder


@pytest.fixture
def saved_inverter(tmp_path):
    """A saved inverter whose base LM was moved out of it, to ``tmp_path/models/lm``."""
    root = Path(shutil.copytree(FIXTURES / "inverter", tmp_path / "models" / "inverter"))
    shutil.move(str(root / "decoder"), str(root.parent / "lm"))
    return root


@pytest.fixture(scope="module")
def emb():
    pytest.importorskip("torch")
    from tiny_models import tiny_embedder

    return tiny_embedder(dim=16)


def _edit_config(root: Path, part: str, **entries: object) -> None:
    file = root / "config.json"
    config = json.loads(file.read_text(encoding="utf-8"))
    config[part].update(entries)
    file.write_text(json.dumps(config), encoding="utf-8")


def test_a_saved_decoder_path_needs_the_callers_opt_in(saved_inverter, emb, monkeypatch):
    from inversion import Inverter

    lm = saved_inverter.parent / "lm"
    _edit_config(saved_inverter, "decoder", stored=None, spec=str(lm))
    with pytest.raises(ValueError, match="reads only its own files") as err:
        Inverter.from_pretrained(saved_inverter, embedder=emb)
    assert f"decoder={str(lm)!r}" in str(err.value)  # the opt-in, spelled out
    # a spec relative to the current folder is a path too
    monkeypatch.chdir(saved_inverter.parent)
    for spec in ("./lm", "lm", "t5:" + str(lm)):
        _edit_config(saved_inverter, "decoder", spec=spec)
        with pytest.raises(ValueError, match="reads only its own files"):
            Inverter.from_pretrained(saved_inverter, embedder=emb)
    # naming the path yourself is the opt-in: then it loads
    _edit_config(saved_inverter, "decoder", spec=str(lm))
    inv = Inverter.from_pretrained(saved_inverter, embedder=emb, decoder=str(lm))
    assert inv.decoder_.model is not None


def test_a_saved_embedder_path_is_not_loaded_without_opt_in(saved_inverter, emb, monkeypatch):
    import embedlens.embedders
    from inversion import Inverter

    def never(*args, **kwargs):
        raise AssertionError("a path from the model's config.json was loaded")

    monkeypatch.setattr(embedlens.embedders, "load_embedder", never)
    for name in (str(saved_inverter.parent / "lm"), "~/models/minilm", "./emb"):
        _edit_config(saved_inverter, "embedder", name=name)
        with pytest.raises(ValueError, match="reads only its own files") as err:
            Inverter.from_pretrained(saved_inverter)
        assert "embedder=" in str(err.value)


# --------------------------------------------------------------------------- 6: pickle weights


@pytest.fixture
def pickled_model(tmp_path):
    """A model folder whose weights are only ``pytorch_model.bin`` (a pickle)."""
    torch = pytest.importorskip("torch")
    from tiny_models import save_tiny, tiny_encoder

    model, tok = tiny_encoder(dim=16)
    root = save_tiny(model, tok, tmp_path / "pickled")
    torch.save(model.state_dict(), root / "pytorch_model.bin")
    (root / "model.safetensors").unlink()
    return root


def test_pickle_weights_are_refused(pickled_model):
    from embedlens import load_embedder
    from embedlens.models import load_decoder

    for load in (load_embedder, load_decoder):
        with pytest.raises(ValueError, match="pickle") as err:
            load(str(pickled_model))
        assert "pytorch_model.bin" in str(err.value) and "safetensors" in str(err.value)


def test_vec2text_pickle_weights_need_allow_pickle(pickled_model):
    from inversion.vec2text import _read_checkpoint

    with pytest.raises(ValueError, match="allow_pickle=True"):
        _read_checkpoint(pickled_model)
    config, state = _read_checkpoint(pickled_model, allow_pickle=True)
    assert config["hidden_size"] == 16 and state


# --------------------------------------------------------------------------- 5: one long record


def test_a_record_longer_than_spacy_reads_at_once_is_scored_in_pieces():
    spacy = pytest.importorskip("spacy")
    from inversion import entity_recovery

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "PERSON", "pattern": n} for n in ("Ann Lee", "Bo Park")])
    nlp.max_length = 300
    long_text = "Ann Lee wrote. " + "Nothing happened that day. " * 40 + "Bo Park replied."
    assert len(long_text) > nlp.max_length
    found = entity_recovery([long_text, "Bo Park"], ["ann lee", "bo park"], nlp=nlp, bootstrap=0)
    assert found.per_example[0]["PERSON"] == [("Ann Lee", True), ("Bo Park", False)]
    assert found.total == {"PERSON": 3}


def test_the_audits_scoring_survives_a_long_record(monkeypatch):
    spacy = pytest.importorskip("spacy")
    import inversion.entities
    from embedlens.audit.scoring import score_batch

    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "PERSON", "pattern": "Ann Lee"}])
    nlp.max_length = 200
    monkeypatch.setattr(inversion.entities, "_load_spacy", lambda name: nlp)
    long_text = "word " * 100 + "Ann Lee"
    scores = score_batch([(long_text, "ann lee is here", None), ("short note", "x", None)])
    assert scores[0]["found"] == {"PERSON": [1, 1]}


# --------------------------------------------------------------------------- weak cases


def test_a_lone_surrogate_is_refused_naming_the_record(tmp_path):
    from embedlens import load_texts
    from embedlens._utils import check_texts

    rows = [{"text": f"note {i}"} for i in range(5)]
    rows[3]["text"] = "bad \ud800 text"
    corpus = tmp_path / "notes.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(ValueError, match="surrogate") as err:
        load_texts(str(corpus))
    message = str(err.value)
    assert "notes.jsonl" in message and "line 4" in message and "bad" not in message
    with pytest.raises(ValueError, match=r"texts\[1\].*surrogate"):
        check_texts(["fine", "x\udfff"])


def test_a_ragged_list_from_a_callable_embedder_is_named(tmp_path):
    from embedlens import load_embedder

    emb = load_embedder(lambda texts: [[1.0, 2.0], [1.0]][: len(texts)], name="api")
    with pytest.raises(ValueError, match="ragged") as err:
        emb.embed(["a", "b"])
    assert "'api'" in str(err.value) and "one vector of the same length" in str(err.value)


def test_a_non_finite_vector_is_named_by_index_not_by_its_text():
    from embedlens import load_embedder

    secret = "Ann Lee, born 1970-01-02, has diabetes"
    texts = ["a note", "another note", secret, "the last note"]
    emb = load_embedder(
        lambda batch: [[float("nan") if "Lee" in t else 1.0, 1.0] for t in batch], name="api"
    )
    with pytest.raises(ValueError, match="NaN") as err:
        emb.embed(texts, batch_size=2)
    assert "Ann" not in str(err.value) and "texts[2]" in str(err.value)


def test_an_sqlite_file_of_another_application_without_tables_is_refused(tmp_path):
    db = tmp_path / "app.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA application_id = 1234567")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    with pytest.raises(ValueError, match="application_id"):
        EmbeddingCache(db)
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.sqlite"]


def test_a_link_to_a_folder_is_not_called_a_file(tmp_path):
    from embedlens._utils import check_replaceable

    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "notes.txt").write_text("mine", encoding="utf-8")
    link = tmp_path / "report"
    link.symlink_to(tmp_path / "real")
    with pytest.raises(FileExistsError, match="a link to a folder") as err:
        check_replaceable(link, kind="folder", markers=("index.html",))
    assert "is a file" not in str(err.value)


def test_a_folder_named_like_a_vectors_file_is_called_a_folder(tmp_path):
    from embedlens.cli.sources import load_vectors

    (tmp_path / "x.npy").mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder"):
        load_vectors(str(tmp_path / "x.npy"), None)


def test_vectors_with_a_limit_are_read_without_loading_the_whole_file(tmp_path):
    from embedlens.cli.sources import load_vectors

    X = np.random.default_rng(0).normal(size=(200_000, 16)).astype(np.float32)  # 12.8 MB
    np.save(tmp_path / "X.npy", X)
    del X
    tracemalloc.start()
    try:
        head = load_vectors(str(tmp_path / "X.npy"), 10)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, f"read {peak} bytes for 10 rows"
    assert head.shape == (10, 16) and head.flags.writeable and head.flags.owndata
