"""Importing interpret is light, and the public names load on first use."""

from __future__ import annotations

import subprocess
import sys

import interpret


def test_import_interpret_loads_nothing_heavy():
    code = (
        "import sys, interpret, interpret.maps; "
        "heavy = ('torch', 'transformers', 'umap', 'plotly', 'sklearn', 'pandas', 'scipy'); "
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_lazy_public_names():
    from interpret.maps import EmbeddingMap, compare_maps

    assert interpret.EmbeddingMap is EmbeddingMap and interpret.compare_maps is compare_maps
    assert "EmbeddingMap" in dir(interpret)
    try:
        interpret.NoSuchThing  # noqa: B018
    except AttributeError as err:
        assert "NoSuchThing" in str(err)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_maps_imports_no_forbidden_package():
    import ast
    import pathlib

    root = pathlib.Path(interpret.__file__).parent
    for path in (root / "maps").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                top = node.module.split(".")[0]
                assert not node.module.startswith(("embedlens.audit", "embedlens.cli"))
                assert top not in ("inversion", "probes"), (path.name, node.module)
