"""The ``embedlens`` command.

Subcommands:

- ``embedlens info``: versions, built-in models and corpora, the cache directory, the device.
- ``embedlens embed``: embed a corpus into a ``.npy`` file.
- ``embedlens train-inverter`` / ``embedlens invert``: train an inverter, decode vectors.
- ``embedlens audit`` / ``embedlens demo``: the privacy audit (:mod:`embedlens.audit_cli`);
  ``demo`` is the default audit of the built-in MiniLM on synthetic PII records.

Every subcommand exits 0 on success and non-zero with a one-line reason on failure.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embedlens._utils import atomic_path

logger = logging.getLogger("embedlens.cli")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("embedlens: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if args.verbose:
            raise
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"embedlens {args.command}: error: {reason}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="embedlens",
        description="Make text embeddings understandable and auditable.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logs, full tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("info", help="versions, built-in models and corpora, cache, device")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser(
        "embed",
        help="embed a corpus into a .npy file",
        description="Embed texts (a built-in corpus or a .txt/.jsonl/.csv/.parquet file) and "
        "write a float32 array (n, dim) as .npy.",
    )
    _add_embedder_args(p)
    p.add_argument("--corpus", default="pii", help="built-in name or file (default: pii)")
    p.add_argument("--column", help="text column of a .jsonl/.csv/.parquet file")
    p.add_argument("--limit", type=int, help="embed only the first N texts")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--out", required=True, help="output .npy file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.set_defaults(func=_cmd_embed)

    p = sub.add_parser(
        "train-inverter",
        help="train an inverter (vector -> text) for an embedder",
        description="Train the soft-prefix hypothesis model on a corpus, with a fixed held-out "
        "split, checkpoints and a JSONL log in --out; --resume continues an interrupted run.",
    )
    _add_embedder_args(p)
    p.add_argument("--decoder", default="smollm2", help="causal LM name/dir, or t5:<dir or id>")
    p.add_argument("--corpus", default="wordnet", help="built-in name or file (default: wordnet)")
    p.add_argument("--out", required=True, help="run directory (model in OUT/inverter)")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--prefix-tokens", type=int, default=16)
    p.add_argument("--finetune", choices=["projector", "lora", "full"], default="projector")
    p.add_argument("--max-length", type=int, default=32, help="tokens per target text")
    p.add_argument("--noise-std", type=float, default=0.0, help="Gaussian noise on the vectors")
    p.add_argument("--eval-size", type=int, default=500, help="held-out texts scored in training")
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--checkpoint-every", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.set_defaults(func=_cmd_train_inverter)

    p = sub.add_parser(
        "invert",
        help="decode vectors back to text (a trained inverter, or zero-shot)",
        description="Read vectors (.npy) or embed a corpus, decode them with a saved inverter "
        "or with the zero-shot attack (no training: an LM proposes, the embedder's cosine "
        "decides, then a word search), and write one JSON line per text (and the scores when "
        "the true texts are known).",
    )
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--inverter", help="directory written by train-inverter")
    how.add_argument(
        "--zero-shot",
        action="store_true",
        help="no trained model: guided decoding + word search against --embedder",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--vectors", help=".npy file of vectors from the inverter's embedder")
    src.add_argument("--corpus", help="texts to embed and invert (then scored against them)")
    p.add_argument("--limit", type=int, help="only the first N vectors or texts")
    p.add_argument("--num-beams", type=int, default=1)
    p.add_argument(
        "--steps",
        type=int,
        default=0,
        help="correction steps (default 0: the hypothesis model alone; > 0 needs a corrector)",
    )
    p.add_argument("--beam-width", type=int, default=1, help="sequence beam of the correction")
    p.add_argument(
        "--corrector", help="corrector directory (default: the one saved with the inverter)"
    )
    zs = p.add_argument_group("zero-shot (with --zero-shot)")
    zs.add_argument(
        "--embedder",
        default="minilm",
        help="the attacked embedder: built-in name, hub id, model directory or "
        "py:MODULE:FUNCTION (a function texts -> vectors, e.g. a remote API)",
    )
    zs.add_argument("--decoder", default="smollm2", help="the proposing causal LM")
    zs.add_argument("--max-queries", type=int, default=2000, help="embedder queries per text")
    zs.add_argument("--edit-queries", type=int, default=1800, help="of them, for word edits")
    zs.add_argument("--max-length", type=int, default=16, help="tokens of the LM's search")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--device", help="cpu, cuda or mps (default: best available)")
    p.add_argument("--out", required=True, help="output .jsonl file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.set_defaults(func=_cmd_invert)
    from embedlens import tools_cli

    tools_cli.add_commands(sub)  # probe, map, explain

    from embedlens import audit_cli

    audit_cli.register(sub)  # audit, demo
    return parser


def _add_embedder_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--embedder", default="minilm", help="built-in name, hub id or model directory")
    p.add_argument("--device", help="cpu, cuda or mps (default: best available)")
    p.add_argument("--cache", help="embedding cache file (re-runs skip texts already embedded)")


# --------------------------------------------------------------------------- info


def _cmd_info(args: argparse.Namespace) -> int:
    import importlib.metadata as md

    from embedlens.data import BUILTIN_CORPORA
    from embedlens.models import BUILTIN_DECODERS, BUILTIN_EMBEDDERS, cache_dir, resolve_device

    print(f"embedlens {md.version('embedlens')}")
    for pkg in ("torch", "transformers", "sentence-transformers", "numpy", "scikit-learn"):
        try:
            print(f"  {pkg:22s} {md.version(pkg)}")
        except md.PackageNotFoundError:
            print(f"  {pkg:22s} (not installed)")
    print(f"device: {resolve_device(None)}")
    print(f"cache:  {cache_dir()}")
    print("built-in embedders:")
    for name, what in BUILTIN_EMBEDDERS.items():
        print(f"  {name:10s} {what}")
    print("built-in decoders:")
    for name, what in BUILTIN_DECODERS.items():
        print(f"  {name:10s} {what}")
    print("built-in corpora: " + ", ".join(BUILTIN_CORPORA))
    return 0


# --------------------------------------------------------------------------- embed


def _cmd_embed(args: argparse.Namespace) -> int:
    from embedlens.data import load_texts
    from embedlens.embedders import load_embedder

    out = Path(args.out)
    if out.suffix != ".npy":
        raise ValueError(f"--out must end in .npy, got {out.name!r}")
    if out.exists() and not args.overwrite:
        raise FileExistsError(f"{out} exists: pass --overwrite to replace it")
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


# --------------------------------------------------------------------------- inversion


def _cmd_train_inverter(args: argparse.Namespace) -> int:
    from embedlens.embedders import load_embedder
    from inversion.recipes import train_inverter

    emb = load_embedder(args.embedder, device=args.device, cache=args.cache)
    start = time.perf_counter()
    train_inverter(
        args.corpus,
        args.out,
        embedder=emb,
        decoder=args.decoder,
        prefix_tokens=args.prefix_tokens,
        finetune=args.finetune,
        max_length=args.max_length,
        eval_size=args.eval_size,
        seed=args.seed,
        device=args.device,
        resume=args.resume,
        progress=True,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        noise_std=args.noise_std,
        eval_every=args.eval_every,
        checkpoint_every=args.checkpoint_every,
    )
    print(
        f"trained an inverter for {emb.name} in {time.perf_counter() - start:.0f}s -> "
        f"{Path(args.out) / 'inverter'}"
    )
    return 0


def _cmd_invert(args: argparse.Namespace) -> int:
    from embedlens.data import load_texts
    from inversion.inverter import Inverter

    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise FileExistsError(f"{out} exists: pass --overwrite to replace it")
    if args.zero_shot:
        if args.steps or args.corrector:
            raise ValueError("--steps and --corrector need a trained --inverter, not --zero-shot")
        from embedlens.audit_cli import embedder_from_spec
        from embedlens.embedders import load_embedder
        from inversion.guided import GuidedInverter

        emb = load_embedder(embedder_from_spec(args.embedder), device=args.device)
        inv: Any = GuidedInverter(
            embedder=emb,
            decoder=args.decoder,
            beam_width=2,
            top_k=4,
            max_length=args.max_length,
            max_queries=args.max_queries,
            edit_queries=min(args.edit_queries, args.max_queries),
            device=args.device,
            progress=True,
        )
    else:
        inv = Inverter.from_pretrained(args.inverter, device=args.device)
        emb = inv.embedder_
    references: list[str] | None = None
    if args.vectors:
        X = np.load(args.vectors, allow_pickle=False)
        X = X[: args.limit] if args.limit else X
    else:
        references = load_texts(args.corpus, limit=args.limit)
        X = emb.embed(references, batch_size=args.batch_size, progress=True)
    corrector = None
    if args.corrector:
        from inversion.corrector import Corrector

        corrector = Corrector.from_pretrained(args.corrector, inverter=inv)
    if args.zero_shot:
        texts = inv.prepare().invert(X)
        print(f"zero-shot: a vocabulary of {inv.vocabulary_queries_} words embedded once")
    else:
        texts = inv.invert(
            X,
            num_beams=args.num_beams,
            batch_size=args.batch_size,
            progress=True,
            steps=args.steps,
            beam_width=args.beam_width,
            corrector=corrector,
        )
    rows = [
        {"index": i, "text": t, "queries": int(q)}
        for i, (t, q) in enumerate(zip(texts, inv.queries_, strict=True))
    ]
    if references is not None:
        from inversion.metrics import evaluate

        scores = evaluate(references, texts, embedder=emb, reference_embeddings=X)
        for row, ref in zip(rows, references, strict=True):
            row["reference"] = ref
        summary = ", ".join(f"{k} {v:.3f}" for k, v in scores.metrics.items())
        print(f"scores against the true texts: {summary}")
    with atomic_path(out) as tmp:
        tmp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    asked = args.steps or args.zero_shot
    cost = f", {inv.queries_.mean():.1f} embedder queries per text" if asked else ""
    print(f"inverted {len(texts)} vectors -> {out}{cost}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
