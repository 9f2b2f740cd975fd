"""Inversion II, zero-shot and transfer: guided decoding and an inverter reused through alignment.

Two attacks that need no inverter trained for the attacked embedder:

1. **Zero-shot guided decoding** (``inversion.GuidedInverter``): the built-in SmolLM2 proposes
   next tokens, the built-in MiniLM's cosine to the target ranks them. Scored on a seeded sample
   of the held-out split of ``benchmarks/inversion.py`` (WordNet sentences and glosses of at most
   32 SmolLM2 tokens; same split, same helpers): token F1, BLEU, cosine, and embedder queries
   per text.
2. **Few-shot transfer** (``inversion.align``): an inverter trained for MiniLM (a small
   CPU-sized budget, projector only) decodes the vectors of a second embedder, MiniLM's
   mean-pooled hidden states at another layer (``load_embedder("minilm", layer=...)``), mapped
   into MiniLM's output space by an alignment fitted on N paired texts of the train side (N in
   --pairs). Reported: token F1 of the transferred attack relative to the direct inverter on
   the same held-out texts, and the alignment's held-out cosine; N=0 feeds the unmapped vectors.

Writes benchmarks/out/guided_align.json and prints a summary.

    python benchmarks/guided_align.py                 # the CPU budget of benchmarks/RESULTS.md
    python benchmarks/guided_align.py --quick         # smoke run: out/guided_align-quick.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the packages of this checkout, not an installed copy


def _inversion_bench() -> Any:
    """benchmarks/inversion.py as a module (its file name is the package's, so load by path)."""
    spec = importlib.util.spec_from_file_location(
        "bench_inversion", ROOT / "benchmarks" / "inversion.py"
    )
    if spec is None or spec.loader is None:
        raise ImportError("benchmarks/inversion.py not found")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _metrics(scores: Any) -> dict[str, float]:
    keys = ("bleu", "token_f1", "exact_match", "cosine")
    return {k: round(float(scores.metrics[k]), 4) for k in keys if k in scores.metrics}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guided-eval", type=int, default=20, help="texts for zero-shot decoding")
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--top-k", type=int, default=8)
    parser.add_argument("--guided-max-length", type=int, default=24)
    parser.add_argument("--max-queries", type=int, default=600)
    parser.add_argument("--refine-rounds", type=int, default=1)
    parser.add_argument("--length-penalty", type=float, default=0.1)
    parser.add_argument("--edit-queries", type=int, default=0, help="word-edit search queries")
    parser.add_argument("--keywords", type=int, default=30)
    parser.add_argument("--edits-per-round", type=int, default=100)
    parser.add_argument("--edit-patience", type=int, default=10)
    parser.add_argument("--edit-start", default="keyword", choices=("keyword", "best"))
    parser.add_argument("--word-penalty", type=float, default=0.008)
    parser.add_argument("--steps", type=int, default=40, help="inverter training steps (0: none)")
    parser.add_argument("--inverter", type=Path, default=None, help="a trained MiniLM inverter")
    parser.add_argument("--aux", type=int, default=5000, help="texts for the NN and BoW attacks")
    parser.add_argument("--bow-epochs", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--prefix-tokens", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=24, help="inverter text tokens")
    parser.add_argument("--train-limit", type=int, default=20000)
    parser.add_argument("--eval", type=int, default=100, help="held-out texts for transfer")
    parser.add_argument("--pairs", default="10,100,1000", help="alignment sizes N")
    parser.add_argument("--methods", default="ridge,procrustes")
    parser.add_argument("--alpha", type=float, default=0.1, help="ridge penalty")
    parser.add_argument("--layer", type=int, default=3, help="MiniLM layer of the 2nd embedder")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-guided", action="store_true")
    parser.add_argument("--skip-transfer", action="store_true")
    parser.add_argument("--run-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="tiny budget, for a smoke test")
    args = parser.parse_args(argv)
    out_root = ROOT / "benchmarks" / "out"
    if args.quick:
        args.guided_eval, args.guided_max_length, args.max_queries = 2, 4, 40
        args.edit_queries = min(args.edit_queries, 20)
        args.steps, args.eval, args.train_limit, args.pairs = 2, 4, 64, "10,20"
        args.batch_size, args.max_length, args.aux, args.bow_epochs = 4, 8, 64, 5
    suffix = "-quick" if args.quick else ""
    args.run_dir = args.run_dir or out_root / f"transfer-run{suffix}"
    args.out = args.out or out_root / f"guided_align{suffix}.json"
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    import numpy as np
    import torch
    from transformers import AutoTokenizer

    from embedlens import load_embedder, load_texts
    from embedlens.data import train_test_split
    from embedlens.models import smollm2_dir
    from embedlens.train import embed_texts
    from inversion.align import Alignment
    from inversion.bow import BagOfWordsAttack
    from inversion.guided import GuidedInverter
    from inversion.inverter import Inverter
    from inversion.metrics import evaluate
    from inversion.nearest import NearestNeighbourAttack

    torch.set_num_threads(args.threads)
    bench = _inversion_bench()
    began = time.perf_counter()
    emb = load_embedder("minilm", device=args.device)
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir())
    texts = bench.short_texts(tokenizer, load_texts("wordnet"), 32)
    train, test = train_test_split(texts, test_size=0.02, seed=0)
    held_out = bench.sample(test, max(args.eval, args.guided_eval), seed=0)
    result: dict[str, Any] = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "device": args.device,
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "note": "2-core CPU shared with other engineers' jobs during the run",
        },
        "split": "benchmarks/inversion.py: train_test_split(test_size=0.02, seed=0), sample seed 0",
    }

    if not args.skip_transfer:
        tr: dict[str, Any] = {"second_embedder": f"minilm layer {args.layer} (mean-pooled)"}
        cache = args.run_dir / "embeddings.sqlite"
        eval_texts = held_out[: args.eval]
        X_eval = embed_texts(emb, eval_texts, cache=cache)
        aux = bench.sample(train, args.aux, seed=1)
        X_aux = embed_texts(emb, aux, cache=cache)
        # the attacks trained (or fitted) for MiniLM; each maps vectors to a score dict
        attacks: dict[str, Any] = {}
        t0 = time.perf_counter()
        nn_attack = NearestNeighbourAttack(emb).fit(aux, aux_embeddings=X_aux)
        attacks["nearest_neighbour"] = lambda X: _metrics(
            evaluate(eval_texts, nn_attack.invert(X), embedder=emb, bootstrap=0)
        )
        bow = BagOfWordsAttack(embedder=emb, epochs=args.bow_epochs, min_df=2).fit(X_aux, aux)
        attacks["bag_of_words"] = lambda X: {"word_f1": round(bow.score(X, eval_texts).f1, 4)}
        tr["fit_seconds"] = {"nearest_neighbour+bag_of_words": round(time.perf_counter() - t0, 1)}
        tr["aux_texts"] = len(aux)
        if args.inverter is not None or args.steps > 0:
            fit_start = time.perf_counter()
            if args.inverter is not None:
                inv = Inverter.from_pretrained(args.inverter, embedder=emb, device=args.device)
                tr["inverter_budget"] = {"loaded": str(args.inverter)}
            else:
                inv = Inverter(
                    embedder=emb,
                    decoder="smollm2",
                    prefix_tokens=args.prefix_tokens,
                    max_length=args.max_length,
                    device=args.device,
                )
                inv.fit(
                    bench.sample(train, args.train_limit, seed=2),
                    steps=args.steps,
                    batch_size=args.batch_size,
                    lr=args.lr,
                    checkpoint_every=max(1, args.steps // 5),
                    log_every=max(1, args.steps // 20),
                    out_dir=args.run_dir,
                    resume=True,
                )
                tr["inverter_budget"] = {
                    "steps": args.steps,
                    "batch_size": args.batch_size,
                    "examples_seen": args.steps * args.batch_size,
                    "prefix_tokens": args.prefix_tokens,
                    "max_length": args.max_length,
                    "finetune": "projector",
                    "fit_seconds_this_session": round(time.perf_counter() - fit_start, 1),
                }
            attacks["inverter"] = lambda X: _metrics(
                evaluate(eval_texts, inv.invert(X, batch_size=32), embedder=emb, bootstrap=0)
            )
        src = load_embedder("minilm", layer=args.layer, device=args.device)
        sizes = sorted(int(n) for n in args.pairs.split(","))
        pair_texts = bench.sample(train, max(sizes), seed=3)
        S_pairs = src.embed(pair_texts, batch_size=64)
        T_pairs = embed_texts(emb, pair_texts, cache=cache)
        S_eval = src.embed(eval_texts, batch_size=64)
        results: dict[str, Any] = {}
        for name, attack in attacks.items():
            t0 = time.perf_counter()
            direct = attack(X_eval)
            key = "word_f1" if "word_f1" in direct else "token_f1"
            rows = [{"pairs": 0, "method": "none", **attack(S_eval)}]  # the other space, unmapped
            for n in sizes:
                for method in args.methods.split(","):
                    if name == "inverter" and method != args.methods.split(",")[0]:
                        continue  # decoding is the slow part: one method for the inverter
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # lstsq below N=dim falls back to ridge
                        align = Alignment(method=method, alpha=args.alpha).fit(
                            S_pairs[:n], T_pairs[:n]
                        )
                    row = {
                        "pairs": n,
                        "method": method,
                        "alignment_cosine": round(align.score(S_eval, X_eval), 4),
                        **attack(align.transform(S_eval)),
                    }
                    rows.append(row)
            for row in rows:
                row["vs_direct"] = round(row[key] / max(direct[key], 1e-9), 3)
            results[name] = {
                "score": key,
                "direct": direct,
                "curve": rows,
                "seconds": round(time.perf_counter() - t0, 1),
            }
            logging.info("transfer %s: %s", name, results[name])
        tr["attacks"] = results
        tr["held_out"] = len(eval_texts)
        result["transfer"] = tr

    if not args.skip_guided:
        g_texts = held_out[: args.guided_eval]
        X = embed_texts(emb, g_texts)
        guided = GuidedInverter(
            embedder=emb,
            decoder="smollm2",
            beam_width=args.beam_width,
            top_k=args.top_k,
            max_length=args.guided_max_length,
            max_queries=args.max_queries,
            refine_rounds=args.refine_rounds,
            length_penalty=args.length_penalty,
            keywords=args.keywords,
            edit_queries=args.edit_queries,
            edits_per_round=args.edits_per_round,
            edit_patience=args.edit_patience,
            edit_start=args.edit_start,
            word_penalty=args.word_penalty,
            device=args.device,
        )
        t0 = time.perf_counter()
        hyps = guided.invert(X)
        seconds = time.perf_counter() - t0
        scores = _metrics(evaluate(g_texts, hyps, embedder=emb, bootstrap=0))
        result["zero_shot"] = {
            "params": {
                "beam_width": args.beam_width,
                "top_k": args.top_k,
                "max_length": args.guided_max_length,
                "max_queries": args.max_queries,
                "refine_rounds": args.refine_rounds,
                "length_penalty": args.length_penalty,
                "keywords": args.keywords,
                "edit_queries": args.edit_queries,
                "edits_per_round": args.edits_per_round,
                "edit_patience": args.edit_patience,
                "edit_start": args.edit_start,
                "word_penalty": args.word_penalty,
            },
            "vocabulary_queries_once": int(guided.vocabulary_queries_),
            "held_out": len(g_texts),
            **scores,
            "returned_cosine_mean": round(float(np.mean(guided.cosines_)), 4),
            "queries_per_text_mean": float(np.mean(guided.queries_)),
            "queries_per_text_max": int(np.max(guided.queries_)),
            "seconds_per_text": round(seconds / len(g_texts), 1),
            "examples": [
                {"reference": r, "hypothesis": h} for r, h in zip(g_texts, hyps, strict=True)
            ],
        }
    result["total_seconds"] = round(time.perf_counter() - began, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    if "zero_shot" in result:
        z = result["zero_shot"]
        print(
            f"zero-shot on {z['held_out']} texts: token F1 {z['token_f1']:.3f}, BLEU "
            f"{z['bleu']:.1f}, cosine {z['cosine']:.3f}, {z['queries_per_text_mean']:.0f} "
            f"queries/text, {z['seconds_per_text']} s/text"
        )
    if "transfer" in result:
        t = result["transfer"]
        for name, res in t["attacks"].items():
            key = res["score"]
            print(f"{name}: direct {key} {res['direct'][key]:.3f} on {t['held_out']} texts")
            for row in res["curve"]:
                print(
                    f"  N={row['pairs']:>5} {row['method']:<10} {key} {row[key]:.3f} "
                    f"(x{row['vs_direct']} of direct), alignment cosine "
                    f"{row.get('alignment_cosine', float('nan'))}"
                )
    return result


if __name__ == "__main__":
    main()
