"""Issue 30: whole answers (never cut mid-phrase, never empty) and a reader that reads the same
words on any machine and load."""

from __future__ import annotations

import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from embedlens.soft.generate import DANGLING, whole_clause  # noqa: E402
from interpret.explain.inventions import check_answers  # noqa: E402

#: everyday sentences written for this test, of no corpus the explainer was trained on
HELD_OUT = [
    "The central bank raised interest rates by half a point to fight inflation.",
    "Researchers found that the new antibiotic kills drug-resistant bacteria in mice.",
    "Please reset my password; I can no longer log into my bank account.",
    "The striker scored twice in the final ten minutes to win the championship.",
    "Heavy snow closed the mountain pass and stranded hundreds of drivers overnight.",
    "She baked a lemon cake for her grandmother's ninetieth birthday party.",
    "The city council voted to build a new bike lane along the river.",
    "My laptop battery drains in an hour even when the screen is dimmed.",
    "The orchestra played Beethoven's fifth symphony to a sold-out hall.",
    "Farmers worry that the dry summer will cut this year's wheat harvest.",
]


def ends_whole(answer: str) -> bool:
    """An answer ends a sentence, or its last word does not leave a phrase open."""
    text = answer.strip()
    if text.endswith((".", "!", "?", '."', ".'", ".)")):
        return True
    words = text.split()
    return bool(words) and words[-1].lower().strip("\"'()[],;:-") not in DANGLING


@pytest.mark.parametrize(
    ("raw", "whole"),
    [
        ("The bank raised rates.", "The bank raised rates."),  # already whole: kept
        ("Rates rose. The bank said that it would", "Rates rose."),  # last sentence end
        ("a train, which was not equipped with a", "a train"),  # last clause boundary
        ("inflation; rates, prices and", "inflation; rates"),  # the later of two boundaries
        ("about the war - the battle of", "about the war"),  # a dash between words
        ("a fictional character who is a", "a fictional character"),  # no boundary: open words go
        ("Yes, the bank said that it", "Yes, the bank said that it"),  # a one-word clause: no cut
        ("The U.S. economy grew", "The U.S. economy grew"),  # an abbreviation ends no sentence
        ("weather, climate", "weather, climate"),  # no open word, and a short clause: kept
        ("  spaced out answer  ", "spaced out answer"),
    ],
)
def test_whole_clause_trims_to_the_last_complete_clause(raw, whole):
    assert whole_clause(raw) == whole


@pytest.mark.parametrize("raw", ["the", "of the", "with a", "a", "x", "and, or"])
def test_whole_clause_never_empties_an_answer(raw):
    said = whole_clause(raw)
    assert said.strip()
    assert raw.strip().startswith(said)


def test_whole_clause_refuses_what_is_not_text():
    assert whole_clause("") == ""
    with pytest.raises(TypeError, match="expects a string"):
        whole_clause(None)  # type: ignore[arg-type]


def test_generation_with_whole_answers_trims_only_rows_cut_by_the_limit():
    from embedlens.soft.batch import Tokens, splice
    from embedlens.soft.generate import generate_from_embeds
    from tiny_models import tiny_causal_lm

    decoder = tiny_causal_lm()
    model, tok = decoder.model, decoder.tokenizer
    torch.set_num_threads(1)
    rows = [list(tok(t, add_special_tokens=False)["input_ids"]) for t in ("ab", "cde", "f")]
    width = max(len(r) for r in rows)
    ids = torch.full((3, width), tok.pad_token_id, dtype=torch.long)
    mask = torch.zeros((3, width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)], mask[i, : len(r)] = torch.tensor(r), 1
    batch = splice(model, [Tokens(ids, mask)], padding_side="left")
    args = (model, tok, batch.inputs_embeds, batch.attention_mask)
    raw = generate_from_embeds(*args, max_new_tokens=12)
    whole = generate_from_embeds(*args, max_new_tokens=12, whole=True)
    for r, w in zip(raw, whole, strict=True):
        assert w.strip() or not r.strip()
        assert r.startswith(w.split(" ")[0]) and ends_whole(w)
    with pytest.raises(TypeError, match="whole must be True or False"):
        generate_from_embeds(*args, max_new_tokens=2, whole="yes")  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_the_shipped_explainer_never_ends_mid_phrase(minilm):
    from interpret import Explainer

    ex = Explainer.from_pretrained("minilm-smollm2", embedder=minilm)
    X = minilm.embed(HELD_OUT)
    readings = ex.read(X)
    for task in ("topic", "reconstruct"):
        said = ex.explain(X, task=task, readings=readings, progress=False)
        assert all(s.strip() for s in said), (task, said)
        assert all(ends_whole(s) for s in said), (task, said)
        assert check_answers(said, HELD_OUT).invention_rate == 0.0, (task, said)


AUX = [
    f"{a} {b} {c}"
    for a in ("the", "a", "one")
    for b in ("cat", "dog", "red", "blue")
    for c in ("sat", "ran", "sun", "moon")
]


class SlowClock:
    """``time.perf_counter`` of a machine a thousand times busier: 5 s pass at every look."""

    def __init__(self) -> None:
        self.now = time.perf_counter()

    def perf_counter(self) -> float:
        self.now += 5.0
        return self.now


@pytest.mark.usefixtures("one_torch_thread")
def test_the_default_search_reader_reads_the_same_on_a_busy_machine(monkeypatch):
    import inversion.search as search
    from interpret.explain import Explainer
    from tiny_models import tiny_causal_lm, tiny_embedder

    emb = tiny_embedder(dim=32)
    ex = Explainer(
        embedder=emb,
        decoder=tiny_causal_lm(),
        prefix_tokens=2,
        max_length=8,
        tasks=("reconstruct",),
        reader="search",
        reader_options={"aux_texts": AUX},  # a tiny embedder ships no keyword model
    ).fit(["the cat sat", "a dog ran", "red sun", "blue moon"], steps=1, batch_size=4)
    reader = ex._reader()
    assert reader.max_seconds is None and reader.max_queries == 300
    X = emb.embed(["a cat ran", "the red moon", "blue sun sat"])
    quiet_words, quiet_queries = ex.read(X), reader.queries_.copy()
    quiet = ex.explain(X, progress=False)
    monkeypatch.setattr(search, "time", SlowClock())
    assert ex.read(X) == quiet_words
    assert np.array_equal(reader.queries_, quiet_queries)
    assert ex.explain(X, progress=False) == quiet
    # a clock-bound reader (the old default) reads less on the busy machine: the check can fail
    ex.set_params(reader_options={"aux_texts": AUX, "max_seconds": 1.5})
    ex.read(X)
    assert ex._reader().queries_.sum() < quiet_queries.sum()
