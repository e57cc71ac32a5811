"""Documents → ``Addition``s: chunk, embed, tokenize for BM25.

Two ways to the vectors, both on the per-core workers (``workers``):
- one pass (opt-in: ``QA_ONE_PASS=on``, an embedder with ``one_pass``, chunks ``embedded``; off by
  default until two knife-edge answer tests are settled, docs/benchmarks.md "Sentence-local last layers"):
  each distinct chunk is embedded once, and its sentences' vectors are pooled from the same forward
  pass over the chunk, whose last layers run again with each sentence's attention kept to itself
  (``qa.e5engine``, ``E5Small.sentence_local_layers``): the chunk vectors are those of the separate
  way, the sentence vectors near them, and no sentence costs a whole pass of its own;
- separate: every distinct text of the ingest (a sentence shared by overlapping chunks or repeated
  across documents, a one-sentence chunk that is its own sentence) is embedded once. A chunk's vector
  is embedded, or with ``passage_vectors="from-sentences"`` the normalised mean of its sentences'.
Out of scope: deciding what to ingest (``plan``) and writing the index (``commit``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable

import numpy as np

from ..chunk import ChunkSettings, chunk_document
from ..embed import Embedder
from ..index import Addition
from ..lexical import tokenize
from ..records import Chunk, Document
from .workers import embed_texts, run_batches

Progress = Callable[[int, int], None]
log = logging.getLogger("qa.ingest")
_told: set[str] = set()


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


def one_pass(embedder: Embedder, settings: ChunkSettings) -> bool:
    """Whether sentence vectors come from their chunk's forward pass (see the module's docstring); when
    they cannot because the engine is not built, the embedder's notice is logged (once a process)."""
    if settings.passage_vectors != "embedded" or os.environ.get("QA_ONE_PASS", "off").lower() != "on":
        return False
    notice = getattr(embedder, "one_pass_notice", None)
    if notice and notice not in _told:
        _told.add(notice)
        log.warning(notice)
    return bool(getattr(embedder, "one_pass", False))


def encode_chunked(chunked: Chunked, embedder: Embedder, settings: ChunkSettings,
                   progress: Progress | None = None, workers: int | None = None) -> list[Addition]:
    """``encode`` for documents already chunked."""
    if one_pass(embedder, settings):
        return encode_one_pass(chunked, embedder, progress, workers)
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


def encode_one_pass(chunked: Chunked, embedder: Embedder, progress: Progress | None = None,
                    workers: int | None = None) -> list[Addition]:
    """``encode_chunked`` with each distinct chunk embedded once, its sentences' vectors from the same
    pass (``Embedder.embed_passage_sentences``). A one-sentence chunk's sentence is the chunk itself
    and keeps the chunk's vector (as in the separate way); a sentence with no token of its own (the
    engine gives it a zero vector) does too."""
    total = sum(len(c) for _, _, c in chunked)
    slot: dict[tuple[str, tuple[int, ...]], int] = {}
    keys = [[slot.setdefault((c.text, tuple(s.start - c.start for s in c.sentences)), len(slot)) for c in chunks]
            for _, _, chunks in chunked]
    texts, starts = [k[0] for k in slot], [list(k[1]) for k in slot]
    if progress and chunked:
        progress(0 if texts else total, total)
    report = (lambda done: progress(total * done // len(texts), total)) if progress and texts else None
    embed = lambda a, b: embedder.embed_passage_sentences(texts[a:b], starts[a:b])  # type: ignore[attr-defined]  # noqa: E731
    parts = run_batches(embedder, texts, embed, report, workers) if texts else []
    vectors = np.vstack([p[0] for p in parts]) if parts else np.zeros((0, embedder.dim), np.float32)
    sentences = [s for p in parts for s in p[1]]
    additions = []
    for (doc, digest, chunks), rows in zip(chunked, keys):
        passage = vectors[rows] if rows else np.zeros((0, embedder.dim), np.float32)
        additions.append(Addition(
            document=doc, file_hash=digest, chunks=chunks, vectors=passage,
            sentence_vectors=[_own_or_chunk(sentences[r], vectors[r]) for r in rows],
            tokens=[tokenize(c.text) for c in chunks],
        ))
    return additions


def _own_or_chunk(sentences: np.ndarray, chunk: np.ndarray) -> np.ndarray:
    if len(sentences) == 1:
        return chunk[None, :].copy()
    empty = ~np.any(sentences, axis=1)
    if empty.any():
        sentences = sentences.copy()
        sentences[empty] = chunk
    return sentences
