"""The package stays light on import, exports what it promises, and its examples run."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys

import pytest

import probes

MODULES = [
    "probes",
    "probes.linear",
    "probes.ridge",
    "probes.evaluate",
    "probes.controls",
    "probes.mdl",
    "probes.directions",
    "probes.erasure",
    "probes.layers",
    "probes.suite",
    "probes.suite_tasks",
]


def test_import_does_not_load_heavy_libraries() -> None:
    code = (
        "import sys, probes\n"
        "heavy = [m for m in ('torch', 'transformers', 'umap', 'plotly', 'sklearn', 'spacy', 'pandas') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_estimator_import_does_not_load_torch() -> None:
    code = (
        "import sys\n"
        "from probes import LinearProbe, evaluate_probe, LeaceEraser, mdl_probe, layer_sweep\n"
        "from probes import run_suite, build_task\n"
        "print('torch' in sys.modules, 'plotly' in sys.modules, 'spacy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False False"


def test_probes_never_imports_inversion_interpret_or_the_application() -> None:
    code = (
        "import sys, probes\n"
        "for name in probes.__all__: getattr(probes, name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('inversion', 'interpret') "
        "or (m.startswith(('embedlens.audit.', 'embedlens.cli')) and m != 'embedlens.audit.run')]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_lazy_exports() -> None:
    for name in probes.__all__:
        assert getattr(probes, name) is not None
    assert set(probes.__all__) <= set(dir(probes))
    with pytest.raises(AttributeError, match=r"no attribute 'nope'"):
        probes.nope  # noqa: B018


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
