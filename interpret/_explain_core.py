"""The machinery under :class:`~interpret.explain.Explainer`: LM, projector, prompts, generation.

:class:`ExplainerCore` loads the LM, builds the projector, turns prompts and soft tokens into
one spliced batch, implements the :class:`embedlens.train.Trainable` protocol (the ``index`` of a
batch picks each example's task prompt), asks the teacher (the LM reading the real text) for
answers, and generates explanations through :func:`interpret.soft_prompt.generate_from_embeds`.
The public API lives in :mod:`interpret.explain`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from embedlens._utils import check_matrix, progress_bar
from embedlens.models import Decoder
from interpret._explain_tasks import PromptFormat, Task, TeacherCache, clean_answer, resolve_tasks

if TYPE_CHECKING:
    import torch

    from embedlens.embedders import Embedder
    from interpret.soft_prompt import SoftPrompt, SoftPromptedLM, Spliced, Tokens

logger = logging.getLogger(__name__)

Finetune = Literal["projector", "lora"]
FINETUNE_MODES: tuple[str, ...] = ("projector", "lora")


def _keeps_logits(model: Any) -> bool:
    """Whether ``model``'s forward takes ``logits_to_keep`` (recent transformers causal LMs)."""
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    try:
        return "logits_to_keep" in inspect.signature(base.forward).parameters
    except (TypeError, ValueError):  # pragma: no cover - an unusual forward
        return False


def answer_loss(model: Any, batch: Spliced) -> torch.Tensor:
    """Mean cross-entropy of the labelled tokens, with logits computed only where needed.

    The prompt and the soft tokens carry no labels, so the LM head (a large share of a small
    LM's compute: vocabulary x width per position) runs only from the first position that
    predicts a label; the loss equals the LM's own ``labels=`` loss.
    """
    import torch

    from interpret.soft_prompt import IGNORE_INDEX

    labels = batch.labels
    has = labels != IGNORE_INDEX
    if not _keeps_logits(model) or not bool(has.any()):
        return model(**batch.model_inputs()).loss  # type: ignore[no-any-return]
    first = int(has.long().argmax(dim=1)[has.any(dim=1)].min())
    keep = labels.shape[1] - max(first - 1, 0)
    out = model(**batch.model_inputs(labels=False), logits_to_keep=keep)
    logits = out.logits[:, :-1]
    target = labels[:, labels.shape[1] - keep + 1 :]
    return torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(),
        target.reshape(-1),
        ignore_index=IGNORE_INDEX,
    )


class ExplainerCore:
    """Internals shared by the public methods of :class:`~interpret.explain.Explainer`."""

    embedder: Embedder | str
    decoder: str | Decoder
    prefix_tokens: int
    finetune: str
    tasks: Any
    max_length: int
    hidden: int | None
    lora_rank: int
    system_prompt: str | None
    device: str | None
    dtype: str | None
    tasks_: tuple[Task, ...]
    embedder_: Embedder
    decoder_: Decoder
    projector_: SoftPrompt
    module_: SoftPromptedLM
    example_prompts_: list[str]

    # ------------------------------------------------------------------ building

    def _check_params(self) -> tuple[Task, ...]:
        from interpret.soft_prompt import check_soft_prefix_params

        check_soft_prefix_params(self, FINETUNE_MODES)
        return resolve_tasks(self.tasks)

    def _resolve_embedder(self) -> Embedder:
        if isinstance(self.embedder, str):
            from embedlens.embedders import load_embedder

            return load_embedder(self.embedder)
        return self.embedder

    def _load_lm(self) -> None:
        """Load the (base) LM and its tokenizer; no projector yet."""
        from embedlens.models import load_backbone

        # adapters go on a copy of a caller's loaded LM, so the caller's model stays as it was
        dec = load_backbone(
            self.decoder, copy=self.finetune == "lora", device=self.device, dtype=self.dtype
        )
        if getattr(dec.model.config, "is_encoder_decoder", False):
            raise ValueError(
                f"the Explainer needs a causal (decoder-only) LM, got the encoder-decoder "
                f"{dec.name!r}: pass 'smollm2' or another causal LM"
            )
        tok = dec.tokenizer
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        if tok.eos_token_id is None:
            raise ValueError(f"decoder {dec.name!r} has no EOS token: generation could not stop")
        dec.model.requires_grad_(False)
        self.decoder_ = dec
        self.device_ = next(dec.model.parameters()).device
        self.format_ = PromptFormat(tok, self.system_prompt)
        self._token_cache: dict[str, list[int]] = {}
        self._split_cache: dict[str, tuple[str, str]] = {}

    def _new_projector(self, in_dim: int, seed: int) -> SoftPrompt:
        import torch

        from interpret.soft_prompt import SoftPrompt

        dev = self.device_
        with torch.random.fork_rng(devices=[dev.index or 0] if dev.type == "cuda" else []):
            torch.manual_seed(seed)
            return SoftPrompt.for_model(
                self.decoder_.model, in_dim, self.prefix_tokens, hidden=self.hidden
            ).to(dev)

    def _attach(self, in_dim: int, *, seed: int = 0) -> None:
        """Add the adapters (LoRA) and a fresh projector, deterministic under ``seed``."""
        from interpret.soft_prompt import SoftPromptedLM, add_lora

        model = self.decoder_.model
        if self.finetune == "lora":
            import torch

            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                model = add_lora(model, rank=self.lora_rank)
            self.decoder_ = self.decoder_._replace(model=model)
        self.projector_: SoftPrompt = self._new_projector(in_dim, seed)
        self.module_ = SoftPromptedLM(self.projector_, model)
        self.seed_ = seed

    def _check_fitted(self) -> None:
        if not hasattr(self, "projector_"):
            raise RuntimeError(
                "this Explainer is not fitted: call fit(texts) first, or load a trained one "
                "with Explainer.from_pretrained(directory)"
            )

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
        import torch

        from interpret.soft_prompt import Tokens

        width = max(1, max(len(r) for r in rows))
        pad = self.decoder_.tokenizer.pad_token_id
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
            mask[i, : len(r)] = 1
        return Tokens(ids.to(self.device_), mask.to(self.device_), target=target)

    def _answer_ids(self, texts: Sequence[str]) -> list[list[int]]:
        tok = self.decoder_.tokenizer
        enc = tok(
            list(texts), add_special_tokens=False, truncation=True, max_length=self.max_length
        )
        return [[*r, tok.eos_token_id] for r in enc["input_ids"]]

    def _split(self, prompt: str) -> tuple[str, str]:
        pair = self._split_cache.get(prompt)
        if pair is None:
            pair = self.format_.split(prompt)
            if len(self._split_cache) < 1_000:
                self._split_cache[prompt] = pair
        return pair

    def _prompt_parts(
        self, soft: torch.Tensor, prompts: Sequence[str]
    ) -> list[torch.Tensor | Tokens]:
        """``[prefix tokens, soft tokens, suffix tokens]`` for a batch of student prompts."""
        pairs = [self._split(p) for p in prompts]
        parts: list[torch.Tensor | Tokens] = []
        prefixes = [self._ids(pre) for pre, _ in pairs]
        if any(prefixes):
            parts.append(self._tokens(prefixes))
        parts.append(soft)
        parts.append(self._tokens([self._ids(suf) for _, suf in pairs]))
        return parts

    # ------------------------------------------------------------------ the Trainable protocol

    def trainable_module(self) -> torch.nn.Module:
        """The projector and the LM as one module (only trainable parameters are optimized)."""
        self._check_fitted()
        return self.module_

    def training_loss(
        self, vectors: torch.Tensor, texts: list[str], index: np.ndarray
    ) -> torch.Tensor:
        """Mean token cross-entropy of the answers ``texts`` to each example's task prompt."""
        from interpret.soft_prompt import splice

        prompts = [self.example_prompts_[int(i)] for i in index]
        parts = self._prompt_parts(self.projector_(vectors), prompts)
        parts.append(self._tokens(self._answer_ids(texts), target=True))
        batch = splice(self.decoder_.model, parts, padding_side="right")
        return answer_loss(self.decoder_.model, batch)

    def count_truncated(self, texts: Sequence[str]) -> int:
        """How many training answers are longer than ``max_length`` tokens."""
        from embedlens.tokens import count_longer

        return count_longer(self.decoder_.tokenizer, texts, self.max_length)

    def generate_texts(self, X: np.ndarray) -> list[str]:
        """Explanations for the trainer's held-out evaluation (the first task's question)."""
        task = self.tasks_[0]
        limit = self.max_length if task.source == "text" else task.max_answer_tokens
        arr = self._check_input(X)
        return self._generate(arr, task.prompts[0], max_new_tokens=limit, progress=False)

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
        from interpret.soft_prompt import generate_from_embeds, splice

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

    def _check_input(self, X: Any, what: str = "X") -> np.ndarray:
        self._check_fitted()
        dim = self.projector_.in_dim
        arr = np.asarray(X)
        width = arr.shape[-1] if arr.ndim in (1, 2) else None
        if width is not None and width != dim and arr.dtype != object:
            raise ValueError(
                f"Explainer expects {dim}-dim embeddings from {self.embedder_.name!r}, got "
                f"{width}: pass embeddings from that model or train an explainer for yours"
            )
        return check_matrix(arr, what=what, dim=dim)

    def _generate(
        self,
        arr: np.ndarray,
        prompt: str,
        *,
        max_new_tokens: int,
        num_beams: int = 1,
        batch_size: int = 32,
        progress: bool | None = None,
        projector: SoftPrompt | None = None,
        **generate_kwargs: Any,
    ) -> list[str]:
        import torch

        from interpret.soft_prompt import generate_from_embeds, splice

        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        proj = self.projector_ if projector is None else projector
        model, tok = self.decoder_.model, self.decoder_.tokenizer
        was_training = self.module_.training
        self.module_.eval()
        out: list[str] = []
        starts = range(0, arr.shape[0], batch_size)
        try:
            for s in progress_bar(starts, progress=progress, total=len(starts), desc="explain"):
                vec = torch.from_numpy(arr[s : s + batch_size]).to(self.device_)
                with torch.no_grad():
                    soft = proj(vec)
                parts = self._prompt_parts(soft, [prompt] * vec.shape[0])
                batch = splice(model, parts, padding_side="left")
                out += generate_from_embeds(
                    model,
                    tok,
                    batch.inputs_embeds,
                    batch.attention_mask,
                    max_new_tokens=max_new_tokens,
                    num_beams=num_beams,
                    **generate_kwargs,
                )
        finally:
            self.module_.train(was_training)
        return out

    def _default_task(self) -> str:
        names = [t.name for t in self.tasks_]
        return "topic" if "topic" in names else names[0]
