"""The embedder backends behind :func:`embedlens.load_embedder`.

- ``embedlens.backends.base``: the :class:`Embedder` protocol, :class:`BaseEmbedder` (batching,
  the cache, checks) and the weight fingerprint.
- ``embedlens.backends.hf``: transformers models with pooling, and SentenceTransformer objects.
- ``embedlens.backends.callable``: any ``texts -> array`` callable, and stored vectors.

Import the classes from :mod:`embedlens.embedders` (or :mod:`embedlens`); these modules load
torch only inside the functions that need it.
"""
