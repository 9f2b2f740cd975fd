"""The one training loop of embedlens for models that learn from (vector, text) pairs.

The inverter, the corrector and the explainer all train here. A model plugs in through the small
:class:`Trainable` protocol (its trainable module, a loss on a batch, how many texts it must
truncate, and how it generates for evaluation); the loop does the rest:

- embeddings computed once, in batches, and cached on disk (:func:`embed_texts`);
- AdamW with linear warmup and cosine decay, gradient clipping, gradient accumulation, bf16
  autocast on CUDA only;
- Gaussian noise on the vectors (``noise_std``), so an inverter survives noisy defenses;
- held-out evaluation every ``eval_every`` steps (loss, and generation metrics through an
  ``eval_fn``, such as :func:`inversion.recipes.default_eval_fn`);
- checkpoints every ``checkpoint_every`` steps, and ``resume=True`` that continues exactly where
  an interrupted run stopped: weights, optimizer, RNG state, step and data order (the order is a
  pure function of the seed and the step, the learning rate a pure function of the step);
- a JSONL log and a progress bar.

Checkpoints are safetensors plus JSON: nothing is pickled and nothing is ``torch.load``-ed.

It lives in the base package so that ``inversion`` and ``interpret`` (the explainer) both use it
without either importing the other.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from embedlens._checkpoint import STATE_FORMAT, load_checkpoint, save_checkpoint, trainable_params
from embedlens._distributed import distributed_context
from embedlens._utils import check_matrix, check_texts, progress_bar
from embedlens.cache import EmbeddingCache

if TYPE_CHECKING:
    import torch

    from embedlens.embedders import Embedder

logger = logging.getLogger(__name__)

__all__ = [
    "TrainConfig",
    "TrainResult",
    "Trainable",
    "embed_texts",
    "lr_at",
    "train",
]

CHECKPOINT_DIR = "checkpoint"
LOG_FILE = "train_log.jsonl"
EMBEDDINGS_FILE = "embeddings.sqlite"

EvalFn = Callable[[list[str], list[str]], dict[str, float]]


@runtime_checkable
class Trainable(Protocol):
    """What a model needs to offer to be trained by :func:`train`.

    ``trainable_module()`` returns the module whose parameters with ``requires_grad`` are
    optimized and checkpointed; ``training_loss(vectors, texts, index)`` the mean loss of a batch
    (``index`` are the row numbers of the batch in the training set, for models that keep extra
    per-example inputs, such as a corrector's hypotheses); ``count_truncated(texts)`` how many
    texts exceed the model's length limit; ``generate_texts(X)`` texts for held-out evaluation.
    A model whose loss reads such per-example inputs also offers ``eval_loss(vectors, texts,
    index)``, with ``index`` the rows of the held-out set; without it, held-out batches go
    through ``training_loss``.
    """

    def trainable_module(self) -> torch.nn.Module: ...

    def training_loss(
        self, vectors: torch.Tensor, texts: list[str], index: np.ndarray
    ) -> torch.Tensor: ...

    def count_truncated(self, texts: Sequence[str]) -> int: ...

    def generate_texts(self, X: np.ndarray) -> list[str]: ...


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of :func:`train` (all keyword arguments of ``fit`` methods).

    ``warmup_steps=None`` means 5% of ``steps``; the learning rate decays along a cosine to
    ``min_lr_ratio * lr``. The effective batch is ``batch_size * grad_accum``. ``eval_every`` and
    ``checkpoint_every`` of 0 mean only at the end; ``bf16`` applies on CUDA only.
    """

    steps: int = 1000
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int | None = None
    min_lr_ratio: float = 0.1
    grad_clip: float = 1.0
    grad_accum: int = 1
    noise_std: float = 0.0
    eval_every: int = 0
    checkpoint_every: int = 0
    log_every: int = 10
    seed: int = 0
    bf16: bool = True

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "grad_accum", "log_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("eval_every", "checkpoint_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0 (0: at the end), got {value!r}")
        if self.warmup_steps is not None and self.warmup_steps < 0:
            raise ValueError(f"warmup_steps must be >= 0, got {self.warmup_steps!r}")
        for name in ("lr", "weight_decay", "grad_clip", "noise_std", "min_lr_ratio"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")

    @classmethod
    def pick(cls, values: Mapping[str, Any]) -> TrainConfig:
        """The config of the fields found in ``values``, defaults for the rest.

        A ``fit`` method whose keyword arguments carry the fields' names passes its ``locals()``.

        >>> TrainConfig.pick({"steps": 50, "lr": 3e-4, "texts": ["not a field"]}).steps
        50
        """
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})

    @property
    def warmup(self) -> int:
        if self.warmup_steps is not None:
            return min(self.warmup_steps, self.steps)
        return max(1, round(0.05 * self.steps)) if self.steps > 1 else 0


@dataclass
class TrainResult:
    """What a run did: the steps reached, the log records and the truncation count."""

    steps: int
    history: list[dict[str, Any]] = field(default_factory=list)
    truncated: int = 0
    resumed_from: int | None = None

    @property
    def final_loss(self) -> float | None:
        losses = [r["loss"] for r in self.history if "loss" in r and "event" not in r]
        return losses[-1] if losses else None


def lr_at(step: int, config: TrainConfig) -> float:
    """The learning rate of optimizer step ``step`` (0-based): linear warmup, then cosine decay."""
    warm = config.warmup
    if step < warm:
        return config.lr * (step + 1) / warm
    span = max(1, config.steps - warm)
    progress = min(1.0, (step - warm) / span)
    floor = config.min_lr_ratio
    return config.lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def batch_index(n: int, seed: int, start: int, size: int) -> np.ndarray:
    """Rows ``start .. start+size`` of the endless stream of per-epoch shuffles of ``range(n)``.

    Epoch ``e`` is ``default_rng([seed, e]).permutation(n)``: the data order at any step depends
    on nothing but the seed, so a resumed run reads exactly the batches it would have read.
    """
    out = np.empty(size, dtype=np.int64)
    filled = 0
    pos = start
    while filled < size:
        epoch, offset = divmod(pos, n)
        perm = np.random.default_rng([seed, epoch]).permutation(n)
        take = min(size - filled, n - offset)
        out[filled : filled + take] = perm[offset : offset + take]
        filled += take
        pos += take
    return out


def embed_texts(
    embedder: Embedder,
    texts: Sequence[str],
    *,
    cache: str | os.PathLike[str] | EmbeddingCache | None = None,
    batch_size: int = 64,
    progress: bool | None = None,
) -> np.ndarray:
    """Embed ``texts`` once, reading and writing an on-disk cache keyed by the embedder.

    Examples
    --------
    >>> import numpy as np
    >>> from embedlens import load_embedder
    >>> emb = load_embedder(lambda texts: np.ones((len(texts), 8)), name="ones")
    >>> embed_texts(emb, ["a", "b"], progress=False).shape
    (2, 8)
    """
    items = check_texts(texts)
    if cache is None:
        return np.asarray(embedder.embed(items, batch_size=batch_size, progress=progress))
    store = cache if isinstance(cache, EmbeddingCache) else EmbeddingCache(cache)
    fingerprint = embedder.fingerprint
    found = store.get_many(fingerprint, items)
    todo = [i for i, v in enumerate(found) if v is None]
    if todo:
        new = np.asarray(
            embedder.embed([items[i] for i in todo], batch_size=batch_size, progress=progress),
            dtype=np.float32,
        )
        store.put_many(fingerprint, [items[i] for i in todo], new)
        for j, i in enumerate(todo):
            found[i] = new[j]
    logger.info("embeddings: %d cached, %d computed", len(items) - len(todo), len(todo))
    return np.stack([np.asarray(v, dtype=np.float32) for v in found])


# --------------------------------------------------------------------------- the loop


def _evaluate(
    task: Trainable,
    X: np.ndarray,
    texts: list[str],
    config: TrainConfig,
    eval_fn: EvalFn | None,
    device: torch.device,
) -> dict[str, Any]:
    import torch

    module = task.trainable_module()
    loss_of = getattr(task, "eval_loss", None) or task.training_loss
    was_training = module.training
    module.eval()
    total, count = 0.0, 0
    try:
        with torch.no_grad():
            for s in range(0, len(texts), config.batch_size):
                idx = np.arange(s, min(s + config.batch_size, len(texts)))
                vec = torch.from_numpy(X[idx]).to(device)
                loss = loss_of(vec, [texts[i] for i in idx], idx)
                total += float(loss) * len(idx)
                count += len(idx)
        record: dict[str, Any] = {"eval_loss": total / max(count, 1)}
        if eval_fn is not None:
            hyps = task.generate_texts(X)
            record.update(eval_fn(texts, hyps))
            record["examples"] = [
                {"reference": r, "hypothesis": h} for r, h in zip(texts[:3], hyps[:3], strict=True)
            ]
    finally:
        module.train(was_training)
    return record


def train(
    task: Trainable,
    X: np.ndarray,
    texts: Sequence[str],
    config: TrainConfig,
    *,
    device: torch.device | str = "cpu",
    eval_X: np.ndarray | None = None,
    eval_texts: Sequence[str] | None = None,
    eval_fn: EvalFn | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    resume: bool = False,
    progress: bool | None = None,
    callback: Callable[[dict[str, Any]], None] | None = None,
    time_limit: float | None = None,
) -> TrainResult:
    """Train ``task`` on the pairs ``(X[i], texts[i])``.

    Parameters
    ----------
    task
        A :class:`Trainable` (an ``Inverter`` under construction, a corrector, an explainer).
    X, texts
        Training vectors ``(n, dim)`` and their texts.
    config
        Hyper-parameters, see :class:`TrainConfig`.
    device
        Where the vectors go (the model is already there).
    eval_X, eval_texts
        Held-out pairs, evaluated every ``config.eval_every`` steps and at the end.
    eval_fn
        ``eval_fn(references, hypotheses) -> {metric: value}`` on the texts that
        ``task.generate_texts`` decodes; ``None`` evaluates the held-out loss only.
    out_dir
        Directory for checkpoints (``checkpoint/``) and the log (``train_log.jsonl``).
    resume
        Continue from ``out_dir/checkpoint`` if there is one.
    progress
        Progress bar; ``None`` shows one only in interactive sessions.
    callback
        Called with every log record (an exception raised there stops the run, after any
        checkpoint of that step was written).
    time_limit
        Seconds of training (this call's, evaluation included) after which the run ends at the
        step it reached, evaluated and checkpointed as a last step is; the log says
        ``{"event": "time_limit"}``. The schedule stays that of ``config.steps``, so
        ``resume=True`` later continues exactly where it stopped. ``None``: no limit.

    Returns
    -------
    TrainResult
    """
    import torch

    if not isinstance(texts, str) and len(texts) == 0:
        raise ValueError(
            "the training corpus is empty: pass at least one text (for example "
            "embedlens.load_texts('wordnet'))"
        )
    items = check_texts(texts, what="training texts")
    X = check_matrix(X, what="training vectors")
    if X.shape[0] != len(items):
        raise ValueError(f"need one vector per text: {len(items)} texts, vectors {X.shape}")
    eval_set: tuple[np.ndarray, list[str]] | None = None
    if eval_texts is not None and len(eval_texts) > 0:
        if eval_X is None or len(eval_X) != len(eval_texts):
            raise ValueError("eval_X and eval_texts must both be given, one vector per text")
        eval_set = (check_matrix(eval_X, what="eval_X"), check_texts(eval_texts))
    if time_limit is not None and not (isinstance(time_limit, (int, float)) and time_limit > 0):
        raise ValueError(f"time_limit must be a number of seconds > 0 or None, got {time_limit!r}")
    dev = torch.device(device)
    out = Path(out_dir) if out_dir is not None else None
    if resume and out is None:
        raise ValueError("resume=True needs out_dir: the directory of the interrupted run")

    ddp = distributed_context()
    if config.batch_size < ddp.world:
        raise ValueError(
            f"batch_size={config.batch_size} is smaller than the {ddp.world} processes of this "
            "distributed run: each process needs at least one example per micro-batch"
        )
    module = task.trainable_module()
    params = list(trainable_params(module).values())
    if not params:
        raise ValueError("the model has no trainable parameters (all have requires_grad=False)")
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": config.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=config.lr,
    )
    truncated = task.count_truncated(items)
    run_info = {
        "format": STATE_FORMAT,
        "config": asdict(config),
        "n_train": len(items),
        "dim": int(X.shape[1]),
    }
    result = TrainResult(steps=0, truncated=truncated)
    log_path = out / LOG_FILE if out is not None else None
    ckpt = out / CHECKPOINT_DIR if out is not None else None
    cuda_devices = [dev.index or 0] if dev.type == "cuda" else []
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if dev.type == "cuda" and config.bf16
        else nullcontext()
    )

    pending: list[dict[str, Any]] = []

    def emit(record: dict[str, Any]) -> None:
        result.history.append(record)
        if log_path is not None and ddp.main:
            with log_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")
        pending.append(record)

    def flush() -> None:  # callbacks run after the step's checkpoint is on disk
        while pending:
            record = pending.pop(0)
            if callback is not None:
                callback(record)

    # The run owns its RNG: the caller's global generators are restored afterwards.
    with torch.random.fork_rng(devices=cuda_devices):
        torch.manual_seed(config.seed)
        start = 0
        if resume and ckpt is not None and (ckpt / "trainer_state.json").is_file():
            state = load_checkpoint(ckpt, module, optimizer)
            saved = {k: state.get(k) for k in ("config", "n_train", "dim")}
            now = {k: run_info[k] for k in ("config", "n_train", "dim")}
            if saved != now:
                diff = [k for k in now if saved[k] != now[k]]
                raise ValueError(
                    f"cannot resume from {str(ckpt)!r}: the run differs in {diff} "
                    f"(checkpoint {[saved[k] for k in diff]}, now {[now[k] for k in diff]}); "
                    "resume with the same data and settings, or start a fresh out_dir"
                )
            start = int(state["step"])
            result.resumed_from = start
            if ddp.main and log_path is not None and log_path.is_file():  # drop later records
                kept = [
                    line
                    for line in log_path.read_text(encoding="utf-8").splitlines()
                    if line.strip() and json.loads(line).get("step", 0) <= start
                ]
                log_path.write_text("".join(k + "\n" for k in kept), encoding="utf-8")
            logger.info("resuming from step %d of %d", start, config.steps)
        elif resume:
            logger.info("resume=True but no checkpoint under %s: starting fresh", out)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            if ddp.main and start == 0 and log_path is not None and log_path.exists():
                log_path.unlink()
        ddp.barrier()
        if truncated and start == 0 and ddp.main:
            warnings.warn(
                f"{truncated} of {len(items)} training texts are longer than the model's "
                "max_length and were truncated: raise max_length to keep them whole",
                UserWarning,
                stacklevel=3,
            )
        emit(
            {
                "event": "resume" if start else "start",
                "step": start,
                "truncated": truncated,
                **run_info,
            }
        )
        flush()

        module.train()
        began = time.perf_counter()
        micro = config.batch_size
        steps = progress_bar(
            range(start, config.steps),
            progress=progress,
            total=config.steps - start,
            desc="train",
            unit="step",
        )
        for step in steps:
            lr = lr_at(step, config)
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            total = 0.0
            for m in range(config.grad_accum):
                pos = (step * config.grad_accum + m) * micro
                # a distributed run splits each global micro-batch between the processes
                idx = batch_index(len(items), config.seed, pos, micro)[ddp.rank :: ddp.world]
                vec = torch.from_numpy(X[idx]).to(dev)
                if config.noise_std > 0:
                    vec = vec + config.noise_std * torch.randn(vec.shape, device=dev)
                with autocast:
                    loss = task.training_loss(vec, [items[i] for i in idx], idx)
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"training loss is {float(loss)} at step {step}: lower lr "
                        f"(now {config.lr}) or check the vectors for extreme values"
                    )
                (loss / config.grad_accum).backward()
                total += float(loss.detach()) / config.grad_accum
            ddp.average_gradients(params)
            total = ddp.mean(total, dev)
            grad_norm = float(torch.nn.utils.clip_grad_norm_(params, config.grad_clip or math.inf))
            optimizer.step()
            done = step + 1
            result.steps = done
            if done % config.log_every == 0 or done == config.steps:
                emit(
                    {
                        "step": done,
                        "loss": total,
                        "lr": lr,
                        "grad_norm": grad_norm,
                        "seconds": time.perf_counter() - began,
                    }
                )
            out_of_time = (  # every process of a distributed run stops at the same step
                time_limit is not None
                and ddp.mean(float(time.perf_counter() - began >= time_limit), dev) > 0
            )
            last = done == config.steps or out_of_time
            if (
                ddp.main
                and eval_set is not None
                and ((config.eval_every and done % config.eval_every == 0) or last)
            ):
                record = _evaluate(task, eval_set[0], eval_set[1], config, eval_fn, dev)
                emit({"event": "eval", "step": done, **record})
            if ckpt is not None and (
                (config.checkpoint_every and done % config.checkpoint_every == 0) or last
            ):
                if ddp.main:
                    state = {**run_info, "step": done, "truncated": truncated}
                    save_checkpoint(ckpt, module, optimizer, state)
                ddp.barrier()  # nobody runs ahead of a checkpoint it might resume from
            if out_of_time and done < config.steps:
                emit({"event": "time_limit", "step": done, "of": config.steps})
                logger.info(
                    "time limit of %.0f s: stopped at step %d of %d", time_limit, done, config.steps
                )
            flush()
            if last:
                break
        module.eval()
    result.steps = max(result.steps, start)
    return result
