"""``embedlens map``: an interactive 2-D/3-D map of a corpus or of vectors, as one HTML file."""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from embedlens.cli.common import add_flags, add_out, check_out
from embedlens.cli.sources import add_source_args, load_source, source_vectors

__all__ = ["register"]


def register(sub: Any) -> None:
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
    add_flags(p, "seed", help="seed of the layout (UMAP: slower)")
    p.add_argument("--title", help="title of the page")
    add_flags(p, "embedder", "device", "cache")
    add_flags(p, "batch-size", default=64, help="texts per embedding batch")
    add_out(p, "output .html file")
    p.set_defaults(func=_cmd_map)


def _cmd_map(args: argparse.Namespace) -> int:
    from interpret import EmbeddingMap
    from interpret.maps.draw import plotly_text

    out = check_out(args.out, (".html", ".htm"), args.overwrite)
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
    X, embedder = source_vectors(source, args)
    start = time.perf_counter()
    emap = EmbeddingMap(
        method=args.method,
        n_components=args.components,
        metric=args.metric,
        random_state=args.seed,
        progress=True,
    ).fit(X, texts=source.texts, labels=labels, values=values)
    # the default title names a file and a column: escaped, as plotly renders a few tags
    title = args.title or (
        f"{args.method.upper() if args.method != 'tsne' else 't-SNE'} map of {source.n:,} "
        f"records from {plotly_text(source.name)}"
        + (f", coloured by {plotly_text(args.color)}" if args.color else "")
    )
    emap.save_html(out, color=args.color, title=title)
    what = f"embedded with {embedder['name']}, " if embedder else ""
    print(
        f"mapped {source.n} records ({what}{args.method}, {time.perf_counter() - start:.1f}s) "
        f"-> {out}"
    )
    return 0
