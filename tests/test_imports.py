"""`import embedlens, interpret, inversion, probes` is fast and pulls in no heavy library."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "transformers", "umap", "plotly", "sentence_transformers", "sklearn")

SCRIPT = f"""
import json, sys, time
start = time.perf_counter()
import embedlens, interpret, inversion, probes
elapsed = time.perf_counter() - start
print(json.dumps({{"seconds": elapsed, "loaded": [m for m in {HEAVY!r} if m in sys.modules]}}))
"""


def _measure() -> dict:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_is_light_and_fast():
    result = min((_measure() for _ in range(3)), key=lambda r: r["seconds"])
    assert result["loaded"] == [], f"heavy modules imported at package import: {result['loaded']}"
    assert result["seconds"] < 1.0, result


def test_packages_ship_py_typed():
    import importlib.util
    from pathlib import Path

    for pkg in ("embedlens", "interpret", "inversion", "probes"):
        spec = importlib.util.find_spec(pkg)
        assert spec is not None and spec.origin is not None
        assert (Path(spec.origin).parent / "py.typed").is_file(), pkg


def test_embedlens_audit_is_the_plain_audit_function_whatever_was_imported_first():
    code = (
        "import sys, types\n"
        "from embedlens.audit.result import AuditResult\n"
        "import embedlens\n"
        "from embedlens.audit import audit\n"
        "heavy = [m for m in sys.modules if m.startswith('embedlens.audit.')\n"
        "         and m not in ('embedlens.audit.run', 'embedlens.audit.result')]\n"
        "print(heavy, isinstance(embedlens.audit, types.FunctionType), embedlens.audit.__module__,\n"
        "      audit is embedlens.audit, embedlens.AuditResult is AuditResult)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["[]", "True", "embedlens.audit.run", "True", "True"]


def test_import_embedlens_loads_only_the_audit_entry_point_of_the_application():
    code = (
        "import sys, embedlens\n"
        "print(sorted(m for m in sys.modules if m.startswith(('embedlens.audit', 'embedlens.cli'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "['embedlens.audit', 'embedlens.audit.run']"
