"""notebooks/tour.ipynb runs and its claims hold."""

from __future__ import annotations

import pytest
from notebook_runs import executed, output_problems

pytestmark = pytest.mark.slow

FACTS = """
FACTS["recall_at_1"] = recall_at_1
FACTS["same"] = bool(same)
FACTS["shape"] = list(X.shape)
FACTS["dim"] = emb.dim
FACTS["answer"] = answer if RUN_DECODER else None
"""


run = executed("tour.ipynb", FACTS)


def test_it_runs(run):
    nb, f = run
    assert output_problems(nb) == []
    assert f["shape"] == [200, f["dim"]]


def test_name_and_city_find_their_record(run):
    _, f = run
    assert f["recall_at_1"] > 0.3  # a guess among 200 records: 0.005


def test_a_function_is_an_embedder_and_the_decoder_answers(run):
    _, f = run
    assert f["same"]
    assert f["answer"] and f["answer"].strip()
