"""Documents → ``Addition``s: chunk, embed every distinct text once, tokenize for BM25.

Every distinct text of the whole ingest (a sentence shared by overlapping chunks or repeated across
documents, a one-sentence chunk that is its own sentence) is embedded once, by the per-core workers
(``workers``). A chunk's vector is embedded, or with ``passage_vectors="from-sentences"`` the
normalised mean of its sentences' vectors. Out of scope: deciding what to ingest (``plan``) and
writing the index (``commit``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from ..chunk import ChunkSettings, chunk_document
from ..embed import Embedder
from ..index import Addition
from ..lexical import tokenize
from ..records import Chunk, Document
from .workers import embed_texts

Progress = Callable[[int, int], None]


def sentence_texts(chunks: list[Chunk]) -> tuple[list[str], list[list[int]]]:
    """Unique sentences of a document's chunks (overlap repeats them) and each chunk's picks."""
    position: dict[tuple[int, int], int] = {}
    texts: list[str] = []
    picks = []
    for c in chunks:
        row = []
        for s in c.sentences:
            key = (s.start, s.end)
            if key not in position:
                position[key] = len(texts)
                texts.append(c.sentence_text(s))
            row.append(position[key])
        picks.append(row)
    return texts, picks


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


class TextSlots:
    """The distinct texts of an ingest, each given one slot (its row in the embedded matrix)."""

    def __init__(self) -> None:
        self._slot: dict[str, int] = {}

    def slots(self, texts: Iterable[str]) -> np.ndarray:
        return np.asarray([self._slot.setdefault(t, len(self._slot)) for t in texts], np.int64)

    @property
    def texts(self) -> list[str]:
        return list(self._slot)


Chunked = list[tuple[Document, str, list[Chunk]]]


def chunk_all(documents: list[tuple[Document, str]], embedder: Embedder, settings: ChunkSettings) -> Chunked:
    """(document, file hash, its chunks) for each document."""
    return [(d, h, chunk_document(d, settings, embedder.count_tokens)) for d, h in documents]


def encode(documents: list[tuple[Document, str]], embedder: Embedder, settings: ChunkSettings,
           progress: Progress | None = None, workers: int | None = None) -> list[Addition]:
    """Chunk, embed (passages and sentences) and tokenize each document.

    ``progress(done, total)`` hears in chunks (the share of the texts embedded so far) once before the
    first batch and after every batch, so a long ingest shows a steady rate and an ETA; an exception
    raised by it stops the embedding (the workers finish the batch they are in) and propagates.
    """
    return encode_chunked(chunk_all(documents, embedder, settings), embedder, settings, progress, workers)


def encode_chunked(chunked: Chunked, embedder: Embedder, settings: ChunkSettings,
                   progress: Progress | None = None, workers: int | None = None) -> list[Addition]:
    """``encode`` for documents already chunked."""
    total = sum(len(c) for _, _, c in chunked)
    pool = TextSlots()
    plans = []
    for doc, digest, chunks in chunked:
        sentences, picks = sentence_texts(chunks)
        sentence_slots = pool.slots(sentences)
        chunk_slots = pool.slots(c.text for c in chunks) if settings.passage_vectors == "embedded" else None
        plans.append((doc, digest, chunks, picks, sentence_slots, chunk_slots))
    texts = pool.texts
    if progress and chunked:
        progress(0 if texts else total, total)  # starts the clock of a progress bar before the first batch
    report = (lambda done: progress(total * done // len(texts), total)) if progress and texts else None
    vectors = embed_texts(embedder, texts, report, workers)
    additions = []
    for doc, digest, chunks, picks, sentence_slots, chunk_slots in plans:
        sent_vectors = vectors[sentence_slots]
        if chunk_slots is None:
            passage = np.vstack([_unit(sent_vectors[p].mean(axis=0)) for p in picks])
        else:
            passage = vectors[chunk_slots]
        additions.append(Addition(
            document=doc, file_hash=digest, chunks=chunks, vectors=passage,
            sentence_vectors=[sent_vectors[p] if p else np.zeros((0, embedder.dim)) for p in picks],
            tokens=[tokenize(c.text) for c in chunks],
        ))
    return additions
