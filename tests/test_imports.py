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
