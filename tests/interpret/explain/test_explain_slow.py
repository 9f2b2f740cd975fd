"""interpret.explain with the real offline models: MiniLM vectors read by SmolLM2 (slow)."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

TEXTS = ["the volatility of the market drove many investors away", "park the car on the level"]


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_minilm_smollm2_teacher_training_and_explaining(minilm, smollm2, tmp_path):
    from interpret.explain import Explainer

    ex = Explainer(embedder=minilm, decoder=smollm2, prefix_tokens=4, tasks=("topic",))
    cache = tmp_path / "teacher.jsonl"
    ex.fit(TEXTS, steps=1, batch_size=2, teacher_cache=cache, progress=False)
    answers = [json.loads(line)["answer"] for line in cache.read_text().splitlines()]
    # the instruction-tuned LM reading the real text says something about it
    assert len(answers) == 2 and all(len(a.split()) >= 2 for a in answers), answers
    assert np.isfinite(ex.history_.final_loss)
    # the chat template frames the vector as the user's document
    prefix, suffix = ex.format_.split("What is this text about?")
    assert prefix.endswith("<|im_start|>user\n") and suffix.endswith("<|im_start|>assistant\n")
    res = ex.evaluate(TEXTS[:1], corpus=TEXTS, baselines=("nearest",), max_new_tokens=6)
    assert isinstance(res.explanations[0], str)
    assert res.baseline_texts["nearest"] == [TEXTS[1]]
    assert -1.0 <= float(res.consistency[0]) <= 1.0
