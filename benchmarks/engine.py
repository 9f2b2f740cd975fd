"""The Ray engine against the local engine: embedding throughput, per-record overhead, agreement.

Embeds the same texts with the built-in all-MiniLM-L6-v2 through ``get_engine("local")`` and
``get_engine("ray", num_cpus=...)`` (a local Ray instance: on one machine this measures Ray's
overhead, not a cluster's speed-up), twice each (cold: the first call, which for Ray includes
starting the instance and loading the model in every worker; warm: the second), and runs a
trivial per-record function over many records through ``map_batches`` on both. Checks that the
vectors and the records agree. Writes JSON to benchmarks/out/engine.json.

    python benchmarks/engine.py [--n 2000] [--records 20000] [--num-cpus 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path


def _record_fn(batch: list[dict]) -> list[dict]:
    return [
        {"id": r["id"], "chars": len(r["text"]), "words": len(r["text"].split())} for r in batch
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000, help="texts to embed")
    parser.add_argument("--records", type=int, default=20000, help="records for map_batches")
    parser.add_argument("--num-cpus", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--torch-threads", type=int, default=2, help="of the local engine")
    parser.add_argument("--out", default=str(Path(__file__).parent / "out" / "engine.json"))
    args = parser.parse_args()

    import numpy as np
    import torch

    torch.set_num_threads(args.torch_threads)
    from embedlens import load_corpus, load_embedder
    from embedlens.engine import get_engine

    texts = (
        load_corpus("pii", n=args.n // 2).texts
        + load_corpus("wordnet-examples", limit=args.n - args.n // 2).texts
    )
    records = [{"id": i, "text": texts[i % len(texts)]} for i in range(args.records)]
    emb = load_embedder("minilm", device="cpu")
    load1 = os.getloadavg()[0]
    out: dict = {"n_texts": len(texts), "n_records": len(records), "num_cpus": args.num_cpus}

    local = get_engine("local")
    runs = []
    for _ in range(2):
        t = time.perf_counter()
        X_local = local.embed(emb, texts, batch_size=args.batch_size, progress=False)
        runs.append(time.perf_counter() - t)
    t = time.perf_counter()
    rec_local = local.map_batches(_record_fn, records, batch_size=1000)
    out["local"] = {"embed_seconds": runs, "map_seconds": time.perf_counter() - t}

    shard_rows = max(1, len(texts) // (2 * args.num_cpus))
    with get_engine("ray", num_cpus=args.num_cpus, shard_rows=shard_rows, progress=False) as ray:
        runs = []
        for _ in range(2):
            t = time.perf_counter()
            X_ray = ray.embed(emb, texts, batch_size=args.batch_size, progress=False)
            runs.append(time.perf_counter() - t)
        maps = []
        for _ in range(2):
            t = time.perf_counter()
            rec_ray = ray.map_batches(_record_fn, records, batch_size=1000)
            maps.append(time.perf_counter() - t)
    out["ray"] = {"embed_seconds": runs, "map_seconds": maps, "shard_rows": shard_rows}
    out["max_abs_diff"] = float(np.abs(X_local - X_ray).max())
    out["records_equal"] = rec_local == rec_ray
    out["load_average"] = [load1, os.getloadavg()[0]]
    out["machine"] = {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "ray": __import__("ray").__version__,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2), encoding="utf-8")
    n = len(texts)
    for name in ("local", "ray"):
        cold, warm = out[name]["embed_seconds"]
        print(f"{name:5s} embed {n} texts: cold {cold:.1f}s, warm {warm:.1f}s ({n / warm:.0f}/s)")
    print(
        f"map_batches over {len(records)} records: local {out['local']['map_seconds']:.2f}s, "
        f"ray cold {maps[0]:.2f}s, warm {maps[1]:.2f}s"
    )
    print(f"max |local - ray| {out['max_abs_diff']:.2e}; records equal: {out['records_equal']}")
    print(f"load average {load1:.1f} -> {os.getloadavg()[0]:.1f}; JSON: {args.out}")


if __name__ == "__main__":
    main()
