"""A deterministic embedding for the RAG demo: signed feature hashing of word stems.

No model, no download, same vector on every machine and every run. Each word (stop words
dropped) is cut to its first five letters, a crude but robust stemmer (urine/urinary,
confused/confusion), hashed with BLAKE2b to one of ``DIMENSIONS`` coordinates and a sign, and
weighted ``1 + ln(count)``; the vector is scaled to unit length. Cosine similarity then ranks notes
by shared vocabulary, which retrieves the right note of the demo corpus for plain clinical
questions. Standard library only; the llama-index adapter is built on demand by
:func:`llama_embedding`.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections import Counter
from typing import Any

DIMENSIONS = 4096  # few collisions for a vocabulary of ~1,500 stems
STEM = 5

_WORD = re.compile(r"[a-z0-9]+")
_STOPWORD_TEXT = """
a an and are as at be been but by for from had has have he her his in is it its no not of on or
she that the their there they this to was were what when which who will with within without after
before over under into than then so if do does did can could should would may might about how all
any
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def tokens(text: str) -> list[str]:
    """Lower-case word stems (first ``STEM`` letters), stop words dropped, in text order."""
    return [word[:STEM] for word in _WORD.findall(text.lower()) if word not in _STOPWORDS]


def _bucket(feature: str) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    index = int.from_bytes(digest[:4], "little") % DIMENSIONS
    sign = 1.0 if digest[4] & 1 else -1.0
    return index, sign


def embed(text: str) -> list[float]:
    """The unit-length ``DIMENSIONS``-vector of ``text`` (all zeros for text with no words)."""
    vector = [0.0] * DIMENSIONS
    for stem, count in Counter(tokens(text)).items():
        index, sign = _bucket(stem)
        vector[index] += sign * (1.0 + math.log(count))
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector] if norm else vector


@functools.cache
def llama_embedding() -> Any:
    """A llama-index ``BaseEmbedding`` instance that calls :func:`embed`.

    The subclass is defined inside this function on purpose: a module-level
    ``class HashEmbedding(BaseEmbedding)`` would load llama-index when this module is imported,
    which is exactly the kind of statement that defeats lazy imports.
    """
    from llama_index.core.embeddings import BaseEmbedding

    class HashEmbedding(BaseEmbedding):
        """Feature-hashing embedding (deterministic, offline)."""

        def _get_query_embedding(self, query: str) -> list[float]:
            return embed(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return embed(text)

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return embed(query)

    return HashEmbedding(model_name=f"medapp-feature-hashing-{DIMENSIONS}", embed_batch_size=64)
