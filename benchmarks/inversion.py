"""Inversion I: how much text the built-in MiniLM leaks to a trained inverter, in one run.

Trains the soft-prefix hypothesis model (MiniLM -> SmolLM2, ``inversion.Inverter``) on WordNet
example sentences and glosses of at most 32 SmolLM2 tokens, on a fixed train split (the hash
split of ``embedlens.data.train_test_split``, seed 0), for a given step budget; then decodes a
held-out split (a seeded sample of --eval texts of the test side, examples and glosses alike;
steps=0: the hypothesis model alone, no correction) and scores it with
``inversion.metrics.evaluate``: BLEU, token F1, exact match and cosine, with bootstrap intervals.
The bag-of-words attack (``inversion.bow``) is fitted on the vectors of a seeded sample of the
train side (--bow-train texts) and scored by word F1 (Song & Raghunathan 2020) on the same
held-out vectors; the inverter's texts are scored by the same word F1 (distinct non-stopwords of
the attack's vocabulary), so the two attacks compare on one scale.

Writes JSON to benchmarks/out/inversion.json (with the budget: steps, examples seen, wall time,
device) and prints a summary. Training checkpoints under --run-dir, so an interrupted run
resumes where it stopped (the same command again); the wall time then covers every session.

    python benchmarks/inversion.py --steps 2000 --batch-size 32 [--device cuda]
    python benchmarks/inversion.py --quick   # smoke run: out/inversion-quick.json, own run dir
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the packages of this checkout, not an installed copy


def short_texts(tokenizer: Any, texts: list[str], max_tokens: int) -> list[str]:
    """Distinct texts of at most ``max_tokens`` tokens, in their original order."""
    out: list[str] = []
    seen: set[str] = set()
    for start in range(0, len(texts), 4096):
        chunk = texts[start : start + 4096]
        lengths = [len(ids) for ids in tokenizer(chunk, add_special_tokens=False)["input_ids"]]
        for text, n in zip(chunk, lengths, strict=True):
            if n <= max_tokens and text not in seen:
                seen.add(text)
                out.append(text)
    return out


def sample(texts: list[str], k: int | None, seed: int) -> list[str]:
    """A seeded sample of ``k`` texts in their original order (all of them when ``k`` is None).

    The corpus lists WordNet's examples before its glosses, so a prefix would be one kind only.
    """
    if k is None or k >= len(texts):
        return list(texts)
    picked = sorted(random.Random(seed).sample(range(len(texts)), k))
    return [texts[i] for i in picked]


def word_f1(
    references: list[str], hypotheses: list[str], vocabulary: list[str]
) -> dict[str, float]:
    """Micro word precision/recall/F1 over the distinct non-stopwords of ``vocabulary``.

    The definition of ``BagOfWordsAttack.score``, applied to any attack's texts.
    """
    from inversion.bow import ENGLISH_STOPWORDS
    from inversion.metrics import normalize_tokens

    vocab = set(vocabulary) - ENGLISH_STOPWORDS
    tp = n_pred = n_true = 0
    for ref, hyp in zip(references, hypotheses, strict=True):
        truth, guess = set(normalize_tokens(ref)) & vocab, set(normalize_tokens(hyp)) & vocab
        tp, n_pred, n_true = tp + len(truth & guess), n_pred + len(guess), n_true + len(truth)
    return {
        "precision": tp / n_pred if n_pred else 0.0,
        "recall": tp / n_true if n_true else 0.0,
        "f1": 2 * tp / (n_pred + n_true) if n_pred + n_true else 0.0,
    }


def logged_train_seconds(log: Path) -> float | None:
    """Training wall time summed over the sessions of a (possibly resumed) run's JSONL log."""
    if not log.is_file():
        return None
    total, session = 0.0, 0.0
    for line in log.read_text(encoding="utf-8").splitlines():
        record = json.loads(line) if line.strip() else {}
        if record.get("event") in ("start", "resume"):
            total, session = total + session, 0.0
        elif "seconds" in record:
            session = max(session, float(record["seconds"]))
    return total + session


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--grad-accum", type=int, default=1)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--prefix-tokens", type=int, default=16)
    parser.add_argument("--finetune", choices=["projector", "lora", "full"], default="projector")
    parser.add_argument("--noise-std", type=float, default=0.0)
    parser.add_argument("--eval", type=int, default=500, help="held-out texts scored")
    parser.add_argument("--train-limit", type=int, default=None, help="cap the training texts")
    parser.add_argument("--bow-train", type=int, default=20000, help="bag-of-words training texts")
    parser.add_argument("--bow-epochs", type=int, default=200)
    parser.add_argument("--num-beams", type=int, default=1)
    parser.add_argument("--device", default=None, help="cuda, cpu, ... (default: auto)")
    parser.add_argument("--dtype", default=None, help="decoder weights, e.g. bf16 on a GPU")
    parser.add_argument("--run-dir", type=Path, default=None, help="default: out/inv-run")
    parser.add_argument("--out", type=Path, default=None, help="default: out/inversion.json")
    parser.add_argument("--quick", action="store_true", help="tiny budget, for a smoke test")
    args = parser.parse_args(argv)
    out_root = ROOT / "benchmarks" / "out"
    if args.quick:  # its own run dir and JSON: never resumed into, never over a real result
        args.steps, args.eval, args.train_limit = 3, 16, args.train_limit or 64
        args.batch_size = min(args.batch_size, 8)
        args.bow_train, args.bow_epochs = min(args.bow_train, 64), min(args.bow_epochs, 20)
    suffix = "-quick" if args.quick else ""
    args.run_dir = args.run_dir or out_root / f"inv-run{suffix}"
    args.out = args.out or out_root / f"inversion{suffix}.json"
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    import torch
    from transformers import AutoTokenizer

    from embedlens import load_embedder, load_texts
    from embedlens.data import train_test_split
    from embedlens.models import resolve_device, smollm2_dir
    from embedlens.train import LOG_FILE, embed_texts
    from inversion.bow import BagOfWordsAttack
    from inversion.inverter import Inverter
    from inversion.metrics import evaluate

    device = resolve_device(args.device)
    began = time.perf_counter()
    emb = load_embedder("minilm", device=device)
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir())
    texts = short_texts(tokenizer, load_texts("wordnet"), 32)
    train, test = train_test_split(texts, test_size=0.02, seed=0)
    if len(test) < args.eval:
        logging.warning("only %d held-out texts (asked for %d)", len(test), args.eval)
    test = sample(test, args.eval, seed=0)
    bow_train = sample(train, args.bow_train, seed=1)
    train = sample(train, args.train_limit, seed=2)
    cache = args.run_dir / "embeddings.sqlite"
    X_test = embed_texts(emb, test, cache=cache)

    inv = Inverter(
        embedder=emb,
        decoder="smollm2",  # referenced by name in the saved inverter, not copied
        prefix_tokens=args.prefix_tokens,
        finetune=args.finetune,
        max_length=32,
        device=str(device),
        dtype=args.dtype,
    )
    fit_start = time.perf_counter()
    inv.fit(
        train,
        steps=args.steps,
        batch_size=args.batch_size,
        grad_accum=args.grad_accum,
        lr=args.lr,
        noise_std=args.noise_std,
        checkpoint_every=max(1, args.steps // 10),
        log_every=max(1, args.steps // 50),
        out_dir=args.run_dir,
        resume=True,
        progress=None,
    )
    fit_seconds = time.perf_counter() - fit_start
    logged = logged_train_seconds(args.run_dir / LOG_FILE)
    if logged is not None:
        logged = round(logged, 1)
    inv_start = time.perf_counter()
    hyps = inv.invert(X_test, num_beams=args.num_beams, batch_size=64)
    invert_seconds = time.perf_counter() - inv_start
    scores = evaluate(test, hyps, embedder=emb, bootstrap=1000)

    bow_start = time.perf_counter()
    bow = BagOfWordsAttack(embedder=emb, epochs=args.bow_epochs, min_df=2)
    bow.fit(embed_texts(emb, bow_train, cache=cache), bow_train)
    bow_seconds = time.perf_counter() - bow_start
    words = bow.score(X_test, test)
    inverter_words = word_f1(test, hyps, bow.vocabulary_)

    result = {
        "task": "invert MiniLM (all-MiniLM-L6-v2) embeddings of WordNet sentences, steps=0",
        "decoder": "SmolLM2-135M-Instruct",
        "finetune": args.finetune,
        "prefix_tokens": args.prefix_tokens,
        "num_beams": args.num_beams,
        "budget": {
            "steps": args.steps,
            "batch_size": args.batch_size,
            "grad_accum": args.grad_accum,
            "examples_seen": args.steps * args.batch_size * args.grad_accum,
            "train_texts": len(train),
            "fit_seconds": round(fit_seconds, 1),
            "train_seconds_all_sessions": logged,
            "resumed_from_step": inv.history_.resumed_from,
            "device": str(device),
            "device_name": (
                torch.cuda.get_device_name(device)
                if device.type == "cuda"
                else platform.processor() or platform.machine()
            ),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
        },
        "held_out": len(test),
        "metrics": scores.metrics,
        "ci": {k: list(v) for k, v in scores.ci.items()},
        "invert_seconds": round(invert_seconds, 1),
        "bag_of_words": {
            "word_f1": words.f1,
            "precision": words.precision,
            "recall": words.recall,
            "held_out": words.n,
            "train_texts": len(bow_train),
            "split": "seeded sample of the same train side; scored on the held-out vectors above",
            "epochs": args.bow_epochs,
            "vocabulary": len(bow.vocabulary_),
            "fit_seconds": round(bow_seconds, 1),
        },
        "inverter_word_f1": {**inverter_words, "vocabulary": "the bag-of-words attack's"},
        "examples": [
            {"reference": r, "hypothesis": h} for r, h in zip(test[:10], hyps[:10], strict=True)
        ],
        "total_seconds": round(time.perf_counter() - began, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    m = scores.metrics
    print(
        f"steps={args.steps} ({result['budget']['examples_seen']} examples, {fit_seconds:.0f} s on "
        f"{device}): BLEU {m['bleu']:.1f}, token F1 {m['token_f1']:.3f}, exact "
        f"{m['exact_match']:.3f}, cosine {m.get('cosine', float('nan')):.3f} on {len(test)} "
        f"held-out texts; word F1: bag of words {words.f1:.3f}, inverter "
        f"{inverter_words['f1']:.3f} (bag-of-words vocabulary)"
    )
    for ex in result["examples"][:3]:
        print(f"  {ex['reference']!r}\n  -> {ex['hypothesis']!r}")
    return result


if __name__ == "__main__":
    main()
