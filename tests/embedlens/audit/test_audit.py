"""The privacy audit: attacks, budget, defenses, bad input, resume from the cache."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from embedlens.audit import AuditError, audit
from embedlens.audit.attacks import (
    CHUNK,
    AttackContext,
    AttackSpec,
    parse_attacks,
    parse_budget,
    run_attack,
)
from embedlens.audit.defenses import (
    Defense,
    DefenseSpec,
    pareto_front,
    parse_defenses,
    recall_at,
)
from embedlens.audit.result import AuditResult, compare_results
from embedlens.embedders import FunctionEmbedder

FAST = {"bag-of-words": {"epochs": 30}}  # fewer epochs: unit tests check plumbing, not strength
DEFENSES = ["noise:0.05", "noise:5", "int8", "binary", "truncate:8", "leace:condition"]


@pytest.fixture(scope="module")
def small_result(tiny_emb):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return audit(
            tiny_emb,
            "pii",
            records=40,
            attacks=["nn", "bow"],
            defenses=DEFENSES,
            bootstrap=50,
            progress=False,
            attack_options=FAST,
        )
    finally:
        torch.set_num_threads(before)


def test_audit_measures_every_attack_field_and_defense(small_result):
    r = small_result
    nn, bow = r.attacks["nearest-neighbour"], r.attacks["bag-of-words"]
    assert nn["status"] == bow["status"] == "ran"
    assert nn["n_attacked"] == 40 and nn["queries_per_record"] == 0.0
    assert set(nn["fields"]) >= {
        "full_name",
        "first_name",
        "last_name",
        "email",
        "phone",
        "address",
        "dob",
        "city",
        "condition",
    }
    for f in nn["fields"].values():
        assert 0.0 <= f["ci"][0] <= f["rate"] <= f["ci"][1] <= 1.0
        assert f["total"] == 40
    assert set(nn["metrics"]) >= {"bleu", "token_f1", "exact_match", "cosine"}
    # the nearest neighbour answers with one of the attacker's own texts, never a victim's
    hyps = {rec["hypothesis"] for rec in nn["records"]}
    assert hyps and not hyps & set(r.records["texts"])
    assert [d["name"] for d in r.defenses] == ["none", *DEFENSES]
    for d in r.defenses:
        assert set(d["leakage"]) == {"non_adaptive", "adaptive"}
        assert set(d["leakage"]["adaptive"]) == {"nearest-neighbour", "bag-of-words"}
        assert 0.0 <= d["utility"]["recall@1"] <= d["utility"]["recall@10"] <= 1.0
    assert r.defense("none")["utility"]["recall@10"] == r.utility["recall@10"]
    assert len(r.records["x"]) == len(r.records["leakage"]) == 40
    assert r.summary["risk"] in ("high", "moderate", "low")
    assert r.summary["ran"] == ["nearest-neighbour", "bag-of-words"]


def test_prior_is_the_rate_of_a_guess_without_vectors(small_result):
    from collections import Counter

    from embedlens.data import load_corpus

    own = load_corpus("pii", n=200, seed=1)  # the attacker's records: other people
    victims = load_corpus("pii", n=40, seed=0)
    common = Counter(f["condition"] for f in own.fields).most_common(1)[0][0]
    share = sum(f["condition"] == common for f in victims.fields) / 40
    prior = small_result.summary["prior_fields"]
    assert prior["condition"] == share and prior["full_name"] == 0.0


def test_result_json_round_trip(small_result, tmp_path):
    path = tmp_path / "result.json"
    small_result.to_json(path)
    back = AuditResult.from_json(path)
    assert back == small_result
    assert AuditResult.from_json(tmp_path) == small_result  # a report directory works too
    rows = compare_results(small_result, back)
    assert rows and all(r["change"] in (0.0, None) for r in rows)


def test_from_json_refuses_what_is_not_a_result(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"a": 1}')
    with pytest.raises(ValueError, match="not an audit result"):
        AuditResult.from_json(bad)
    bad.write_text("not json")
    with pytest.raises(ValueError, match="not JSON"):
        AuditResult.from_json(bad)
    with pytest.raises(FileNotFoundError, match="no audit result"):
        AuditResult.from_json(tmp_path / "missing.json")


def test_unknown_attack_and_defense_names_list_the_valid_ones(tiny_emb):
    with pytest.raises(ValueError, match="valid attacks are nearest-neighbour, bag-of-words"):
        audit(tiny_emb, "pii", records=10, attacks=["telepathy"])
    with pytest.raises(ValueError, match="valid defenses are noise"):
        parse_defenses(["prayer"], dim=16)
    with pytest.raises(ValueError, match="has no label column 'religion'"):
        parse_defenses(["leace:religion"], dim=16, labels={"condition": []})
    with pytest.raises(ValueError, match="between 1 and 15"):
        parse_defenses(["truncate:16"], dim=16)
    with pytest.raises(ValueError, match="needs the directory"):
        parse_attacks(["inverter"])


def test_attacks_parse_cheapest_first_and_sweeps_expand():
    assert [a.name for a in parse_attacks("train-inverter:5,guided,nn")] == [
        "nearest-neighbour",
        "guided",
        "train-inverter:5",
    ]
    names = [d.name for d in parse_defenses(["noise", "truncate"], dim=64)]
    noise = ["noise:0.05", "noise:0.2", "noise:0.5", "noise:1", "noise:3"]
    assert names == [*noise, "truncate:32", "truncate:16", "truncate:8"]


def test_budget_parsing():
    assert parse_budget("10m").seconds == 600 and parse_budget("10m").queries is None
    b = parse_budget("90s, 5000q")
    assert (b.seconds, b.queries) == (90.0, 5000)
    assert parse_budget(None).text == "unlimited" and parse_budget(30).seconds == 30.0
    with pytest.raises(ValueError, match="cannot read the budget"):
        parse_budget("ten minutes")
    with pytest.raises(ValueError, match="> 0"):
        parse_budget(0)


def test_empty_corpus_and_unreadable_files_are_refused(tiny_emb, tmp_path):
    with pytest.raises(ValueError, match="no records with text"):
        audit(tiny_emb, ["", "   ", "\t"], attacks=["nn"])
    with pytest.raises(ValueError, match="at least one text"):
        audit(tiny_emb, [], attacks=["nn"])
    blank = tmp_path / "blank.txt"
    blank.write_text("\n\n   \n")
    with pytest.raises(ValueError, match="empty or has only blank lines"):
        audit(tiny_emb, blank, attacks=["nn"])
    with pytest.raises(FileNotFoundError):
        audit(tiny_emb, tmp_path / "missing.txt", attacks=["nn"])
    garbage = tmp_path / "data.parquet"
    garbage.write_bytes(b"\x00\x01 not a parquet file")
    with pytest.raises(ValueError):
        audit(tiny_emb, garbage, attacks=["nn"])


class _Flaky:
    """A remote-API stand-in: embeds with the tiny model, fails on call ``fail_at``."""

    def __init__(self, emb, fail_at=None):
        self.emb, self.fail_at, self.calls, self.texts = emb, fail_at, 0, []

    def __call__(self, batch):
        self.calls += 1
        if self.fail_at is not None and self.calls == self.fail_at:
            raise RuntimeError("HTTP 500 from the embedding API")
        self.texts.extend(batch)
        return self.emb.embed(batch)


def test_embedder_failing_midway_stops_keeps_and_resumes(tiny_emb, tmp_path, one_torch_thread):
    cache = tmp_path / "emb.sqlite"
    flaky = _Flaky(tiny_emb, fail_at=3)
    emb = FunctionEmbedder(flaky, name="api", fingerprint="vendor/model@1", dim=32)
    kwargs = dict(records=24, attacks=["nn"], defenses=[], bootstrap=0, batch_size=8)
    with pytest.raises(AuditError, match="HTTP 500") as err:
        audit(emb, "pii", cache=cache, **kwargs)
    assert "run the audit again to resume" in str(err.value) and str(cache) in str(err.value)
    dead = FunctionEmbedder(_Flaky(tiny_emb, fail_at=1), name="down", fingerprint="down@1")
    with pytest.raises(AuditError, match="failed on its first call"):
        audit(dead, "pii", **kwargs)
    done_before = list(flaky.texts)
    assert len(done_before) == 16  # two batches of 8 were embedded and kept
    good = _Flaky(tiny_emb)
    emb2 = FunctionEmbedder(good, name="api", fingerprint="vendor/model@1", dim=32)
    result = audit(emb2, "pii", cache=cache, **kwargs)
    assert result.attacks["nearest-neighbour"]["status"] == "ran"
    assert not set(done_before) & set(good.texts)  # nothing embedded twice


class _Slow:
    """An expensive attack: each invert call takes ``pause`` seconds and 10 queries a text."""

    def __init__(self, pause):
        self.pause = pause

    def invert(self, X):
        time.sleep(self.pause)
        self.queries_ = np.full(len(X), 10)
        return ["guess"] * len(X)


def test_budget_scales_an_expensive_attack_down_and_says_so(tiny_emb):
    ctx = AttackContext(embedder=tiny_emb, own_texts=["a"], own_X=np.zeros((1, 32)))
    X = np.ones((40, 32), dtype=np.float32)
    spec = AttackSpec("guided")
    run = run_attack(spec, ctx, X, seconds=0.25, attack=_Slow(0.1))
    assert CHUNK <= len(run.hypotheses) < 40 and len(run.hypotheses) % CHUNK == 0
    assert f"attacked {len(run.hypotheses)} of 40 records" in run.note
    run = run_attack(spec, ctx, X, queries=100, attack=_Slow(0.0))
    expected = (100 // (10 * CHUNK)) * CHUNK  # whole chunks of CHUNK texts x 10 queries
    assert len(run.hypotheses) == expected and "query share" in run.note
    assert run.queries.tolist() == [10.0] * expected
    run = run_attack(spec, ctx, X, attack=_Slow(0.0))
    assert len(run.hypotheses) == 40 and run.note is None


def test_an_inverter_path_that_does_not_exist_is_refused_before_any_model(tmp_path):
    """A missing inverter folder is refused up front (no embedder is loaded: the name given
    would fail to load if it were)."""
    with pytest.raises(ValueError, match=r"nothing-here.*does not exist"):
        audit(
            "no-such-embedder",
            "pii",
            records=12,
            attacks=["nn", f"inverter:{tmp_path / 'nothing-here'}"],
            progress=False,
        )


def test_an_attack_that_fails_makes_the_audit_inconclusive(tiny_emb, tmp_path):
    broken = tmp_path / "broken-inverter"
    broken.mkdir()
    (broken / "config.json").write_text("{not json", encoding="utf-8")
    r = audit(
        tiny_emb,
        "pii",
        records=12,
        attacks=["nn", f"inverter:{broken}"],
        defenses=[],
        bootstrap=0,
        progress=False,
    )
    inv = r.attacks[f"inverter:{broken}"]
    assert inv["status"] in ("failed", "skipped") and inv["reason"]
    assert r.attacks["nearest-neighbour"]["status"] == "ran"
    assert list(r.summary["skipped"]) == [f"inverter:{broken}"]
    assert r.summary["status"] == "inconclusive"
    assert r.summary["risk"] in ("inconclusive", "high")
    assert r.summary["risk"] == "high" or r.summary["headline"].startswith("Inconclusive")


def test_plain_corpus_splits_attacker_and_victims(tiny_emb):
    texts = [f"record {i} about the {w} in town" for i, w in enumerate(["cat", "dog", "cow"] * 6)]
    r = audit(tiny_emb, texts, attacks=["nn"], defenses=["int8"], bootstrap=0, progress=False)
    assert r.config["corpus"]["records"] + r.config["attacker"]["records"] == len(texts)
    assert not set(r.records["texts"]) & {
        rec["hypothesis"] for rec in r.attacks["nearest-neighbour"]["records"]
    }
    assert r.utility["queries"] == "the first half of each record's words"


# --------------------------------------------------------------------------- defenses


def _collection(n=200, d=384, seed=0):
    """Unit vectors crowded around one direction, as text embeddings are, and queries made
    from part of each record (a blend of the record's own direction and something else)."""
    rng = np.random.default_rng(seed)

    def unit(A):
        return A / np.linalg.norm(A, axis=-1, keepdims=True)

    common = unit(rng.normal(size=d))
    own, other = unit(rng.normal(size=(n, d))), unit(rng.normal(size=(n, d)))
    X = unit(common + 0.3 * own).astype(np.float32)
    Q = unit(common + 0.3 * (own + 0.5 * other)).astype(np.float32)
    return X, Q


def test_noise_sweep_has_the_known_shape():
    """Small noise barely changes retrieval; large noise destroys it."""
    X, Q = _collection()
    clean = recall_at(Q, X)
    assert clean["recall@1"] >= 0.95
    rows = {}
    for spec in parse_defenses(["noise:0.05", "noise:1", "noise:3"], dim=X.shape[1]):
        d = Defense(spec, seed=0).fit(X)
        rows[spec.strength] = recall_at(d.queries(Q), d.records(X, allow_fitted=True))
    assert rows[0.05]["recall@1"] >= clean["recall@1"] - 0.05
    assert rows[0.05]["recall@10"] >= rows[1.0]["recall@10"] >= rows[3.0]["recall@10"]
    assert rows[3.0]["recall@10"] <= 0.3 and rows[3.0]["recall@1"] <= 0.05  # chance: 5%, 0.5%


def test_quantization_truncation_and_restore():
    X, Q = _collection(n=50, d=16)
    X = X - X.mean(axis=0)  # both signs in every coordinate
    int8 = Defense(DefenseSpec("int8")).fit(X)
    assert np.abs(int8.records(X, allow_fitted=True) - X).max() <= np.abs(X).max(axis=0).max() / 127
    binary = Defense(DefenseSpec("binary")).fit(X)
    assert set(np.unique(binary.records(X, allow_fitted=True))) == {-1.0, 1.0}
    assert np.array_equal(binary.queries(Q), np.where(Q > 0, 1.0, -1.0))
    trunc = Defense(DefenseSpec("truncate", 4.0)).fit(X)
    stored = trunc.records(X, allow_fitted=True)
    assert stored.shape == (50, 4) and trunc.restore(stored).shape == (50, 16)
    assert np.array_equal(trunc.restore(stored)[:, :4], X[:, :4])
    noise = Defense(DefenseSpec("noise", 1.0), seed=3).fit(X)
    gap = np.linalg.norm(noise.records(X, allow_fitted=True) - X, axis=1).mean()
    assert 0.8 < gap / np.linalg.norm(X, axis=1).mean() < 1.2  # noise norm ~ strength x norm


def _three_classes(n=120, d=12, seed=0):
    rng = np.random.default_rng(seed)
    y = np.array(["a", "b", "c"] * (n // 3))
    X = rng.normal(size=(n, d)).astype(np.float32)
    X[:, 0] += 3.0 * (y == "a")
    X[:, 1] += 3.0 * (y == "b")
    return X, y


def test_leace_defense_erases_the_attribute_measured_inside_the_folds():
    from embedlens.audit.stages import defended_probe_accuracy

    X, y = _three_classes()
    spec = DefenseSpec("leace", attribute="y")
    before = defended_probe_accuracy(X, {"y": y})["y"]
    after = defended_probe_accuracy(X, {"y": y}, spec)["y"]
    # erased to chance (1/3), not below it: the eraser never saw the held-out fold
    assert before > 0.9 and 0.2 < after < 1 / 3 + 0.15


def test_a_defense_is_never_evaluated_on_the_rows_it_was_fitted_on():
    """Regression (issue 19): LEACE fitted on all records before cross-validation memorised
    the folds (a probe at 0.13 on three balanced classes). Now such a use is refused, and the
    cross-fitted vectors of every record come from a defense fitted without it."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    from embedlens.audit.defenses import cross_fit
    from embedlens.audit.stages import defended_probe_accuracy

    X, y = _three_classes(n=150, d=6)
    X[:, 2:] *= 0.01  # few informative dimensions: the memorisation is strong
    spec = DefenseSpec("leace", attribute="y")
    d = Defense(spec).fit(X, {"y": y})
    with pytest.raises(ValueError, match="rows it was fitted on"):
        d.records(X)
    leaky = cross_val_score(LogisticRegression(), d.records(X, allow_fitted=True), y, cv=5)
    honest = defended_probe_accuracy(X, {"y": y}, spec)["y"]
    assert leaky.mean() < 0.25  # the defect the issue reproduced: below chance (1/3)
    assert 0.25 < honest < 0.45  # fitted inside the folds: at chance
    cf = cross_fit(spec, X, {"y": y}, seed=0)
    for j, fd in enumerate(cf.defenses):  # each fold's defense never saw its own rows
        assert (
            not fd.fitted_rows_
            & Defense(spec).fit(X[cf.fold == j], {"y": y[cf.fold == j]}).fitted_rows_
        )


def test_cross_fit_keeps_duplicate_vectors_in_one_fold():
    from embedlens.audit.defenses import cross_fit

    X, _ = _three_classes(n=30, d=4)
    X = np.vstack([X, X[:5]])  # five records appear twice
    cf = cross_fit(DefenseSpec("int8"), X, seed=1)
    assert np.array_equal(cf.fold[:5], cf.fold[30:])
    assert cf.records.shape == X.shape


def test_recall_counts_ties_against_the_query():
    X = np.ones((10, 4), dtype=np.float32)
    assert recall_at(X, X, ks=(1, 10)) == {"recall@1": 0.0, "recall@10": 1.0}
    E = np.eye(6, dtype=np.float32)
    assert recall_at(E[[4, 1]], E, ks=(1,), targets=[4, 1]) == {"recall@1": 1.0}
    assert recall_at(E[[4, 1]], E, ks=(1,), targets=[1, 4]) == {"recall@1": 0.0}
    with pytest.raises(ValueError, match="one record per query"):
        recall_at(E[:2], E, targets=[0])


def test_utility_is_measured_on_a_sample_of_queries(tiny_emb, monkeypatch):
    from embedlens.audit import run as audit_module

    monkeypatch.setattr(audit_module, "MAX_UTILITY_QUERIES", 7)
    r = audit(
        tiny_emb, "pii", records=20, attacks=["nn"], defenses=["int8"], bootstrap=0, progress=False
    )
    assert r.utility["n"] == 7 and r.defense("int8")["utility"]["recall@10"] >= 0.0


def test_pareto_front():
    assert pareto_front([(0.5, 0.9), (0.2, 0.8), (0.3, 0.7), (0.0, 0.1)]) == [0, 1, 3]
    assert pareto_front([(0.1, 0.5), (0.1, 0.5)]) == [0, 1]


def test_embedlens_audit_is_callable_from_the_package(small_result):
    import embedlens

    assert callable(embedlens.audit) and embedlens.AuditResult is AuditResult
    assert json.loads(small_result.to_json())["version"] == 1


def test_model_attacks_train_load_and_query(tiny_emb, tmp_path, one_torch_thread):
    """train-inverter, inverter:PATH and guided run end to end with tiny models."""
    from inversion.inverter import Inverter
    from tiny_models import tiny_causal_lm, tiny_embedder

    lm = tiny_causal_lm(seed=0)
    saved = tmp_path / "inv"
    texts = [f"note {i} for patient {i % 7}" for i in range(24)]
    Inverter(embedder=tiny_emb, decoder=lm, prefix_tokens=2, max_length=8).fit(
        texts, steps=2, batch_size=4, progress=False
    ).save_pretrained(saved)
    options = {
        "train-inverter": {"decoder": lm, "prefix_tokens": 2, "max_length": 8, "batch_size": 4},
        "guided": {
            "decoder": lm,
            "beam_width": 2,
            "top_k": 2,
            "max_length": 3,
            "edit_queries": 4,
            "vocabulary": ["note", "patient", "name", "cat"],
        },
    }
    attacks = ["train-inverter:3", f"inverter:{saved}", "guided"]
    r = audit(
        tiny_emb,
        "pii",
        records=6,
        attacks=attacks,
        defenses=[],
        bootstrap=0,
        attack_options=options,
        progress=False,
    )
    trained = r.attacks["train-inverter:3"]
    assert trained["status"] == "ran", trained["reason"]
    assert trained["note"].startswith("trained 3 steps") and trained["n_attacked"] == 6
    assert trained["queries_per_record"] == 0.0 and trained["training_queries"] > 0
    assert r.attacks[f"inverter:{saved}"]["status"] == "ran"
    # a time budget caps the training too: 10,000 steps stop at the budget, and the note says so
    capped = audit(
        tiny_emb,
        "pii",
        records=6,
        attacks=["train-inverter:10000"],
        defenses=[],
        bootstrap=0,
        budget=2,
        attack_options={"train-inverter": options["train-inverter"]},  # only attacks that run
        progress=False,
    ).attacks["train-inverter:10000"]
    assert capped["status"] == "ran", capped["reason"]
    assert "of 10000 by the time budget" in capped["note"], capped["note"]
    guided = r.attacks["guided"]
    assert guided["status"] == "ran", guided["reason"]
    # beams x proposals x steps, then the word search: its start and 4 edits
    assert 0 < guided["queries_per_record"] <= 2 * 2 * 3 + 1 + 4
    assert guided["training_queries"] == 4  # the vocabulary, embedded once up front
    # an inverter trained for another embedder is refused, and the audit goes on
    other = audit(
        tiny_embedder(dim=16),
        "pii",
        records=6,
        attacks=["nn", f"inverter:{saved}"],
        defenses=[],
        bootstrap=0,
        progress=False,
    )
    assert other.attacks[f"inverter:{saved}"]["status"] == "failed"
    assert "trained for" in other.attacks[f"inverter:{saved}"]["reason"]


def test_search_attack_runs_in_the_audit_from_the_attackers_own_records(tiny_emb):
    """``search`` (the default inversion attack) starts from the attacker's records, whose
    vectors the audit has already: its one-time queries are only their words."""
    options = {"search": {"max_queries": 30, "max_seconds": 2.0, "n_word_vectors": 50}}
    r = audit(
        tiny_emb,
        "pii",
        records=6,
        attacks=["search"],
        defenses=[],
        bootstrap=0,
        attack_options=options,
        progress=False,
    )
    run = r.attacks["search"]
    assert run["status"] == "ran", run["reason"]
    assert run["n_attacked"] == 6 and 0 < run["queries_per_record"] <= 30
    assert run["training_queries"] <= 50  # the words of the records; their texts cost nothing
    assert "search" in parse_attacks(["search", "nn"])[-1].name
