"""Inversion II: iterative correction with sequence beam search on top of the hypothesis model.

Same data and held-out split as ``benchmarks/inversion.py`` (its helpers are imported, not
copied): WordNet sentences and glosses of at most 32 SmolLM2 tokens, the hash split of
``embedlens.data.train_test_split`` (seed 0), a seeded sample of --eval held-out texts.

1. The hypothesis model: an ``Inverter`` loaded from --inverter (for example the one
   ``benchmarks/inversion.py`` saved under ``out/inv-run/inverter``) or, when that is absent,
   trained here for --inverter-steps (MiniLM -> SmolLM2, soft prefix; resumable).
2. The ``Corrector``: trained on the inverter's hypotheses of --corrector-train training texts
   (generated once and cached in the run directory, resumable), sharing the frozen SmolLM2 with
   the inverter (``finetune="projector"``) or with LoRA adapters of its own (--finetune lora).
3. ``inv.invert(X, steps=20, beam_width=b)`` for b in 1 and 4; since an example's state after
   step t of a 20-step run is what a t-step run returns (correction is deterministic and stops
   per example), steps 1, 5 and 20 are read from one run's history. Each is scored with
   ``inversion.metrics.evaluate`` (BLEU, token F1, exact match, cosine) with the embedder
   queries per text (steps=0: none).

Writes JSON to benchmarks/out/correction.json and prints a table.

    python benchmarks/correction.py --inverter benchmarks/out/inv-run/inverter
    python benchmarks/correction.py --quick   # smoke run, own run dir and JSON
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the packages of this checkout, not an installed copy

from benchmarks.inversion import logged_train_seconds, sample, short_texts  # noqa: E402

READ_STEPS = (0, 1, 5, 20)


def scores_at(history: Any, step: int, test: list[str], emb: Any) -> dict[str, Any]:
    """Metrics and queries of the texts a ``step``-step run returns, read from a history."""
    import numpy as np

    from inversion.metrics import evaluate

    t = min(step, history.steps)
    hyps = history.texts[t]
    scores = evaluate(test, hyps, embedder=emb, bootstrap=200)
    queries = history.queries[t] if step > 0 else np.zeros_like(history.queries[0])
    return {
        "steps": step,
        "metrics": scores.metrics,
        "ci": {k: list(v) for k, v in scores.ci.items()},
        "queries_per_text": float(queries.mean()),
        "queries_max": int(queries.max()),
        "still_running": int((history.stopped >= t).sum()) if step > 0 else len(test),
        "examples": [
            {"reference": r, "hypothesis": h} for r, h in zip(test[:5], hyps[:5], strict=True)
        ],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inverter", type=Path, default=None, help="a saved Inverter directory")
    parser.add_argument("--inverter-steps", type=int, default=300)
    parser.add_argument("--inverter-train", type=int, default=20000)
    parser.add_argument("--corrector-steps", type=int, default=300)
    parser.add_argument("--corrector-train", type=int, default=2000)
    parser.add_argument(
        "--corrector-eval",
        type=int,
        default=0,
        help="held-out texts (outside the scored ones) evaluated during the corrector's training",
    )
    parser.add_argument("--corrector-eval-every", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--prefix-tokens", type=int, default=16)
    parser.add_argument("--finetune", choices=["projector", "lora", "full"], default="projector")
    parser.add_argument("--eval", type=int, default=100, help="held-out texts scored")
    parser.add_argument("--max-steps", type=int, default=20, help="correction steps run")
    parser.add_argument("--beams", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (shared CPU)")
    parser.add_argument("--dtype", default=None)
    parser.add_argument("--run-dir", type=Path, default=None, help="default: out/corr-run")
    parser.add_argument("--out", type=Path, default=None, help="default: out/correction.json")
    parser.add_argument("--quick", action="store_true", help="tiny budget, for a smoke test")
    args = parser.parse_args(argv)
    out_root = ROOT / "benchmarks" / "out"
    if args.quick:
        args.inverter_steps, args.corrector_steps = 3, 3
        args.inverter_train, args.corrector_train, args.eval = 64, 32, 8
        args.max_steps, args.batch_size = 2, 8
    suffix = "-quick" if args.quick else ""
    run = args.run_dir or out_root / f"corr-run{suffix}"
    args.out = args.out or out_root / f"correction{suffix}.json"
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    import torch
    from transformers import AutoTokenizer

    from embedlens import load_embedder, load_texts
    from embedlens.data import train_test_split
    from embedlens.models import resolve_device, smollm2_dir
    from embedlens.train import LOG_FILE, embed_texts
    from inversion.corrector import Corrector
    from inversion.inverter import Inverter

    device = resolve_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    began = time.perf_counter()
    emb = load_embedder("minilm", device=device)
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir())
    texts = short_texts(tokenizer, load_texts("wordnet"), 32)
    train, held_out = train_test_split(texts, test_size=0.02, seed=0)
    test = sample(held_out, args.eval, seed=0)  # the held-out texts of benchmarks/inversion.py
    scored = set(test)
    watch = sample([t for t in held_out if t not in scored], args.corrector_eval, seed=5)
    X_test = embed_texts(emb, test, cache=run / "embeddings.sqlite")

    fit_start = time.perf_counter()
    if args.inverter is not None and (args.inverter / "config.json").is_file():
        inv = Inverter.from_pretrained(args.inverter, embedder=emb, device=str(device))
        inverter_budget: dict[str, Any] = {"loaded_from": str(args.inverter)}
    else:
        inv = Inverter(
            embedder=emb,
            decoder="smollm2",
            prefix_tokens=args.prefix_tokens,
            max_length=32,
            device=str(device),
            dtype=args.dtype,
        )
        seen = args.inverter_steps * args.batch_size  # never embed texts it would not see
        inv.fit(
            sample(train, min(args.inverter_train, seen), seed=2),
            steps=args.inverter_steps,
            batch_size=args.batch_size,
            lr=args.lr,
            checkpoint_every=max(1, args.inverter_steps // 5),
            log_every=max(1, args.inverter_steps // 20),
            out_dir=run / "inverter-run",
            resume=True,
        )
        inverter_budget = {
            "steps": args.inverter_steps,
            "batch_size": args.batch_size,
            "train_texts": min(args.inverter_train, seen, len(train)),
            "examples_seen": seen,
            "train_seconds_all_sessions": logged_train_seconds(run / "inverter-run" / LOG_FILE),
        }
    inverter_seconds = time.perf_counter() - fit_start

    corr_train = sample(train, args.corrector_train, seed=3)
    corr_start = time.perf_counter()
    share = args.finetune == "projector" and inv.finetune == "projector"
    corrector = Corrector(
        decoder="smollm2",  # with finetune="projector" it shares the inverter's frozen LM
        prefix_tokens=args.prefix_tokens,
        finetune=args.finetune,
        max_length=32,
        device=str(device),
        dtype=args.dtype,
    ).fit(
        corr_train,
        inverter=inv,
        steps=args.corrector_steps,
        batch_size=args.batch_size,
        lr=args.lr,
        checkpoint_every=max(1, args.corrector_steps // 5),
        log_every=max(1, args.corrector_steps // 20),
        out_dir=run / "corrector-run",
        resume=True,
        eval_texts=watch if args.corrector_eval > 0 else None,
        eval_every=args.corrector_eval_every if args.corrector_eval > 0 else 0,
    )
    corrector_seconds = time.perf_counter() - corr_start

    runs: list[dict[str, Any]] = []
    for beam in args.beams:
        start = time.perf_counter()
        inv.invert(X_test, steps=args.max_steps, beam_width=beam, corrector=corrector)
        seconds = time.perf_counter() - start
        hist = inv.last_history_
        for step in READ_STEPS:
            if step > args.max_steps:
                continue
            row = scores_at(hist, step, test, emb)
            row["beam_width"] = beam
            runs.append(row)
        runs[-1]["run_seconds"] = round(seconds, 1)
        runs[-1]["stopped_at_mean"] = float(hist.stopped.mean())

    result = {
        "task": "correct MiniLM inversions of held-out WordNet sentences (benchmarks/inversion.py's split)",
        "decoder": "SmolLM2-135M-Instruct",
        "held_out": len(test),
        "inverter": {**inverter_budget, "seconds_here": round(inverter_seconds, 1)},
        "corrector": {
            "finetune": args.finetune,
            "shares_inverter_lm": share,
            "steps": args.corrector_steps,
            "batch_size": args.batch_size,
            "train_texts": len(corr_train),
            "seconds_here": round(corrector_seconds, 1),
            "train_seconds_all_sessions": logged_train_seconds(run / "corrector-run" / LOG_FILE),
            "final_loss": corrector.history_.final_loss,
        },
        "device": str(device),
        "device_name": (
            torch.cuda.get_device_name(device)
            if device.type == "cuda"
            else platform.processor() or platform.machine()
        ),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "results": runs,
        "total_seconds": round(time.perf_counter() - began, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"{'beam':>4} {'steps':>5} {'BLEU':>6} {'F1':>6} {'exact':>6} {'cos':>6} {'queries':>8}")
    for r in runs:
        m = r["metrics"]
        print(
            f"{r['beam_width']:>4} {r['steps']:>5} {m['bleu']:>6.1f} {m['token_f1']:>6.3f} "
            f"{m['exact_match']:>6.3f} {m.get('cosine', float('nan')):>6.3f} "
            f"{r['queries_per_text']:>8.1f}"
        )
    return result


if __name__ == "__main__":
    main()
