"""How the explainer talks to its LM: chat prompts around the soft tokens, and the teacher.

:class:`ExplainerCore` is the part of :class:`~interpret.explain.Explainer` that turns a task's
question and a batch of soft tokens into one spliced prompt (``[chat prefix] [soft tokens]
[question suffix]``), trains on answers to those prompts (the :class:`embedlens.train.Trainable`
protocol; the ``index`` of a batch picks each example's prompt), asks the teacher (the LM
reading the real text) for the answers of the descriptive tasks, and answers a task's
question about any vector (:meth:`ExplainerCore.explain`, through
:meth:`embedlens.soft.SoftPrefixModel.generate`). What the explainer does with vectors that
came from no text (centroids, midpoints, directions) and its evaluation build on ``explain``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlens._utils import progress_bar
from embedlens.soft.model import SoftPrefixModel
from interpret.explain.tasks import PromptFormat, Task, TeacherCache, clean_answer

if TYPE_CHECKING:
    import torch

    from embedlens.soft.batch import Tokens

logger = logging.getLogger(__name__)

__all__ = ["WHOLE_ROOM", "ExplainerCore"]

#: a whole answer may run to this many times its task's ``max_answer_tokens``: the teacher's
#: answers were cut at that length, so the student often needs a few more tokens to end its
#: sentence, where it stops (of the topics of 10 everyday sentences, 6 ended a sentence within
#: 24 tokens, 2 within 12)
WHOLE_ROOM = 2


class ExplainerCore(SoftPrefixModel):
    """Prompts, the teacher and generation: the base of :class:`~interpret.explain.Explainer`."""

    system_prompt: str | None
    tasks_: tuple[Task, ...]
    example_prompts_: list[str]
    format_: PromptFormat

    def _load_lm(self, stored: Any = None) -> None:
        """Load the LM, then set up the chat format and the token caches."""
        super()._load_lm(stored)
        if getattr(self.decoder_.model.config, "is_encoder_decoder", False):
            raise ValueError(
                f"the Explainer needs a causal (decoder-only) LM, got the encoder-decoder "
                f"{self.decoder_.name!r}: pass 'smollm2' or another causal LM"
            )
        self.format_ = PromptFormat(self.decoder_.tokenizer, self.system_prompt)
        self._token_cache: dict[str, list[int]] = {}
        self._split_cache: dict[str, tuple[str, str]] = {}

    def _task(self, name: str) -> Task:
        for task in self.tasks_:
            if task.name == name:
                return task
        raise ValueError(
            f"unknown task {name!r}: this explainer was trained on "
            f"{[t.name for t in self.tasks_]}; pass one of those"
        )

    # ------------------------------------------------------------------ tokens

    def _ids(self, text: str) -> list[int]:
        ids = self._token_cache.get(text)
        if ids is None:
            ids = list(self.decoder_.tokenizer(text, add_special_tokens=False)["input_ids"])
            if len(self._token_cache) < 10_000:
                self._token_cache[text] = ids
        return ids

    def _tokens(self, rows: Sequence[list[int]], *, target: bool = False) -> Tokens:
        from embedlens.soft.batch import Tokens

        return Tokens(*self._pad(rows), target=target)

    def _answer_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return self._token_rows(texts)

    def _split(self, prompt: str) -> tuple[str, str]:
        pair = self._split_cache.get(prompt)
        if pair is None:
            pair = self.format_.split(prompt)
            if len(self._split_cache) < 1_000:
                self._split_cache[prompt] = pair
        return pair

    def _prompt_parts(
        self,
        soft: torch.Tensor,
        prompts: Sequence[str],
        readings: Sequence[str] | None = None,
    ) -> list[torch.Tensor | Tokens]:
        """``[prefix tokens, soft tokens, reading tokens, suffix tokens]`` for a batch of student
        prompts; the reading (the words a reader found for each vector) only with a reader."""
        pairs = [self._split(p) for p in prompts]
        parts: list[torch.Tensor | Tokens] = []
        prefixes = [self._ids(pre) for pre, _ in pairs]
        if any(prefixes):
            parts.append(self._tokens(prefixes))
        parts.append(soft)
        if readings is not None:
            parts.append(self._tokens(self._reading_ids(readings)))
        parts.append(self._tokens([self._ids(suf) for _, suf in pairs]))
        return parts

    def _reading_ids(self, readings: Sequence[str]) -> list[list[int]]:
        """Token ids of each reading, cut to ``max_length`` tokens (an empty reading: a space)."""
        tok = self.decoder_.tokenizer
        rows = tok([r if r.strip() else " " for r in readings], add_special_tokens=False)
        return [list(ids)[: self.max_length] for ids in rows["input_ids"]]

    # ------------------------------------------------------------------ training

    def training_loss(
        self, vectors: torch.Tensor, texts: list[str], index: np.ndarray
    ) -> torch.Tensor:
        """Mean token cross-entropy of the answers ``texts`` to each example's task prompt."""
        from embedlens.soft.batch import answer_loss, splice

        prompts = [self.example_prompts_[int(i)] for i in index]
        readings = self._example_readings(index)
        parts = self._prompt_parts(self.projector_(vectors), prompts, readings)
        parts.append(self._tokens(self._answer_ids(texts), target=True))
        batch = splice(self.decoder_.model, parts, padding_side="right")
        return answer_loss(self.decoder_.model, batch)

    def generate_texts(self, X: np.ndarray) -> list[str]:
        """Explanations for the trainer's held-out evaluation (the first task's question)."""
        task = self.tasks_[0]
        limit = self.max_length if task.source == "text" else task.max_answer_tokens
        arr = self._check_input(X)
        return self._generate(
            arr, task.prompts[0], max_new_tokens=limit, readings=self.read(arr), progress=False
        )

    def _example_readings(self, index: np.ndarray) -> list[str] | None:
        """The readings of the training examples ``index`` (None: no reader)."""
        readings = getattr(self, "example_readings_", None)
        if readings is None:
            return None
        return [readings[int(i)] for i in index]

    def read(self, X: Any) -> list[str] | None:
        """What this explainer's reader reads off each vector (None: it has no reader)."""
        return None

    # ------------------------------------------------------------------ the teacher

    def _teacher_answers(
        self,
        task: Task,
        texts: list[str],
        cache: TeacherCache,
        *,
        batch_size: int,
        progress: bool | None,
    ) -> list[str]:
        """The LM's own answers to ``task`` about each real text (cached; missing ones made)."""
        from embedlens.soft.batch import splice
        from embedlens.soft.generate import generate_from_embeds

        name = self.decoder_.name
        rendered = [self.format_.render(t, task.prompt_for(t)) for t in texts]
        keys = [TeacherCache.key(name, task, r) for r in rendered]
        todo = [i for i, k in enumerate(keys) if cache.get(k) is None]
        if todo:
            logger.info(
                "teacher: %d %r answers to write, %d cached",
                len(todo),
                task.name,
                len(texts) - len(todo),
            )
        model, tok = self.decoder_.model, self.decoder_.tokenizer
        todo.sort(key=lambda i: len(rendered[i]))  # similar lengths batch with little padding
        starts = range(0, len(todo), batch_size)
        for s in progress_bar(starts, progress=progress, total=len(starts), desc=task.name):
            chunk = todo[s : s + batch_size]
            enc = tok([rendered[i] for i in chunk], add_special_tokens=False)
            rows = [list(r) for r in enc["input_ids"]]
            batch = splice(model, [self._tokens(rows)], padding_side="left")
            out = generate_from_embeds(
                model,
                tok,
                batch.inputs_embeds,
                batch.attention_mask,
                max_new_tokens=task.max_answer_tokens,
            )
            cache.put_many(
                [(keys[i], task.name, clean_answer(a)) for i, a in zip(chunk, out, strict=True)]
            )
        return [cache.get(k) or "" for k in keys]

    # ------------------------------------------------------------------ explaining

    def explain(
        self,
        X: Any,
        *,
        task: str | None = None,
        prompt: str | None = None,
        max_new_tokens: int | None = None,
        num_beams: int = 1,
        best_of: int = 1,
        with_reading: bool = False,
        readings: Sequence[str] | None = None,
        whole: bool = True,
        ban_inventions: bool = True,
        batch_size: int = 32,
        progress: bool | None = None,
        **generate_kwargs: Any,
    ) -> list[str]:
        """What the LM says about each row of ``X`` when asked ``task``'s question.

        Parameters
        ----------
        X
            Vectors ``(n, dim)`` of the explainer's embedder (a single vector is accepted);
            they need not come from a text.
        task
            One of the tasks the explainer was trained on (``None``: ``"topic"`` where it was
            trained on it, else its first task).
        prompt
            Ask this question instead of the task's own (e.g. a question of your own with
            ``task="question"``).
        max_new_tokens
            Most tokens per answer (default: the task's ``max_answer_tokens``, twice that
            for whole answers, which stop at their first sentence end; ``max_length`` for
            ``"reconstruct"``).
        num_beams, batch_size, progress
            Beam width (1: greedy), vectors per batch, progress bar (``None``: if interactive).
        best_of
            Keep, of the ``best_of`` answers of a beam search, the one whose embedding (by the
            explained embedder) is closest to the vector. Judge such answers with another
            embedder: by this one's cosine they were chosen.
        with_reading
            Let the reader's words compete with the LM's answers (by the same cosine): the
            answer is then the LM's where it fits the vector better, else the words the reader
            found. Needs a reader.
        readings
            The reader's words for each row, when you already have them (an explainer with a
            reader reads them itself otherwise; see :meth:`read`).
        whole
            Whole answers (default): each answer stops at its first sentence end, one that
            reaches ``max_new_tokens`` is trimmed to its last complete clause
            (:func:`embedlens.soft.generate.whole_clause`), and an answer that comes out empty
            is the reader's words (where there is a reader). ``False``: the raw tokens.
        ban_inventions
            Never say an invention word (:data:`interpret.explain.inventions.INVENTION_WORDS`:
            "fictional", "story", "character"...) that none of the readings of this call holds
            (all of them without a reader): the LM says them of texts it cannot read.
        **generate_kwargs
            Passed to ``model.generate`` (e.g. ``repetition_penalty=1.2``).

        Examples
        --------
        >>> ex.explain(emb.embed(["stocks fell"]), task="keywords")  # doctest: +SKIP
        ['stocks, market, fall']
        """
        arr = self._check_input(X)
        chosen = self._task(self._default_task() if task is None else task)
        if prompt is not None and (not isinstance(prompt, str) or not prompt.strip()):
            raise ValueError(f"prompt must be a non-empty string, got {prompt!r}")
        question = prompt if prompt is not None else chosen.prompts[0]
        if max_new_tokens is None:  # a whole answer gets room to reach its sentence end
            max_new_tokens = (
                self.max_length
                if chosen.source == "text"
                else chosen.max_answer_tokens * (WHOLE_ROOM if whole else 1)
            )
        if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be a positive integer, got {max_new_tokens!r}")
        if isinstance(best_of, bool) or not isinstance(best_of, int) or best_of < 1:
            raise ValueError(f"best_of must be a positive integer, got {best_of!r}")
        if readings is None:
            readings = self.read(arr)
        elif len(readings) != arr.shape[0] or not all(isinstance(r, str) for r in readings):
            raise ValueError(
                f"readings must be {arr.shape[0]} strings, one per vector, got "
                f"{len(readings)} items"
            )
        if ban_inventions:
            from interpret.explain.inventions import invention_bans

            bans = invention_bans(self.decoder_.tokenizer, readings)
            generate_kwargs["bad_words_ids"] = [
                *(generate_kwargs.get("bad_words_ids") or []),
                *bans,
            ]
        said = self._generate(
            arr,
            question,
            max_new_tokens=max_new_tokens,
            num_beams=max(num_beams, best_of),
            num_return_sequences=best_of,
            readings=readings,
            whole=whole,
            batch_size=batch_size,
            progress=progress,
            **generate_kwargs,
        )
        if whole and readings is not None:  # never an empty answer where there are words
            said = [t if t.strip() else readings[i // best_of] for i, t in enumerate(said)]
        if with_reading:
            if readings is None:
                raise ValueError("with_reading=True needs an explainer with a reader")
            k = best_of + 1
            said = [
                t
                for i in range(arr.shape[0])
                for t in (*said[i * best_of : (i + 1) * best_of], readings[i])
            ]
            return self._closest(arr, said, k)
        return said if best_of == 1 else self._closest(arr, said, best_of)

    def _closest(self, arr: np.ndarray, said: list[str], k: int) -> list[str]:
        """Of each row's ``k`` answers, the one the explained embedder puts closest to it."""
        E = np.asarray(self.embedder_.embed([t if t.strip() else " " for t in said]))
        E = E.reshape(arr.shape[0], k, -1).astype(np.float64)
        E /= np.maximum(np.linalg.norm(E, axis=2, keepdims=True), 1e-12)
        target = arr / np.maximum(np.linalg.norm(arr, axis=1, keepdims=True), 1e-12)
        best = np.einsum("nkd,nd->nk", E, target).argmax(axis=1)
        return [said[i * k + int(j)] for i, j in enumerate(best)]

    def _generate(
        self,
        arr: np.ndarray,
        prompt: str,
        *,
        max_new_tokens: int,
        num_beams: int = 1,
        num_return_sequences: int = 1,
        readings: Sequence[str] | None = None,
        batch_size: int = 32,
        progress: bool | None = None,
        projector: Any = None,
        whole: bool = True,
        **generate_kwargs: Any,
    ) -> list[str]:
        """The LM's answers to ``prompt`` about each row of the checked vectors ``arr`` (beside
        each row's reading, when given); whole sentences or clauses unless ``whole=False``."""

        def build(soft: torch.Tensor, rows: slice) -> list[Any]:
            said = None if readings is None else list(readings[rows])
            return self._prompt_parts(soft, [prompt] * soft.shape[0], said)

        return self.generate(
            arr,
            build=build,
            max_new_tokens=max_new_tokens,
            num_beams=num_beams,
            num_return_sequences=num_return_sequences,
            batch_size=batch_size,
            progress=progress,
            desc="explain",
            projector=projector,
            whole=whole,
            **generate_kwargs,
        )

    def _default_task(self) -> str:
        names = [t.name for t in self.tasks_]
        return "topic" if "topic" in names else names[0]
