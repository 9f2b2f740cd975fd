"""``embedlens embed``: embed a corpus into a ``.npy`` file."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from embedlens._utils import atomic_path
from embedlens.cli.common import (
    add_batch_size,
    add_column,
    add_corpus,
    add_embedder_args,
    add_limit,
    add_out,
    refuse_existing,
)

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add ``embed`` to the ``embedlens`` subparsers."""
    p = sub.add_parser(
        "embed",
        help="embed a corpus into a .npy file",
        description="Embed texts (a built-in corpus or a .txt/.jsonl/.csv/.parquet file) and "
        "write a float32 array (n, dim) as .npy.",
    )
    add_embedder_args(p)
    add_corpus(p, "pii")
    add_column(p)
    add_limit(p, "embed only the first N texts")
    add_batch_size(p, 64)
    add_out(p, "output .npy file")
    p.set_defaults(func=_cmd_embed)


def _cmd_embed(args: argparse.Namespace) -> int:
    from embedlens.data import load_texts
    from embedlens.embedders import load_embedder

    out = Path(args.out)
    if out.suffix != ".npy":
        raise ValueError(f"--out must end in .npy, got {out.name!r}")
    refuse_existing(out, args.overwrite)
    texts = load_texts(args.corpus, column=args.column, limit=args.limit)
    emb = load_embedder(args.embedder, device=args.device, cache=args.cache)
    start = time.perf_counter()
    X = emb.embed(texts, batch_size=args.batch_size, progress=True)
    seconds = time.perf_counter() - start
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        np.save(fh, X)
    print(
        f"embedded {len(texts)} texts with {emb.name} (dim {emb.dim}, fingerprint "
        f"{emb.fingerprint}) in {seconds:.1f}s -> {out}"
    )
    return 0
