"""Inversion on a CPU (issue 18): ``inversion.invert`` on held-out WordNet sentences and ``pii`` records.

What it measures, per dataset: token F1, BLEU, cosine (bootstrap 95% intervals), exact match; on
``pii`` the share of people whose first or last name, full name and condition came back; and the
cost: embedder queries and wall seconds per text, and the queries spent once (the attacker's
auxiliary texts and their words). ``--variant`` switches parts of the attack off for the
ablation.

Held out: WordNet texts of the test side of ``train_test_split(test_size=0.02, seed=0)`` (the
shipped keyword model never saw that side), sampled with ``--seed``, minus the texts used while
the attack was developed (``rng(1)`` samples of that side); ``pii`` records generated with
``--pii-seed``, a seed neither the shipped model (20261207) nor the attacker's records (12345)
use. The attacker's auxiliary texts: 3,000 records of other people for ``pii``, 20,000 WordNet
texts of the train side for WordNet (and the whole train side, about 161,000 texts, for the
word-order model, which costs no query).

Run (one torch thread per attack, as the issue asks; two datasets in parallel on 2 cores)::

    .venv/bin/python benchmarks/inversion_cpu.py --dataset wordnet --n 200 &
    .venv/bin/python benchmarks/inversion_cpu.py --dataset pii --n 200 &
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
# run as a script, this folder comes first on sys.path and its inversion.py would shadow the
# inversion package: the checkout's packages go first instead
sys.path[:] = [str(HERE.parent), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]

VARIANTS = {
    "full": {},
    "no-aux": {"aux": False},
    "no-keywords": {"keywords": False},
    "no-word-vectors": {"n_word_vectors": 0},
    "beam-1": {"beam_width": 1},
    "no-reorder": {"reorder_queries": 0},
    "starts-only": {"max_queries": 1, "reorder_queries": 0},
}


def held_out_wordnet(n: int, seed: int) -> list[str]:
    from embedlens.corpora import load_wordnet
    from embedlens.data import train_test_split

    _, test = train_test_split(load_wordnet().texts, test_size=0.02, seed=0)
    used: set[int] = set()
    for k in (20, 30, 40, 50, 100):  # the development samples
        used.update(int(i) for i in np.random.default_rng(1).choice(len(test), k, replace=False))
    rest = [i for i in range(len(test)) if i not in used]
    pick = np.random.default_rng(seed).choice(len(rest), n, replace=False)
    return [test[rest[i]] for i in pick]


def wordnet_train() -> list[str]:
    from embedlens.corpora import load_wordnet
    from embedlens.data import train_test_split

    return train_test_split(load_wordnet().texts, test_size=0.02, seed=0)[0]


def aux_wordnet(n: int) -> list[str]:
    train = wordnet_train()
    pick = np.random.default_rng(7).choice(len(train), min(n, len(train)), replace=False)
    return [train[i] for i in sorted(pick)]


def name_rates(fields: list[dict], texts: list[str], rounds: int = 1000) -> dict:
    from embedlens.stats import percentile_ci
    from embedlens.tokens import normalize_tokens

    hits = []
    for f, text in zip(fields, texts, strict=True):
        words = set(normalize_tokens(text))
        parts = normalize_tokens(f["name"])
        first, last = parts[0] in words, parts[-1] in words
        cond = all(w in words for w in normalize_tokens(f["condition"]))
        hits.append((first or last, first and last, first, last, cond))
    arr = np.array(hits, dtype=np.float64)
    rng = np.random.default_rng(0)
    boot = arr[rng.integers(0, len(arr), (rounds, len(arr)))].mean(axis=1)
    keys = ("first_or_last", "full_name", "first", "last", "condition")
    return {
        k: {"rate": float(arr[:, j].mean()), "ci": percentile_ci(boot[:, j], 0.95)}
        for j, k in enumerate(keys)
    }


def table(folder: str = "benchmarks/out") -> str:
    """A markdown table of every saved run; a ``--first K`` run is set beside the full run's
    scores on the same K texts (no embedder needed: cosines are the ones the attack measured)."""
    from embedlens.stats import percentile_ci
    from inversion import evaluate

    runs = [json.loads(p.read_text()) for p in sorted(Path(folder).glob("inversion_cpu-*.json"))]
    rows = ["| dataset | variant | texts | token F1 | BLEU | cosine | queries | s/text |"]
    rows.append("|---|---|---|---|---|---|---|---|")
    full = {(r["dataset"], r["embedder"]): r for r in runs if r["variant"] == "full"}
    for r in runs:
        k = len(r["references"])
        pairs = [(r, r["variant"])]
        base = full.get((r["dataset"], r["embedder"]))
        if r["variant"] != "full" and base and base["references"][:k] == r["references"]:
            pairs.insert(
                0,
                (
                    {
                        **base,
                        "decoded": base["decoded"][:k],
                        "references": r["references"],
                        "cosine_per_text": base["cosine_per_text"][:k],
                        "queries_per_text": base["queries_per_text"][:k],
                    },
                    "full",
                ),
            )
        for run, name in pairs:
            s = evaluate(run["references"], run["decoded"], bootstrap=1000, entities="none")
            cos = np.array(run["cosine_per_text"])
            boot = cos[np.random.default_rng(0).integers(0, len(cos), (1000, len(cos)))].mean(1)
            lo, hi = percentile_ci(boot, 0.95)
            f1, bleu = s.ci["token_f1"], s.ci["bleu"]
            rows.append(
                f"| {run['dataset']} | {name} | {k} | {s.token_f1:.3f} [{f1[0]:.3f}, {f1[1]:.3f}]"
                f" | {s.bleu:.1f} [{bleu[0]:.1f}, {bleu[1]:.1f}] | {cos.mean():.3f} [{lo:.3f}, "
                f"{hi:.3f}] | {np.mean(run['queries_per_text']):.0f} | "
                f"{run['seconds_per_text']['mean']:.1f} |"
            )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=["wordnet", "pii"])
    parser.add_argument("--table", action="store_true", help="print the table of saved runs")
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--pii-seed", type=int, default=31337)
    parser.add_argument("--aux-pii", type=int, default=3000)
    parser.add_argument("--aux-wordnet", type=int, default=20000)
    parser.add_argument("--max-queries", type=int, default=2000)
    parser.add_argument("--max-seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--variant", choices=list(VARIANTS), default="full")
    parser.add_argument(
        "--first", type=int, default=None, help="attack only the first K texts of the sample"
    )
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.table:
        print(table())
        return
    if args.dataset is None:
        parser.error("--dataset is required (or --table)")

    import torch

    torch.set_num_threads(args.threads)
    from embedlens import load_embedder
    from embedlens.corpora import generate_pii
    from inversion import SearchInverter, evaluate

    emb = load_embedder(args.embedder)
    fields = None
    lm_texts = None
    if args.dataset == "wordnet":
        texts, aux = held_out_wordnet(args.n, args.seed), aux_wordnet(args.aux_wordnet)
        lm_texts = wordnet_train()  # public text of the domain for the word order (no query)
    else:
        corpus = generate_pii(args.n, seed=args.pii_seed)
        texts, fields = corpus.texts, corpus.fields
        aux = generate_pii(args.aux_pii, seed=12345).texts
    if args.first:
        texts = texts[: args.first]
        fields = None if fields is None else fields[: args.first]
    options = dict(VARIANTS[args.variant])
    use_aux = options.pop("aux", True)
    if options.pop("keywords", True) is False:
        options["keywords"] = None
    X = emb.embed(texts, batch_size=64)
    settings = {"max_queries": args.max_queries, "max_seconds": args.max_seconds, **options}
    attack = SearchInverter(emb, lm_texts=lm_texts, progress=True, **settings)
    tic = time.perf_counter()
    attack.fit(aux if use_aux else None)
    setup_seconds = time.perf_counter() - tic
    tic = time.perf_counter()
    out = attack.invert(X)
    seconds = time.perf_counter() - tic
    scores = evaluate(texts, out, embedder=emb, reference_embeddings=X, bootstrap=1000)
    result = {
        "dataset": args.dataset,
        "variant": args.variant,
        "embedder": emb.name,
        "n": len(texts),
        "attack": repr(attack),
        "params": {
            k: v
            for k, v in attack.get_params().items()
            if k not in ("embedder", "aux_texts", "lm_texts", "keywords")
        },
        "aux_texts": len(aux) if use_aux else 0,
        "scores": {k: float(v) for k, v in scores.metrics.items()},
        "ci": {k: list(v) for k, v in scores.ci.items()},
        "queries": {"mean": float(attack.queries_.mean()), "max": int(attack.queries_.max())},
        "seconds_per_text": {
            "mean": float(attack.seconds_.mean()),
            "max": float(attack.seconds_.max()),
        },
        "setup": {"queries": int(attack.setup_queries_), "seconds": round(setup_seconds, 1)},
        "wall_seconds": round(seconds, 1),
        "machine": f"{platform.processor() or platform.machine()}, torch "
        f"{torch.__version__}, {torch.get_num_threads()} thread(s)",
        "references": texts,
        "decoded": out,
        "queries_per_text": attack.queries_.tolist(),
        "cosine_per_text": attack.cosines_.tolist(),
    }
    if fields is not None:
        result["pii"] = name_rates(fields, out)
    print(json.dumps({k: v for k, v in result.items() if not isinstance(v, list)}, indent=2))
    target = Path(
        args.out
        or f"benchmarks/out/inversion_cpu-{emb.name}-{args.dataset}-{args.variant}"
        f"{'' if not args.first else f'-first{args.first}'}.json"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
