"""Running the notebooks as a reader would, and reading what they showed (tests/notebooks).

:func:`run_notebook` executes a copy of a stored notebook (its parameters cell can be
overridden, as papermill does) in a temporary folder with the same routine that stores them
(``notebooks/_nbbuild.py``), then runs one more cell that collects facts from the notebook's
variables into a dict: the claims a notebook makes are checked here, in the tests, and not by
asserts in its cells. :func:`output_problems` lists what a static viewer would miss.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
sys.path.insert(0, str(NOTEBOOKS))  # the builders import _nbbuild from beside them
_MARK = "@@notebook-facts@@"


def stored(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def run_notebook(
    name: str,
    folder: Path,
    *,
    params: dict[str, Any] | None = None,
    facts: str | None = None,
    timeout: int = 1800,
) -> tuple[nbformat.NotebookNode, dict[str, Any]]:
    """Execute notebooks/``name`` in ``folder``; ``params`` override its parameters (a cell
    added after the tagged one); ``facts`` is Python that fills a dict ``FACTS``, run last.

    Returns the executed notebook and ``FACTS``.
    """
    from _nbbuild import execute
    from nbformat.v4 import new_code_cell

    nb = stored(name)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    if params:
        at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
        lines = [f"{key} = {value!r}" for key, value in params.items()]
        nb.cells.insert(at + 1, new_code_cell("# injected by the test\n" + "\n".join(lines)))
    if facts:
        body = f"FACTS = {{}}\n{facts}\nimport json as _json\nprint({_MARK!r} + _json.dumps(FACTS))"
        nb.cells.append(new_code_cell(body))
    execute(nb, folder, timeout=timeout)
    found: dict[str, Any] = {}
    if facts:
        text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
        found = json.loads(text.split(_MARK, 1)[1])
        nb.cells.pop()
    return nb, found


def output_problems(nb: nbformat.NotebookNode) -> list[str]:
    """What a reader on a static viewer would miss: errors, cells never run, interactive
    figures and widgets without a picture."""
    problems = []
    for j, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.execution_count is None:
            problems.append(f"cell {j} was not run")
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                problems.append(f"cell {j} failed: {out.ename}: {out.evalue}")
                continue
            data = out.get("data", {})
            interactive = {
                "application/vnd.plotly.v1+json",
                "application/vnd.jupyter.widget-view+json",
            }
            if interactive & set(data) and "image/png" not in data:
                problems.append(f"cell {j} shows a figure without a picture")
    return problems


def images(nb: nbformat.NotebookNode) -> list[tuple[int, dict[str, Any]]]:
    """Every output that carries a picture, with its cell's index."""
    return [
        (j, out.data)
        for j, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    ]


def executed(name: str, facts: str | None = None) -> Any:
    """A module-scoped fixture that runs notebook ``name`` once (:func:`run_notebook`) and
    gives ``(executed notebook, FACTS)`` to every test of the module."""

    @pytest.fixture(scope="module")
    def run(tmp_path_factory: pytest.TempPathFactory) -> Any:
        folder = tmp_path_factory.mktemp(name.removesuffix(".ipynb"))
        return run_notebook(name, folder, facts=facts)

    return run
