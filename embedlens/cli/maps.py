"""``embedlens map``: a map of a corpus or of vectors, as one offline HTML page or a figure.

``--out map.html`` writes the page to share (search, neighbours, filters and tables; ``--page
plotly``: the plotly figure alone); ``--format png|svg|pdf`` (or the suffix of ``--out``) writes
a paper figure of ``--width-in`` inches at ``--dpi`` in ``--theme light|dark``, its height fitted
to the content unless ``--height-in``; ``--cluster kmeans:8`` names clusters, by keywords or
(``--cluster-names explainer``) by the explainer shipped for the embedder. Embeddings are cached
(``embeddings.sqlite`` in the embedlens cache directory; ``--no-cache`` to opt out), so a second
run with other options does not embed again.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from embedlens.cli.common import add_flags, add_out, check_out
from embedlens.cli.sources import (
    add_cache_flags,
    add_source_args,
    embedding_cache,
    load_source,
    source_vectors,
)

__all__ = ["register"]

FORMATS = {"html": (".html", ".htm"), "png": (".png",), "svg": (".svg",), "pdf": (".pdf",)}


def parse_cluster(spec: str | None) -> tuple[str, int | None] | None:
    """``--cluster`` as ``(method, number)``: ``kmeans:8`` -> ("kmeans", 8), ``hdbscan`` ->
    ("hdbscan", None), ``hdbscan:25`` -> ("hdbscan", 25) (its smallest cluster)."""
    if spec is None:
        return None
    found = re.fullmatch(r"(kmeans|hdbscan)(?::(\d+))?", spec.strip().lower())
    if found is None or (found.group(2) is not None and int(found.group(2)) < 1):
        raise ValueError(
            f"--cluster {spec!r} is not kmeans:K, hdbscan or hdbscan:MIN_SIZE: write e.g. "
            "--cluster kmeans:8"
        )
    return found.group(1), int(found.group(2)) if found.group(2) else None


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
    p.add_argument(
        "--cluster",
        metavar="SPEC",
        help="find and name clusters: kmeans:K (e.g. kmeans:8), hdbscan, or hdbscan:MIN_SIZE",
    )
    p.add_argument(
        "--format",
        choices=["html", "png", "svg", "pdf"],
        help="what to write (default: the suffix of --out); png/svg/pdf are paper figures",
    )
    p.add_argument(
        "--page",
        choices=["plotly", "share"],
        default="share",
        help="HTML page: share (default: search box, neighbours of a clicked point, tables, "
        "filters; compact: a million points near 50 MB) or plotly (the figure alone)",
    )
    p.add_argument("--theme", choices=["light", "dark"], default="light")
    p.add_argument("--dpi", type=float, default=300.0, help="resolution of a PNG (default 300)")
    p.add_argument(
        "--width-in", type=float, default=6.5, help="figure width in inches (a column: 3.5)"
    )
    p.add_argument(
        "--height-in",
        type=float,
        help="figure height in inches (default: fitted to the map and its whole legend)",
    )
    p.add_argument("--font-pt", type=float, help="body text in points (default by width: 8-10)")
    p.add_argument(
        "--cluster-names",
        choices=["keywords", "explainer"],
        default="keywords",
        help="how --cluster names clusters: class-based TF-IDF keywords of their texts "
        "(default), or the explainer shipped for --embedder reading each centroid",
    )
    p.add_argument(
        "--neighbors", type=int, help="neighbours per point in a share page (default by size)"
    )
    p.add_argument(
        "--decode",
        choices=["search"],
        help="share page only: decode cluster centroids and empty regions of the map with the "
        "CPU search inverter (inversion.SearchInverter, with --embedder; the map's texts are "
        "its auxiliary texts)",
    )
    p.add_argument(
        "--decode-seconds", type=float, default=60.0, help="time budget of --decode (default 60)"
    )
    p.add_argument(
        "--decode-cells", type=int, default=12, help="empty regions decoded at most (default 12)"
    )
    add_flags(p, "embedder", "device")
    add_cache_flags(p)
    add_flags(p, "batch-size", default=64, help="texts per embedding batch")
    add_out(p, "output .html, .png, .svg or .pdf file")
    p.set_defaults(func=_cmd_map)


def _cmd_map(args: argparse.Namespace) -> int:
    from interpret import EmbeddingMap
    from interpret.maps.draw import plotly_text

    fmt = args.format or "html"
    if fmt != "html" and Path(args.out).suffix.lower() not in FORMATS[fmt]:
        raise ValueError(
            f"--out must end in .{fmt} for --format {fmt}, got {Path(args.out).name!r}"
        )
    if fmt == "html" and Path(args.out).suffix.lower() in (".png", ".svg", ".pdf"):
        suffix = Path(args.out).suffix.lower()
        raise ValueError(
            f"--out must end in .html for a page, got {Path(args.out).name!r}: pass "
            f"--format {suffix[1:]} for a figure"
        )
    out = check_out(args.out, FORMATS[fmt], args.overwrite)
    cluster = parse_cluster(args.cluster)
    if args.decode and (fmt != "html" or args.page != "share"):
        raise ValueError("--decode writes decoded texts into the share page: add --page share")
    if args.decode_cells < 0:
        raise ValueError(f"--decode-cells must be 0 or more, got {args.decode_cells}")
    if args.cluster_names != "keywords" and cluster is None:
        raise ValueError("--cluster-names names the clusters of --cluster: add --cluster kmeans:8")
    embedding_cache(args)  # --cache with --no-cache: refused before any work
    for name in ("dpi", "width_in", "height_in", "font_pt", "decode_seconds"):
        value = getattr(args, name)
        if value is not None and not value > 0:
            raise ValueError(f"--{name.replace('_', '-')} must be positive, got {value}")
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

    # the default title names a file and a column: escaped for plotly, which renders a few
    # tags; the share page shows every text as text, so it gets the plain title
    def default_title(esc: Any) -> str:
        return (
            f"{args.method.upper() if args.method != 'tsne' else 't-SNE'} map of {source.n:,} "
            f"records from {esc(source.name)}"
            + (f", coloured by {esc(args.color)}" if args.color else "")
        )

    title = args.title or default_title(plotly_text)
    if cluster is not None:
        method, number = cluster
        labeler = _explainer_labeler(args) if args.cluster_names == "explainer" else None
        if method == "kmeans":
            emap.cluster("kmeans", n_clusters=number or 8, random_state=args.seed, labeler=labeler)
        else:
            emap.cluster("hdbscan", min_cluster_size=number, labeler=labeler)
    color = args.color or ("cluster" if cluster is not None else None)
    if fmt != "html":
        emap.save_image(
            out,
            format=fmt,
            width_in=args.width_in,
            height_in=args.height_in,
            dpi=args.dpi,
            font_pt=args.font_pt,
            color=color,
            title=args.title and plotly_text(args.title),
            theme=args.theme,
        )
    elif args.page == "share" and args.components == 2:
        inverter = None
        if args.decode == "search":
            from embedlens.embedders import load_embedder
            from inversion.search import SearchInverter

            inverter = SearchInverter(
                embedder=load_embedder(
                    args.embedder, device=args.device, cache=embedding_cache(args)
                ),
                aux_texts=source.texts,
                max_queries=400,
                max_seconds=2.0,
                progress=False,
            )
        from interpret.maps.decode import DecodeBudget

        emap.export_html(
            out,
            color=color,
            title=args.title or default_title(str),
            theme=args.theme,
            k=args.neighbors,
            inverter=inverter,
            decode_budget=DecodeBudget(
                max_cells=args.decode_cells, max_seconds=args.decode_seconds
            ),
        )
    else:
        emap.save_html(out, color=color, title=title, theme=args.theme)
    what = f"embedded with {embedder['name']}, " if embedder else ""
    print(
        f"mapped {source.n} records ({what}{args.method}, {time.perf_counter() - start:.1f}s) "
        f"-> {out}"
    )
    return 0


def _explainer_labeler(args: argparse.Namespace) -> Any:
    """The explainer shipped for ``--embedder``, naming each cluster's centroid by its topic."""
    from embedlens.cli.explain import _shipped_for
    from embedlens.embedders import load_embedder
    from interpret import Explainer, ExplainerLabeler

    emb = load_embedder(args.embedder, device=args.device)
    explainer = Explainer.from_pretrained(_shipped_for(emb), embedder=emb, device=args.device)
    return ExplainerLabeler(explainer, task="topic")
