"""Write notebooks/probes.ipynb, executed (run: .venv/bin/python notebooks/_build_probes.py).

Its first code cell is tagged "parameters", with smoke-sized defaults (about a minute on two CPU
cores); raise them for real numbers. tests/notebooks/test_probes_notebook.py executes it and
checks what it claims.
"""

from __future__ import annotations

from _nbbuild import write_notebook

CELLS: list[tuple[str, str]] = [
    (
        "md",
        """# What does an embedding encode? Probing MiniLM

`probes` answers the question with linear probes that are statistically honest: every score comes
with a bootstrap interval, a majority-class baseline, and a control task (Hewitt & Liang, 2019)
whose accuracy says how much a probe gets by memorising word types alone. This notebook runs

1. the SentEval-style suite (Conneau et al., 2018) built from raw WordNet example sentences,
2. a layer sweep (one probe per hidden layer, all layers from one forward pass),
3. a concept direction (past vs. present tense), and
4. LEACE erasure of that concept, with probe accuracy before and after.

Everything runs offline on the built-in MiniLM and is executed in CI.""",
    ),
    (
        "params",
        """# Parameters (smoke-sized: about a minute on two CPU cores; raise them for real numbers)
N_SENTENCES = 4000    # WordNet example sentences to draw tasks from (48k available); parse
                      # tasks parse only as many as they need
MAX_PER_TASK = 150    # samples per probing task
N_BOOTSTRAP = 200     # bootstrap resamples for the confidence intervals
SEED = 0""",
    ),
    (
        "code",
        """import random

import numpy as np
import pandas as pd

import embedlens
import probes
from embedlens.notebook import static_figures

static_figures()  # each figure below also carries a picture, for GitHub and other static viewers
emb = embedlens.load_embedder("minilm")
corpus = embedlens.load_texts("wordnet-examples")
texts = random.Random(SEED).sample(corpus, N_SENTENCES)
print(emb.name, emb.dim, f"{emb.n_layers} layers;", len(texts), "sentences, e.g.", texts[:3])""",
    ),
    (
        "md",
        """## 1. The probing suite

`run_suite` builds nine tasks from the sentences (surface: length, word content, bigram shift;
syntax: tense, subject and object number, tree depth; semantics: odd-man-out, coordination
inversion), embeds every text they need once, and probes each with 5-fold cross-validation.
Pairs of an original sentence and its perturbed copy share a group, so they never straddle two
folds. Tasks that cannot be built (too few usable sentences, spaCy missing) are listed in
`skipped` with the reason.""",
    ),
    (
        "code",
        """suite = probes.run_suite(
    emb, texts, max_per_task=MAX_PER_TASK, n_bootstrap=N_BOOTSTRAP, seed=SEED, progress=False
)
print("skipped:", dict(suite.skipped) or "none")
table = suite.table
table.round(3)""",
    ),
    ("code", "suite.figure()"),
    (
        "md",
        """Read the table as: *accuracy* against *majority_baseline* says whether the property is
linearly decodable at all; *selectivity* (accuracy minus *control_accuracy*) says how much of
that is more than type memorisation. Small tasks have wide intervals: look at `ci_low`.""",
    ),
    (
        "md",
        """## 2. A layer sweep

Which layer encodes the tense of the main verb best? `layer_sweep` takes the embedder and the
task's texts, labels and control keys (the verb lemma), pools every hidden layer in one forward
pass per batch, and fits one probe per layer on the same folds.""",
    ),
    (
        "code",
        """tense = suite.tasks["tense"]
sweep = probes.layer_sweep(
    emb,
    list(tense.texts),
    tense.labels,
    keys=tense.keys,
    n_bootstrap=N_BOOTSTRAP,
    progress=False,
)
print("best layer:", sweep.best_layer)
frame = sweep.to_frame()  # one probe per hidden layer, and the token embeddings (layer 0)
frame.round(3)""",
    ),
    ("code", "sweep.figure()"),
    (
        "md",
        """## 3. A concept direction

The difference of class means of past- and present-tense sentences is a direction in embedding
space; new sentences can be scored along it. We take the sweep's best layer as an embedder of its
own (`at_layer`: same weights, pooled at that layer).""",
    ),
    (
        "code",
        """layer_emb = emb.at_layer(sweep.best_layer)
X = layer_emb.embed(list(tense.texts), progress=False)
y = tense.labels
direction = probes.concept_direction(X, y, positive="past")
pairs = ["She walked home.", "She walks home.", "They sold the house.", "They sell the house."]
scores = probes.score(pairs, direction, embedder=layer_emb)
pd.DataFrame({"text": pairs, "past-tense score": scores})""",
    ),
    (
        "md",
        """## 4. Erasing the concept with LEACE

LEACE removes the linearly available information about tense with the least change to the
vectors. Inside a pipeline the eraser is fitted on the training folds only, so the "after" score
is an honest held-out number; it should fall to the majority baseline.""",
    ),
    (
        "code",
        """from sklearn.pipeline import make_pipeline

probe = probes.LinearProbe(standardize=True, progress=False)
before = probes.evaluate_probe(X, y, probe, n_bootstrap=N_BOOTSTRAP, progress=False)
after = probes.evaluate_probe(
    X, y, make_pipeline(probes.LEACE(), probe), n_bootstrap=N_BOOTSTRAP, progress=False
)
erased = probes.LEACE().fit(X, y).transform(X)
pd.DataFrame(
    {
        "accuracy": [before.score, after.score],
        "ci_low": [before.ci[0], after.ci[0]],
        "ci_high": [before.ci[1], after.ci[1]],
        "majority_baseline": [before.baseline, after.baseline],
    },
    index=["before erasure", "after LEACE"],
).round(3)""",
    ),
    (
        "code",
        """shift = np.linalg.norm(erased - X, axis=1) / np.linalg.norm(X, axis=1)
print(f"LEACE moved each vector by {shift.mean():.1%} of its norm on average")""",
    ),
]


if __name__ == "__main__":
    write_notebook(CELLS, "probes.ipynb")
