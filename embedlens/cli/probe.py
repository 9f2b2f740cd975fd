"""``embedlens probe``: how well a linear probe decodes a label from the vectors."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np

from embedlens.cli.common import add_flags, add_out, check_out, from_args, json_default, write_json
from embedlens.cli.sources import add_source_args, labels_array, load_source, source_vectors

__all__ = ["register"]


def register(sub: Any) -> None:
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
    add_flags(p, "embedder", "device", "cache")
    add_flags(p, "batch-size", default=64, help="texts per embedding batch")
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
    add_flags(p, "seed", help="seeds the folds and the bootstrap")
    add_out(p, "JSON output file (default: the JSON goes to stdout)", required=False)
    p.set_defaults(func=_cmd_probe)


def _cmd_probe(args: argparse.Namespace) -> int:
    from probes import LinearProbe, evaluate_probe

    out = None if args.out is None else check_out(args.out, (".json",), args.overwrite)
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
    X, embedder = source_vectors(source, args, rows)
    probe = None
    if args.C is not None:
        if args.task == "regression" or (args.task == "auto" and y.dtype.kind in "fc"):
            raise ValueError("--C sets the classification probe; drop it for regression")
        probe = LinearProbe(C=args.C, progress=False)
    start = time.perf_counter()
    common = from_args(args, "cv holdout confidence")
    common.update(n_bootstrap=args.bootstrap, random_state=args.seed, progress=True)
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
        print(summary, file=sys.stderr)
        print(json.dumps(payload, indent=2, default=json_default))
    else:
        write_json(out, payload)
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
