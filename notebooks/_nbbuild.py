"""The one routine that turns a generator's cell list into a notebook file.

Each ``_build_*.py`` beside this file lists its cells as ``(kind, source)`` pairs, with ``kind``
one of ``"md"``, ``"code"`` or ``"params"`` (a code cell tagged ``parameters``, the cell that
nbmake/papermill-style runners override), and ends with ``write_notebook(CELLS, "name.ipynb")``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KINDS = ("md", "code", "params")


def build(cells: Sequence[tuple[str, str]]) -> nbformat.NotebookNode:
    """A Python 3 notebook of ``cells``; a ``params`` cell carries the ``parameters`` tag."""
    out = []
    for kind, source in cells:
        if kind not in KINDS:
            raise ValueError(f"cell kind must be one of {KINDS}, got {kind!r}")
        if kind == "md":
            out.append(new_markdown_cell(source))
            continue
        cell = new_code_cell(source)
        if kind == "params":
            cell.metadata["tags"] = ["parameters"]
        out.append(cell)
    nb = new_notebook(cells=out)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def write_notebook(cells: Sequence[tuple[str, str]], name: str) -> Path:
    """Write ``cells`` to ``notebooks/<name>`` (beside this file) and say where."""
    out = Path(__file__).resolve().parent / name
    nbformat.write(build(cells), out)
    print(f"wrote {out}")  # a script, not library code
    return out
