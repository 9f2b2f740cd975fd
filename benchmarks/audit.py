"""Time `embedlens demo` (the default privacy audit) as a fresh clone runs it, and keep its numbers.

Runs the demo in a subprocess with a new, empty embedding cache (converted models in the user's
cache are reused: converting SmolLM2 once takes about 15 s more), and writes the wall time, the
audit's own stage timings and its headline numbers to benchmarks/out/audit.json.

    .venv/bin/python benchmarks/audit.py [--records 300] [--budget 4m]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=300)
    parser.add_argument("--budget", default="4m")
    parser.add_argument("--out", default="benchmarks/out/audit.json")
    args = parser.parse_args()
    exe = Path(sys.executable).with_name("embedlens")
    with tempfile.TemporaryDirectory(prefix="embedlens-audit-bench-") as tmp:
        report = Path(tmp) / "demo-out"
        cmd = [str(exe), "demo", "--records", str(args.records), "--budget", args.budget]
        cmd += ["--cache", str(Path(tmp) / "fresh.sqlite"), "--out", str(report)]
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-2000:], sep="\n", file=sys.stderr)
            return done.returncode
        result = json.loads((report / "result.json").read_text())
    attacks = {
        name: {
            k: a.get(k)
            for k in ("status", "n_attacked", "seconds", "overall", "queries_per_record")
        }
        | {"token_f1": (a.get("metrics") or {}).get("token_f1"), "note": a.get("note")}
        for name, a in result["attacks"].items()
    }
    out = {
        "command": " ".join(cmd[1:3] + cmd[3:7]),
        "wall_seconds": wall,
        "stage_seconds": result["timings"],
        "records": result["config"]["corpus"]["records"],
        "risk": result["summary"]["risk"],
        "headline": result["summary"]["headline"],
        "utility": result["utility"],
        "attacks": attacks,
        "attributes": result["attributes"],
        "defenses": {
            d["name"]: {
                "recall@10": d["utility"]["recall@10"],
                "leakage_adaptive": d["leakage_score"],
                "leakage_non_adaptive": d["leakage_score_non_adaptive"],
                "condition_probe": d["attributes"].get("condition"),
            }
            for d in result["defenses"]
        },
    }
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2), encoding="utf-8")
    print(f"embedlens demo: {wall:.0f} s wall ({result['timings']}) -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
