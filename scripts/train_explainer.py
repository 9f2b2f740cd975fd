"""Reproduce the shipped explainer ``embedlens/pretrained/minilm-smollm2`` on a CPU.

MiniLM vectors explained by SmolLM2-135M-Instruct (frozen): a short search (the ``"search"``
reader: :class:`inversion.SearchInverter` with MiniLM's shipped keyword model and word vectors,
300 queries or 1.5 s a vector) reads each vector into words, and a projector trained here adds
4 soft tokens in front of them. Two tasks are mixed: ``reconstruct`` (say the text) and
``topic`` (what it is about, as SmolLM2 answers when it reads the real text).

Data: a seeded sample of ``--wordnet`` WordNet texts of at most 32 SmolLM2 tokens from the train
side of ``train_test_split(test_size=0.02, seed=0)`` (the benchmarks hold out its test side),
and ``--pii`` generated records (``generate_pii(seed=20261207)``, the seed of the shipped keyword
model; the benchmarks use other seeds). Everything slow is cached in ``--run-dir`` (embeddings,
readings, teacher answers, checkpoints), so a rerun resumes. The budget (seconds of each stage,
steps, examples) goes to ``--run-dir/budget.json`` and the model card.

    .venv/bin/python scripts/train_explainer.py                # about an hour on 2 CPU cores
    .venv/bin/python scripts/train_explainer.py --wordnet 40 --pii 10 --steps 5 --out /tmp/x
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TASKS = ("reconstruct", "topic")


def training_texts(n_wordnet: int, n_pii: int, seed: int = 0) -> list[str]:
    """Short WordNet texts of the train side and generated records, seeded."""
    import numpy as np

    from embedlens.corpora import generate_pii, load_wordnet
    from embedlens.data import train_test_split
    from embedlens.models import load_decoder

    train, _ = train_test_split(load_wordnet().texts, test_size=0.02, seed=0)
    order = np.random.default_rng(seed).permutation(len(train))
    tok = load_decoder("smollm2").tokenizer
    short: list[str] = []
    for i in order:
        if len(short) >= n_wordnet:
            break
        text = train[int(i)]
        if len(tok(text, add_special_tokens=False)["input_ids"]) <= 32 and text not in short:
            short.append(text)
    records = generate_pii(n_pii, seed=20261207).texts if n_pii else []
    mixed = short + list(records)
    return [mixed[int(i)] for i in np.random.default_rng(seed + 1).permutation(len(mixed))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wordnet", type=int, default=1000)
    parser.add_argument("--pii", type=int, default=300)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--prefix-tokens", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--minutes", type=float, default=30.0, help="training time limit")
    parser.add_argument("--run-dir", default=str(ROOT / "runs" / "explainer-cpu"))
    parser.add_argument("--out", default=str(ROOT / "embedlens" / "pretrained" / "minilm-smollm2"))
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from embedlens.embedders import load_embedder
    from interpret.explain import Explainer

    run = Path(args.run_dir)
    run.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    texts = training_texts(args.wordnet, args.pii)
    emb = load_embedder("minilm", cache=run / "embeddings.sqlite")
    explainer = Explainer(
        embedder=emb,
        decoder="smollm2",
        prefix_tokens=args.prefix_tokens,
        tasks=TASKS,
        max_length=64,
        reader="search",
    )
    explainer.fit(
        texts,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        warmup_steps=min(20, args.steps // 10),
        checkpoint_every=50,
        log_every=10,
        out_dir=run,
        resume=(run / "checkpoint").exists(),
        time_limit=args.minutes * 60,
        progress=True,
    )
    seconds = time.perf_counter() - t0
    explainer.embedder = "minilm"  # the saved model names the built-in, not this cached copy
    explainer.save_pretrained(args.out, dtype="float16")
    budget = {
        "texts": len(texts),
        "wordnet": args.wordnet,
        "pii": args.pii,
        "examples": explainer.n_examples_,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "examples_seen": args.steps * args.batch_size,
        "lr": args.lr,
        "prefix_tokens": args.prefix_tokens,
        "seconds_this_session": round(seconds, 1),
        "threads": args.threads,
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, torch "
        f"{torch.__version__}",
    }
    (run / "budget.json").write_text(json.dumps(budget, indent=1), encoding="utf-8")
    print(json.dumps(budget, indent=1))


if __name__ == "__main__":
    main()
