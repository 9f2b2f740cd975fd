"""The notebooks that train or search with models (inversion, correction, zero-shot transfer)
run in their smoke budgets, show every figure on a static viewer, and count honestly."""

from __future__ import annotations

import pytest
from notebook_runs import images, output_problems, run_notebook

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", ["inversion.ipynb", "zero_shot_transfer.ipynb"])
def test_it_runs_and_every_figure_has_a_picture(name, tmp_path):
    nb, _ = run_notebook(name, tmp_path)
    assert output_problems(nb) == []
    assert images(nb)  # at least one figure, with its picture


def test_correction_counts_every_query(tmp_path):
    nb, f = run_notebook(
        "correction.ipynb", tmp_path, facts='FACTS["seen"] = {str(k): v for k, v in seen.items()}'
    )
    assert output_problems(nb) == [] and images(nb)
    assert set(f["seen"]) == {"1", "4"}
    for saw, counted in f["seen"].values():
        assert saw == counted > 0  # the black box saw exactly the texts the inverter counted
