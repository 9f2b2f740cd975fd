"""Directories saved before the soft-prefix refactor load and decode as they did then."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from interpret import Explainer  # noqa: E402
from inversion import Corrector, Inverter  # noqa: E402
from tiny_models import tiny_embedder  # noqa: E402

ROOT = Path(__file__).parents[2] / "fixtures" / "soft_prefix_v1"
EXPECTED = json.loads((ROOT / "expected.json").read_text(encoding="utf-8"))

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def emb():
    return tiny_embedder(dim=16)


@pytest.fixture(scope="module")
def X(emb):
    return emb.embed(EXPECTED["texts"])


@pytest.mark.parametrize("name", ["inverter", "inverter-seq2seq"])
def test_saved_inverters_load_and_decode_as_before(name, emb, X):
    inv = Inverter.from_pretrained(ROOT / name, embedder=emb)
    assert inv.fingerprint == EXPECTED["fingerprints"][name]
    assert inv.invert(X) == EXPECTED[name]


def test_saved_corrector_loads_and_corrects_as_before(emb, X):
    inv = Inverter.from_pretrained(ROOT / "inverter", embedder=emb)
    corr = Corrector.from_pretrained(ROOT / "corrector", inverter=inv)
    assert corr.fingerprint == EXPECTED["fingerprints"]["corrector"]
    assert corr.inverter_fingerprint_ == inv.fingerprint
    assert inv.invert(X, steps=2, beam_width=2, corrector=corr) == EXPECTED["corrected"]


def test_saved_explainer_loads_and_explains_as_before(emb, X):
    ex = Explainer.from_pretrained(ROOT / "explainer", embedder=emb)
    assert [t.name for t in ex.tasks_] == ["reconstruct", "topic"]
    assert ex.finetune == "lora"
    assert ex.explain(X, task="reconstruct") == EXPECTED["explainer"]


def test_a_loaded_old_directory_saves_again_in_the_same_layout(emb, X, tmp_path):
    inv = Inverter.from_pretrained(ROOT / "inverter", embedder=emb)
    again = Inverter.from_pretrained(inv.save_pretrained(tmp_path / "inv"), embedder=emb)
    assert again.fingerprint == inv.fingerprint
    old = json.loads((ROOT / "inverter" / "config.json").read_text(encoding="utf-8"))
    new = json.loads((tmp_path / "inv" / "config.json").read_text(encoding="utf-8"))
    assert set(new) == set(old)
    assert new["projector"] == old["projector"]
