"""notebooks/explain.ipynb runs, shows its figures, and its claims hold."""

from __future__ import annotations

import pytest
from notebook_runs import executed, images, output_problems

pytestmark = pytest.mark.slow

FACTS = """
FACTS["own"] = float(own.mean())
FACTS["shuffled"] = float(shuffled.mean())
FACTS["same_clusters"] = set(keywords.names) == set(named.names)
FACTS["explained"] = [len(said), len(topics), N_EXPLAIN]
FACTS["judge"] = summary["judge"]
"""


run = executed("explain.ipynb", FACTS)


def test_it_runs_and_every_figure_has_a_picture(run):
    nb, _ = run
    assert output_problems(nb) == []
    assert len(images(nb)) >= 2  # the concept direction's and the consistency figures


def test_explanations_are_closer_to_their_own_vectors(run):
    _, f = run
    assert f["own"] > f["shuffled"]
    assert f["explained"] == [f["explained"][2]] * 3


def test_both_labelers_name_the_same_clusters(run):
    _, f = run
    assert f["same_clusters"]
