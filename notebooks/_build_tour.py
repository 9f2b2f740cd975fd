"""Write notebooks/tour.ipynb, executed (run: .venv/bin/python notebooks/_build_tour.py).

The tour of the base: embedders, corpora, a callable embedder and the built-in decoder.
tests/notebooks/test_tour_notebook.py executes it and checks what it claims.
"""

from __future__ import annotations

from _nbbuild import write_notebook

CELLS: list[tuple[str, str]] = [
    (
        "md",
        """# embedlens: a tour of the base

What every part of embedlens stands on: embedders, corpora, decoders and the embedding cache.
This notebook runs offline with the built-in models.""",
    ),
    (
        "params",
        """# Parameters
N_RECORDS = 200      # size of the synthetic PII corpus
BATCH_SIZE = 64
RUN_DECODER = True   # load the built-in SmolLM2 (the first load converts it once, ~20 s)""",
    ),
    (
        "md",
        """## Embedders
`load_embedder` takes a built-in name, a hub id, a local directory, a SentenceTransformer or any
callable. The fingerprint (a hash of the weights and the pooling) guards everything saved for
this model.""",
    ),
    (
        "code",
        """import numpy as np

import embedlens

emb = embedlens.load_embedder("minilm")
print(emb, emb.fingerprint)""",
    ),
    (
        "md",
        """## Corpora with ground truth
The built-in `pii` corpus is synthetic: every record keeps the fields it mentions, so leakage
can be scored.""",
    ),
    (
        "code",
        """corpus = embedlens.load_corpus("pii", n=N_RECORDS, seed=0)
print(corpus.texts[0])
print(corpus.fields[0])
X = emb.embed(corpus.texts, batch_size=BATCH_SIZE)
X.shape, X.dtype""",
    ),
    (
        "md",
        """## How close are records to queries about them?
A query made of a person's name and city should find that person's record: the share of
queries whose nearest record is their own (recall@1).""",
    ),
    (
        "code",
        """queries = [f"{f['name']}, {f['city']}" for f in corpus.fields]
Q = emb.embed(queries, batch_size=BATCH_SIZE)
sims = Q @ X.T                      # MiniLM vectors are unit-normalised
recall_at_1 = float((sims.argmax(1) == np.arange(len(Q))).mean())
print(f"recall@1 = {recall_at_1:.2f} ({len(Q)} queries; a guess would score {1 / len(Q):.3f})")""",
    ),
    (
        "md",
        """## Any function is an embedder
A client of a remote API plugs in the same way; batching, retries and shape checks come with
it. Here the function calls MiniLM, so its vectors are MiniLM's:""",
    ),
    (
        "code",
        """def remote(batch):                 # stands in for an HTTP client
    return emb.embed(batch)


api = embedlens.load_embedder(remote, name="remote-minilm")
same = np.allclose(api.embed(corpus.texts[:5]), X[:5], atol=1e-5)
print(api, "gives the same vectors:", same)""",
    ),
    (
        "md",
        """## The built-in decoder
SmolLM2-135M-Instruct, used later by the inverter and the explainer.""",
    ),
    (
        "code",
        """if RUN_DECODER:
    model, tokenizer, name = embedlens.load_decoder("smollm2")
    chat = [{"role": "user", "content": "Name three colours."}]
    enc = tokenizer.apply_chat_template(chat, add_generation_prompt=True,
                                        return_tensors="pt", return_dict=True)
    out = model.generate(**enc, max_new_tokens=20, do_sample=False)
    answer = tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    print(f"{name}: {answer}")""",
    ),
]

if __name__ == "__main__":
    write_notebook(CELLS, "tour.ipynb")
