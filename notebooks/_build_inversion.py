"""Write notebooks/inversion.ipynb (run: .venv/bin/python notebooks/_build_inversion.py).

The notebook is executed in CI (`pytest --nbmake`); its first code cell is tagged "parameters":
SMOKE = True picks a tiny CPU budget (under a minute on two CPU cores) whose numbers are near
zero by construction; SMOKE = False picks a real budget, sized for one GPU.
"""

from __future__ import annotations

from _nbbuild import write_notebook

CELLS: list[tuple[str, str]] = [
    (
        "md",
        """# Inversion: how much text does an embedding give away?

An embedding is often stored or shared as if it were an anonymous summary of its text. It is not:
a model trained on (vector, text) pairs can write the text back (Morris et al., 2023, "Text
Embeddings Reveal (Almost) As Much As Text"; Li et al., 2023, GEIA). This notebook

1. embeds WordNet sentences with the built-in MiniLM (`all-MiniLM-L6-v2`),
2. trains an `inversion.Inverter` (MiniLM vector -> soft tokens -> SmolLM2-135M writes the text),
3. inverts held-out vectors and scores them with `inversion.evaluate` (BLEU, token F1, exact
   match, cosine, with bootstrap intervals), and
4. makes the privacy point on synthetic personal records (the `pii` corpus, which keeps the
   ground truth of every record): three attacks, each given only the victims' vectors and
   records the attacker made up, and `inversion.entity_recovery` per field (name, email, phone...).

Everything runs offline. **The first code cell picks the budget.** `SMOKE = True` (the default, run
in CI) trains for a handful of steps on a few dozen texts, so its numbers are near zero: it
checks that the pipeline runs, not how well inversion works. `SMOKE = False` trains a real budget;
it is sized for one GPU (on a CPU it takes hours). `benchmarks/inversion.py` reports the numbers of
a full run (see `benchmarks/RESULTS.md`).""",
    ),
    (
        "params",
        """# Parameters
SMOKE = True   # True: tiny CPU budget for CI, numbers near zero; False: a real run (one GPU)
SEED = 0
DEVICE = None  # None: cuda, then mps, then cpu
# Every budget below left at None follows SMOKE (smoke value / real value).
N_TRAIN = None       # WordNet training texts (64 / all ~160k of the train split)
STEPS = None         # inverter training steps (12 / 3000)
BATCH_SIZE = None    # (8 / 32)
N_EVAL = None        # held-out WordNet texts inverted and scored (8 / 500)
N_ATTACKER = None    # synthetic records the attacker makes up to train on (200 / 20000)
N_VICTIMS = None     # victims whose vectors leak (8 / 500)
PII_STEPS = None     # steps of the inverter trained on the attacker's records (8 / 3000)""",
    ),
    (
        "code",
        """def pick(value, smoke, real):
    return value if value is not None else (smoke if SMOKE else real)


n_train = pick(N_TRAIN, 64, None)
steps = pick(STEPS, 12, 3000)
batch_size = pick(BATCH_SIZE, 8, 32)
n_eval = pick(N_EVAL, 8, 500)
n_attacker = pick(N_ATTACKER, 200, 20_000)
n_victims = pick(N_VICTIMS, 8, 500)
pii_steps = pick(PII_STEPS, 8, 3000)
max_length = 16 if SMOKE else 32       # tokens of WordNet text the inverter writes
pii_max_length = 24 if SMOKE else 96   # a whole record is 66-94 SmolLM2 tokens
prefix_tokens = 8 if SMOKE else 16     # soft tokens per vector
n_bootstrap = 200 if SMOKE else 1000
print(f"SMOKE={SMOKE}: {steps} steps x {batch_size} texts on WordNet, {pii_steps} on records")""",
    ),
    (
        "md",
        """## 0. The one-liner: `inversion.invert`

Vectors and the embedder that made them are all it needs. It runs the strongest attack embedlens
has on a CPU (`inversion.SentenceInverter`). First a word search: a keyword model shipped for
MiniLM reads which words the text probably holds, the attacker's own texts (here: records of
*other* people, generated with another seed) give it starting points, and one-word edits are kept
when the embedder's cosine to the target rises. Then the built-in SmolLM2 writes the words it
found into sentences (it can spell any word from its tokens), and the cosine, with the LM's
fluency, picks one; every query is counted. No training, no GPU: at most 2,000 queries and 10 s a
text on one CPU thread (2 s in the smoke run). `benchmarks/inversion_unseen.py` measures it on
held-out real text of other genres and on records with unseen names (see
`benchmarks/RESULTS.md`).""",
    ),
    (
        "code",
        """import pandas as pd

import embedlens
import inversion
from embedlens.corpora import generate_pii
from embedlens.notebook import static_figures

static_figures()  # each figure below also carries a picture, for GitHub and other static viewers
emb = embedlens.load_embedder("minilm", device=DEVICE)
victims = generate_pii(3 if SMOKE else 20, seed=2026)  # the people whose vectors leaked
others = generate_pii(300 if SMOKE else 3000, seed=12345).texts  # records the attacker holds
result = inversion.invert(
    emb.embed(victims.texts),
    emb,
    aux_texts=others,
    max_seconds=2 if SMOKE else 10,
    threads=1,
    return_details=True,
)
print(result.summary())
pd.set_option("display.max_colwidth", None)
pd.DataFrame(
    {"true record": victims.texts, "decoded": result.texts, "cosine": result.cosines.round(3)}
)""",
    ),
    (
        "md",
        """## 1. Texts and their embeddings

WordNet's example sentences and glosses (about 165k, installed with Debian's `wordnet-base`),
kept to at most 20 words, split once by a stable hash of each text
(`embedlens.train_test_split`), so no held-out text is ever trained on.""",
    ),
    (
        "code",
        """import random
import re
import tempfile
import time
from collections import Counter

import pandas as pd
import plotly.express as px

import embedlens
import inversion

emb = embedlens.load_embedder("minilm", device=DEVICE)
short = [t for t in embedlens.load_texts("wordnet") if len(t.split()) <= 20]
train_texts, test_texts = embedlens.train_test_split(short, test_size=0.02, seed=SEED)
# seeded samples: the corpus lists WordNet's examples before its glosses, so a prefix would
# hold one kind only
if n_train is not None:
    train_texts = random.Random(SEED).sample(train_texts, n_train)
test_texts = random.Random(SEED + 1).sample(test_texts, min(n_eval, len(test_texts)))

X_test = emb.embed(test_texts)  # what an attacker holds: vectors only
print(f"{emb.name}: {emb.dim}-dim; {len(train_texts)} training texts, {len(test_texts)} held out")
print(X_test.shape, X_test.dtype)""",
    ),
    (
        "md",
        """## 2. Train an inverter

`Inverter` maps each vector through a small MLP to `prefix_tokens` soft tokens in SmolLM2's input
space and trains the model to write the text after them. With `finetune="projector"` only the
projector learns (SmolLM2 stays frozen; `"lora"` and `"full"` train more of it). `fit` embeds the
training texts once and runs the shared trainer (AdamW, warmup and cosine decay, gradient
clipping; `out_dir=` adds checkpoints and `resume=True`).""",
    ),
    (
        "code",
        """began = time.perf_counter()
inv = inversion.Inverter(
    embedder=emb,
    decoder="smollm2",
    prefix_tokens=prefix_tokens,
    finetune="projector",
    max_length=max_length,
    device=DEVICE,
)
inv.fit(train_texts, steps=steps, batch_size=batch_size, log_every=max(1, steps // 50), seed=SEED)
fit_seconds = time.perf_counter() - began
log = pd.DataFrame([r for r in inv.history_.history if "loss" in r and "event" not in r])
print(f"{inv.history_.steps} steps, {steps * batch_size} examples seen, {fit_seconds:.0f} s "
      f"on {inv.device_}; loss {log['loss'].iloc[0]:.2f} -> {log['loss'].iloc[-1]:.2f}")
px.line(log, x="step", y="loss", title="Training loss (token cross-entropy)")""",
    ),
    (
        "md",
        """The trained part (the projector, plus adapters or weights when SmolLM2 was trained too) saves
to a directory of `config.json` and `model.safetensors`; the frozen base model is referenced by
name, not copied. Loading checks that the embedder is the one it was trained for.""",
    ),
    (
        "code",
        """with tempfile.TemporaryDirectory() as folder:
    inv.save_pretrained(folder)
    reloaded = inversion.Inverter.from_pretrained(folder, embedder=emb, device=DEVICE)
print(reloaded)""",
    ),
    (
        "md",
        """## 3. Invert held-out vectors and score them

`invert` decodes each vector (greedy here; `num_beams` for beam search). `evaluate` scores the
decoded texts against the originals: corpus BLEU (sacrebleu), token F1 (unigram overlap, as
vec2text reports it), exact match, and the cosine between the embeddings of original and decoded
text, each with a bootstrap interval.""",
    ),
    (
        "code",
        """hypotheses = reloaded.invert(X_test)
scores = inversion.evaluate(test_texts, hypotheses, embedder=emb, bootstrap=n_bootstrap)
pd.DataFrame({"original": test_texts, "decoded": hypotheses}).head(8)""",
    ),
    (
        "code",
        """pd.DataFrame({
    "value": scores.metrics,
    "ci_low": {k: lo for k, (lo, hi) in scores.ci.items()},
    "ci_high": {k: hi for k, (lo, hi) in scores.ci.items()},
}).round(3)""",
    ),
    (
        "code",
        """scores.figure()""",
    ),
    (
        "md",
        """In smoke mode these numbers are near zero and the decoded texts are unrelated prose: a dozen
steps on a few dozen texts teach the projector almost nothing, and SmolLM2 writes what it would
write anyway. That is the honest result of that budget, not a measure of the risk. With
`SMOKE = False` the inverter sees ~100k examples; the full benchmark's numbers are in
`benchmarks/RESULTS.md`.""",
    ),
    (
        "md",
        """## 4. The privacy point: personal records

The `pii` corpus generates synthetic records (faker): a name, email, phone, street address, date
of birth, city, state and a medical condition rendered into a note, with the ground truth kept in
`corpus.fields`. The **victims'** records are only ever embedded. The **attacker** has the public
embedder and makes up records of the same kind (another seed: no victim is among them), and runs
three attacks on the victims' vectors:

- **nearest neighbour**: answer each vector with the most similar of the attacker's records;
- **bag of words** (Song & Raghunathan, 2020): a multi-label classifier from vector to the words
  of its text, trained in seconds on a CPU;
- **inverter**: an `Inverter` trained on the attacker's records.""",
    ),
    (
        "code",
        """victims = embedlens.load_corpus("pii", n=n_victims, seed=SEED)
attacker = embedlens.load_corpus("pii", n=n_attacker, seed=SEED + 1000)
X_victims = emb.embed(victims.texts)
X_attacker = emb.embed(attacker.texts)
print(len(set(f["name"] for f in victims.fields) & set(f["name"] for f in attacker.fields)),
      "victim names appear among the attacker's records")
victims.texts[0]""",
    ),
    (
        "code",
        """nearest = inversion.NearestNeighbourAttack(emb).fit(attacker.texts, aux_embeddings=X_attacker)

bow = inversion.BagOfWordsAttack(embedder=emb, random_state=SEED).fit(X_attacker, attacker.texts)
words = bow.score(X_victims, victims.texts)
print(f"bag of words: {len(bow.vocabulary_)} words; on the victims' vectors word precision "
      f"{words.precision:.2f}, recall {words.recall:.2f}, F1 {words.f1:.2f}")

began = time.perf_counter()
inv_pii = inversion.Inverter(
    embedder=emb, decoder="smollm2", prefix_tokens=prefix_tokens, max_length=pii_max_length,
    device=DEVICE,
)
inv_pii.fit(attacker.texts, steps=pii_steps, batch_size=batch_size, seed=SEED,
            log_every=max(1, pii_steps // 50))
print(f"record inverter: {pii_steps} steps in {time.perf_counter() - began:.0f} s")""",
    ),
    (
        "md",
        """A fourth row is the floor every attack must beat: **prior**, which ignores the vector and
guesses the attacker's most frequent value of each field (a condition is right about one time in
twenty by this guess alone).""",
    ),
    (
        "code",
        """common = {k: Counter(f[k] for f in attacker.fields).most_common(1)[0][0]
          for k in attacker.fields[0]}
decoded = {
    "prior": [", ".join(common.values())] * len(victims),
    "nearest neighbour": nearest.invert(X_victims),
    "bag of words": bow.invert(X_victims),
    "inverter": inv_pii.invert(X_victims),
}
pd.DataFrame({"victim": victims.texts, **decoded}).head(4).T""",
    ),
    (
        "md",
        """`entity_recovery` checks each ground-truth field of each victim in each attack's text:
case- and punctuation-tolerant, digits only for phones and dates. A name counts only when the
whole name appears, so the last column adds a looser test: any word of the person's name.""",
    ),
    (
        "code",
        """def words_of(text):
    return set(re.findall(r"\\w+", text.casefold()))


rows, intervals = {}, {}
for attack, texts in decoded.items():
    found = inversion.entity_recovery(victims.fields, texts, bootstrap=n_bootstrap, seed=SEED)
    rows[attack] = dict(found.rate)
    rows[attack]["name (a word of it)"] = sum(
        bool(words_of(f["name"]) & words_of(t)) for f, t in zip(victims.fields, texts)
    ) / len(victims)
    intervals[attack] = found.ci
recovery = pd.DataFrame(rows).T
recovery.round(3)""",
    ),
    (
        "code",
        """long = recovery.reset_index(names="attack").melt(id_vars="attack", var_name="field",
                                                   value_name="recovered")
px.bar(long, x="field", y="recovered", color="attack", barmode="group", range_y=[0, 1],
       title=f"Fields of {len(victims)} victims recovered from their vectors alone")""",
    ),
    (
        "code",
        """def with_ci(attack, field):
    ci = intervals[attack].get(field)
    band = f" (95% CI {ci[0]:.0%}-{ci[1]:.0%})" if ci else ""
    return f"{recovery.loc[attack, field]:.0%}{band}"


print(f"{len(victims)} victims, smoke budget: {SMOKE}")
for attack in decoded:
    print(f"{attack:>17}: full names {with_ci(attack, 'name')}, "
          f"medical condition {with_ci(attack, 'condition')}")""",
    ),
    (
        "md",
        """**Reading the numbers.** Compare every row with **prior**: an attack leaks a field only
where it beats that guess. With the smoke budget the inverter's row is empty, and that is all it
says: it has seen a few batches of records and writes at most 24 tokens (the name is near the
start of most records, the email and phone near the end). The nearest neighbour can only return
someone else's record, so it never names the victim, but it does return a record with the same
medical condition far more often than the prior's one in twenty: the condition is what MiniLM's
vector of such a note encodes most strongly, and a lookup in made-up records reads it off. The bag
of words' word F1 is high mostly because the template words (*diagnosed*, *reach*, *birth*) are
easy; its per-field rows say what it learned about the person. With `SMOKE = False` (20,000
attacker records, 3,000 steps, whole records) the same cells measure the real leak; run it on a
GPU before drawing conclusions about MiniLM, and before storing its vectors of personal text as
if they were anonymous.""",
    ),
]


if __name__ == "__main__":
    write_notebook(CELLS, "inversion.ipynb")
