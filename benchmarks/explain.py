"""Explainer: how well SmolLM2 explains MiniLM vectors it reads as soft tokens, in one run.

Trains ``interpret.Explainer`` (MiniLM -> SmolLM2-135M-Instruct, projector only, LM frozen) on
WordNet example sentences of at most 24 SmolLM2 tokens (the hash split of
``embedlens.data.train_test_split``, seed 0; a seeded sample of --train texts of the train
side), on the tasks given by --tasks mixed in one run; the descriptive tasks' answers are
written first by SmolLM2 reading each real text, and cached in the run directory. Then:

- semantic consistency (ELM) of the --task explanations of --eval held-out vectors (a seeded
  sample of the test side): the cosine between the MiniLM embedding of the explanation and the
  explained vector, against three baselines (a random training text, the nearest training text,
  the same LM read through an untrained projector), with 95 % bootstrap intervals; plus
  reconstruction token F1 when "reconstruct" is one of the tasks;
- a k-means clustering (--clusters) of --cluster-texts training texts: each cluster named by
  ``KeywordLabeler`` (class-based TF-IDF) and by ``ExplainerLabeler`` (the explainer reading the
  centroid), each name scored by the cosine between its embedding and the centroid.

Writes benchmarks/out/explain.json (with the budget: texts, steps, examples seen, wall times,
machine) and prints a summary. Rerunning the same command resumes: the teacher's answers, the
embeddings and the training checkpoints are kept under --run-dir.

    python benchmarks/explain.py                 # the CPU budget of benchmarks/RESULTS.md
    python benchmarks/explain.py --quick         # smoke run: out/explain-quick.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the packages of this checkout, not an installed copy


def short_distinct(tokenizer: Any, texts: list[str], max_tokens: int) -> list[str]:
    """Distinct texts of at most ``max_tokens`` tokens, in their original order."""
    seen: set[str] = set()
    out: list[str] = []
    for start in range(0, len(texts), 4096):
        chunk = texts[start : start + 4096]
        for text, ids in zip(
            chunk, tokenizer(chunk, add_special_tokens=False)["input_ids"], strict=True
        ):
            if len(ids) <= max_tokens and text not in seen:
                seen.add(text)
                out.append(text)
    return out


def pick(texts: list[str], k: int, seed: int) -> list[str]:
    """A seeded sample of ``k`` texts, in their original order."""
    if k >= len(texts):
        return list(texts)
    chosen = sorted(random.Random(seed).sample(range(len(texts)), k))
    return [texts[i] for i in chosen]


def cosine_rows(A: Any, B: Any) -> list[float]:
    import numpy as np

    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    B /= np.linalg.norm(B, axis=1, keepdims=True)
    return [float(v) for v in (A * B).sum(axis=1)]


def train_seconds(log: Path) -> float | None:
    """Training wall time over every session of a (possibly resumed) run's JSONL log."""
    if not log.is_file():
        return None
    total = session = 0.0
    for line in log.read_text(encoding="utf-8").splitlines():
        record = json.loads(line) if line.strip() else {}
        if record.get("event") in ("start", "resume"):
            total, session = total + session, 0.0
        elif "seconds" in record:
            session = max(session, float(record["seconds"]))
    return round(total + session, 1)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=200, help="training texts")
    parser.add_argument("--tasks", default="reconstruct,topic", help="comma-separated tasks")
    parser.add_argument("--task", default="topic", help="the task scored by consistency")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--prefix-tokens", type=int, default=8)
    parser.add_argument("--eval", type=int, default=200, help="held-out vectors explained")
    parser.add_argument("--max-length", type=int, default=24, help="longest answer, tokens")
    parser.add_argument("--clusters", type=int, default=5)
    parser.add_argument("--cluster-texts", type=int, default=200)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (1: on a CPU shared with other jobs, 2 threads ran 10x slower)",
    )
    parser.add_argument("--device", default=None, help="cuda, cpu, ... (default: auto)")
    parser.add_argument("--run-dir", type=Path, default=None, help="default: out/explain-run")
    parser.add_argument("--out", type=Path, default=None, help="default: out/explain.json")
    parser.add_argument("--quick", action="store_true", help="tiny budget, for a smoke test")
    args = parser.parse_args(argv)
    if args.quick:  # its own run dir and JSON: never resumed into, never over a real result
        args.train, args.steps, args.eval = 16, 2, 8
        args.batch_size, args.clusters, args.cluster_texts = 4, 2, 16
    out_root = ROOT / "benchmarks" / "out"
    suffix = "-quick" if args.quick else ""
    run_dir = args.run_dir or out_root / f"explain-run{suffix}"
    out = args.out or out_root / f"explain{suffix}.json"
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from transformers import AutoTokenizer

    from embedlens import load_embedder, load_texts
    from embedlens.data import train_test_split
    from embedlens.models import smollm2_dir
    from embedlens.train import LOG_FILE, embed_texts
    from interpret import EmbeddingMap, Explainer, ExplainerLabeler

    began = time.perf_counter()
    emb = load_embedder("minilm", device=args.device or "cpu")
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir())
    texts = short_distinct(tokenizer, load_texts("wordnet-examples"), 24)
    train_side, test_side = train_test_split(texts, test_size=0.05, seed=0)
    train = pick(train_side, args.train, seed=1)
    held = pick(test_side, args.eval, seed=2)
    tasks = tuple(t.strip() for t in args.tasks.split(",") if t.strip())

    ex = Explainer(
        embedder=emb,
        decoder="smollm2",  # referenced by name in the saved explainer, not copied
        prefix_tokens=args.prefix_tokens,
        tasks=tasks,
        max_length=args.max_length,
        device=args.device,
    )
    fit_start = time.perf_counter()
    ex.fit(
        train,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        checkpoint_every=max(1, args.steps // 5),
        log_every=max(1, args.steps // 20),
        out_dir=run_dir,
        resume=True,
        progress=None,
    )
    fit_seconds = time.perf_counter() - fit_start
    trained = train_seconds(run_dir / LOG_FILE)
    losses = [r["loss"] for r in ex.history_.history if "loss" in r and "event" not in r]

    eval_start = time.perf_counter()
    res = ex.evaluate(held, task=args.task, corpus=train, cache=str(run_dir / "eval.sqlite"))
    eval_seconds = time.perf_counter() - eval_start
    summary = res.summary()
    if res.reconstructions is not None:  # how close the reconstructions land, by the same cosine
        rec = cosine_rows(emb.embed(res.reconstructions), embed_texts(emb, held))
        summary["consistency"]["reconstruction"] = {"mean": float(np.mean(rec))}

    cl_start = time.perf_counter()
    cl_texts = train[: args.cluster_texts]
    X = embed_texts(emb, cl_texts, cache=run_dir / "embeddings.sqlite")
    m = EmbeddingMap(method="pca", random_state=0).fit(X, texts=cl_texts)
    keyword = m.cluster("kmeans", n_clusters=args.clusters, random_state=0)
    explained = m.cluster(
        "kmeans", n_clusters=args.clusters, random_state=0, labeler=ExplainerLabeler(ex)
    )
    if not np.array_equal(keyword.labels, explained.labels):
        raise RuntimeError("k-means gave different clusters on the same data with one seed")
    ids = sorted(keyword.names)
    cents = np.stack([X[keyword.labels == c].mean(axis=0) for c in ids])
    kw_cos = cosine_rows(emb.embed([keyword.names[c] for c in ids]), cents)
    ex_cos = cosine_rows(emb.embed([explained.names[c] for c in ids]), cents)
    cluster_rows = [
        {
            "cluster": int(c),
            "size": keyword.sizes[c],
            "keywords": keyword.names[c],
            "explainer": explained.names[c],
            "keywords_cosine": round(kc, 3),
            "explainer_cosine": round(ec, 3),
            "member_examples": [cl_texts[i] for i in np.flatnonzero(keyword.labels == c)[:2]],
        }
        for c, kc, ec in zip(ids, kw_cos, ex_cos, strict=True)
    ]
    cluster_seconds = time.perf_counter() - cl_start

    result = {
        "task": f"explain MiniLM vectors of held-out WordNet sentences (task {args.task!r})",
        "decoder": "SmolLM2-135M-Instruct (frozen), projector only",
        "tasks": list(tasks),
        "prefix_tokens": args.prefix_tokens,
        "budget": {
            "train_texts": len(train),
            "training_examples": ex.n_examples_,
            "steps": args.steps,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "examples_seen": args.steps * args.batch_size,
            "fit_seconds_this_session": round(fit_seconds, 1),
            "train_seconds_all_sessions": trained,
            "resumed_from_step": ex.history_.resumed_from,
            "evaluate_seconds": round(eval_seconds, 1),
            "cluster_seconds": round(cluster_seconds, 1),
            "device": str(ex.device_),
            "machine": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "load_average_at_end": os.getloadavg()[0],
        },
        "loss": {  # batches mix tasks of very different loss, so compare quarter means
            "logged": [round(v, 3) for v in losses],
            "first_quarter_mean": float(np.mean(losses[: max(1, len(losses) // 4)])),
            "last_quarter_mean": float(np.mean(losses[-max(1, len(losses) // 4) :])),
        },
        "held_out": len(held),
        "consistency": summary["consistency"],
        "token_f1": summary["token_f1"],
        "examples": [
            {
                "text": t,
                "explanation": e,
                "nearest": n,
                "untrained": u,
                "reconstruction": r,
            }
            for t, e, n, u, r in zip(
                res.texts[:10],
                res.explanations[:10],
                res.baseline_texts["nearest"][:10],
                res.baseline_texts["untrained"][:10],
                (res.reconstructions or [""] * len(res.texts))[:10],
                strict=True,
            )
        ],
        "clusters": cluster_rows,
        "total_seconds": round(time.perf_counter() - began, 1),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    c = summary["consistency"]
    print(
        f"{len(train)} texts, {args.steps} steps x {args.batch_size} "
        f"({trained} s training): consistency on {len(held)} held-out vectors: explanation "
        f"{c['explanation']['mean']:.3f}, nearest text {c['nearest']['mean']:.3f}, random text "
        f"{c['random']['mean']:.3f}, untrained projector {c['untrained']['mean']:.3f}"
    )
    if summary["token_f1"]:
        f = summary["token_f1"]
        print(
            f"reconstruction token F1 {f['reconstruct']['mean']:.3f} "
            f"(nearest text {f['nearest']['mean']:.3f}, random {f['random']['mean']:.3f})"
        )
    for row in cluster_rows:
        print(f"  cluster {row['cluster']}: {row['keywords']!r} | {row['explainer']!r}")
    return result


if __name__ == "__main__":
    main()
