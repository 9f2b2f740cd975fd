"""Write notebooks/explain.ipynb (run: .venv/bin/python notebooks/_build_explain.py).

The notebook is executed in CI (`pytest --nbmake`); its first code cell is tagged "parameters":
SMOKE = True picks a tiny CPU budget (under a minute on two CPU cores) whose explanations are
those of a barely trained projector; SMOKE = False picks a real budget, sized for one GPU.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS: list[tuple[str, str]] = [
    (
        "md",
        """# Explaining embeddings in words

Inversion asks which text a vector came from; explanation asks what a vector *means*, including
vectors that came from no text at all: a cluster centroid, the midpoint of two documents, a
probe's concept direction. An `interpret.Explainer` places a vector into a language model's
input as a few soft tokens (ELM, Tennenholtz et al., ICLR 2024; xRAG, Cheng et al. 2024) inside
a chat prompt, "&lt;vector&gt; What is this text about?", and lets the LM answer. This notebook

1. trains an explainer for the built-in MiniLM, read by the built-in SmolLM2-135M-Instruct (the
   LM frozen, only the projector learns), on several tasks mixed in one run, whose answers
   SmolLM2 wrote itself while reading the real texts (self-distillation, cached on disk);
2. explains a few held-out vectors, a midpoint and an interpolation, cluster centroids (beside
   TF-IDF keyword names) and the two sides of a probe's concept direction;
3. measures ELM's semantic consistency against three baselines.

Everything runs offline. **The first code cell picks the budget.** `SMOKE = True` (the default,
run in CI) trains for two steps on a handful of texts: it checks that every step runs, and its
explanations are those of an untrained projector. `SMOKE = False` trains a real budget, sized for
one GPU; `benchmarks/explain.py` reports the numbers of a longer run (`benchmarks/RESULTS.md`).""",
    ),
    (
        "params",
        """# Parameters
SMOKE = True    # True: tiny CPU budget for CI; False: a real run (one GPU)
SEED = 0
DEVICE = None   # None: cuda, then mps, then cpu
THREADS = 1     # torch CPU threads: 1 is fastest on a CPU that other jobs share
# Every budget below left at None follows SMOKE (smoke value / real value).
N_TRAIN = None         # WordNet training sentences (8 / 20000)
STEPS = None           # training steps (2 / 3000)
BATCH_SIZE = None      # (4 / 32)
N_EVAL = None          # held-out vectors scored (3 / 200)
MAX_NEW_TOKENS = None  # longest explanation (6 / 24)""",
    ),
    (
        "code",
        """import json
import tempfile
from pathlib import Path

import numpy as np
import torch

import embedlens
from interpret import EmbeddingMap, Explainer, ExplainerLabeler


def pick(value, smoke, real):
    return value if value is not None else (smoke if SMOKE else real)


n_train = pick(N_TRAIN, 8, 20_000)
steps = pick(STEPS, 2, 3000)
batch_size = pick(BATCH_SIZE, 4, 32)
n_eval = pick(N_EVAL, 3, 200)
max_new = pick(MAX_NEW_TOKENS, 6, 24)
tasks = ("topic",) if SMOKE else ("reconstruct", "topic", "keywords", "question")
torch.set_num_threads(THREADS)
work = Path(tempfile.mkdtemp(prefix="embedlens-explain-"))
print(f"SMOKE={SMOKE}: {steps} steps x {batch_size} on {n_train} texts, tasks {tasks}")""",
    ),
    (
        "md",
        """## 1. Texts, vectors and training

WordNet's example sentences, split once by a stable hash of each text, so no held-out sentence
is ever trained on. Every training text gives one (vector, question, answer) example per task:
for `"reconstruct"` the answer is the text; for `"topic"`, `"keywords"` and `"question"` it is
what SmolLM2 says when it reads the real text in place of the vector. Those answers are
generated once and appended to `teacher.jsonl`, so a rerun (or a resumed run) reuses them.""",
    ),
    (
        "code",
        """sentences = embedlens.load_texts("wordnet-examples")
train_side, test_side = embedlens.train_test_split(sentences, test_size=0.05, seed=SEED)
rng = np.random.default_rng(SEED)
train = [train_side[i] for i in rng.choice(len(train_side), size=n_train, replace=False)]
held = [test_side[i] for i in rng.choice(len(test_side), size=max(n_eval, 4), replace=False)]

emb = embedlens.load_embedder("minilm", device=DEVICE)
explainer = Explainer(embedder=emb, decoder="smollm2", prefix_tokens=8, tasks=tasks,
                      device=DEVICE)
explainer.fit(train, steps=steps, batch_size=batch_size, lr=3e-3, seed=SEED,
              teacher_cache=work / "teacher.jsonl", progress=False)
print(f"{explainer.n_examples_} examples, final loss {explainer.history_.final_loss:.2f}")""",
    ),
    (
        "md",
        "What the teacher wrote (the training targets of the descriptive tasks):",
    ),
    (
        "code",
        """for line, text in zip((work / "teacher.jsonl").read_text().splitlines()[:3], train):
    record = json.loads(line)
    print(f"{text!r}\\n  {record['task']}: {record['answer']!r}")""",
    ),
    (
        "md",
        """## 2. Explaining vectors

`explain(X, task=...)` asks each vector the task's question (`prompt=` asks your own). The
vectors need not come from a text: the midpoint of two sentences, or points on the way from one
to the other, are explained the same way.""",
    ),
    (
        "code",
        """X_held = emb.embed(held)
for text, said in zip(held[:3], explainer.explain(X_held[:3], max_new_tokens=max_new)):
    print(f"{text!r}\\n  -> {said!r}")""",
    ),
    (
        "code",
        """a, b = X_held[0], X_held[1]
print("midpoint:", explainer.explain_midpoint(a, b, max_new_tokens=max_new))
for t, said in zip(np.linspace(0, 1, 3), explainer.interpolate(a, b, n=3, max_new_tokens=max_new)):
    print(f"t={t:.1f}: {said!r}")""",
    ),
    (
        "md",
        """## 3. Naming clusters by their centroids

`ExplainerLabeler` plugs into `EmbeddingMap.cluster`: the explainer reads each cluster's
centroid. The default labeler, TF-IDF keywords of the members' texts, names the same clusters
for comparison. `explain_centroid(X, labels)` does the same for any grouping.""",
    ),
    (
        "code",
        """X_train = emb.embed(train)
m = EmbeddingMap(method="pca", random_state=SEED).fit(X_train, texts=train)
k = 2 if SMOKE else 8
keywords = m.cluster("kmeans", n_clusters=k, random_state=SEED)
named = m.cluster("kmeans", n_clusters=k, random_state=SEED,
                  labeler=ExplainerLabeler(explainer, max_new_tokens=max_new))
for c in sorted(named.names):
    print(f"cluster {c} ({named.sizes[c]} texts): {keywords.names[c]!r} | {named.names[c]!r}")""",
    ),
    (
        "code",
        """explainer.explain_centroid(X_train, keywords.labels, max_new_tokens=max_new)""",
    ),
    (
        "md",
        """## 4. A probe's concept direction

A concept direction from `probes` (here: synthetic personal records versus WordNet sentences,
the difference of the class means) is explained by moving context vectors along it:
`explain_direction` contrasts what the LM says for x + αv and x − αv (α in units of the
vectors' norm). It takes an array, a `probes.ConceptDirection`, or a fitted binary linear
probe; `interpret` and `probes` never import each other.""",
    ),
    (
        "code",
        """from probes import concept_direction

records = embedlens.load_texts("pii", limit=8)
X_concept = np.vstack([emb.embed(records), X_train[:8]])
is_record = [1] * len(records) + [0] * min(8, len(train))
direction = concept_direction(X_concept, is_record, method="mean_diff")
contrast = explainer.explain_direction(direction, X_held[:2], alpha=0.5, max_new_tokens=max_new)
contrast.figure()""",
    ),
    (
        "md",
        """## 5. Semantic consistency

ELM's measure: the cosine between the embedding of an explanation and the vector it explains,
beside a random training text, the nearest training text, and the same LM read through an
untrained projector (95 % bootstrap intervals). With the smoke budget the explainer has not
learned anything yet, so it scores like the untrained projector.""",
    ),
    (
        "code",
        """result = explainer.evaluate(held[:n_eval], corpus=train, max_new_tokens=max_new)
{name: round(v["mean"], 3) for name, v in result.summary()["consistency"].items()}""",
    ),
    (
        "code",
        """result.figure()""",
    ),
    (
        "md",
        """## 6. Save and load

A directory with `config.json` and `model.safetensors` (the projector; the frozen SmolLM2 is
referenced by name). Loading checks that the embedder is the one the explainer was trained for.""",
    ),
    (
        "code",
        """saved = explainer.save_pretrained(work / "explainer")
loaded = Explainer.from_pretrained(saved, embedder=emb)
loaded.explain(X_held[:1], max_new_tokens=max_new) == explainer.explain(X_held[:1],
                                                                        max_new_tokens=max_new)""",
    ),
]


def build() -> nbformat.NotebookNode:
    cells = []
    for kind, source in CELLS:
        if kind == "md":
            cells.append(new_markdown_cell(source))
        else:
            cell = new_code_cell(source)
            if kind == "params":
                cell.metadata["tags"] = ["parameters"]
            cells.append(cell)
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb


if __name__ == "__main__":
    out = Path(__file__).with_name("explain.ipynb")
    nbformat.write(build(), out)
    print(f"wrote {out}")
