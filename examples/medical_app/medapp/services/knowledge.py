"""Clinical knowledge retrieval (RAG) over the bundled synthetic notes with llama-index.

``medapp/corpus/*.txt`` holds synthetic teaching notes (no real patients). On first use the notes
become llama-index ``TextNode``s in an in-memory ``VectorStoreIndex`` embedded with the
deterministic :mod:`medapp.embedding`; queries retrieve from that local index. No LLM and no
network: the answer is the best-matching sentence of the top note, quoted.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llama_index.core

from medapp.embedding import llama_embedding, tokens

MODULE = "llama_index.core"
#: The isolated service's name in ``[tool.lazymed.isolate.rag]`` (profile ``isolated``).
ISOLATED_SERVICE = "rag"
SERVICE = "clinical knowledge retrieval (llama-index)"
CORPUS_DIR = Path(__file__).resolve().parent.parent / "corpus"
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_lock = threading.Lock()


@dataclass(frozen=True)
class Note:
    """One corpus note: id, title, specialty and body text."""

    note_id: str
    title: str
    specialty: str
    body: str


def load_notes(directory: Path = CORPUS_DIR) -> list[Note]:
    """Parse every ``*.txt`` note in ``directory`` (sorted by file name).

    A note starts with ``key: value`` header lines (``id``, ``title``, ``specialty``), then a
    line ``---``, then the body. Raises ValueError for a note without them.
    """
    notes = []
    for path in sorted(directory.glob("*.txt")):
        header, sep, body = path.read_text(encoding="utf-8").partition("\n---\n")
        if not sep:
            raise ValueError(f"{path}: missing '---' line between header and body")
        fields = dict(line.split(":", 1) for line in header.strip().splitlines() if ":" in line)
        fields = {key.strip(): value.strip() for key, value in fields.items()}
        missing = {"id", "title", "specialty"} - fields.keys()
        if missing:
            raise ValueError(f"{path}: missing header field(s) {', '.join(sorted(missing))}")
        notes.append(
            Note(fields["id"], fields["title"], fields["specialty"], " ".join(body.split()))
        )
    return notes


@functools.cache
def _index() -> Any:
    nodes = [
        llama_index.core.schema.TextNode(
            text=f"{note.title}. {note.body}",
            id_=note.note_id,
            metadata={"title": note.title, "specialty": note.specialty},
        )
        for note in load_notes()
    ]
    return llama_index.core.VectorStoreIndex(nodes, embed_model=llama_embedding())


def _best_sentence(question: str, text: str) -> str:
    wanted = set(tokens(question))
    sentences = [s for s in _SENTENCE.split(text) if s]
    return max(sentences, key=lambda s: (len(wanted & set(tokens(s))), -sentences.index(s)))


def search(question: str, *, top_k: int = 3) -> dict[str, Any]:
    """Retrieve the ``top_k`` (1-10) notes closest to ``question``.

    Returns ``{"question", "top_k", "answer", "results": [{"note_id", "title", "specialty",
    "score", "excerpt"}], "corpus_size"}``; ``score`` is the cosine similarity rounded to 4
    places, ``answer`` the best-matching sentence of the top note. The index is built on the
    first call. Raises ValueError for an empty question or a bad ``top_k``.
    """
    if not question.strip():
        raise ValueError("question must be a non-empty string")
    if not 1 <= top_k <= 10:
        raise ValueError(f"top_k={top_k} is outside 1-10")
    with _lock:  # build the index once even if two first requests race
        index = _index()
    hits = index.as_retriever(similarity_top_k=top_k).retrieve(question)
    results = [
        {
            "note_id": hit.node.node_id,
            "title": hit.node.metadata["title"],
            "specialty": hit.node.metadata["specialty"],
            "score": round(float(hit.score), 4),
            "excerpt": hit.node.get_content()[:240],
        }
        for hit in hits
    ]
    answer = _best_sentence(question, hits[0].node.get_content()) if hits else ""
    return {
        "question": question,
        "top_k": top_k,
        "answer": answer,
        "results": results,
        "corpus_size": len(index.docstore.docs),
    }


class KnowledgeService:
    """The RAG index as an isolated service: :func:`build_index` makes one in the worker and
    the app calls :meth:`search` through ``lazymed.isolate.service("rag")``."""

    def search(self, question: str, top_k: int = 3) -> dict[str, Any]:
        """:func:`search`, run where the index lives."""
        return search(question, top_k=top_k)


def build_index() -> KnowledgeService:
    """Factory of ``[tool.lazymed.isolate.rag]``: builds the index and runs one retrieval now,
    so a warm worker has paid for llama-index, the embeddings and the retriever's own imports
    before the first request; returns the service."""
    search("warm-up", top_k=1)
    return KnowledgeService()
