"""``embedlens explain``: a causal LM says in words what vectors (or groups of them) mean."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from embedlens.cli.common import add_flags, add_out, check_out, from_args, write_jsonl
from embedlens.cli.sources import add_source_args, labels_array, load_source

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "explain",
        help="let a causal LM say in words what vectors (or groups of them) mean",
        description="Use the explainer shipped for --embedder (MiniLM: minilm-smollm2, trained "
        "on a CPU), load one (--explainer DIR or shipped name) or train one on a corpus "
        "(--fit), then answer a question (the task's, or --prompt) about each vector of "
        "--corpus or --vectors, or about each group's centroid (--by COLUMN); one JSON line "
        "per answer. Example: embedlens explain --corpus pii --limit 5 --out answers.jsonl",
    )
    model = p.add_mutually_exclusive_group()
    model.add_argument(
        "--explainer",
        help="directory written by a trained explainer, or a shipped name (default: the one "
        "shipped for --embedder)",
    )
    model.add_argument("--fit", metavar="CORPUS", help="train an explainer on this corpus first")
    add_source_args(p, texts_help="written beside each answer")
    p.add_argument("--by", metavar="COLUMN", help="explain each group's centroid, not each row")
    p.add_argument("--task", help="question task (default: topic where trained, else the first)")
    p.add_argument("--prompt", help="ask this question instead of the task's own")
    p.add_argument("--max-new-tokens", type=int, help="longest answer in tokens")
    p.add_argument("--num-beams", type=int, default=1)
    p.add_argument(
        "--best-of",
        type=int,
        default=1,
        help="keep the answer (of this many) whose embedding is closest to the vector",
    )
    add_flags(p, "batch-size", default=32)
    train = p.add_argument_group("training (with --fit)")
    add_flags(
        p,
        "embedder",
        default=None,
        help="built-in name, hub id or directory of the vectors' embedder (default: the "
        "explainer's own; minilm for the shipped explainer and for --fit)",
    )
    p.add_argument(
        "--decoder",
        help="causal LM name or directory (--fit: default smollm2; with --explainer: the base "
        "LM it was trained with, where its config.json names a path)",
    )
    train.add_argument("--tasks", nargs="+", help="training tasks (default: all)")
    train.add_argument("--steps", type=int, default=1000)
    train.add_argument("--train-batch-size", type=int, default=16)
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--prefix-tokens", type=int, default=8)
    train.add_argument("--max-length", type=int, default=32, help="tokens per training answer")
    train.add_argument("--fit-limit", type=int, help="train on the first N texts only")
    train.add_argument("--save", help="run directory for checkpoints and the trained explainer")
    train.add_argument("--resume", action="store_true", help="continue the run in --save")
    add_flags(p, "device", "seed")
    add_out(p, "output .jsonl file")
    p.set_defaults(func=_cmd_explain)


def _cmd_explain(args: argparse.Namespace) -> int:
    out = check_out(args.out, (".jsonl",), args.overwrite)
    if args.vectors is None and args.corpus is None:
        raise ValueError("pass --corpus or --vectors: the texts or vectors to explain")
    explainer = _explainer(args)
    source = load_source(args, label=args.by)
    X = source.vectors
    if X is None:
        X = explainer.embedder_.embed(source.texts or [], batch_size=64, progress=True)
    options = from_args(args, "task prompt max_new_tokens num_beams best_of batch_size")
    rows: list[dict[str, Any]] = []
    if args.by:
        y, kept = labels_array(source.column(args.by), args.by)
        groups = [str(v) for v in y]
        answers = explainer.explain_centroid(X[kept], groups, progress=True, **options)
        counts = dict(zip(*np.unique(groups, return_counts=True), strict=True))
        for group, answer in answers.items():
            rows.append({"group": group, "records": int(counts[group]), "explanation": answer})
    else:
        for i, answer in enumerate(explainer.explain(X, progress=True, **options)):
            row: dict[str, Any] = {"index": i, "explanation": answer}
            if source.texts is not None:
                row["text"] = source.texts[i]
            rows.append(row)
    write_jsonl(out, rows)
    for row in rows[:3]:
        key = f"group {row['group']!r}" if "group" in row else f"#{row['index']}"
        print(f"  {key}: {row['explanation']!r}")
    what = "group centroids" if args.by else "vectors"
    print(f"explained {len(rows)} {what} -> {out}")
    return 0


def _explainer(args: argparse.Namespace) -> Any:
    from interpret import Explainer

    if args.explainer:  # a path its config.json names is read only when named here
        return Explainer.from_pretrained(
            args.explainer, embedder=args.embedder, decoder=args.decoder, device=args.device
        )
    if not args.fit:
        from embedlens.embedders import load_embedder

        emb = load_embedder(args.embedder or "minilm")
        return Explainer.from_pretrained(_shipped_for(emb), embedder=emb, device=args.device)
    from embedlens.data import load_texts

    if args.resume and not args.save:
        raise ValueError("--resume continues the run in --save: pass --save DIR")
    save = Path(args.save) if args.save else None
    earlier = save is not None and save.is_dir() and any(save.iterdir())
    if earlier and not (args.resume or args.overwrite):
        raise FileExistsError(
            f"{save} holds an earlier run: pass --resume to continue it or --overwrite "
            "to train afresh there"
        )
    texts = load_texts(args.fit, limit=args.fit_limit)
    options: dict[str, Any] = {"tasks": tuple(args.tasks)} if args.tasks else {}
    start = time.perf_counter()
    options["embedder"] = args.embedder or "minilm"
    options["decoder"] = args.decoder or "smollm2"
    ex = Explainer(**from_args(args, "prefix_tokens max_length device"), **options)
    ex.fit(
        texts,
        batch_size=args.train_batch_size,
        out_dir=args.save,
        progress=True,
        **from_args(args, "steps lr seed resume"),
    )
    saved = f" -> {Path(args.save) / 'explainer'}" if args.save else ""
    print(
        f"trained an explainer on {len(texts)} texts in {time.perf_counter() - start:.0f}s{saved}"
    )
    return ex


def _shipped_for(emb: Any) -> str:
    """The folder of the explainer shipped for ``emb`` (found by its fingerprint)."""
    from embedlens.models import pretrained_for

    found = pretrained_for(emb, "smollm2")
    if found is None:
        raise ValueError(
            f"no explainer is shipped for embedder {emb.name!r}: pass --explainer DIR (a "
            "trained explainer), or --fit CORPUS to train one"
        )
    return str(found)
