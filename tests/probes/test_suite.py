"""The SentEval-style suite: each task's construction on hand-written sentences, and run_suite."""

from __future__ import annotations

import itertools
import logging
import random
import re
import sys
import zlib

import numpy as np
import pytest

from probes import ProbingTask, SuiteResult, build_task, run_suite
from probes import suite_tasks as st
from probes.suite import TASK_NAMES

logger = logging.getLogger(__name__)
WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


@pytest.fixture(scope="module")
def nlp():  # type: ignore[no-untyped-def]
    return st.load_spacy()


class BagOfWords:
    """A stand-in embedder: word count plus hashed word indicators (fast, deterministic)."""

    name = "bag-of-words"

    def embed(self, texts, *, batch_size=32, progress=None):  # type: ignore[no-untyped-def]
        out = np.zeros((len(texts), 65), dtype=np.float32)
        for i, text in enumerate(texts):
            words = WORD.findall(text.lower())
            out[i, 0] = len(words)
            for w in words:
                out[i, 1 + zlib.crc32(w.encode()) % 64] = 1.0
        return out


# ---------------------------------------------------------------- surface tasks (no spaCy)


def test_bigram_shift_swaps_exactly_two_adjacent_words() -> None:
    rng = np.random.default_rng(0)
    for text in ["She walked home.", "the team is a unit", "It's a long way to go, isn't it?"]:
        for _ in range(10):
            shifted = st.shift_bigram(text, rng)
            assert shifted is not None and shifted != text
            a, b = WORD.findall(text), WORD.findall(shifted)
            assert sorted(a) == sorted(b) and len(a) == len(b)
            diff = [i for i in range(len(a)) if a[i] != b[i]]
            assert len(diff) == 2 and diff[1] == diff[0] + 1
            i = diff[0]
            assert i >= 1  # the first word stays in place
            assert (b[i], b[i + 1]) == (a[i + 1], a[i])
            # punctuation and spacing stay where they were
            assert re.sub(r"[\w']", "", shifted) == re.sub(r"[\w']", "", text)
    assert st.shift_bigram("Hello there", rng) is None  # only the first pair exists
    assert st.shift_bigram("go go go", rng) is None  # identical words: no visible swap


def test_bigram_shift_task_keeps_pairs_together() -> None:
    texts = ["the cat sat on the mat", "a dog barked at the moon", "we ate cake"] * 3
    task = build_task("bigram_shift", texts)
    assert isinstance(task, ProbingTask)
    assert task.class_counts == {"original": 9, "shifted": 9}
    assert task.groups is not None
    for g in np.unique(task.groups):
        rows = np.flatnonzero(task.groups == g)
        assert sorted(task.labels[rows]) == ["original", "shifted"]
        assert len({task.keys[r] for r in rows}) == 1
        assert task.texts[rows[0]] == texts[task.sources[rows[0]]]


def test_sentence_length_bins_are_ordered_ranges() -> None:
    texts = [" ".join(["word"] * k) for k in range(1, 31)] * 2
    task = build_task("sentence_length", texts)
    assert len(task) == 60
    assert len(task.class_counts) == st.N_LENGTH_BINS
    spans = []
    for label in sorted(task.class_counts):
        lo, _, hi = label.partition("-")
        spans.append((int(lo), int(hi or lo)))
    assert spans[0][0] == 1 and spans[-1][1] == 30
    assert all(prev[1] + 1 == nxt[0] for prev, nxt in itertools.pairwise(spans))
    for text, label in zip(task.texts, task.labels, strict=True):
        lo, _, hi = label.partition("-")
        assert int(lo) <= len(text.split()) <= int(hi or lo)


def test_word_content_keeps_single_target_sentences() -> None:
    rng = random.Random(0)
    nouns = ["river", "castle", "pepper", "violin"]
    filler = [f"filler{i}" for i in range(200)]
    texts = []
    for noun in nouns:
        texts += [f"the {noun} {rng.choice(filler)} {rng.choice(filler)}" for _ in range(7)]
    texts += ["the river and the castle"] * 3  # two targets: never used
    task = build_task("word_content", texts)
    assert set(task.class_counts) == set(nouns)
    assert len(set(task.class_counts.values())) == 1  # balanced
    for text, label in zip(task.texts, task.labels, strict=True):
        present = [n for n in nouns if n in text.split()]
        assert present == [label]
        assert "river and the castle" not in text
    assert all(k != label for k, label in zip(task.keys, task.labels, strict=True))


def test_surface_tasks_do_not_load_spacy(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> None:
        raise AssertionError("spaCy was loaded for a surface task")

    monkeypatch.setattr(st, "load_spacy", refuse)
    texts = [f"sentence number {i} has some {'extra ' * (i % 7)}words" for i in range(40)]
    for name in ("sentence_length", "bigram_shift"):
        assert len(build_task(name, texts)) >= 40


# ---------------------------------------------------------------- parse tasks


def test_tense_of_the_main_verb(nlp) -> None:  # type: ignore[no-untyped-def]
    # a finite auxiliary carries the tense: "has walked" is present (perfect), "had walked" past
    past = ["She walked home.", "They ate the cake.", "He had walked home.", "It was seen."]
    present = ["She walks home.", "They eat the cake.", "He has walked home.", "It is seen."]
    task = build_task("tense", past + present + ["An old house."], nlp=nlp, min_per_class=1)
    got = dict(zip(task.texts, task.labels, strict=True))
    assert got["She walked home."] == "past"
    assert got["She walks home."] == "present"
    assert all(got[s] == "past" for s in past)
    assert all(got[s] == "present" for s in present)
    assert "An old house." not in got  # no main verb, no label
    assert len(build_task("tense", [*past, *present, "", "  "], nlp=nlp, min_per_class=1)) == 8
    assert dict(zip(task.texts, task.keys, strict=True))["She walks home."] == "walk"


def test_subject_and_object_number(nlp) -> None:  # type: ignore[no-untyped-def]
    texts = ["The dog chased the cats.", "The dogs chased the cat.", "The children ate apples."]
    subj = build_task("subject_number", texts, nlp=nlp, min_per_class=1)
    obj = build_task("object_number", texts, nlp=nlp, min_per_class=1)
    assert list(subj.labels) == ["singular", "plural", "plural"]
    assert list(obj.labels) == ["plural", "singular", "plural"]
    assert subj.keys == ("dog", "dog", "child")
    assert obj.keys == ("cat", "cat", "apple")


def test_tree_depth(nlp) -> None:  # type: ignore[no-untyped-def]
    assert st.tree_depth(nlp("She slept.")) == 2  # root, then its children
    assert st.tree_depth(nlp("They ate the cake.")) == 3
    deep = nlp("The man who owned the dog that chased the cat that ate the rat slept.")
    assert st.tree_depth(deep) > st.tree_depth(nlp("The man slept."))


def test_coordination_inversion_swaps_clauses(nlp) -> None:  # type: ignore[no-untyped-def]
    cases = {
        "She walked home, and he drove to work.": "He drove to work, and she walked home.",
        "The dog barked but the cat slept.": "The cat slept but the dog barked.",
        "I like tea and you like coffee.": "You like coffee and I like tea.",
        "he tried but he failed": "he failed but he tried",
    }
    for text, want in cases.items():
        assert st.invert_coordination(nlp(text)) == want
    # a coordinated verb phrase is not two clauses; a single clause has nothing to swap
    assert st.invert_coordination(nlp("We ate and drank.")) is None
    assert st.invert_coordination(nlp("She walked home.")) is None
    task = build_task("coordination_inversion", list(cases) * 2, nlp=nlp, min_per_class=1)
    assert task.class_counts == {"inverted": 8, "original": 8}


def test_odd_man_out_replaces_one_noun_or_verb(nlp) -> None:  # type: ignore[no-untyped-def]
    texts = [
        "The farmer sold the horse.",
        "The teacher read the book.",
        "The child painted the fence.",
        "The doctor visited the patient.",
        "The baker cleaned the kitchen.",
        "The pilot flew the plane.",
    ]
    task = build_task("odd_man_out", texts, nlp=nlp, min_per_class=1)
    assert task.class_counts == {"original": 6, "replaced": 6}
    tags = {t.lower_: t.tag_ for text in texts for t in nlp(text)}
    for g in np.unique(task.groups):
        rows = np.flatnonzero(task.groups == g)
        by_label = dict(zip(task.labels[rows], (task.texts[r] for r in rows), strict=True))
        a, b = WORD.findall(by_label["original"]), WORD.findall(by_label["replaced"])
        assert len(a) == len(b)
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        assert len(diff) == 1
        old, new = a[diff[0]].lower(), b[diff[0]].lower()
        assert tags[old] == tags[new] and tags[old] in ("NN", "NNS", "VBD", "VB", "VBZ")


def test_missing_spacy_gives_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    st.load_spacy.cache_clear()
    monkeypatch.setitem(sys.modules, "spacy", None)
    try:
        with pytest.raises(ImportError, match=r'pip install "embedlens\[audit\]"'):
            build_task("tense", ["She walked home."] * 10)
        texts = ["the cat sat" + " on the mat" * (i % 4) for i in range(40)]
        result = run_suite(
            BagOfWords(), texts, tasks=["sentence_length", "tense"], n_bootstrap=0, cv=2
        )
        assert list(result.results) == ["sentence_length"]
        assert "embedlens[audit]" in result.skipped["tense"]
    finally:
        st.load_spacy.cache_clear()


def test_parse_tasks_parse_only_what_they_need(nlp) -> None:  # type: ignore[no-untyped-def]
    texts = ["She walked home.", "They eat the cake.", "An old house."] * 400
    corpus = st.Corpus(texts, nlp=nlp, enough=20)
    items = st.tense(corpus, np.random.default_rng(0))
    assert len(items) == 20
    assert corpus._parsed == st.PARSE_BUDGET * 20 < len(texts)  # not the whole corpus
    full = st.Corpus(texts[:30], nlp=nlp)
    assert len(st.tense(full, np.random.default_rng(0))) == 20
    assert full._parsed == 30


def test_limit_keeps_whole_pairs_and_the_earliest_sentences() -> None:
    from probes.suite import _limit

    texts = [f"sentence {i} has a few words" for i in range(50)]
    task = build_task("bigram_shift", texts)
    rank = np.arange(50)[::-1].copy()  # the last sentences come first
    small = _limit(task, 21, rank)
    assert len(small) == 20  # ten whole pairs, never half of one
    assert set(small.sources.tolist()) == set(range(40, 50))
    assert small.class_counts == {"original": 10, "shifted": 10}


# ---------------------------------------------------------------- bad input and run_suite


def test_bad_input() -> None:
    with pytest.raises(ValueError, match=r"unknown probing task 'length'.*sentence_length"):
        build_task("length", ["a b c"])
    with pytest.raises(ValueError, match="texts is empty"):
        build_task("bigram_shift", [])
    with pytest.raises(TypeError, match="single str"):
        build_task("bigram_shift", "the cat sat on the mat")
    with pytest.raises(TypeError, match="item 1"):
        build_task("bigram_shift", ["a b c", 3])
    with pytest.raises(ValueError, match=r"found 2 sample\(s\) among 1 text.*at least 5"):
        build_task("bigram_shift", ["the cat sat"])
    with pytest.raises(ValueError, match="unknown probing task"):
        run_suite(BagOfWords(), ["a b"], tasks=["nope"])
    with pytest.raises(TypeError, match="embed"):
        run_suite(object(), ["a b"], tasks=["bigram_shift"])
    with pytest.raises(ValueError, match=r"no probing task could be built.*bigram_shift"):
        run_suite(BagOfWords(), ["the cat sat"], tasks=["bigram_shift"])
    with pytest.raises(ValueError, match="cv must be an int"):
        run_suite(BagOfWords(), ["the cat sat"], cv=1)
    with pytest.raises(ValueError, match="max_per_task"):
        run_suite(BagOfWords(), ["the cat sat"], max_per_task=3)


def test_run_suite_table_and_figure() -> None:
    rng = random.Random(1)
    vocab = [f"tok{'abcdefghij'[i // 10]}{'abcdefghij'[i % 10]}" for i in range(60)]
    texts = [" ".join(rng.choices(vocab, k=rng.randint(2, 14))) for _ in range(300)]
    result = run_suite(
        BagOfWords(),
        texts,
        tasks=["sentence_length", "bigram_shift", "word_content"],
        max_per_task=120,
        n_bootstrap=100,
    )
    assert isinstance(result, SuiteResult)
    table = result.table
    assert list(table.columns) == [
        "task",
        "n",
        "n_classes",
        "majority_baseline",
        "accuracy",
        "ci_low",
        "ci_high",
        "control_accuracy",
        "selectivity",
    ]
    assert list(table["task"]) == ["sentence_length", "bigram_shift", "word_content"]
    assert (table["n"] <= 120).all()
    rows = table.set_index("task")
    # the word count is a feature: length is decoded; a bag of words cannot see word order
    length = rows.loc["sentence_length"]
    assert length["accuracy"] > length["majority_baseline"] + 0.2
    assert rows.loc["bigram_shift", "accuracy"] == pytest.approx(0.5, abs=0.1)
    assert rows.loc["bigram_shift", "majority_baseline"] == pytest.approx(0.5, abs=0.05)
    assert (
        rows.loc["word_content", "accuracy"] > rows.loc["word_content", "majority_baseline"] + 0.4
    )
    assert (rows["selectivity"] - (rows["accuracy"] - rows["control_accuracy"])).abs().max() < 1e-12
    # pairs never straddle folds: shifted copies sit in the same group as their original
    bigram = result.tasks["bigram_shift"]
    assert bigram.groups is not None and len(np.unique(bigram.groups)) * 2 == len(bigram)
    fig = result.figure()
    names = [trace.name for trace in fig.data]
    assert names == ["accuracy", "control", "majority baseline"]
    assert list(fig.data[0].y) == pytest.approx(list(table["accuracy"]))
    assert set(result.to_dict()["results"]) == set(table["task"])
    assert result.skipped == {}
    assert TASK_NAMES[0] == "sentence_length" and len(TASK_NAMES) == 9


@pytest.mark.slow
def test_suite_on_minilm_over_wordnet(minilm) -> None:  # type: ignore[no-untyped-def]
    from embedlens import load_texts

    texts = random.Random(0).sample(load_texts("wordnet-examples"), 3000)
    result = run_suite(minilm, texts, max_per_task=200, n_bootstrap=300)
    logger.info("MiniLM probing suite:\n%s", result.table.round(3).to_string())
    rows = result.table.set_index("task")
    assert set(rows.index) | set(result.skipped) == set(TASK_NAMES)
    assert {"sentence_length", "word_content", "tense", "bigram_shift"} <= set(rows.index)
    assert (rows["n"] <= 200).all()
    length = rows.loc["sentence_length"]
    assert length["ci_low"] > length["majority_baseline"]
    words = rows.loc["word_content"]
    assert words["accuracy"] > words["majority_baseline"] + 0.3
    tense = rows.loc["tense"]
    assert tense["ci_low"] > tense["majority_baseline"]
