"""embedlens: make text embeddings understandable and auditable.

The base every part shares lives here: embedders (:func:`load_embedder`), models
(:func:`load_decoder`) and texts (:func:`load_texts`, :func:`load_corpus`). Importing this
package is light: torch, transformers, umap and plotly load only when a function needs them.

Examples
--------
>>> import embedlens
>>> emb = embedlens.load_embedder("minilm")  # doctest: +SKIP
>>> X = emb.embed(embedlens.load_texts("pii", limit=100))  # doctest: +SKIP
"""

from embedlens._version import __version__
from embedlens.cache import EmbeddingCache
from embedlens.data import Corpus, load_corpus, load_texts, train_test_split
from embedlens.embedders import (
    ArrayEmbedder,
    BaseEmbedder,
    Embedder,
    FunctionEmbedder,
    SentenceTransformerEmbedder,
    TransformersEmbedder,
    load_embedder,
)
from embedlens.models import Decoder, load_decoder, resolve_device

# ``embedlens.audit(...)`` is the plain function embedlens.audit.run.audit, and embedlens/audit/
# is the application's package. Python binds a package to its parent's attribute when the
# package is first imported, so the light package is imported here, first, and the name is then
# bound to the function, for good; the attacks, defenses and report load when the audit runs.
# So reach the package's parts with ``from embedlens.audit.x import y``, never by attribute.
# It comes after the base on purpose: imported first, it made the first numpy import (then
# deeper in the import chain) about 10 ms slower on the 2-core CPU, for ``import probes`` too.
# isort: off
from embedlens.audit import audit as audit
# isort: on


def __getattr__(name: str) -> object:
    # The audit's result class loads on first use (embedlens.audit.result).
    if name == "AuditResult":
        from embedlens.audit.result import AuditResult

        return AuditResult
    raise AttributeError(f"module 'embedlens' has no attribute {name!r}")


__all__ = [
    "ArrayEmbedder",
    "BaseEmbedder",
    "Corpus",
    "Decoder",
    "Embedder",
    "EmbeddingCache",
    "FunctionEmbedder",
    "SentenceTransformerEmbedder",
    "TransformersEmbedder",
    "__version__",
    "load_corpus",
    "load_decoder",
    "load_embedder",
    "load_texts",
    "resolve_device",
    "train_test_split",
]
