"""Reproduce the shipped keyword artifacts of an embedder: ``<name>-keywords`` and ``<name>-words``.

``<name>-keywords`` is a :class:`inversion.bow.BagOfWordsAttack` (one linear layer, every word
kept, stop words too) that reads the words a text probably holds off its vector;
``<name>-words`` holds the embedder's own vector of each word of a vocabulary, so that
:class:`inversion.search.SearchInverter` ranks words against what a text still misses without
embedding them first. Both are fp16 safetensors, written atomically, with a model card.

The data are what embedlens ships: the train side of WordNet's split (``train_test_split(...,
test_size=0.02, seed=0)``, the side no benchmark scores on) and generated ``pii`` records with a
seed no benchmark uses. Run on the 2-core CPU, one command::

    .venv/bin/python scripts/train_keywords.py --embedder minilm --out embedlens/pretrained

Other embedders take the same recipe (``--embedder mpnet`` or any hub id); ``--cache`` keeps
the embeddings between runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
from pathlib import Path

import numpy as np

PII_SEED = 20261207  # generated records of people no benchmark attacks


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--name", default=None, help="artifact prefix (default: --embedder)")
    parser.add_argument("--out", default="embedlens/pretrained")
    parser.add_argument("--wordnet", type=int, default=60_000, help="WordNet texts (train side)")
    parser.add_argument("--pii", type=int, default=20_000, help="generated records")
    parser.add_argument("--vocab", type=int, default=16_000, help="keyword model vocabulary")
    parser.add_argument("--words", type=int, default=20_000, help="words with shipped vectors")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache", default=None, help="embedding cache (sqlite path)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    import torch

    torch.set_num_threads(args.threads)
    from embedlens import load_embedder
    from embedlens.corpora import generate_pii, load_wordnet
    from embedlens.data import train_test_split
    from inversion.bow import BagOfWordsAttack
    from inversion.vocab import WordVectors, vocabulary_forms

    started = time.time()
    emb = load_embedder(args.embedder, cache=args.cache)
    name = args.name or args.embedder
    train, _ = train_test_split(load_wordnet().texts, test_size=0.02, seed=0)
    rng = np.random.default_rng(args.seed)
    picked = sorted(rng.choice(len(train), min(args.wordnet, len(train)), replace=False))
    texts = [train[i] for i in picked] + generate_pii(args.pii, seed=PII_SEED).texts
    X = emb.embed(texts, batch_size=128, progress=True)
    embedded = time.time() - started

    model = BagOfWordsAttack(
        vocab_size=args.vocab,
        stopwords=False,
        epochs=args.epochs,
        lr=args.lr,
        weight_decay=0.0,
        batch_size=512,
        embedder=emb,
        random_state=args.seed,
        progress=True,
    )
    held = rng.random(len(texts)) < 0.05  # a held-out share of the training data, for the card
    model.fit(X[~held], [t for t, h in zip(texts, held, strict=True) if not h])
    trained = time.time() - started - embedded
    scores = model.score(X[held], [t for t, h in zip(texts, held, strict=True) if h], top_k=20)

    words = list(vocabulary_forms(texts))[: args.words]
    table = WordVectors.embed(words, emb)

    out = Path(args.out)
    model.save_pretrained(out / f"{name}-keywords", dtype="float16")
    table.save(out / f"{name}-words")
    seconds = time.time() - started
    facts = {
        "embedder": emb.name,
        "texts": {"wordnet": len(picked), "pii": args.pii, "pii_seed": PII_SEED},
        "keywords": {
            "vocabulary": len(model.vocabulary_),
            "epochs": args.epochs,
            "lr": args.lr,
            "loss": model.loss_,
            "held_out_top20": {"precision": scores.precision, "recall": scores.recall},
        },
        "words": len(words),
        "seconds": {"embed": round(embedded), "train": round(trained), "all": round(seconds)},
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} "
        f"torch threads, torch {torch.__version__}",
    }
    print(json.dumps(facts, indent=2))


if __name__ == "__main__":
    main()
