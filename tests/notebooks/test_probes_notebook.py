"""notebooks/probes.ipynb runs, shows its figures, and its claims hold."""

from __future__ import annotations

import numpy as np
import pytest
from notebook_runs import executed, images, output_problems

pytestmark = pytest.mark.slow

FACTS = """
import probes as _p
FACTS["task_names"] = list(_p.suite.TASK_NAMES)
FACTS["probed"] = list(table["task"])
FACTS["skipped"] = dict(suite.skipped)
FACTS["rows"] = table[["accuracy", "ci_low", "ci_high", "majority_baseline",
                       "control_accuracy", "selectivity"]].to_dict("list")
FACTS["layers"] = list(map(int, frame["layer"]))
FACTS["n_layers"] = emb.n_layers
FACTS["best_layer"] = int(sweep.best_layer)
FACTS["best_by_table"] = int(frame["layer"][frame["accuracy"].idxmax()])
FACTS["sweep_samples"] = [sweep.n_samples, len(tense.texts), len(sweep.results), len(frame)]
FACTS["scores"] = [float(v) for v in scores]
FACTS["before"] = [before.score, before.ci[0], before.ci[1], before.baseline]
FACTS["after"] = [after.score, after.ci[0], after.ci[1], after.baseline]
FACTS["shift"] = float(shift.mean())
"""


run = executed("probes.ipynb", FACTS)


def test_it_runs_and_every_figure_has_a_picture(run):
    nb, _ = run
    assert output_problems(nb) == []
    assert len(images(nb)) >= 2  # the suite's and the sweep's figures


def test_every_task_is_probed_or_skipped_with_a_reason(run):
    _, f = run
    assert len(f["task_names"]) == 9
    assert set(f["probed"]) | set(f["skipped"]) == set(f["task_names"])
    assert not set(f["probed"]) & set(f["skipped"]) and all(f["skipped"].values())


def test_every_score_has_its_interval_baseline_and_control(run):
    _, f = run
    r = {k: np.asarray(v, dtype=float) for k, v in f["rows"].items()}
    assert (r["ci_low"] <= r["accuracy"]).all() and (r["accuracy"] <= r["ci_high"]).all()
    assert ((r["majority_baseline"] >= 0) & (r["majority_baseline"] <= 1)).all()
    assert np.isfinite(r["control_accuracy"]).all()
    np.testing.assert_allclose(r["selectivity"], r["accuracy"] - r["control_accuracy"])


def test_the_sweep_probes_every_layer_on_the_same_texts(run):
    _, f = run
    assert f["layers"] == list(range(f["n_layers"] + 1))
    assert f["best_layer"] == f["best_by_table"]
    n_samples, n_texts, n_results, n_rows = f["sweep_samples"]
    assert n_samples == n_texts and n_results == n_rows


def test_the_tense_direction_ranks_past_above_present(run):
    _, f = run
    s = f["scores"]
    assert s[0] > s[1] and s[2] > s[3], s


def test_leace_erases_tense_with_the_least_change(run):
    _, f = run
    score, low, _high, baseline = f["before"]
    assert low > baseline  # decodable before
    a_score, a_low, a_high, a_baseline = f["after"]
    assert a_score <= a_high and score > a_score
    assert a_low <= a_baseline + 1e-9 and a_score <= a_baseline + 0.05
    assert f["shift"] < 0.5
