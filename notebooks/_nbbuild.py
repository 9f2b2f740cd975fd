"""The one routine that turns a generator's cell list into a notebook file, stored executed.

Each ``_build_*.py`` beside this file lists its cells as ``(kind, source)`` pairs, with ``kind``
one of ``"md"``, ``"code"`` or ``"params"`` (a code cell tagged ``parameters``, the cell that
nbmake/papermill-style runners override), and ends with ``write_notebook(CELLS, "name.ipynb")``.

``write_notebook`` runs the notebook here (in this folder, as a reader would, with nbclient)
and stores it with its outputs, so GitHub, nbviewer and nbconvert's HTML show what it shows:
the notebooks call ``embedlens.notebook.static_figures()``, so every plotly figure carries a
PNG. Run a builder with ``--no-execute`` to write the cells alone. A stored notebook over
:data:`MAX_BYTES` is refused. The tests (``tests/notebooks``) check that each stored notebook
is the build of its script and has its outputs, and execute each one again.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KINDS = ("md", "code", "params")
HERE = Path(__file__).resolve().parent
#: the largest stored notebook (3 MB): figures must stay light enough to read on GitHub
MAX_BYTES = 3_000_000


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


def execute(nb: nbformat.NotebookNode, folder: Path, timeout: int = 3600) -> None:
    """Run ``nb`` in place with the ``python3`` kernel, in ``folder``; no widget state is kept
    (it would double the file: a static viewer shows each widget's picture instead), and no
    progress bars are drawn (stored, they are dead widgets; a reader running it sees them)."""
    import os

    from nbclient import NotebookClient

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
        store_widget_state=False,
        record_timing=False,
    )
    quiet = {"TQDM_DISABLE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    client.execute(env={**os.environ, **quiet})
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:  # widgets that are not figures (progress bars): dead once stored
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not _dead_widget(o)]


def _dead_widget(output: nbformat.NotebookNode) -> bool:
    """A widget output with no picture beside it: nothing a stored notebook can show."""
    data = output.get("data", {})
    return "application/vnd.jupyter.widget-view+json" in data and "image/png" not in data


def write_notebook(cells: Sequence[tuple[str, str]], name: str) -> Path:
    """Write ``cells`` to ``notebooks/<name>``, executed unless ``--no-execute`` was given."""
    out = HERE / name
    nb = build(cells)
    if "--no-execute" not in sys.argv[1:]:
        start = time.perf_counter()
        execute(nb, HERE)
        print(f"executed {name} in {time.perf_counter() - start:.0f} s")  # a script, not library
    text = nbformat.writes(nb)
    if len(text.encode("utf-8")) > MAX_BYTES:
        sizes = sorted(
            ((len(nbformat.writes(new_notebook(cells=[c]))), j) for j, c in enumerate(nb.cells)),
            reverse=True,
        )
        largest = ", ".join(f"cell {j}: {size / 1e6:.2f} MB" for size, j in sizes[:4])
        raise ValueError(
            f"{name} would be {len(text) / 1e6:.1f} MB stored, over {MAX_BYTES / 1e6:.0f} MB "
            f"({largest}): show fewer or lighter figures (hover_chars=, fewer points)"
        )
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out} ({len(text) / 1e6:.2f} MB)")
    return out
