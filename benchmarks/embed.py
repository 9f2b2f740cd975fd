"""Throughput of Embedder.embed against SentenceTransformer.encode, in one run.

Both embed the same texts with the same model (the built-in all-MiniLM-L6-v2), the same batch
size and the same torch thread count; each runs in its own subprocess so peak memory (max RSS)
is measured per method. Writes JSON to benchmarks/out/embed.json and prints a summary.

    python benchmarks/embed.py [--n 5000] [--batch-size 64] [--device cpu] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

WORKER = r"""
import json, resource, sys, time
import numpy as np
method, n, batch_size, device, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
from embedlens import load_corpus
texts = load_corpus("pii", n=n // 2).texts + load_corpus("wordnet-examples", limit=n - n // 2).texts
if method == "embedlens":
    from embedlens import load_embedder
    emb = load_embedder("minilm", device=device)
    run = lambda: emb.embed(texts, batch_size=batch_size, progress=False)
else:
    from sentence_transformers import SentenceTransformer
    from embedlens.models import minilm_path
    st = SentenceTransformer(str(minilm_path()), device=device)
    run = lambda: st.encode(texts, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
times = []
for _ in range(repeats):
    start = time.perf_counter()
    X = run()
    if device.startswith("cuda"):
        import torch; torch.cuda.synchronize()
    times.append(time.perf_counter() - start)
np.save(sys.argv[6], X)
print(json.dumps({"seconds": min(times), "all_seconds": times, "n": len(texts),
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per process")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per method")
    parser.add_argument("--out", default=str(Path(__file__).parent / "out" / "embed.json"))
    args = parser.parse_args()

    import numpy as np
    import torch

    out_dir = Path(args.out).parent
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    # rounds alternate the two methods so a change in machine load hits both alike
    for _ in range(args.rounds):
        for method in ("sentence-transformers", "embedlens"):
            arr = out_dir / f"embed-{method}.npy"
            cmd = [sys.executable, "-c", WORKER, method, str(args.n), str(args.batch_size)]
            cmd += [args.device, str(args.repeats), str(arr)]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
            run = json.loads(proc.stdout.strip().splitlines()[-1])
            best = results.get(method)
            if best is None or run["seconds"] < best["seconds"]:
                results[method] = run
    for r in results.values():
        r["texts_per_second"] = r["n"] / r["seconds"]
    ours = np.load(out_dir / "embed-embedlens.npy")
    ref = np.load(out_dir / "embed-sentence-transformers.npy")
    summary = {
        "benchmark": "embed",
        "machine": {
            "cpu": _cpu_name(),
            "cores": __import__("os").cpu_count(),
            "device": args.device,
            "python": platform.python_version(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
        },
        "n_texts": args.n,
        "batch_size": args.batch_size,
        "results": results,
        "speed_ratio_embedlens_over_st": results["embedlens"]["texts_per_second"]
        / results["sentence-transformers"]["texts_per_second"],
        "max_abs_diff": float(np.abs(ours - ref).max()),
        "date": time.strftime("%Y-%m-%d"),
    }
    Path(args.out).write_text(json.dumps(summary, indent=2), encoding="utf-8")
    for method, r in results.items():
        print(
            f"{method:22s} {r['texts_per_second']:8.1f} texts/s  peak RSS {r['max_rss_mb']:.0f} MB"
        )
    print(
        f"ratio embedlens / sentence-transformers: {summary['speed_ratio_embedlens_over_st']:.2f}"
    )
    print(f"max |difference| of the vectors: {summary['max_abs_diff']:.2e}")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


if __name__ == "__main__":
    main()
