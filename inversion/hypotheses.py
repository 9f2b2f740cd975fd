"""The hypotheses a corrector learns from: a trained inverter's texts, made once and cached.

:func:`cached_hypotheses` generates a trained inverter's hypotheses once, resumably, into a JSONL
file; :func:`hypothesis_vectors` embeds them (an empty hypothesis is a zero vector).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from embedlens._utils import progress_bar

logger = logging.getLogger(__name__)

__all__ = ["HYPOTHESES_FILE", "HypothesisModel", "cached_hypotheses", "hypothesis_vectors"]


class HypothesisModel(Protocol):
    """What a corrector reads of the hypothesis model it learns from (an ``Inverter`` is one).

    The inverter loads the corrector saved with it, so the corrector's side names what it reads
    instead of importing the inverter's class.
    """

    embedder_: Any
    decoder: Any
    decoder_: Any
    device_: Any
    dtype: Any
    finetune: Any

    @property
    def fingerprint(self) -> str: ...

    def invert(
        self, X: Any, *, batch_size: int = ..., progress: bool | None = ...
    ) -> list[str]: ...


HYPOTHESES_FILE = "hypotheses.jsonl"


def _vectors_key(X: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(X, dtype=np.float32).tobytes()).hexdigest()[:16]


def cached_hypotheses(
    inverter: HypothesisModel,
    X: np.ndarray,
    path: str | os.PathLike[str] | None = None,
    *,
    batch_size: int = 32,
    chunk: int = 256,
    progress: bool | None = None,
) -> list[str]:
    """The inverter's hypotheses for ``X``, appended to the JSONL file ``path`` as they come.

    The file's first line records the inverter's fingerprint and a hash of ``X``; each further
    line is one hypothesis. A second call with the same inverter and vectors reads what is there
    and generates only the rest (an interrupted run continues where it stopped; a line cut short
    by a crash is dropped and written again). A file made by another inverter or for other
    vectors raises ``ValueError``.
    """
    if path is None:
        return inverter.invert(X, batch_size=batch_size, progress=progress)
    file = Path(path)
    header = {"inverter": inverter.fingerprint, "vectors": _vectors_key(X), "n": len(X)}
    done: list[str] = []
    if file.is_file():
        lines = file.read_text(encoding="utf-8").split("\n")
        try:
            found = json.loads(lines[0])
        except json.JSONDecodeError:
            found = None
        if found is not None and found != header:
            raise ValueError(
                f"{str(file)!r} holds hypotheses of another inverter or for other texts "
                f"({found}, now {header}): delete it, or use another out_dir"
            )
        for line in lines[1:] if found is not None else []:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                break  # the end, or a line a crash cut short
            if not isinstance(record, dict) or record.get("i") != len(done):
                break
            done.append(str(record["text"]))
    file.parent.mkdir(parents=True, exist_ok=True)
    # rewrite what is valid (drops a torn last line), then append the rest chunk by chunk
    tmp = file.with_name(file.name + ".tmp")
    tmp.write_text(
        "".join(
            json.dumps(r) + "\n"
            for r in [header, *({"i": i, "text": t} for i, t in enumerate(done))]
        ),
        encoding="utf-8",
    )
    os.replace(tmp, file)
    if done:
        logger.info("hypotheses: %d of %d read from %s", len(done), len(X), file)
    starts = range(len(done), len(X), chunk)
    with file.open("a", encoding="utf-8") as fh:
        for s in progress_bar(starts, progress=progress, total=len(starts), desc="hypotheses"):
            texts = inverter.invert(X[s : s + chunk], batch_size=batch_size, progress=False)
            fh.write(
                "".join(json.dumps({"i": s + j, "text": t}) + "\n" for j, t in enumerate(texts))
            )
            fh.flush()
            os.fsync(fh.fileno())
            done.extend(texts)
    return done


def hypothesis_vectors(
    embedder: Any,
    hypotheses: Sequence[str],
    X: np.ndarray,
    *,
    cache: Any = None,
    progress: bool | None = False,
) -> np.ndarray:
    """Embeddings of ``hypotheses`` shaped like ``X``; an empty hypothesis is a zero vector, as
    in the correction loop (an empty text has no embedding to compare)."""
    from embedlens.train import embed_texts

    H = np.zeros_like(X)
    filled = [i for i, h in enumerate(hypotheses) if h.strip()]
    if filled:
        texts = [hypotheses[i] for i in filled]
        H[filled] = embed_texts(embedder, texts, cache=cache, progress=progress)
    return H
