"""The ``embedlens probe``, ``embedlens map`` and ``embedlens explain`` commands.

- ``probe``: how well a linear probe decodes a label from the vectors (k-fold, majority or mean
  baseline, bootstrap confidence intervals); a one-line summary and every number as JSON.
- ``map``: an interactive 2-D/3-D map (UMAP, PCA or t-SNE) of a corpus or of vectors, coloured by
  a label column, written as one self-contained offline HTML file.
- ``explain``: a trained :class:`interpret.explain.Explainer` (loaded, or trained here) says in
  words what each vector, or each group's centroid, is about; one JSON line per answer.

They take their vectors from a corpus (embedded with ``--embedder``) or from a ``.npy`` file,
and their labels from the corpus' own columns or a ``--labels`` file (see
:mod:`embedlens._cli_sources`). :func:`add_commands` registers them on the main parser.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from embedlens._cli_sources import Source, add_source_args, labels_array, load_source
from embedlens._utils import atomic_path

__all__ = ["add_commands"]


def add_commands(sub: Any) -> None:
    """Register ``probe``, ``map`` and ``explain`` on the ``embedlens`` subparsers ``sub``."""
    from embedlens.cli import _add_embedder_args

    p = sub.add_parser(
        "probe",
        help="how well a linear probe decodes a label from the vectors (with CIs)",
        description="Fit a linear probe from vectors to a label column with k-fold "
        "cross-validation and report its score against the majority-class (or mean) "
        "baseline with bootstrap confidence intervals. Example: embedlens probe --corpus pii "
        "--label condition --out condition.json",
    )
    add_source_args(p)
    p.add_argument("--label", required=True, help="the column to predict (e.g. condition)")
    _add_embedder_args(p)
    p.add_argument("--batch-size", type=int, default=64, help="texts per embedding batch")
    p.add_argument(
        "--task",
        choices=["auto", "classification", "regression"],
        default="auto",
        help="auto: numeric labels are regression, anything else classification",
    )
    p.add_argument("--cv", type=int, default=5, help="folds (default: 5)")
    p.add_argument("--holdout", type=float, help="score one held-out fraction instead of folds")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (0: no CIs)")
    p.add_argument("--confidence", type=float, default=0.95)
    p.add_argument("--C", type=float, help="inverse L2 strength of the classification probe")
    p.add_argument(
        "--min-class-size",
        type=int,
        default=0,
        help="drop classes with fewer records than this (reported in the output)",
    )
    p.add_argument(
        "--control-key",
        metavar="COLUMN",
        help="also fit a control task (Hewitt & Liang 2019): one random label per value of "
        "this column ('text': per distinct text) and report the selectivity",
    )
    p.add_argument("--seed", type=int, default=0, help="seeds the folds and the bootstrap")
    p.add_argument("--out", help="JSON output file (default: the JSON goes to stdout)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.set_defaults(func=_cmd_probe)

    p = sub.add_parser(
        "map",
        help="an interactive map of a corpus or of vectors as one offline HTML file",
        description="Lay the vectors out in 2-D or 3-D (UMAP, PCA or t-SNE), colour them by a "
        "label column, show each text on hover, and write a self-contained HTML page "
        "(plotly.js inlined, works offline). Example: embedlens map --corpus pii --color "
        "condition --out map.html",
    )
    add_source_args(p, texts_help="shown on hover")
    p.add_argument("--color", help="column to colour by (numbers get a colour bar)")
    p.add_argument("--method", choices=["umap", "pca", "tsne"], default="umap")
    p.add_argument("--components", type=int, choices=[2, 3], default=2)
    p.add_argument("--metric", default="cosine", help="distance of the layout (default: cosine)")
    p.add_argument("--seed", type=int, default=0, help="seed of the layout (UMAP: slower)")
    p.add_argument("--title", help="title of the page")
    _add_embedder_args(p)
    p.add_argument("--batch-size", type=int, default=64, help="texts per embedding batch")
    p.add_argument("--out", required=True, help="output .html file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.set_defaults(func=_cmd_map)

    p = sub.add_parser(
        "explain",
        help="let a causal LM say in words what vectors (or groups of them) mean",
        description="Load an explainer (--explainer DIR) or train one on a corpus (--fit), "
        "then answer a question (the task's, or --prompt) about each vector of --corpus or "
        "--vectors, or about each group's centroid (--by COLUMN); one JSON line per answer. "
        "Example: embedlens explain --explainer runs/explainer --corpus pii --limit 5 "
        "--out answers.jsonl",
    )
    model = p.add_mutually_exclusive_group(required=True)
    model.add_argument("--explainer", help="directory written by a trained explainer")
    model.add_argument("--fit", metavar="CORPUS", help="train an explainer on this corpus first")
    add_source_args(p, texts_help="written beside each answer")
    p.add_argument("--by", metavar="COLUMN", help="explain each group's centroid, not each row")
    p.add_argument("--task", help="question task (default: topic where trained, else the first)")
    p.add_argument("--prompt", help="ask this question instead of the task's own")
    p.add_argument("--max-new-tokens", type=int, help="longest answer in tokens")
    p.add_argument("--num-beams", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32)
    train = p.add_argument_group("training (with --fit)")
    train.add_argument("--embedder", default="minilm", help="built-in name, hub id or directory")
    train.add_argument("--decoder", default="smollm2", help="causal LM name or directory")
    train.add_argument("--tasks", nargs="+", help="training tasks (default: all)")
    train.add_argument("--steps", type=int, default=1000)
    train.add_argument("--train-batch-size", type=int, default=16)
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--prefix-tokens", type=int, default=8)
    train.add_argument("--max-length", type=int, default=32, help="tokens per training answer")
    train.add_argument("--fit-limit", type=int, help="train on the first N texts only")
    train.add_argument("--save", help="run directory for checkpoints and the trained explainer")
    train.add_argument("--resume", action="store_true", help="continue the run in --save")
    p.add_argument("--device", help="cpu, cuda or mps (default: best available)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output .jsonl file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.set_defaults(func=_cmd_explain)


# --------------------------------------------------------------------------- shared


def _check_out(path: str | None, suffixes: tuple[str, ...], overwrite: bool) -> Path | None:
    if path is None:
        return None
    out = Path(path)
    if out.suffix.lower() not in suffixes:
        raise ValueError(f"--out must end in {' or '.join(suffixes)}, got {out.name!r}")
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists: pass --overwrite to replace it")
    return out


def _required_out(path: str | None, suffixes: tuple[str, ...], overwrite: bool) -> Path:
    out = _check_out(path, suffixes, overwrite)
    if out is None:
        raise ValueError(f"pass --out, a {' or '.join(suffixes)} file")
    return out


def _vectors(
    source: Source, args: argparse.Namespace, rows: np.ndarray | None = None
) -> tuple[np.ndarray, dict[str, Any] | None]:
    """The source's vectors (of ``rows`` only, if given), embedding its texts when it has none;
    and the embedder's identity (``None`` for vectors read from a file)."""
    if source.vectors is not None:
        return (source.vectors if rows is None else source.vectors[rows]), None
    from embedlens.embedders import load_embedder

    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}")
    texts = source.texts or []
    if rows is not None:
        texts = [texts[i] for i in rows]
    emb = load_embedder(args.embedder, device=args.device, cache=args.cache)
    X = emb.embed(texts, batch_size=args.batch_size, progress=True)
    return X, {"name": emb.name, "dim": emb.dim, "fingerprint": emb.fingerprint}


def _write_json(out: Path, payload: Any) -> None:
    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, default=_json_default), encoding="utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


# --------------------------------------------------------------------------- probe


def _cmd_probe(args: argparse.Namespace) -> int:
    from probes import LinearProbe, evaluate_probe

    out = _check_out(args.out, (".json",), args.overwrite)
    if args.min_class_size < 0:
        raise ValueError(f"--min-class-size must be 0 or more, got {args.min_class_size}")
    source = load_source(args, label=args.label)
    y, rows = labels_array(source.column(args.label), args.label)
    dropped: dict[str, Any] = {"missing_label": int(source.n - rows.size)}
    if args.min_class_size and args.task != "regression" and y.dtype.kind not in "fc":
        classes, counts = np.unique(y, return_counts=True)
        rare = classes[counts < args.min_class_size]
        if rare.size:
            keep = ~np.isin(y, rare)
            y, rows = y[keep], rows[keep]
            dropped["rare_classes"] = sorted(str(c) for c in rare)
            dropped["rare_records"] = int((~keep).sum())
        if y.size == 0:
            raise ValueError(
                f"every class of {args.label!r} has fewer than {args.min_class_size} records: "
                "lower --min-class-size or use more records"
            )
    if args.task == "classification" or (args.task == "auto" and y.dtype.kind not in "fc"):
        classes, counts = np.unique(y, return_counts=True)
        if counts.min() < 2:
            raise ValueError(
                f"class {classes[counts.argmin()]!r} of {args.label!r} has only "
                f"{counts.min()} record, too few to cross-validate: pass --min-class-size 2 "
                "(or more) to drop rare classes, or use more records"
            )
    if args.task == "regression":
        try:
            y = y.astype(np.float64)
        except ValueError:
            raise ValueError(
                f"--task regression needs numeric labels, but {args.label!r} holds text "
                f"(e.g. {y[0]!r}): use --task classification"
            ) from None
    X, embedder = _vectors(source, args, rows)
    probe = None
    if args.C is not None:
        if args.task == "regression" or (args.task == "auto" and y.dtype.kind in "fc"):
            raise ValueError("--C sets the classification probe; drop it for regression")
        probe = LinearProbe(C=args.C, progress=False)
    start = time.perf_counter()
    common: dict[str, Any] = {
        "cv": args.cv,
        "holdout": args.holdout,
        "n_bootstrap": args.bootstrap,
        "confidence": args.confidence,
        "random_state": args.seed,
        "progress": True,
    }
    control: dict[str, Any] | None = None
    if args.control_key:
        from probes import control_task

        if args.task == "regression" or y.dtype.kind in "fc":
            raise ValueError("--control-key needs class labels: a control task is classification")
        if args.control_key == "text" and "text" not in source.columns:
            if source.texts is None:
                raise ValueError("--control-key text needs texts: use a corpus or pass --texts")
            keys = [source.texts[i] for i in rows]
        else:
            keys = [str(source.column(args.control_key)[i]) for i in rows]
        sel = control_task(X, y, keys, probe, **common)
        result = sel.task
        control = {
            "key": args.control_key,
            "selectivity": sel.selectivity,
            "ci": list(sel.ci),
            "n_types": sel.n_types,
            "control": sel.control.to_dict(),
        }
    else:
        result = evaluate_probe(X, y, probe, task=args.task, **common)
    payload = {
        "command": "probe",
        "source": source.name,
        "label": args.label,
        "embedder": embedder,
        "records": int(rows.size),
        "dropped": dropped,
        "seconds": time.perf_counter() - start,
        "result": result.to_dict(),
        "control": control,
    }
    summary = _probe_summary(args.label, result)
    if control is not None:
        lo, hi = control["ci"]
        summary += (
            f"; selectivity {control['selectivity']:.3f} ({lo:.3f}-{hi:.3f}) over a control "
            f"task keyed by {args.control_key} ({control['n_types']} types)"
        )
    if out is None:
        import sys

        print(summary, file=sys.stderr)
        print(json.dumps(payload, indent=2, default=_json_default))
    else:
        _write_json(out, payload)
        print(f"{summary} -> {out}")
    return 0


def _probe_summary(label: str, result: Any) -> str:
    lo, hi = result.ci
    pct = round(100 * result.confidence)
    how = f"{result.n_splits}-fold" if result.n_splits > 1 else "held-out"
    classes = f", {result.n_classes} classes" if result.n_classes else ""
    ci = f" ({pct}% CI {lo:.3f}-{hi:.3f})" if result.n_bootstrap else ""
    return (
        f"{label}: {result.metric} {result.score:.3f}{ci} vs baseline {result.baseline:.3f} "
        f"[{result.task}, {how}, {result.n_samples} records{classes}]"
    )


# --------------------------------------------------------------------------- map


def _cmd_map(args: argparse.Namespace) -> int:
    from interpret.maps import EmbeddingMap

    out = _required_out(args.out, (".html", ".htm"), args.overwrite)
    source = load_source(args, label=args.color)
    labels: dict[str, list[Any]] | None = None
    values: dict[str, list[float]] | None = None
    if args.color:
        column = source.column(args.color)
        present = [v for v in column if v is not None and v != ""]
        numeric = bool(present) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in present
        )
        if numeric:
            values = {args.color: [np.nan if v is None else float(v) for v in column]}
        else:
            labels = {args.color: ["(missing)" if v in (None, "") else str(v) for v in column]}
    X, embedder = _vectors(source, args)
    start = time.perf_counter()
    emap = EmbeddingMap(
        method=args.method,
        n_components=args.components,
        metric=args.metric,
        random_state=args.seed,
        progress=True,
    ).fit(X, texts=source.texts, labels=labels, values=values)
    title = args.title or (
        f"{args.method.upper() if args.method != 'tsne' else 't-SNE'} map of {source.n:,} "
        f"records from {source.name}" + (f", coloured by {args.color}" if args.color else "")
    )
    emap.save_html(out, color=args.color, title=title)
    what = f"embedded with {embedder['name']}, " if embedder else ""
    print(
        f"mapped {source.n} records ({what}{args.method}, {time.perf_counter() - start:.1f}s) "
        f"-> {out}"
    )
    return 0


# --------------------------------------------------------------------------- explain


def _cmd_explain(args: argparse.Namespace) -> int:
    out = _required_out(args.out, (".jsonl",), args.overwrite)
    if args.vectors is None and args.corpus is None:
        raise ValueError("pass --corpus or --vectors: the texts or vectors to explain")
    explainer = _explainer(args)
    source = load_source(args, label=args.by)
    if source.vectors is not None:
        X = source.vectors
    else:
        X = explainer.embedder_.embed(source.texts or [], batch_size=64, progress=True)
    options: dict[str, Any] = {
        "task": args.task,
        "prompt": args.prompt,
        "max_new_tokens": args.max_new_tokens,
        "num_beams": args.num_beams,
        "batch_size": args.batch_size,
    }
    rows: list[dict[str, Any]] = []
    if args.by:
        y, kept = labels_array(source.column(args.by), args.by)
        groups = [str(v) for v in y]
        answers = explainer.explain_centroid(X[kept], groups, progress=True, **options)
        counts = dict(zip(*np.unique(groups, return_counts=True), strict=True))
        for group, answer in answers.items():
            rows.append({"group": group, "records": int(counts[group]), "explanation": answer})
    else:
        answers_list = explainer.explain(X, progress=True, **options)
        for i, answer in enumerate(answers_list):
            row: dict[str, Any] = {"index": i, "explanation": answer}
            if source.texts is not None:
                row["text"] = source.texts[i]
            rows.append(row)
    with atomic_path(out) as tmp:
        tmp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    for row in rows[:3]:
        key = f"group {row['group']!r}" if "group" in row else f"#{row['index']}"
        print(f"  {key}: {row['explanation']!r}")
    what = "group centroids" if args.by else "vectors"
    print(f"explained {len(rows)} {what} -> {out}")
    return 0


def _explainer(args: argparse.Namespace) -> Any:
    from interpret.explain import Explainer

    if args.explainer:
        return Explainer.from_pretrained(args.explainer, device=args.device)
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
    options: dict[str, Any] = {}
    if args.tasks:
        options["tasks"] = tuple(args.tasks)
    start = time.perf_counter()
    ex = Explainer(
        embedder=args.embedder,
        decoder=args.decoder,
        prefix_tokens=args.prefix_tokens,
        max_length=args.max_length,
        device=args.device,
        **options,
    ).fit(
        texts,
        steps=args.steps,
        batch_size=args.train_batch_size,
        lr=args.lr,
        seed=args.seed,
        out_dir=args.save,
        resume=args.resume,
        progress=True,
    )
    saved = f" -> {Path(args.save) / 'explainer'}" if args.save else ""
    print(
        f"trained an explainer on {len(texts)} texts in {time.perf_counter() - start:.0f}s{saved}"
    )
    return ex
