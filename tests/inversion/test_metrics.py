"""inversion.metrics: checked against sacrebleu and hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from inversion.metrics import (
    EntityRecovery,
    InversionScores,
    _bleu_from_statistics,
    _bleu_statistics,
    entity_recovery,
    evaluate,
    normalize_tokens,
    token_prf,
)

REFS = [
    "the quick brown fox jumps over the lazy dog",
    "a stitch in time saves nine stitches later",
    "she sells sea shells by the sea shore today",
    "never judge a book by its cover, they say",
    "all that glitters is not gold in the end",
    "the early bird catches the worm every morning",
]
HYPS = [
    "the quick brown fox jumped over a lazy dog",
    "a stitch in time saves nine",
    "she sells shells by the shore",
    "",
    "all that glitters is not gold in the end",
    "the late bird catches a worm",
]


# ---------------------------------------------------------------- BLEU against sacrebleu


def test_bleu_equals_sacrebleu():
    import sacrebleu

    scores = evaluate(REFS, HYPS, bootstrap=0)
    assert scores.bleu == pytest.approx(sacrebleu.corpus_bleu(HYPS, [REFS]).score, abs=1e-9)
    assert 0 < scores.bleu < 100


def test_bootstrap_bleu_statistics_match_sacrebleu_on_subsets():
    import sacrebleu

    stats = _bleu_statistics(REFS, HYPS)
    rng = np.random.default_rng(3)
    for _ in range(25):
        rows = rng.integers(0, len(REFS), size=rng.integers(1, 12))
        ours = _bleu_from_statistics(stats[rows].sum(axis=0))[0]
        ref = sacrebleu.corpus_bleu([HYPS[i] for i in rows], [[REFS[i] for i in rows]]).score
        assert ours == pytest.approx(ref, abs=1e-9)


def test_identical_texts_score_perfectly():
    scores = evaluate(REFS, REFS, bootstrap=0)
    assert scores.bleu == pytest.approx(100.0)
    assert scores.token_f1 == 1.0
    assert scores.exact_match == 1.0


# ---------------------------------------------------------------- token F1, exact match


def test_normalize_tokens_casefolds_and_drops_punctuation():
    assert normalize_tokens("Hello, WORLD! It's 2024.") == ["hello", "world", "it", "s", "2024"]


def test_token_f1_hand_computed():
    # reference 4 tokens, hypothesis 3, 2 shared: P = 2/3, R = 2/4, F1 = 2PR/(P+R) = 4/7
    p, r, f = token_prf("The cat sat down", "the dog sat")
    assert (p, r) == (pytest.approx(2 / 3), pytest.approx(0.5))
    assert f == pytest.approx(4 / 7)


def test_token_f1_multiset_versus_set():
    # "the the the" vs "the cat": multiset shares 1 "the": P=1/3, R=1/2, F1=0.4;
    # sets {the} vs {the, cat}: P=1, R=1/2, F1=2/3
    assert token_prf("the cat", "the the the")[2] == pytest.approx(0.4)
    assert token_prf("the cat", "the the the", overlap="set")[2] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="overlap"):
        token_prf("a", "a", overlap="bag")  # type: ignore[arg-type]


def test_token_f1_is_mean_over_examples_and_empty_hypothesis_scores_zero():
    scores = evaluate(REFS, HYPS, bootstrap=0)
    expected = [token_prf(r, h)[2] for r, h in zip(REFS, HYPS, strict=True)]
    assert scores.token_f1 == pytest.approx(np.mean(expected))
    assert scores.per_example["token_f1"][3] == 0.0
    np.testing.assert_allclose(scores.per_example["token_f1"], expected)


def test_exact_match_normalizes_whitespace_only():
    refs = ["a b c", "x y", "Hello there", "one"]
    hyps = ["  a   b\tc ", "x y", "hello there", "one."]
    scores = evaluate(refs, hyps, bootstrap=0)
    np.testing.assert_array_equal(scores.per_example["exact_match"], [1, 1, 0, 0])
    assert scores.exact_match == 0.5


# ---------------------------------------------------------------- cosine


def test_cosine_with_tiny_embedder(tiny_emb):
    scores = evaluate(REFS, HYPS, embedder=tiny_emb, bootstrap=0)
    a = tiny_emb.embed(REFS).astype(np.float64)
    b = tiny_emb.embed(HYPS).astype(np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    # the tiny embedder maps "" to the zero vector: that pair scores 0, not NaN
    expected = np.divide((a * b).sum(1), norms, out=np.zeros(len(a)), where=norms > 0)
    np.testing.assert_allclose(scores.per_example["cosine"], expected, rtol=1e-5)
    assert scores.cosine == pytest.approx(expected.mean(), rel=1e-5)
    assert scores.per_example["cosine"][4] == pytest.approx(1.0, abs=1e-5)  # identical pair
    same = evaluate(REFS, HYPS, embedder=tiny_emb, reference_embeddings=a, bootstrap=0)
    assert same.cosine == pytest.approx(scores.cosine, rel=1e-5)


def test_cosine_embeds_each_list_once(tiny_emb):
    calls: list[int] = []

    class Counting:
        name, dim, fingerprint = tiny_emb.name, tiny_emb.dim, tiny_emb.fingerprint

        def embed(self, texts, *, batch_size=32, progress=None):
            calls.append(len(texts))
            return tiny_emb.embed(texts)

    evaluate(REFS, HYPS, embedder=Counting(), bootstrap=0)
    assert calls == [len(REFS), len(HYPS) - 1]  # the empty hypothesis is not embedded


def test_an_empty_hypothesis_scores_cosine_zero_without_a_query(tiny_emb):
    asked: list[str] = []

    class Recording:
        name, dim, fingerprint = tiny_emb.name, tiny_emb.dim, tiny_emb.fingerprint

        def embed(self, texts, *, batch_size=32, progress=None):
            asked.extend(texts)
            return tiny_emb.embed(texts)

    hyps = list(HYPS)
    hyps[0], hyps[5] = "", "   "  # HYPS[3] is empty already
    cos = evaluate(REFS, hyps, embedder=Recording(), bootstrap=0).per_example["cosine"]
    assert [cos[i] for i in (0, 3, 5)] == [0.0, 0.0, 0.0]
    assert not any(t.strip() == "" for t in asked[len(REFS) :])
    full = evaluate(REFS, HYPS, embedder=tiny_emb, bootstrap=0).per_example["cosine"]
    np.testing.assert_allclose([cos[i] for i in (1, 2, 4)], [full[i] for i in (1, 2, 4)])
    assert min(cos[i] for i in (1, 2, 4)) > 0


def test_reference_embeddings_shape_checked(tiny_emb):
    with pytest.raises(ValueError, match="rows"):
        evaluate(REFS, HYPS, embedder=tiny_emb, reference_embeddings=np.ones((2, 32)))
    with pytest.raises(ValueError, match="same embedder"):
        evaluate(REFS, HYPS, embedder=tiny_emb, reference_embeddings=np.ones((6, 8)))
    with pytest.raises(ValueError, match="embedder="):
        evaluate(REFS, HYPS, reference_embeddings=np.ones((6, 32)))


# ---------------------------------------------------------------- bootstrap


def test_bootstrap_ci_contains_estimate_and_is_seeded():
    refs, hyps = REFS * 5, HYPS * 5
    state = np.random.get_state()
    a = evaluate(refs, hyps, bootstrap=300, seed=7)
    assert np.array_equal(np.random.get_state()[1], state[1])  # global RNG untouched
    b = evaluate(refs, hyps, bootstrap=300, seed=7)
    c = evaluate(refs, hyps, bootstrap=300, seed=8)
    assert a.ci == b.ci
    assert a.ci != c.ci
    for name in ("bleu", "token_f1", "token_precision", "token_recall", "exact_match"):
        lo, hi = a.ci[name]
        assert lo <= a.metrics[name] <= hi, name
        assert lo < hi, name


def test_bootstrap_matches_naive_resampling_with_sacrebleu():
    import sacrebleu

    refs, hyps = REFS * 3, HYPS * 3
    scores = evaluate(refs, hyps, bootstrap=40, seed=11)
    # the same draws, done the slow way: resample pairs, rescore each resample from scratch
    draws = np.random.default_rng(11).integers(0, len(refs), size=(40, len(refs)))
    bleu = [
        sacrebleu.corpus_bleu([hyps[i] for i in row], [[refs[i] for i in row]]).score
        for row in draws
    ]
    f1 = [np.mean([token_prf(refs[i], hyps[i])[2] for i in row]) for row in draws]
    assert scores.ci["bleu"] == pytest.approx(tuple(np.percentile(bleu, [2.5, 97.5])))
    assert scores.ci["token_f1"] == pytest.approx(tuple(np.percentile(f1, [2.5, 97.5])))


def test_ci_width_shrinks_with_confidence():
    wide = evaluate(REFS * 4, HYPS * 4, bootstrap=200, confidence=0.99).ci["token_f1"]
    narrow = evaluate(REFS * 4, HYPS * 4, bootstrap=200, confidence=0.5).ci["token_f1"]
    assert narrow[1] - narrow[0] < wide[1] - wide[0]


def test_no_bootstrap_gives_no_ci():
    assert evaluate(REFS, HYPS, bootstrap=0).ci == {}


# ---------------------------------------------------------------- output


def test_to_dict_and_figure(tiny_emb):
    import json

    scores = evaluate(REFS, HYPS, embedder=tiny_emb, bootstrap=100)
    assert isinstance(scores, InversionScores)
    d = json.loads(json.dumps(scores.to_dict()))
    assert d["bleu"] == pytest.approx(scores.bleu)
    assert len(d["per_example"]["token_f1"]) == len(REFS)
    fig = scores.figure()
    (bar,) = fig.data
    assert list(bar.x) == ["BLEU / 100", "token_f1", "exact_match", "cosine"]
    assert bar.y[0] == pytest.approx(scores.bleu / 100)
    assert bar.y[1] == pytest.approx(scores.token_f1)
    lo, hi = scores.ci["token_f1"]
    assert bar.error_y.array[1] == pytest.approx(hi - scores.token_f1)
    assert bar.error_y.arrayminus[1] == pytest.approx(scores.token_f1 - lo)


# ---------------------------------------------------------------- entity recovery: fields


def _pii(n: int = 4):
    from embedlens.data import load_corpus

    return load_corpus("pii", n=n, seed=0)


def test_field_recovery_on_pii_records():
    corpus = _pii(3)
    f0, f1, f2 = corpus.fields
    phone_digits = "".join(ch for ch in f0["phone"] if ch.isdigit())[-10:]
    reformatted = f"({phone_digits[:3]}) {phone_digits[3:6]} - {phone_digits[6:]}"
    hyps = [
        # name (other case), phone reformatted, email upper-cased: 3 of 8 facts
        f"{f0['name'].upper()} called from {reformatted}, mail {f0['email'].upper()}",
        # city and state only
        f"someone from {f1['city']}, {f1['state']}",
        "",  # nothing
    ]
    result = entity_recovery(corpus.texts, hyps, fields=corpus.fields, bootstrap=0)
    assert isinstance(result, EntityRecovery) and result.mode == "fields"
    assert set(result.total) == {
        "name",
        "email",
        "phone",
        "address",
        "dob",
        "city",
        "state",
        "condition",
    }
    assert result.total["name"] == 3
    assert result.recovered == {
        "address": 0,
        "city": 1,
        "condition": 0,
        "dob": 0,
        "email": 1,
        "name": 1,
        "phone": 1,
        "state": 1,
    }
    assert result.rate["phone"] == pytest.approx(1 / 3)
    assert result.overall == pytest.approx(5 / 24)
    assert dict(result.per_example[0]["phone"])[f0["phone"]] is True
    assert dict(result.per_example[2]["name"])[f2["name"]] is False
    # fields passed as the first argument work the same
    same = entity_recovery(corpus.fields, hyps, bootstrap=0)
    assert same.recovered == result.recovered


def test_field_matching_rules():
    fields = [
        {"name": "Ann Lee", "phone": "+1-555-123-4567", "email": "Ann.Lee@Example.com"},
        {"name": "Bo Diddley", "phone": "555.123.4567", "email": "bo@x.org"},
    ]
    hyps = [
        "ann-lee: 555 1234567, ann.lee @ example.com",  # all three, tolerantly
        "Bo Didd, tel 555.123.4568, email bo@x.org.uk",  # name partial, wrong digit; email found
    ]
    result = entity_recovery(fields, hyps, bootstrap=0)
    assert result.recovered == {"email": 2, "name": 1, "phone": 1}
    # a name is matched on word boundaries, not inside another word
    assert entity_recovery([{"city": "Ely"}], ["Shelly"], bootstrap=0).recovered["city"] == 0
    # dates compare digits
    assert entity_recovery([{"dob": "1990-01-02"}], ["born 1990/01/02"], bootstrap=0).rate == {
        "dob": 1.0
    }


def test_field_recovery_ci_and_field_names():
    fields = [{"name": f"Person {i}", "city": "Paris"} for i in range(40)]
    hyps = [f"person {i} lives here" if i % 2 else "nobody" for i in range(40)]
    result = entity_recovery(fields, hyps, field_names=["name"], bootstrap=200, seed=1)
    assert set(result.total) == {"name"}
    lo, hi = result.ci["name"]
    assert lo < result.rate["name"] == 0.5 < hi
    again = entity_recovery(fields, hyps, field_names=["name"], bootstrap=200, seed=1)
    assert again.ci == result.ci


def test_evaluate_with_fields_reports_entities():
    corpus = _pii(3)
    scores = evaluate(corpus.texts, corpus.texts, fields=corpus.fields, bootstrap=50)
    assert scores.entities is not None
    assert scores.entities.overall == 1.0
    assert scores.to_dict()["entities"]["types"]["name"]["rate"] == 1.0
    assert (
        evaluate(corpus.texts, corpus.texts, fields=corpus.fields, entities="none").entities is None
    )


# ---------------------------------------------------------------- entity recovery: spaCy


class _Ent:
    def __init__(self, text: str, label: str) -> None:
        self.text, self.label_ = text, label


class _FakeNER:
    """Stands in for a spaCy pipeline: capitalized word pairs are PERSON, 4 digits DATE."""

    def pipe(self, texts):
        import re

        for text in texts:
            ents = [_Ent(m, "PERSON") for m in re.findall(r"[A-Z][a-z]+ [A-Z][a-z]+", text)]
            ents += [_Ent(m, "DATE") for m in re.findall(r"\b\d{4}\b", text)]
            yield type("Doc", (), {"ents": ents})()


def test_entity_mode_with_a_pipeline_object():
    refs = ["Ann Lee met Bob Stone in 1999", "Cy Young was born in 1867"]
    hyps = ["ann lee met someone in 1999", "a pitcher"]
    result = entity_recovery(refs, hyps, nlp=_FakeNER(), bootstrap=0)
    assert result.mode == "spacy"
    assert result.total == {"DATE": 2, "PERSON": 3}
    assert result.recovered == {"DATE": 1, "PERSON": 1}
    only = entity_recovery(refs, hyps, nlp=_FakeNER(), labels=["DATE"], bootstrap=0)
    assert set(only.total) == {"DATE"}


@pytest.mark.slow
def test_spacy_entities_real_model():
    refs = ["Megan Chang lives in Oklahoma and works for Google since 2019."]
    hyps = ["megan chang works at google in texas"]
    result = entity_recovery(refs, hyps, bootstrap=0)
    assert result.total.get("PERSON") == 1 and result.recovered["PERSON"] == 1
    assert result.recovered["GPE"] == 0
    assert result.recovered["ORG"] == 1
    scores = evaluate(refs, hyps, entities="spacy", bootstrap=0)
    assert scores.entities is not None and scores.entities.mode == "spacy"


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("refs", "hyps", "error", "match"),
    [
        (["a", "b"], ["a"], ValueError, "2 references but 1 hypotheses"),
        ([], [], ValueError, "empty"),
        (["a"], [None], TypeError, r"hypotheses\[0\]"),
        ([1], ["a"], TypeError, r"references\[0\]"),
        ("a text", ["a"], TypeError, "single str"),
    ],
)
def test_evaluate_bad_input(refs, hyps, error, match):
    with pytest.raises(error, match=match):
        evaluate(refs, hyps)


def test_evaluate_bad_options():
    with pytest.raises(ValueError, match="bootstrap"):
        evaluate(["a"], ["a"], bootstrap=-1)
    with pytest.raises(TypeError, match="bootstrap"):
        evaluate(["a"], ["a"], bootstrap=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="confidence"):
        evaluate(["a"], ["a"], confidence=95)
    with pytest.raises(ValueError, match="entities"):
        evaluate(["a"], ["a"], entities="names")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fields="):
        evaluate(["a"], ["a"], entities="fields")


def test_entity_recovery_bad_input():
    with pytest.raises(ValueError, match="2 field records but 1"):
        entity_recovery(["a"], ["a"], fields=[{"name": "x"}, {"name": "y"}])
    with pytest.raises(ValueError, match="1 references but 2"):
        entity_recovery(["a"], ["a", "b"], nlp=_FakeNER())
    with pytest.raises(TypeError, match=r"fields\[1\]"):
        entity_recovery(["a", "b"], ["a", "b"], fields=[{"name": "x"}, "y"])
    with pytest.raises(ValueError, match="empty"):
        entity_recovery([], [])
    with pytest.raises(TypeError, match=r"hypotheses\[0\]"):
        entity_recovery([{"name": "x"}], [3])


def test_entity_recovery_and_the_audit_share_one_fact_matcher():
    """inversion.entity_recovery counts a fact exactly when embedlens.facts.found does."""
    from embedlens.facts import found

    cases = [
        ({"condition": "Crohn's disease"}, "crohn crohn"),  # token sets, generic words left out
        ({"condition": "rheumatoid arthritis"}, "arthritis, rheumatoid"),
        ({"phone": "555-123-4567"}, "call 555 or 1234567"),  # two numbers, never joined
        ({"dob": "1990-03-07"}, "born March 7, 1990"),  # dates as dates
        ({"dob": "1990-03-07"}, "born 1990, on 03 07"),
        ({"name": "Ann Lee"}, "the annual leeds report"),  # whole words only
    ]
    result = entity_recovery([f for f, _ in cases], [h for _, h in cases], bootstrap=0)
    got = [next(iter(ex.values()))[0][1] for ex in result.per_example]
    expected = [found(*next(iter(f.items())), h) for f, h in cases]
    assert got == expected == [True, True, False, True, False, False]
