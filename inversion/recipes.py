"""Ready-made runs on top of :class:`~inversion.inverter.Inverter`, for the CLI and benchmarks."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedlens._utils import atomic_path
from embedlens.models import Decoder
from inversion.inverter import Finetune, Inverter

if TYPE_CHECKING:
    from embedlens.embedders import Embedder

logger = logging.getLogger(__name__)

__all__ = ["train_inverter"]


def train_inverter(
    corpus: Any,
    out_dir: str | os.PathLike[str],
    *,
    embedder: Embedder | str = "minilm",
    decoder: str | Decoder = "smollm2",
    prefix_tokens: int = 16,
    finetune: Finetune = "projector",
    max_length: int = 32,
    eval_size: int = 500,
    seed: int = 0,
    device: str | None = None,
    dtype: str | None = None,
    resume: bool = False,
    progress: bool | None = None,
    **fit_kwargs: Any,
) -> Inverter:
    """Train an inverter on a corpus with a fixed held-out split: the ``train-inverter`` command.

    The corpus (a built-in name such as ``"wordnet"``, a file or a list of texts; see
    :func:`embedlens.data.load_texts`) is split once with
    :func:`embedlens.data.train_test_split` (``seed``); at most ``eval_size`` held-out texts are
    scored during training and written to ``out_dir/eval_texts.jsonl``. Checkpoints, the log and
    the final model (``out_dir/inverter``) go to ``out_dir``; ``resume=True`` continues an
    interrupted run. Other keyword arguments go to :meth:`Inverter.fit` (``steps``,
    ``batch_size``, ``lr``, ``noise_std``, ``eval_every``, ``checkpoint_every``...).

    Examples
    --------
    >>> inv = train_inverter("wordnet", "runs/minilm", steps=2000,  # doctest: +SKIP
    ...                      eval_every=500, checkpoint_every=500)
    """
    from embedlens.data import load_texts, train_test_split

    texts = load_texts(corpus)
    if not texts:
        raise ValueError(f"the training corpus {corpus!r} is empty: pass at least one text")
    if not isinstance(eval_size, int) or eval_size < 0:
        raise ValueError(f"eval_size must be an integer >= 0, got {eval_size!r}")
    if eval_size and len(texts) > 1:
        train_texts, held_out = train_test_split(
            texts, test_size=min(0.5, 1.25 * eval_size / len(texts) + 0.01), seed=seed
        )  # a hash split: ask for a little more than eval_size, keep eval_size
        held_out = held_out[:eval_size]
    else:
        train_texts, held_out = list(texts), []
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "eval_texts.jsonl") as tmp:
        tmp.write_text("".join(json.dumps(t) + "\n" for t in held_out), encoding="utf-8")
    inv = Inverter(
        embedder=embedder,
        decoder=decoder,
        prefix_tokens=prefix_tokens,
        finetune=finetune,
        max_length=max_length,
        device=device,
        dtype=dtype,
    )
    logger.info("training an inverter on %d texts, %d held out", len(train_texts), len(held_out))
    return inv.fit(
        train_texts,
        eval_texts=held_out or None,
        seed=seed,
        out_dir=out,
        resume=resume,
        progress=progress,
        **fit_kwargs,
    )
