"""``embedlens embed``, ``train-inverter`` and ``invert``: vectors, an inverter, texts back."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from embedlens._utils import atomic_path, torch_threads
from embedlens.cli.common import (
    add_alias,
    add_flags,
    add_out,
    claim_output,
    embedder_from_spec,
    from_args,
    refuse_existing,
    write_jsonl,
)
from embedlens.cli.sources import add_cache_flags, embedding_cache, load_vectors
from embedlens.saving import CONFIG_FILE

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "embed",
        help="embed a corpus into a .npy file",
        description="Embed texts (a built-in corpus or a .txt/.jsonl/.csv/.parquet file) and "
        "write a float32 array (n, dim) as .npy.",
    )
    add_flags(p, "embedder", "device", "corpus")
    add_cache_flags(p)
    add_flags(p, "column", help="text column of a .jsonl/.csv/.parquet file")
    add_flags(p, "limit", help="embed only the first N texts")
    add_flags(p, "batch-size", default=64)
    add_out(p, "output .npy file")
    p.set_defaults(func=_cmd_embed)

    p = sub.add_parser(
        "train-inverter",
        help="train an inverter (vector -> text) for an embedder",
        description="Train the soft-prefix hypothesis model on a corpus, with a fixed held-out "
        "split, checkpoints and a JSONL log in --save; --resume continues an interrupted run.",
    )
    add_flags(p, "embedder", "device", "cache")
    p.add_argument("--decoder", default="smollm2", help="causal LM name/dir, or t5:<dir or id>")
    add_flags(p, "corpus", default="wordnet", help="built-in name or file (default: wordnet)")
    # --save, as in `explain --fit --save`: the run folder a trained model goes to
    where = p.add_mutually_exclusive_group(required=True)
    save = where.add_argument("--save", help="run directory (the model goes to SAVE/inverter)")
    add_alias(where, save, "--out")  # its old name
    p.add_argument("--steps", type=int, default=2000)
    add_flags(p, "batch-size", default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--prefix-tokens", type=int, default=16)
    p.add_argument("--finetune", choices=["projector", "lora", "full"], default="projector")
    p.add_argument("--max-length", type=int, default=32, help="tokens per target text")
    p.add_argument("--noise-std", type=float, default=0.0, help="Gaussian noise on the vectors")
    p.add_argument("--eval-size", type=int, default=500, help="held-out texts scored in training")
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--checkpoint-every", type=int, default=500)
    add_flags(p, "seed")
    again = p.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue the run in --save")
    again.add_argument(
        "--overwrite",
        action="store_true",
        help="start the run in --save again from step 0 (its log and checkpoint are replaced)",
    )
    p.set_defaults(func=_cmd_train_inverter)

    p = sub.add_parser(
        "invert",
        help="decode vectors back to text (the CPU search attack, a trained inverter, or zero-shot)",
        description="Read vectors (.npy) or embed a corpus, decode them and write one JSON line "
        "per text (and the scores when the true texts are known). By default the strongest CPU "
        "attack for --embedder runs (inversion.invert: a word search from the shipped keyword "
        "model and the attacker's own --aux texts, then --decoder writes the words into "
        "sentences, the embedder's cosine decides; --method search: the word search alone); "
        "--inverter uses a trained inverter, --zero-shot the LM-guided search.",
    )
    how = p.add_mutually_exclusive_group()
    how.add_argument("--inverter", help="directory written by train-inverter")
    how.add_argument(
        "--zero-shot",
        action="store_true",
        help="guided decoding (an LM proposes) + word search against --embedder",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--vectors", help=".npy file of vectors (n, dim) from --embedder")
    src.add_argument("--corpus", help="texts to embed and invert (then scored against them)")
    add_flags(p, "limit", help="only the first N vectors or texts")
    p.add_argument(
        "--num-beams", type=int, default=1, help="beams of the inverter's generation (hypothesis)"
    )
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
    zs = p.add_argument_group("the search attacks (default, and --zero-shot)")
    add_flags(
        zs,
        "embedder",
        default=None,
        help="the attacked embedder: built-in name, hub id, model directory or "
        "py:MODULE:FUNCTION (a function texts -> vectors, e.g. a remote API); default minilm, "
        "or with --inverter the one it was trained for (a path there only when named here)",
    )
    zs.add_argument("--max-queries", type=int, default=2000, help="embedder queries per text")
    zs.add_argument(
        "--max-seconds", type=float, default=10.0, help="wall seconds per text (default 10)"
    )
    zs.add_argument(
        "--aux",
        help="texts the attacker holds (built-in corpus name or file): they start the search",
    )
    zs.add_argument("--aux-limit", type=int, default=3000, help="at most this many --aux texts")
    zs.add_argument(
        "--threads", type=int, help="torch CPU threads (default: torch's; 1 per parallel attack)"
    )
    zs.add_argument(
        "--method",
        choices=["sentence", "search"],
        default="sentence",
        help="the default attack: words written into sentences by --decoder (default), or the "
        "word search alone (faster, no LM)",
    )
    zs.add_argument(
        "--decoder",
        help="the causal LM that writes (or, --zero-shot, proposes; default smollm2); with "
        "--inverter, the base LM it was trained with where its config names a path",
    )
    zs.add_argument("--edit-queries", type=int, default=1800, help="--zero-shot: word edits")
    zs.add_argument("--max-length", type=int, default=16, help="--zero-shot: LM search tokens")
    add_flags(p, "batch-size", default=32)
    add_flags(p, "device")
    add_out(p, "output .jsonl file")
    p.set_defaults(func=_cmd_invert)


def _cmd_embed(args: argparse.Namespace) -> int:
    from embedlens.data import load_texts
    from embedlens.embedders import load_embedder

    out = Path(args.out)
    if out.suffix != ".npy":
        raise ValueError(f"--out must end in .npy, got {out.name!r}")
    refuse_existing(out, args.overwrite)
    texts = load_texts(args.corpus, column=args.column, limit=args.limit)
    emb = load_embedder(args.embedder, device=args.device, cache=embedding_cache(args))
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


#: what ``train-inverter`` writes into its run folder: a folder holding one of them is a run
RUN_FILES = ("train_log.jsonl", "eval_texts.jsonl", "checkpoint", "inverter")


def check_run_dir(out: Path, *, resume: bool, overwrite: bool) -> None:
    """Refuse a ``train-inverter --save`` folder that the run would silently restart in.

    A missing or empty folder is fine. A folder that holds a run (:data:`RUN_FILES`) needs
    ``--resume`` (continue it) or ``--overwrite`` (start again at step 0); any other folder, and a
    file, is refused: the run writes its files only where nothing else lives.
    """
    if not os.path.lexists(out):
        return
    if not out.is_dir():
        raise NotADirectoryError(f"--save {str(out)!r} is a file: pass a run folder")
    entries = {p.name for p in out.iterdir()}
    if not entries:
        return
    if not entries & set(RUN_FILES):
        raise FileExistsError(
            f"--save {str(out)!r} is a folder that holds no train-inverter run: pass a new or "
            "empty folder"
        )
    if not (resume or overwrite):
        raise FileExistsError(
            f"--save {str(out)!r} holds a train-inverter run: pass --resume to continue it, or "
            "--overwrite to start it again from step 0"
        )


def _cmd_train_inverter(args: argparse.Namespace) -> int:
    from embedlens.embedders import load_embedder
    from inversion import train_inverter

    # before any model loads: the folder is writable and no other run trains there, and an
    # existing run is never restarted by accident
    claim_output(Path(args.save))
    check_run_dir(Path(args.save), resume=args.resume, overwrite=args.overwrite)
    emb = load_embedder(args.embedder, device=args.device, cache=args.cache)
    start = time.perf_counter()
    names = (
        "decoder prefix_tokens finetune max_length eval_size seed device resume steps batch_size "
        "lr noise_std eval_every checkpoint_every"
    )
    train_inverter(args.corpus, args.save, embedder=emb, progress=True, **from_args(args, names))
    print(
        f"trained an inverter for {emb.name} in {time.perf_counter() - start:.0f}s -> "
        f"{Path(args.save) / 'inverter'}"
    )
    return 0


def _cmd_invert(args: argparse.Namespace) -> int:
    from embedlens.data import load_texts

    out = Path(args.out)
    refuse_existing(out, args.overwrite)
    if not args.inverter and (args.steps or args.corrector):
        raise ValueError("--steps and --corrector need a trained --inverter")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be at least 1, got {args.threads}")
    # the vectors are read and checked first: a wrong file is refused before any set-up
    X = load_vectors(args.vectors, args.limit) if args.vectors else None
    if X is not None:  # their width, against what the model's files declare
        _check_width(X, args, *_declared_width(args))
    inv: Any = None
    if args.inverter:
        from inversion import Inverter

        # a path in the inverter's config.json is read only when named here (the opt-in)
        named = {"embedder": args.embedder, "decoder": args.decoder}
        inv = Inverter.from_pretrained(
            args.inverter, device=args.device, **{k: v for k, v in named.items() if v}
        )
        emb = inv.embedder_
    else:
        from embedlens.embedders import load_embedder

        spec = embedder_from_spec(args.embedder or "minilm")
        emb = load_embedder(spec, device=args.device)
    if X is not None:  # what the files did not declare (a remote model): known once it loads
        _check_width(X, args, int(emb.dim), emb.name)
    references: list[str] | None = None
    if X is None:
        references = load_texts(args.corpus, limit=args.limit)
        X = emb.embed(references, batch_size=args.batch_size, progress=True)
    with torch_threads(args.threads):
        texts, queries, cosines = _decode(args, emb, X, inv)
    rows = [
        {"index": i, "text": t, "queries": int(q)}
        for i, (t, q) in enumerate(zip(texts, queries, strict=True))
    ]
    if cosines is not None:
        for row, cos in zip(rows, cosines, strict=True):
            row["cosine"] = float(cos)
    if references is not None:
        from inversion import evaluate

        scores = evaluate(references, texts, embedder=emb, reference_embeddings=X)
        for row, ref in zip(rows, references, strict=True):
            row["reference"] = ref
        summary = ", ".join(f"{k} {v:.3f}" for k, v in scores.metrics.items())
        print(f"scores against the true texts: {summary}")
    write_jsonl(out, rows)
    asked = args.steps or not args.inverter
    cost = f", {np.mean(queries):.1f} embedder queries per text" if asked else ""
    print(f"inverted {len(texts)} vectors -> {out}{cost}")
    return 0


def _declared_width(args: argparse.Namespace) -> tuple[int | None, str]:
    """The width of the attacked embedder's vectors and its name, from files alone: an
    inverter's ``config.json``, or the embedder's model files (``None``: not declared)."""
    if args.inverter:
        try:
            config = json.loads((Path(args.inverter) / CONFIG_FILE).read_text(encoding="utf-8"))
            return int(config["embedder"]["dim"]), str(config["embedder"]["name"])
        except (OSError, ValueError, KeyError, TypeError):  # loading it says what is wrong
            return None, args.inverter
    from embedlens.embedders import declared_dim

    name = args.embedder or "minilm"
    return declared_dim(name), name


def _check_width(X: np.ndarray, args: argparse.Namespace, dim: int | None, name: str) -> None:
    if dim is None or X.shape[1] == dim:
        return
    reader = f"the inverter {args.inverter!r}" if args.inverter else "the attack"
    raise ValueError(
        f"--vectors {args.vectors} has {X.shape[1]} columns, but {reader} reads "
        f"{dim}-dim vectors from {name!r}: pass vectors made by that embedder, or name the "
        "embedder that made them (--embedder, or an --inverter trained for it)"
    )


def _decode(
    args: argparse.Namespace, emb: Any, X: np.ndarray, inv: Any
) -> tuple[list[str], np.ndarray, np.ndarray | None]:
    """Run the chosen attack on ``X``: the texts, queries per text and (when the attack
    measured them) the cosines to the targets."""
    if inv is not None:
        corrector = None
        if args.corrector:
            from inversion import Corrector

            corrector = Corrector.from_pretrained(args.corrector, inverter=inv)
        names = "num_beams batch_size steps beam_width"
        texts = inv.invert(X, progress=True, corrector=corrector, **from_args(args, names))
        return texts, inv.queries_, None
    if args.zero_shot:
        from inversion import GuidedInverter

        guided = GuidedInverter(
            embedder=emb,
            beam_width=2,
            top_k=4,
            edit_queries=min(args.edit_queries, args.max_queries),
            progress=True,
            decoder=args.decoder or "smollm2",
            **from_args(args, "max_length max_queries device"),
        )
        texts = guided.prepare().invert(X)
        print(f"zero-shot: a vocabulary of {guided.vocabulary_queries_} words embedded once")
        return texts, guided.queries_, guided.cosines_
    from embedlens.data import load_texts
    from inversion import invert

    aux = load_texts(args.aux, limit=args.aux_limit) if args.aux else None
    extra = {"decoder": args.decoder or "smollm2"} if args.method == "sentence" else {}
    found = invert(
        X,
        emb,
        aux_texts=aux,
        progress=True,
        return_details=True,
        method=args.method,
        **extra,
        **from_args(args, "max_queries max_seconds"),
    )
    print(f"search: {found.setup_queries} queries once for the auxiliary texts and words")
    return found.texts, found.queries, found.cosines
