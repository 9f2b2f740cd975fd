"""Explain embeddings in words: a causal LM reads a vector as soft tokens and answers questions.

An :class:`Explainer` is a :class:`~embedlens.soft.SoftPrefixModel`: it maps a vector through
the projector (:class:`embedlens.soft.SoftPrompt`) to ``k`` soft tokens that stand for a document in a
chat prompt ("<vector> What is this text about?"), the way ELM (Tennenholtz et al., ICLR 2024)
and xRAG (Cheng et al. 2024) let a frozen LM read embeddings. It trains on several tasks mixed in
one run (reconstruct the text; its topic; its keywords; answer a question about it), the answers
of the descriptive tasks written once by the same LM reading the real text (self-distillation)
and cached on disk. Then it explains vectors that came from no text at all: cluster centroids,
midpoints, interpolations, the two sides of a concept direction.

Training runs through :func:`embedlens.train.train`, decoding through
:meth:`embedlens.soft.SoftPrefixModel.generate`; saved models are ``config.json`` +
``model.safetensors`` like every embedlens model.

Examples
--------
>>> ex = Explainer(embedder="minilm", decoder="smollm2", prefix_tokens=2,  # doctest: +SKIP
...                tasks=("reconstruct",))
>>> ex = ex.fit(["a cat", "a dog"], steps=2, batch_size=2, progress=False)  # doctest: +SKIP
>>> len(ex.explain(ex.embedder_.embed(["a cat"]), task="reconstruct", max_new_tokens=4))  # doctest: +SKIP
1
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from embedlens._utils import check_texts, progress_bar
from interpret.explain.evaluate import ExplainResult, evaluate_explanations
from interpret.explain.prompting import ExplainerCore
from interpret.explain.tasks import DEFAULT_TASKS, SYSTEM_PROMPT, Task, TeacherCache, resolve_tasks
from interpret.explain.vectors import (
    DirectionExplanation,
    ExplainerLabeler,
    centroids,
    direction_vector,
    interpolation_points,
    shifted,
)

if TYPE_CHECKING:
    from embedlens.cache import EmbeddingCache
    from embedlens.embedders import Embedder
    from embedlens.models import Decoder

logger = logging.getLogger(__name__)

__all__ = [
    "FINETUNE_MODES",
    "DirectionExplanation",
    "ExplainResult",
    "Explainer",
    "ExplainerLabeler",
    "Task",
    "evaluate_explanations",
]

TEACHER_FILE = "teacher.jsonl"
READINGS_FILE = "readings.jsonl"

#: a named reader's options unless told otherwise: a short search bounded by its queries, not by
#: a clock, so a vector reads the same on any machine and load (about a second a vector on a
#: quiet 2-core CPU)
READER_DEFAULTS: dict[str, dict[str, Any]] = {"search": {"max_queries": 300, "max_seconds": None}}

Finetune = Literal["projector", "lora"]
_READING = Task("reading", ("the reader's words",), source="text")
FINETUNE_MODES: tuple[str, ...] = ("projector", "lora")


class Explainer(ExplainerCore):
    """Let a causal LM read embeddings as soft tokens and say what they mean.

    Parameters
    ----------
    embedder
        The embedder whose vectors are explained (an :class:`~embedlens.embedders.Embedder`
        or a spec for :func:`~embedlens.embedders.load_embedder`; default ``"minilm"``).
    decoder
        ``"smollm2"`` (built-in), a causal LM directory or hub id, or a loaded
        :class:`~embedlens.models.Decoder`.
    prefix_tokens
        Soft tokens per vector.
    finetune
        ``"projector"`` (the LM frozen) or ``"lora"`` (projector + LoRA adapters; needs
        ``embedlens[lora]``).
    tasks
        Training tasks, mixed in one run: names of :data:`interpret.explain.tasks.TASKS`
        (``"reconstruct"``, ``"topic"``, ``"keywords"``, ``"question"``) or :class:`Task`
        objects.
    max_length
        Longest training answer in tokens (longer ones are truncated); the length of a
        reconstruction.
    hidden
        Hidden width of the projector MLP (``None``: the larger of the two dimensions).
    lora_rank
        Rank of the LoRA adapters (``finetune="lora"`` only).
    system_prompt
        System message of the chat prompt (LMs with a chat template only).
    reader
        What reads each vector into words that the LM sees right after its soft tokens:
        ``None`` (the soft tokens alone), the name of an installed reader (``"search"``:
        :class:`inversion.SearchInverter`, the embedder's shipped keyword model and word
        vectors, no training), or an object with ``invert(X) -> list[str]``. The LM then starts
        from the words the vector is closest to, and the projector learns what they miss.
    reader_options
        Keyword arguments of a named reader (default for ``"search"``: 300 queries a vector
        and no time limit, so the same vector gives the same words on any machine and load;
        ``max_seconds`` bounds it by the clock instead).
    device, dtype
        Where the LM runs and its weights' dtype (``None``: auto device, float32).

    Examples
    --------
    >>> ex = Explainer(embedder="minilm", decoder="smollm2").fit(texts, steps=2000)  # doctest: +SKIP
    >>> ex.explain(ex.embedder_.embed(["the stock market fell sharply"]))  # doctest: +SKIP
    ['Stock market decline']
    """

    finetune_modes = FINETUNE_MODES
    noun = "explainer"

    def __init__(
        self,
        embedder: Embedder | str = "minilm",
        decoder: str | Decoder = "smollm2",
        *,
        prefix_tokens: int = 8,
        finetune: Finetune = "projector",
        tasks: Iterable[str | Task] = DEFAULT_TASKS,
        max_length: int = 32,
        hidden: int | None = None,
        lora_rank: int = 16,
        system_prompt: str | None = SYSTEM_PROMPT,
        reader: str | Any | None = None,
        reader_options: dict[str, Any] | None = None,
        device: str | None = None,
        dtype: str | None = None,
    ) -> None:
        self.embedder = embedder
        self.decoder = decoder
        self.prefix_tokens = prefix_tokens
        self.finetune = finetune
        self.tasks = tasks
        self.max_length = max_length
        self.hidden = hidden
        self.lora_rank = lora_rank
        self.system_prompt = system_prompt
        self.reader = reader
        self.reader_options = reader_options
        self.device = device
        self.dtype = dtype

    def _check_params(self) -> tuple[Task, ...]:
        super()._check_params()
        self.tasks_ = resolve_tasks(self.tasks)
        named = isinstance(self.reader, str)
        if not (self.reader is None or named or hasattr(self.reader, "invert")):
            raise TypeError(
                f"reader must be None, a reader name such as 'search', or an object with "
                f"invert(X) -> list[str], got {type(self.reader).__name__}"
            )
        if self.reader_options is not None and not (
            named and isinstance(self.reader_options, dict)
        ):
            raise ValueError(
                "reader_options must be a dict, and only go with a named reader (reader='search')"
            )
        return self.tasks_

    # ------------------------------------------------------------------ the reader

    def _reader(self) -> Any:
        """The reader object (built once from its name), or None."""
        if self.reader is None:
            missing = getattr(self, "unsaved_reader_", None)
            if missing is not None:
                raise ValueError(
                    f"this explainer was trained with a reader ({missing}) that was not saved "
                    "with it: pass one with explainer.set_params(reader=...) (an object with "
                    "invert(X), or an installed reader name such as 'search')"
                )
            return None
        if not isinstance(self.reader, str):
            return self.reader
        key = json.dumps([self.reader, self.reader_options], sort_keys=True, default=str)
        built = getattr(self, "reader_", None)
        if built is None or getattr(self, "_reader_key", None) != key:
            from embedlens.soft.reading import make_reader

            options = {**READER_DEFAULTS.get(self.reader, {}), **(self.reader_options or {})}
            built = make_reader(self.reader, self.embedder_, {"progress": False, **options})
            self.reader_, self._reader_key = built, key
        return built

    def read(self, X: Any) -> list[str] | None:
        """The words this explainer's reader finds for each row of ``X`` (None: no reader).

        Examples
        --------
        >>> ex.read(emb.embed(["the cat sat on the mat"]))  # doctest: +SKIP
        ['cat sat on the mat']
        """
        if self._reader() is None:
            return None
        return self._read_rows(self._check_input(X))

    def _read_rows(self, arr: np.ndarray) -> list[str]:
        """The reader's words for checked vectors."""
        said = self._reader().invert(arr)
        if len(said) != arr.shape[0]:
            raise ValueError(f"the reader returned {len(said)} texts for {arr.shape[0]} vectors")
        return [str(t) for t in said]

    def set_corpus(self, texts: Sequence[str]) -> Explainer:
        """Let the reader start from these texts (e.g. a map's texts); needs a named reader.

        Texts of the corpus are read for free (their vectors are known), so a vector close to
        one of them starts from it. Set it after :meth:`fit`: training reads without a corpus.
        """
        self._check_fitted()
        reader = self._reader()
        if reader is None or not hasattr(reader, "fit"):
            raise ValueError(
                "this explainer has no reader that takes a corpus: build it with reader='search'"
            )
        reader.fit(check_texts(texts, what="corpus texts"))
        return self

    # ------------------------------------------------------------------ fit

    def fit(
        self,
        texts: Sequence[str],
        *,
        steps: int = 1000,
        batch_size: int = 16,
        lr: float = 1e-3,
        weight_decay: float = 0.01,
        warmup_steps: int | None = None,
        grad_accum: int = 1,
        grad_clip: float = 1.0,
        noise_std: float = 0.0,
        checkpoint_every: int = 0,
        log_every: int = 10,
        seed: int = 0,
        bf16: bool = True,
        teacher_batch_size: int = 32,
        teacher_cache: str | os.PathLike[str] | None = None,
        cache: str | os.PathLike[str] | EmbeddingCache | None = None,
        out_dir: str | os.PathLike[str] | None = None,
        resume: bool = False,
        time_limit: float | None = None,
        progress: bool | None = None,
    ) -> Explainer:
        """Train on ``texts``: every text gives one (vector, prompt, answer) example per task.

        The descriptive tasks' answers are generated first by the LM reading each real text
        (in batches of ``teacher_batch_size``) and kept in ``teacher_cache`` (a JSONL file;
        default ``out_dir/teacher.jsonl`` when ``out_dir`` is given), so a rerun or a resumed
        run does not generate them again. The other keyword arguments are those of
        :class:`embedlens.train.TrainConfig` and of ``Inverter.fit``: ``cache`` (embeddings),
        ``out_dir`` (checkpoints, ``train_log.jsonl``, the final model under
        ``out_dir/explainer``), ``resume`` and ``time_limit`` (seconds of training, see
        :func:`embedlens.train.train`). With a reader, each training vector is read first
        (without a corpus, so no text is read off itself) and the readings are kept in
        ``out_dir/readings.jsonl``. The run's log is kept in ``history_``; texts
        whose teacher answer came out empty are left out of that task.

        Examples
        --------
        >>> ex = Explainer().fit(train_texts, steps=2000, out_dir="runs/explainer")  # doctest: +SKIP
        """
        from embedlens.train import TrainConfig, embed_texts

        config = TrainConfig.pick(locals())  # the training arguments above

        if not isinstance(texts, str) and len(texts) == 0:
            raise ValueError("the training corpus is empty: pass at least one text to fit")
        items = check_texts(texts, what="training texts")
        if not isinstance(teacher_batch_size, int) or teacher_batch_size < 1:
            raise ValueError(
                f"teacher_batch_size must be a positive integer, got {teacher_batch_size!r}"
            )
        tasks = self._check_params()
        emb = self._resolve_embedder()
        if cache is None and out_dir is not None:
            cache = Path(out_dir) / "embeddings.sqlite"
        if teacher_cache is None and out_dir is not None:
            teacher_cache = Path(out_dir) / TEACHER_FILE
        X = embed_texts(emb, items, cache=cache, progress=progress)
        self.embedder_ = emb
        self._load_lm()
        teacher = TeacherCache(teacher_cache)
        readings = self._training_readings(X, items, out_dir=out_dir, progress=progress)
        rows: list[int] = []
        answers: list[str] = []
        prompts: list[str] = []
        for task in tasks:
            if task.source == "text":
                said = items
            else:
                said = self._teacher_answers(
                    task, items, teacher, batch_size=teacher_batch_size, progress=progress
                )
            kept = [i for i, a in enumerate(said) if a.strip()]
            if len(kept) < len(items):
                logger.warning(
                    "task %r: %d empty answers left out", task.name, len(items) - len(kept)
                )
            rows += kept
            answers += [said[i] for i in kept]
            prompts += [task.prompt_for(items[i]) for i in kept]
        if not rows:
            raise ValueError(
                "no training example: every teacher answer came out empty; check the decoder, "
                "or add the 'reconstruct' task"
            )
        self.example_prompts_ = prompts
        self.example_readings_ = None if readings is None else [readings[i] for i in rows]
        self.train_texts_ = items
        self._attach(X.shape[1], seed=seed)
        self.n_examples_ = len(rows)
        self._train(
            X[np.asarray(rows)],
            answers,
            config,
            out_dir=out_dir,
            resume=resume,
            progress=progress,
            time_limit=time_limit,
        )
        return self

    def _training_readings(
        self,
        X: np.ndarray,
        texts: list[str],
        *,
        out_dir: str | os.PathLike[str] | None,
        progress: bool | None,
    ) -> list[str] | None:
        """The reader's words for each training vector, kept in ``out_dir/readings.jsonl``."""
        reader = self._reader()
        if reader is None:
            return None
        from embedlens.soft.reading import reader_spec

        spec = reader_spec(reader) or {"name": type(reader).__qualname__}
        who = json.dumps([spec, self.embedder_.fingerprint], sort_keys=True)
        cache = TeacherCache(None if out_dir is None else Path(out_dir) / READINGS_FILE)
        keys = [TeacherCache.key(who, _READING, t) for t in texts]
        todo = [i for i, k in enumerate(keys) if cache.get(k) is None]
        if todo:
            logger.info(
                "reader: %d training vectors to read, %d kept", len(todo), len(texts) - len(todo)
            )
        chunks = range(0, len(todo), 64)
        for s in progress_bar(chunks, progress=progress, total=len(chunks), desc="read"):
            chunk = todo[s : s + 64]
            said = self._read_rows(X[np.asarray(chunk)])
            cache.put_many([(keys[i], _READING.name, r) for i, r in zip(chunk, said, strict=True)])
        return [cache.get(k) or "" for k in keys]

    # ------------------------------------------------------------------ explaining

    def explain_centroid(self, X: Any, labels: Sequence[Any], **kwargs: Any) -> dict[Any, str]:
        """Explain the mean vector of each group of rows: ``{label: explanation}``.

        ``kwargs`` go to :meth:`explain`. For the clusters of an
        :class:`~interpret.maps.EmbeddingMap`, pass :class:`ExplainerLabeler` as its labeler.
        """
        arr = self._check_input(X)
        names, means = centroids(arr, labels)
        return dict(zip(names, self.explain(means, **kwargs), strict=True))

    def _pair(self, a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
        va, vb = self._check_input(a, "a"), self._check_input(b, "b")
        if va.shape[0] != 1 or vb.shape[0] != 1:
            raise ValueError(
                f"a and b must be single vectors, got {va.shape[0]} and {vb.shape[0]} rows"
            )
        return va[0], vb[0]

    def explain_midpoint(self, a: Any, b: Any, **kwargs: Any) -> str:
        """Explain the midpoint of two vectors (``kwargs`` go to :meth:`explain`)."""
        va, vb = self._pair(a, b)
        return self.explain(((va + vb) / 2)[None, :], **kwargs)[0]

    def interpolate(self, a: Any, b: Any, n: int = 5, **kwargs: Any) -> list[str]:
        """Explain ``n`` evenly spaced points from ``a`` (first) to ``b`` (last)."""
        va, vb = self._pair(a, b)
        _, points = interpolation_points(va, vb, n)
        return self.explain(points, **kwargs)

    def explain_direction(
        self,
        direction: Any,
        X_context: Any = None,
        alpha: float = 0.5,
        **kwargs: Any,
    ) -> DirectionExplanation:
        """Contrast what the LM says for ``x + step v`` and ``x - step v``.

        Parameters
        ----------
        direction
            A ``(dim,)`` array, or an object carrying one: ``probes.ConceptDirection``
            (``.vector``), anything with ``direction``/``direction_``, or a binary linear
            probe (``coef_``). It is normalised to unit length; a zero direction is an error.
        X_context
            Vectors to move (``None``: explain ``+v`` and ``-v`` themselves).
        alpha
            How far to move, in units of the context vectors' median norm.
        **kwargs
            Passed to :meth:`explain` (``task``, ``max_new_tokens``...).
        """
        self._check_fitted()
        unit = direction_vector(direction, self.projector_.in_dim)
        task = str(kwargs.get("task") or self._default_task())
        if X_context is None:
            base = np.zeros((1, unit.shape[0]), dtype=np.float32)
            step, plus, minus = shifted(unit[None, :], unit, alpha)
            plus, minus = plus - unit[None, :], minus - unit[None, :]
            context: list[str] = []
        else:
            base = self._check_input(X_context, "X_context")
            step, plus, minus = shifted(base, unit, alpha)
            context = self.explain(base, **kwargs)
        return DirectionExplanation(
            alpha=float(alpha),
            step=step,
            context=context,
            plus=self.explain(plus, **kwargs),
            minus=self.explain(minus, **kwargs),
            task=task,
        )

    # ------------------------------------------------------------------ evaluation

    def evaluate(self, texts: Sequence[str], **kwargs: Any) -> ExplainResult:
        """Semantic consistency against baselines; see :func:`evaluate_explanations`.

        Examples
        --------
        >>> ex.evaluate(held_out_texts, task="topic").figure()  # doctest: +SKIP
        """
        return evaluate_explanations(self, texts, **kwargs)

    # ------------------------------------------------------------------ save / load

    def _settings(self) -> dict[str, Any]:
        return {
            **super()._settings(),
            "tasks": [t.to_dict() for t in self.tasks_],
            "system_prompt": self.system_prompt,
            "seed": getattr(self, "seed_", 0),
            "reader": self._reader_record(),
        }

    def _reader_record(self) -> dict[str, Any] | None:
        """How to build the reader again: its name and options (None: no reader)."""
        if self.reader is None:
            return None
        if isinstance(self.reader, str):
            return {"name": self.reader, "options": dict(self.reader_options or {})}
        from embedlens.soft.reading import reader_spec

        spec = reader_spec(self.reader)
        if spec is None:  # recorded by its class only: the loaded explainer asks for it
            return {"name": None, "class": type(self.reader).__qualname__}
        return spec

    def _load_extra(self, root: Path, config: dict[str, Any]) -> None:
        super()._load_extra(root, config)
        record = config.get("reader") or {}
        if record and record.get("name") is None:
            self.unsaved_reader_ = str(record.get("class"))
            logger.warning(
                "%s was trained with a reader (%s) that cannot be saved: give it one with "
                "explainer.set_params(reader=...) before explaining",
                root,
                self.unsaved_reader_,
            )

    @classmethod
    def _init_kwargs(cls, config: dict[str, Any]) -> dict[str, Any]:
        return {
            **super()._init_kwargs(config),
            "tasks": tuple(Task.from_dict(t) for t in config["tasks"]),
            "system_prompt": config.get("system_prompt"),
            "reader": (config.get("reader") or {}).get("name"),
            "reader_options": (config.get("reader") or {}).get("options") or None,
        }

    def _repr_fields(self) -> dict[str, Any]:
        names = [t if isinstance(t, str) else t.name for t in self.tasks]
        fields = super()._repr_fields()
        del fields["max_length"]
        return {**fields, "tasks": names}
