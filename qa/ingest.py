"""Files → index: decide what is new, changed or unchanged, then chunk, embed and apply once.

A file whose bytes hash to what the index already holds for its path is not even parsed; a file
whose content changed replaces every document the index held for that path; a document whose
content is already indexed (same id) under another path is skipped as a duplicate. All changes of
one ingest land in a single new generation, so an interrupted ingest leaves the index as it was.
Out of scope: watching folders for changes, and deleting documents whose files vanished
(``Assistant.remove`` does that on request).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .chunk import ChunkSettings, chunk_document
from .embed import Embedder
from .index import Addition, Index
from .lexical import tokenize
from .load import DEFAULT_MAX_BYTES, LoadError, SkippedFile, discover, file_hash, load_file
from .records import Chunk, Document

Progress = Callable[[int, int], None]


class IngestReport(NamedTuple):
    added: list[str]
    replaced: list[str]
    unchanged: list[str]
    skipped: list[SkippedFile]
    chunks: int
    seconds: float

    def summary(self) -> str:
        return (f"{len(self.added)} added, {len(self.replaced)} replaced, {len(self.unchanged)} "
                f"unchanged, {len(self.skipped)} skipped; {self.chunks} new chunks "
                f"in {self.seconds:.1f}s")


class _Plan(NamedTuple):
    documents: list[tuple[Document, str]]
    remove: set[str]
    replaced: list[str]
    unchanged: list[str]
    skipped: list[SkippedFile]
    records: dict[str, int]


def _plan(index: Index, paths: Iterable[str | Path], max_bytes: int) -> _Plan:
    files, skipped = discover(paths)
    known = index.file_hashes()
    by_path: dict[str, list[str]] = {}
    for d in index.snapshot.documents:
        by_path.setdefault(d["path"], []).append(d["id"])
    indexed_ids = {d["id"] for d in index.snapshot.documents}
    docs: list[tuple[Document, str]] = []
    planned: set[str] = set()
    records: dict[str, int] = {}
    remove: set[str] = set()
    replaced, unchanged = [], []
    for f in files:
        path = str(f.resolve())
        digest = file_hash(f)
        if known.get(path) == digest:
            unchanged.append(path)
            continue
        try:
            loaded = load_file(path, max_bytes)
        except LoadError as e:
            skipped.append(SkippedFile(e.path, e.reason))
            continue
        old_ids = set(by_path.get(path, []))
        if old_ids:
            replaced.append(path)
            remove |= old_ids
        elsewhere = indexed_ids - old_ids
        for doc in loaded:
            if doc.id in elsewhere or doc.id in planned:
                skipped.append(SkippedFile(path, f"same content as indexed document {doc.id}"))
                continue
            planned.add(doc.id)
            docs.append((doc, digest))
            records[path] = records.get(path, 0) + 1
    return _Plan(docs, remove, replaced, unchanged, skipped, records)


def _sentence_texts(chunks: list[Chunk]) -> tuple[list[str], list[list[int]]]:
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


class _Texts:
    """The distinct texts to embed across all documents of an ingest, each embedded once."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self._slot: dict[str, int] = {}

    def slots(self, texts: Iterable[str]) -> np.ndarray:
        return np.asarray([self._slot.setdefault(t, len(self._slot)) for t in texts], np.int64)

    def embed(self, embedder: Embedder, report: Callable[[int], None] | None) -> np.ndarray:
        self.texts = list(self._slot)
        batch = int(getattr(embedder, "batch", 32))
        parts = []
        for i in range(0, len(self.texts), batch):
            parts.append(np.asarray(embedder.embed_passages(self.texts[i : i + batch]), np.float32))
            if report:
                report(min(i + batch, len(self.texts)))
        return np.vstack(parts) if parts else np.zeros((0, embedder.dim), np.float32)


def encode(documents: list[tuple[Document, str]], embedder: Embedder, settings: ChunkSettings,
           progress: Progress | None = None) -> list[Addition]:
    """Chunk, embed (passages and sentences) and tokenize each document.

    Every distinct text of the whole ingest (a sentence shared by overlapping chunks or repeated
    across documents, a one-sentence chunk that is its own sentence) is embedded once, in batches
    that span documents; ``progress`` hears after each batch, in chunks (the share of the texts
    embedded so far), so a long ingest shows a steady rate and an ETA.
    """
    chunked = [(d, h, chunk_document(d, settings, embedder.count_tokens)) for d, h in documents]
    total = sum(len(c) for _, _, c in chunked)
    pool = _Texts()
    plans = []
    for doc, digest, chunks in chunked:
        sentences, picks = _sentence_texts(chunks)
        sentence_slots = pool.slots(sentences)
        chunk_slots = pool.slots(c.text for c in chunks) if settings.passage_vectors == "embedded" else None
        plans.append((doc, digest, chunks, picks, sentence_slots, chunk_slots))
    n_texts = len(pool._slot)
    if progress and documents:
        progress(0 if n_texts else total, total)  # starts the clock of a progress bar before the first batch
    report = (lambda done: progress(total * done // n_texts, total)) if progress and n_texts else None
    vectors = pool.embed(embedder, report)
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


def ingest(index: Index, embedder: Embedder, paths: Iterable[str | Path],
           max_bytes: int = DEFAULT_MAX_BYTES, progress: Progress | None = None) -> IngestReport:
    started = time.perf_counter()
    with index.lock:
        plan = _plan(index, paths, max_bytes)
        additions = [a._replace(file_records=plan.records[a.document.path])
                     for a in encode(plan.documents, embedder, index.chunking, progress)]
        if additions or plan.remove:
            index.apply(additions, plan.remove)
    replaced = set(plan.replaced)
    return IngestReport(
        added=list(dict.fromkeys(d.path for d, _ in plan.documents if d.path not in replaced)),
        replaced=plan.replaced, unchanged=plan.unchanged, skipped=plan.skipped,
        chunks=sum(len(a.chunks) for a in additions), seconds=time.perf_counter() - started,
    )
