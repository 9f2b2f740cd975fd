"""Known-truth tests of the ranking rule (issue 25): records whose true recovery rates are set,
drawn many times, so the rule's power and its false alarms are measured, not assumed."""

from __future__ import annotations

import numpy as np
import pytest

from embedlens.audit.separation import (
    MIN_RECORDS,
    counts_of,
    paired,
    proportion,
    rate,
    verdict,
)

ROUNDS = 300


def _draw(rng, records, facts, p, u=None):
    """Per record (recovered, checked) when each fact is recovered with probability ``p``;
    ``u`` reuses the same uniforms (the same records and facts, attacked again)."""
    u = rng.random((records, facts)) if u is None else u
    return np.column_stack([(u < p).sum(axis=1), np.full(records, facts)]).astype(float), u


def _verdicts(p_none, p_defense, *, records, facts, same_draws, trials=120):
    rng = np.random.default_rng(7)
    out = []
    for t in range(trials):
        none, u = _draw(rng, records, facts, p_none)
        defended, _ = _draw(rng, records, facts, p_defense, u if same_draws else None)
        out.append(paired([defended], [none], rounds=ROUNDS, seed=t)["verdict"])
    return np.array(out)


def test_a_defense_that_truly_halves_leakage_is_ranked():
    v = _verdicts(0.2, 0.1, records=300, facts=10, same_draws=True)
    assert (v == "lower").mean() >= 0.95
    assert not (v == "higher").any()
    # also when the attack is random and draws anew on the defended vectors
    v = _verdicts(0.2, 0.1, records=300, facts=10, same_draws=False)
    assert (v == "lower").mean() >= 0.95


def test_a_defense_that_does_nothing_is_not_ranked():
    identical = _verdicts(0.2, 0.2, records=300, facts=10, same_draws=True)
    assert (identical == "not separable").all()
    # an attack that draws anew: the rule errs in about 5% of the trials (a 95% interval)
    redrawn = _verdicts(0.2, 0.2, records=300, facts=10, same_draws=False, trials=200)
    assert (redrawn == "lower").mean() <= 0.06 and (redrawn == "higher").mean() <= 0.06


def test_too_few_records_give_not_separable():
    v = _verdicts(0.4, 0.2, records=6, facts=1, same_draws=False)
    assert (v == "not separable").all()
    # the same change, measured on enough records, is ranked
    v = _verdicts(0.4, 0.2, records=400, facts=1, same_draws=False)
    assert (v == "lower").mean() >= 0.95
    two = np.array([[1.0, 1.0], [0.0, 1.0]])
    r = paired([two * [0, 1]], [two], rounds=ROUNDS, seed=0)
    assert r["verdict"] == "not separable" and r["n"] == 2


def test_the_strongest_attack_is_the_maximum_resampled_together():
    rng = np.random.default_rng(1)
    strong_none, u = _draw(rng, 200, 5, 0.4)
    weak_none, w = _draw(rng, 200, 5, 0.1)
    strong_def, _ = _draw(rng, 200, 5, 0.05, u)  # the defense stops the strong attack...
    weak_def, _ = _draw(rng, 200, 5, 0.1, w)  # ...and leaves the weak one where it was
    r = paired([strong_def, weak_def], [strong_none, weak_none], rounds=ROUNDS, seed=0)
    assert r["baseline"] == pytest.approx(strong_none[:, 0].sum() / 1000)
    assert r["rate"] == pytest.approx(weak_def[:, 0].sum() / 1000)  # now the weak one is top
    assert r["verdict"] == "lower" and r["ci"][0] <= r["rate"] <= r["ci"][1]
    # an attack measured on the first 20 records only: rows of zeros beyond them
    sampled = strong_none.copy()
    sampled[20:] = 0
    r = paired([sampled], [sampled], rounds=ROUNDS, seed=0)
    assert r["n"] == 20 and r["verdict"] == "not separable"


def test_rates_carry_their_counts_and_intervals():
    r = proportion([1, 1, 0, 0, 0, 0, 0, 0, 0, 0], rounds=ROUNDS, seed=0)
    assert (r["k"], r["n"], r["rate"]) == (2, 10, 0.2) and r["ci"][0] <= 0.2 <= r["ci"][1]
    facts = counts_of([{"found": {"email": [1, 1], "phone": [0, 1]}}, {"found": {}}])
    assert facts.tolist() == [[1.0, 2.0], [0.0, 0.0]]
    r = rate(facts, rounds=0, seed=0)
    assert (r["k"], r["total"], r["n"], r["ci"]) == (1, 2, 1, None)
    # no facts anywhere: the token F1 of each record is what it gave
    assert counts_of([{"found": {}, "token_f1": 0.5}]).tolist() == [[0.5, 1.0]]
    assert verdict(None) == "untested" and verdict([-0.2, -0.01]) == "lower"
    assert verdict([-0.2, -0.01], n=MIN_RECORDS - 1) == "not separable"
    with pytest.raises(ValueError, match="one table per attack"):
        paired([facts], [], rounds=10, seed=0)
