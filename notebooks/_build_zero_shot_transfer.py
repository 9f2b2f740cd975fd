"""Write notebooks/zero_shot_transfer.ipynb (run: .venv/bin/python notebooks/_build_zero_shot_transfer.py).

The notebook is executed in CI (`pytest --nbmake`); its first code cell is tagged "parameters":
SMOKE = True picks a tiny CPU budget (well under a minute on two CPU cores); SMOKE = False a
larger one (minutes on a CPU).
"""

from __future__ import annotations

from _nbbuild import write_notebook

CELLS: list[tuple[str, str]] = [
    (
        "md",
        """# Attacking an embedder you cannot train for: zero-shot decoding and few-shot transfer

A trained inverter (see `inversion.ipynb`) needs thousands of (vector, text) pairs from the
attacked model and hours of training. Two cheaper attacks need neither:

1. **Zero-shot guided decoding** (`inversion.GuidedInverter`): a small language model proposes
   the next words, and the attacked embedder itself, queried as a black box, says which candidate
   is closest to the leaked vector. No training; the cost is the number of embedder queries,
   which the attack counts (`queries_`) and can be capped (`max_queries`).
2. **Few-shot transfer** (`inversion.align`): an attack built for one embedder (here the built-in
   MiniLM) is reused on another one after a linear map between their spaces is fitted on N texts
   embedded by both (least squares, ridge or orthogonal Procrustes). How many pairs are enough?

Everything runs offline with the built-in models. **The first code cell picks the budget**:
`SMOKE = True` (run in CI) is tiny, so its numbers say that the pipeline runs, not how well the
attacks work; `benchmarks/guided_align.py` reports a measured run (`benchmarks/RESULTS.md`).""",
    ),
    (
        "params",
        """# Parameters
SMOKE = True    # True: tiny CPU budget for CI; False: a larger run (minutes on a CPU)
SEED = 0
DEVICE = "cpu"
# Every budget below left at None follows SMOKE (smoke value / real value).
N_SECRETS = None     # leaked vectors decoded zero-shot (2 / 10)
MAX_LENGTH = None    # tokens per decoded text (6 / 24)
MAX_QUERIES = None   # embedder queries allowed per text (30 / 400)
EDIT_QUERIES = None  # queries of the word-edit search per text (60 / 1800)
N_AUX = None         # texts the MiniLM attack knows (200 / 5000)
PAIRS = None         # alignment sizes N (10, 50, 150 / 10, 100, 1000)
N_EVAL = None        # held-out texts for the transfer curve (12 / 200)
LAYER = 3            # the second embedder: MiniLM's mean-pooled hidden states at this layer""",
    ),
    (
        "code",
        """def pick(value, smoke, real):
    return value if value is not None else (smoke if SMOKE else real)


n_secrets = pick(N_SECRETS, 2, 10)
max_length = pick(MAX_LENGTH, 6, 24)
max_queries = pick(MAX_QUERIES, 30, 400)
edit_queries = pick(EDIT_QUERIES, 60, 1800)
n_aux = pick(N_AUX, 200, 5000)
pairs = pick(PAIRS, (10, 50, 150), (10, 100, 1000))
n_eval = pick(N_EVAL, 12, 200)
print(f"SMOKE={SMOKE}: {n_secrets} secrets, {max_queries} queries each; N in {pairs}")""",
    ),
    (
        "code",
        """import random
import time

import numpy as np
import pandas as pd
import plotly.express as px
import torch

import embedlens
import inversion
from embedlens.notebook import static_figures

static_figures()  # each figure below also carries a picture, for GitHub and other static viewers

torch.set_num_threads(1)  # tiny batches run fastest on one thread of a shared CPU
texts = embedlens.load_texts("wordnet")
texts = [t for t in texts if len(t.split()) <= 12]
train, test = embedlens.train_test_split(texts, test_size=0.05, seed=SEED)
rng = random.Random(SEED)
test = rng.sample(test, n_eval + n_secrets)
print(f"{len(train)} train-side texts, {len(test)} held-out texts")""",
    ),
    (
        "md",
        """## 1. The zero-shot attack on a black-box embedder

The victim's embedder is a remote API as far as the attacker knows: a function from a list of
texts to vectors. `embedlens.load_embedder` wraps any such callable (batching, retries, shape
checks). Here the function happens to call MiniLM, but the attack only ever sees its outputs.""",
    ),
    (
        "code",
        """minilm = embedlens.load_embedder("minilm", device=DEVICE)


def vendor_api(batch):  # stands for an HTTP call to an embedding service
    return minilm.embed(batch, progress=False)


api = embedlens.load_embedder(vendor_api, name="vendor/embed-v1")
secrets = test[:n_secrets]
leaked = api.embed(secrets)  # what a vector store gives away
attack = inversion.GuidedInverter(
    embedder=api, decoder="smollm2", beam_width=4, top_k=8, max_length=max_length,
    max_queries=max_queries, length_penalty=0.1, device=DEVICE,
)
start = time.perf_counter()
recovered = attack.invert(leaked)
print(f"{time.perf_counter() - start:.1f} s")
pd.DataFrame({
    "secret": secrets, "recovered": recovered, "cosine": attack.cosines_.round(3),
    "queries": attack.queries_,
})""",
    ),
    (
        "code",
        """inversion.evaluate(secrets, recovered, embedder=api, bootstrap=0).metrics""",
    ),
    (
        "md",
        """### Adding a word search

A language model's proposals are fluent but generic. A mean-pooled embedder keeps much of a
text's vocabulary, so the attack can also ask it word by word: each word of the LM tokenizer's
vocabulary is embedded once (a fixed cost, `vocabulary_queries_`, shared by every later
target), the words closest to the leaked vector become its keywords, and random one-word edits
(insert or replace with a keyword or a function word, delete, move) are kept while the cosine
to the target rises (`edit_queries` per text). The result reads like a bag of words, but it
holds many of the secret's words.""",
    ),
    (
        "code",
        """words_attack = inversion.GuidedInverter(
    embedder=api, decoder="smollm2", beam_width=2, top_k=4, max_length=max_length,
    max_queries=max_queries + edit_queries, edit_queries=edit_queries, keywords=30,
    length_penalty=0.1, device=DEVICE,
)
start = time.perf_counter()
found = words_attack.invert(leaked)
print(f"{time.perf_counter() - start:.1f} s, vocabulary of "
      f"{words_attack.vocabulary_queries_} words embedded once")
pd.DataFrame({
    "secret": secrets, "recovered": found, "cosine": words_attack.cosines_.round(3),
    "queries": words_attack.queries_, "keywords": [", ".join(k[:6]) for k in words_attack.keywords_],
})""",
    ),
    (
        "code",
        """inversion.evaluate(secrets, found, embedder=api, bootstrap=0).metrics""",
    ),
    (
        "md",
        """## 2. Few-shot transfer: reuse an attack built for MiniLM on another embedder

The second embedder is MiniLM's mean-pooled hidden states at an intermediate layer: a different
space (the cosine between a text's two vectors is far from 1), but one that knows the same
texts. The attack built for MiniLM is the nearest-neighbour attack (`NearestNeighbourAttack`:
the closest text of an auxiliary corpus), cheap enough for this notebook; a trained `Inverter`
composes the same way (`inv.invert(aligned.embed(texts))`, or
`Inverter.from_pretrained(dir, embedder=aligned)`).""",
    ),
    (
        "code",
        """other = embedlens.load_embedder("minilm", layer=LAYER, device=DEVICE)
aux = rng.sample(train, n_aux)
known = inversion.NearestNeighbourAttack(minilm).fit(aux)
eval_texts = test[n_secrets:]
X_eval = minilm.embed(eval_texts)
S_eval = other.embed(eval_texts)
direct = inversion.evaluate(eval_texts, known.invert(X_eval), bootstrap=0).metrics["token_f1"]
pair_texts = rng.sample(train, max(pairs))
S_pairs, T_pairs = other.embed(pair_texts), minilm.embed(pair_texts)
rows = []
for n in pairs:
    for method in ("ridge", "procrustes"):
        align = inversion.Alignment(method=method, alpha=0.1).fit(S_pairs[:n], T_pairs[:n])
        aligned = inversion.AlignedEmbedder(other, align, target=minilm)  # an Embedder
        hyps = known.invert(aligned.embed(eval_texts, progress=False))
        f1 = inversion.evaluate(eval_texts, hyps, bootstrap=0).metrics["token_f1"]
        rows.append({"pairs": n, "method": method, "token_f1": f1,
                     "relative_to_direct": f1 / max(direct, 1e-9),
                     "alignment_cosine": align.score(S_eval, X_eval)})
curve = pd.DataFrame(rows)
print(f"direct attack on MiniLM's own vectors: token F1 {direct:.3f}")
curve""",
    ),
    (
        "code",
        """fig = px.line(curve, x="pairs", y="relative_to_direct", color="method", markers=True,
              log_x=True, title="Transferred attack: token F1 relative to the direct attack",
              labels={"pairs": "paired texts N", "relative_to_direct": "F1 / direct F1"})
fig""",
    ),
    (
        "md",
        """## What this shows

A leaked vector is an oracle: even with no model trained for the embedder, an attacker who can
query it ranks a language model's guesses by cosine and walks toward the text (the cost is the
query count above). And an attack built for one model carries over to another model after a few
hundred to a thousand paired texts. Defending an embedding store therefore cannot rely on "no
inverter exists for our model". `benchmarks/RESULTS.md` (section *guided and transfer*) gives the
numbers of a larger run and its limits on a CPU.""",
    ),
]


if __name__ == "__main__":
    write_notebook(CELLS, "zero_shot_transfer.ipynb")
