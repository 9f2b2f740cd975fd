"""Explainer on a CPU (issue 14): the shipped ``minilm-smollm2`` judged by an embedder it never saw.

For held-out WordNet texts and ``pii`` records, each MiniLM vector is explained (the reader's
words + the trained soft tokens, read by SmolLM2) for the ``reconstruct`` and ``topic`` tasks, and
scored by semantic consistency twice: by MiniLM (the explained embedder, which the reader's
search climbs, so it flatters) and by the judge, all-mpnet-base-v2: the cosine between MPNet's
embedding of the explanation and of the held-out text. Baselines, scored the same way: a random
corpus text, the corpus text nearest by MiniLM, the same LM through an untrained projector (same
reading), and the reader's words alone. Then ``--clusters``: 8 k-means clusters of ``pii``
records, each named by TF-IDF keywords (``KeywordLabeler``) and by the explainer on its centroid
(``ExplainerLabeler``), counted by whether the name states a condition of the cluster's members.

Held out: WordNet texts of the test side of ``train_test_split(test_size=0.02, seed=0)`` (the
shipped parts never saw that side; the sample of ``benchmarks/inversion_cpu.py``), ``pii``
records of seed 4242 (training used seed 20261207, development 777). The corpus of the random
and nearest baselines: 20,000 WordNet texts of the train side; 3,000 ``pii`` records of seed
12345.

    .venv/bin/python benchmarks/explain.py --dataset wordnet --n 200
    .venv/bin/python benchmarks/explain.py --dataset pii --n 200
    .venv/bin/python benchmarks/explain.py --clusters
    .venv/bin/python benchmarks/explain.py --table        # RESULTS.md's tables from the JSON
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
# the checkout's packages first (this folder's inversion.py would shadow the inversion package);
# this folder last, for the held-out split of inversion_cpu.py
sys.path[:] = [str(HERE.parent), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]
sys.path.append(str(HERE))
OUT = HERE / "out"
CACHE = Path("~/.cache/embedlens/audit-embeddings.sqlite").expanduser()
TASKS = ("reconstruct", "topic")


def held_out(dataset: str, n: int) -> tuple[list[str], list[str]]:
    """(held-out texts, baseline corpus) of a dataset."""
    from embedlens.corpora import generate_pii

    if dataset == "pii":
        return generate_pii(n, seed=4242).texts, generate_pii(3000, seed=12345).texts
    from inversion_cpu import aux_wordnet, held_out_wordnet  # type: ignore[import-not-found]

    return held_out_wordnet(n, seed=0), aux_wordnet(20_000)


def machine(threads: int) -> str:
    import torch

    return f"{platform.machine()}, torch {torch.__version__}, {threads} thread(s)"


def read_once(
    args: argparse.Namespace, texts: list[str], X: Any, emb: Any
) -> tuple[list[str], float]:
    """The shipped reader's words for each held-out vector, kept in out/ (they do not depend
    on the projector, so one reading serves every run): ``(readings, seconds per vector)``."""
    from embedlens.soft.reading import make_reader
    from interpret.explain.explainer import READER_DEFAULTS

    path = OUT / f"explain-readings-{args.dataset}.json"
    options = {**READER_DEFAULTS["search"], "progress": True}
    if path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved["texts"] == texts and saved["options"] == options:
            return saved["readings"], saved["seconds_per_vector"]
    t0 = time.perf_counter()
    readings = make_reader("search", emb, options).invert(X)
    seconds = (time.perf_counter() - t0) / len(texts)
    record = {"texts": texts, "options": options, "readings": readings}
    record["seconds_per_vector"] = seconds
    path.write_text(json.dumps(record, indent=1), encoding="utf-8")
    return readings, seconds


def run_dataset(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    torch.set_num_threads(args.threads)
    from embedlens.embedders import load_embedder
    from interpret.explain import Explainer
    from interpret.explain.evaluate import BASELINES

    texts, corpus = held_out(args.dataset, args.n)
    emb = load_embedder("minilm", cache=CACHE)
    judge = load_embedder("mpnet", cache=CACHE)
    X = emb.embed(texts)
    readings, read_s = read_once(args, texts, X, emb)
    if args.read_only:
        return {"dataset": args.dataset, "n": len(texts), "read_seconds_per_vector": read_s}
    ex = Explainer.from_pretrained(args.explainer, embedder=emb)
    out: dict[str, Any] = {
        "dataset": args.dataset,
        "n": len(texts),
        "explainer": str(args.explainer),
        "corpus": len(corpus),
        "read_seconds_per_vector": read_s,
        "texts": texts,
        "readings": readings,
        "tasks": {},
        "machine": machine(args.threads),
    }
    for task in args.tasks:
        t0 = time.perf_counter()
        res = ex.evaluate(
            texts,
            task=task,
            corpus=corpus,
            judge=judge,
            readings=readings,
            best_of=args.best_of,
            with_reading=args.with_reading,
            baselines=("random", "nearest", "reading") if args.no_untrained else BASELINES,
            batch_size=16,
            cache=CACHE,
            progress=False,
        )
        out["tasks"][task] = {
            "summary": res.summary(),
            "explanations": res.explanations,
            "baseline_texts": res.baseline_texts,
            "seconds": time.perf_counter() - t0,
        }
        print(task, json.dumps(res.summary()["judged"], indent=0), flush=True)
    return out


# ---------------------------------------------------------------------- clusters


def _norm(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower().replace("'s", "")))


def states(label: str, condition: str) -> bool:
    """A label states a condition when every word of the condition is among its words."""
    return _norm(condition) <= _norm(label)


def run_clusters(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    torch.set_num_threads(args.threads)
    from sklearn.cluster import KMeans

    from embedlens.corpora import generate_pii
    from embedlens.embedders import load_embedder
    from interpret.explain import Explainer, ExplainerLabeler
    from interpret.maps.cluster import ClusterContext, KeywordLabeler

    corpus = generate_pii(args.cluster_records, seed=4242)
    emb = load_embedder("minilm", cache=CACHE)
    X = emb.embed(corpus.texts)
    labels = KMeans(8, n_init=10, random_state=0).fit_predict(X)
    ids = list(range(8))
    members = [np.flatnonzero(labels == k) for k in ids]
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    cents = np.stack([unit[m].mean(axis=0) for m in members])
    ctx = ClusterContext(ids, members, list(corpus.texts), cents)
    ex = Explainer.from_pretrained(args.explainer, embedder=emb)
    names = {"tfidf": KeywordLabeler()(ctx)}
    for task in TASKS:
        names[f"explainer-{task}"] = ExplainerLabeler(ex, task=task)(ctx)
    rows = []
    for k in ids:
        conds = Counter(corpus.fields[i]["condition"] for i in members[k])
        top = conds.most_common(1)[0][0]
        row: dict[str, Any] = {"cluster": k, "size": len(members[k]), "top": top}
        row["templates"] = Counter(corpus.fields[i]["template"] for i in members[k]).most_common(2)
        for name, said in names.items():
            row[name] = said[k]
            row[f"{name}_states_any"] = any(states(said[k], c) for c in conds)
            row[f"{name}_states_top"] = states(said[k], top)
        rows.append(row)
    tally = {
        name: {
            "states_any": sum(r[f"{name}_states_any"] for r in rows),
            "states_top": sum(r[f"{name}_states_top"] for r in rows),
        }
        for name in names
    }
    print(json.dumps(tally, indent=1))
    return {"records": len(corpus.texts), "rows": rows, "tally": tally, "machine": machine(1)}


# ---------------------------------------------------------------------- tables


def table() -> str:
    lines = []
    for ds in ("wordnet", "pii"):
        path = OUT / f"explain-{ds}.json"
        if not path.is_file():
            continue
        d = json.loads(path.read_text())
        lines += [
            f"**{ds}**, {d['n']} held-out, corpus {d['corpus']:,} texts, reading "
            f"{d['read_seconds_per_vector']:.2f} s/vector",
            "",
            "| task | by | explanation | nearest | random | untrained | reading alone |",
            "|---|---|---|---|---|---|---|",
        ]
        for task, r in d["tasks"].items():
            s = r["summary"]
            for by, block in (("MPNet (judge)", s["judged"]), ("MiniLM", s["consistency"])):
                cells = []
                for k in ("explanation", "nearest", "random", "untrained", "reading"):
                    v = block.get(k)
                    cells.append(
                        ""
                        if v is None
                        else f"{v['mean']:.3f} [{v['ci_low']:.3f}, {v['ci_high']:.3f}]"
                    )
                lines.append(f"| {task} | {by} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=("wordnet", "pii"))
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--clusters", action="store_true")
    parser.add_argument("--cluster-records", type=int, default=1000)
    parser.add_argument("--table", action="store_true")
    parser.add_argument("--best-of", type=int, default=1)
    parser.add_argument(
        "--with-reading", action="store_true", help="the reading competes with the answers"
    )
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--no-untrained", action="store_true", help="skip that baseline")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--explainer", default="minilm-smollm2")
    parser.add_argument("--tag", default="")
    parser.add_argument(
        "--read-only", action="store_true", help="only read the held-out vectors (cached)"
    )
    args = parser.parse_args(argv)
    if args.table:
        print(table())
        return
    OUT.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if args.clusters:
        result, name = run_clusters(args), "explain-clusters"
    elif args.dataset:
        result, name = run_dataset(args), f"explain-{args.dataset}"
    else:
        parser.error("pass --dataset, --clusters or --table")
    result["wall_seconds"] = time.perf_counter() - t0
    if args.read_only:
        print(json.dumps(result))
        return
    path = OUT / f"{name}{args.tag}.json"
    path.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
