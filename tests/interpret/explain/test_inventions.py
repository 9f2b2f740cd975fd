"""Issue 30: inventions ("a fictional character who...") and the subject named, checked by words;
the decoding constraint that keeps inventions out of the explainer's answers."""

from __future__ import annotations

import numpy as np
import pytest

from interpret.explain.inventions import (
    INVENTION_WORDS,
    check_answers,
    content_words,
    invention_bans,
)

REFERENCES = [
    "Researchers found that the new antibiotic kills drug-resistant bacteria in mice.",
    "Please reset my password; I can no longer log into my bank account.",
    "She read her favourite story to the children at bedtime.",
    "The central bank raised interest rates to fight inflation.",
]
ANSWERS = [
    "This text is about a fictional story about a fictional character who",  # invented, off
    "This text is about a bank employee",  # no invention, names the bank
    "A bedtime story for children",  # "story" is in the text: no invention
    "Imaginary tales of interest rates",  # invented ("imaginary", "tales"), names rates
]


def test_check_answers_counts_inventions_the_text_lacks_and_the_subject():
    check = check_answers(ANSWERS, REFERENCES)
    assert check.invented.tolist() == [True, False, False, True]
    assert check.on_subject.tolist() == [False, True, True, True]
    assert check.words[0] == ["character", "fictional", "story"]
    assert check.words[3] == ["imaginary", "tale"]
    assert check.invention_rate == pytest.approx(0.5)
    assert check.subject_rate == pytest.approx(0.75)


def test_content_words_skip_stop_words_and_stem_plurals():
    assert content_words("The banks of the rivers") == {"bank", "river"}
    assert content_words("This text is about it") == set()
    assert content_words("a character's mood") == {"character", "mood"}
    assert check_answers(["a character's mood"], ["I lost my key."]).words == [["character"]]


def test_check_answers_refuses_ragged_or_wrong_input():
    with pytest.raises(ValueError, match="one reference text per answer"):
        check_answers(["a"], ["b", "c"])
    with pytest.raises(TypeError, match="answers must be a list of strings"):
        check_answers("a story", ["b"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="references must be a list of strings"):
        check_answers(["a"], [None])  # type: ignore[list-item]
    empty = check_answers([], [])
    assert np.isnan(empty.invention_rate) and np.isnan(empty.subject_rate)


def test_invention_bans_spare_the_words_a_reading_holds():
    from tiny_models import tiny_tokenizer

    tok = tiny_tokenizer()
    every = invention_bans(tok, None)
    spared = invention_bans(tok, ["a short story about children"])
    story = list(tok(" story", add_special_tokens=False)["input_ids"])
    assert story in every and story not in spared
    assert len(every) > len(spared) >= 4 * 2 * (len(INVENTION_WORDS) - 1) - 8


def test_explain_bans_invention_words_unless_a_reading_holds_them(monkeypatch):
    torch = pytest.importorskip("torch")
    import embedlens.soft.generate as gen
    from interpret.explain import Explainer
    from tiny_models import tiny_causal_lm, tiny_embedder

    torch.set_num_threads(1)
    emb = tiny_embedder(dim=32)
    ex = Explainer(
        embedder=emb, decoder=tiny_causal_lm(), prefix_tokens=2, max_length=8, tasks=["reconstruct"]
    ).fit(["a cat", "a dog"], steps=1, batch_size=2, progress=False)
    tok = ex.decoder_.tokenizer
    story = list(tok(" story", add_special_tokens=False)["input_ids"])
    seen: list[list[list[int]]] = []
    real = gen.generate_from_embeds

    def spy(*args, **kwargs):
        seen.append(kwargs.get("bad_words_ids") or [])
        return real(*args, **kwargs)

    monkeypatch.setattr(gen, "generate_from_embeds", spy)
    X = emb.embed(["a cat", "a dog"])
    ex.explain(X, task="reconstruct", progress=False)
    ex.explain(X, task="reconstruct", readings=["a story", "a dog"], progress=False)
    ex.explain(X, task="reconstruct", ban_inventions=False, progress=False)
    ex.explain(X, task="reconstruct", bad_words_ids=[[5]], progress=False)
    assert story in seen[0] and story not in seen[1] and seen[2] == []
    assert [5] in seen[3] and story in seen[3]  # the caller's bans are kept


def test_evaluation_reports_invention_and_subject_rates():
    torch = pytest.importorskip("torch")
    from interpret.explain import Explainer
    from tiny_models import tiny_causal_lm, tiny_embedder

    torch.set_num_threads(1)
    emb = tiny_embedder(dim=32)
    ex = Explainer(
        embedder=emb, decoder=tiny_causal_lm(), prefix_tokens=2, max_length=8, tasks=["reconstruct"]
    ).fit(["a cat sat", "a dog ran"], steps=1, batch_size=2, progress=False)
    corpus = ["a story of the sea", "the cat sat down", "rain fell"]
    result = ex.evaluate(["the cat sat", "a dog ran far"], corpus=corpus, progress=False)
    summary = result.summary()
    for key in ("invention_rate", "subject_rate"):
        assert set(summary[key]) == {"explanation", "random", "nearest", "untrained"}
    expected = check_answers(result.baseline_texts["nearest"], result.texts)
    assert summary["invention_rate"]["nearest"]["mean"] == pytest.approx(expected.invention_rate)
    assert summary["subject_rate"]["nearest"]["mean"] == pytest.approx(expected.subject_rate)
    table = result.table()
    assert table["nearest_on_subject"].tolist() == expected.on_subject.tolist()
    assert "invented" in table and "on_subject" in table
