"""The stored notebooks: each is the build of its script, executed, with outputs a static
viewer shows, and small enough to read on GitHub. No notebook runs here."""

from __future__ import annotations

import importlib.util

import pytest
from notebook_runs import NOTEBOOKS, output_problems, stored

NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


def builder_cells(name: str) -> list[tuple[str, str]]:
    path = NOTEBOOKS / f"_build_{name.removesuffix('.ipynb')}.py"
    assert path.is_file(), f"{name} has no builder: write {path.name} (see notebooks/_nbbuild.py)"
    spec = importlib.util.spec_from_file_location(f"_builder_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # builders write only under `if __name__ == "__main__"`
    return module.CELLS


def test_every_notebook_is_there():
    assert {"maps.ipynb", "probes.ipynb", "audit.ipynb", "explain.ipynb", "tour.ipynb"} <= set(
        NAMES
    )


@pytest.mark.parametrize("name", NAMES)
def test_stored_notebook_is_the_build_of_its_script(name):
    from _nbbuild import build

    expected = build(builder_cells(name))
    nb = stored(name)
    assert [c.cell_type for c in nb.cells] == [c.cell_type for c in expected.cells]
    for got, want in zip(nb.cells, expected.cells, strict=True):
        assert got.source == want.source, f"{name} is stale: run notebooks/_build_{name[:-6]}.py"


@pytest.mark.parametrize("name", NAMES)
def test_stored_notebook_has_outputs_a_static_viewer_shows(name):
    nb = stored(name)
    assert output_problems(nb) == []
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert sum(bool(c.outputs) for c in code) >= len(code) // 2  # it shows what it does
    assert "widgets" not in nb.metadata  # no widget state: each widget shows its picture


@pytest.mark.parametrize("name", NAMES)
def test_stored_notebook_is_under_3_mb(name):
    assert (NOTEBOOKS / name).stat().st_size < 3_000_000


@pytest.mark.parametrize("name", NAMES)
def test_notebook_cells_do_not_assert(name):
    """Claims are checked by the tests that execute the notebooks, not in the reader's cells."""
    nb = stored(name)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not any(
                line.lstrip().startswith("assert ") for line in cell.source.splitlines()
            ), cell.source
