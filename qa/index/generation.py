"""Writing segments and generations.

A segment is written from pieces of existing segments (the live documents of each, for a merge),
followed by new additions. Old rows are copied file to file by the kernel in runs of consecutive rows
(chunk lines, vectors, sentence vectors); BM25 counts are rebuilt from the stored token ids, mapped
to the new segment's vocabulary; the FAISS index of the largest piece is copied and extended when the
index kind stays the same, else one is built. A generation is a small manifest: the settings, the
segments, and per segment the places of the documents removed since it was written.
Out of scope: embedding (``ingest``), when to merge (``merge``) and which generation is live (``live``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..lexical import BM25, Vocabulary
from ..records import Chunk, Document
from . import ann, store
from .segment import ROWS_FILE, SEGMENT_FORMAT, Segment, build_parts, gather, lang_rows


class Addition(NamedTuple):
    """A document ready to index: its chunks, a vector per chunk and per sentence, BM25 tokens.

    ``file_records`` is how many documents its file gave the index (a JSONL file gives several), so
    a file counts as unchanged only while all of them are still there."""

    document: Document
    file_hash: str
    chunks: list[Chunk]
    vectors: np.ndarray
    sentence_vectors: list[np.ndarray]
    tokens: list[list[str]]
    file_records: int = 1


class Piece(NamedTuple):
    """Documents of an existing segment to copy into a new one: their places in its documents list."""

    segment: Segment
    docs: np.ndarray

    def rows(self) -> np.ndarray:
        return np.flatnonzero(np.isin(self.segment.doc_rows, self.docs))


def doc_entry(a: Addition) -> dict[str, Any]:
    d = a.document
    return {"id": d.id, "title": d.title, "path": d.path, "lang": d.lang, "file_hash": a.file_hash,
            "file_records": a.file_records, "chars": len(d.text), "chunks": len(a.chunks), "metadata": d.metadata,
            "added": datetime.now(UTC).isoformat(timespec="seconds")}


def write_segment(folder: Path, pieces: list[Piece], additions: list[Addition], dim: int,
                  ann_request: str) -> Segment:
    """A sealed segment of ``pieces`` then ``additions``, in a staging folder (``publish`` names it),
    returned open with its FAISS indexes in memory. Memory: the additions, one BM25 build and the
    copied FAISS index; old rows are never gathered into Python objects."""
    staging = store.new_segment(folder)
    rows = [p.rows() for p in pieces]
    new_chunks = [c for a in additions for c in a.chunks]
    n = store.write_chunks(staging, (store.chunk_line(c) for c in new_chunks),
                           [(p.segment.chunks, r) for p, r in zip(pieces, rows)])
    documents, doc_rows = _documents(pieces, rows, additions)
    np.save(staging / "doc_rows.npy", doc_rows)
    langs = np.asarray([*(lang for p, r in zip(pieces, rows) for lang in p.segment.langs[r].tolist()),
                        *(c.lang for c in new_chunks)], dtype="<U8")
    np.save(staging / "langs.npy", langs)
    vectors = _write_vectors(staging, pieces, rows, additions, dim)
    _write_sentence_vectors(staging, pieces, rows, additions, dim)
    _bm25(pieces, rows, additions).save(staging / "bm25")
    counts = {lang: len(r) for lang, r in lang_rows(langs)}
    kind = ann.choose_kind(ann_request, max(counts.values(), default=0))
    parts = _parts(pieces, rows, vectors, langs, kind)
    for lang, (index, id_rows) in parts.items():
        (staging / f"ann-{lang}").mkdir()
        ann.save(index, kind, staging / f"ann-{lang}")
        if kind not in ann.REBUILT_ON_OPEN:
            np.save(staging / f"ann-{lang}" / ROWS_FILE, id_rows)
    manifest = store.seal(staging, {"rows": n, "dim": dim, "ann": kind, "langs": counts, "documents": documents},
                          SEGMENT_FORMAT)
    return Segment(staging, manifest, parts=parts)


def publish(segment: Segment) -> Segment:
    """Give a written segment its final name (under the writer lock, right before its generation)."""
    segment.folder = store.publish_segment(segment.folder)
    return segment


def write_generation(folder: Path, settings: dict[str, Any], segments: list[tuple[str, list[int]]]) -> Path:
    """Commit a generation of ``segments`` (name, places of its removed documents) and make it live."""
    staging = store.new_generation(folder)
    manifest = {**settings, "segments": [{"name": name, "deleted": sorted(deleted)} for name, deleted in segments]}
    return store.commit_generation(folder, staging, manifest)


def _documents(pieces: list[Piece], rows: list[np.ndarray], additions: list[Addition]) -> tuple[list, np.ndarray]:
    """The new segment's document entries and each row's place among them."""
    documents: list[dict[str, Any]] = []
    doc_rows = []
    for p, r in zip(pieces, rows):
        place = np.full(len(p.segment.documents), -1, np.int32)
        place[p.docs] = len(documents) + np.arange(len(p.docs))
        documents += [p.segment.documents[i] for i in p.docs.tolist()]
        doc_rows.append(place[p.segment.doc_rows[r]])
    for a in additions:
        doc_rows.append(np.full(len(a.chunks), len(documents), np.int32))
        documents.append(doc_entry(a))
    return documents, np.concatenate([np.zeros(0, np.int32), *doc_rows]).astype(np.int32)


def _write_rows(path: Path, dtype: type, dim: int, n: int, olds: list[tuple[Path, list[tuple[int, int]]]],
                new: list[np.ndarray]) -> None:
    """An .npy of ``n`` rows: row ranges of the old files copied by the kernel (no map, no Python
    copy of old rows), then ``new``."""
    row = np.dtype(dtype).itemsize * dim
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                                                 "fortran_order": False, "shape": (n, dim)})
        f.flush()
        for old_path, old_runs in olds:
            if not old_runs:
                continue
            with open(old_path, "rb") as src:
                base = _npy_data_offset(src)
                for a, b in old_runs:
                    store.copy_range(src.fileno(), f.fileno(), base + a * row, base + b * row)
        for v in new:
            f.write(np.ascontiguousarray(np.asarray(v, np.float32).reshape(-1, dim), dtype).tobytes())


def _npy_data_offset(f) -> int:
    version = np.lib.format.read_magic(f)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    read(f)
    return f.tell()


def _write_vectors(staging: Path, pieces: list[Piece], rows: list[np.ndarray], additions: list[Addition],
                   dim: int) -> np.ndarray:
    new = [np.asarray(a.vectors, dtype=np.float32).reshape(-1, dim) for a in additions]
    olds = []
    for p, r in zip(pieces, rows):
        first, end = store.runs(r)
        olds.append((p.segment.folder / "vectors.npy", list(zip(first.tolist(), end.tolist()))))
    _write_rows(staging / "vectors.npy", np.float32, dim, sum(map(len, rows)) + sum(map(len, new)), olds, new)
    return np.load(staging / "vectors.npy", mmap_mode="r")


def _write_sentence_vectors(staging: Path, pieces: list[Piece], rows: list[np.ndarray],
                            additions: list[Addition], dim: int) -> None:
    # fp16 halves the largest file; sentence scores only pick among a handful of candidates.
    counts, olds = [], []
    for p, r in zip(pieces, rows):
        offsets = p.segment.sentence_offsets
        counts.append(np.diff(offsets)[r])
        first, end = store.runs(r)
        olds.append((p.segment.folder / "sentence_vectors.npy",
                     list(zip(offsets[first].tolist(), offsets[end].tolist()))))
    counts += [np.asarray([len(v) for v in a.sentence_vectors], np.int64) for a in additions]
    offsets = np.concatenate([[0], np.cumsum(np.concatenate([np.zeros(0, np.int64), *counts]))]).astype(np.int64)
    np.save(staging / "sentence_offsets.npy", offsets)
    _write_rows(staging / "sentence_vectors.npy", np.float16, dim, int(offsets[-1]), olds,
                [v for a in additions for v in a.sentence_vectors])


def _bm25(pieces: list[Piece], rows: list[np.ndarray], additions: list[Addition]) -> BM25:
    """BM25 counts of the kept rows (their stored token ids, never re-tokenised) and the additions."""
    vocab = Vocabulary()
    ids, lengths = [], []
    for p, r in zip(pieces, rows):
        bm = p.segment.bm25
        terms = sorted(bm.vocab.ids, key=bm.vocab.ids.__getitem__)
        remap = np.asarray([vocab.ids.setdefault(t, len(vocab.ids)) for t in terms], np.int32)
        offsets = np.asarray(bm.token_offsets)
        first, end = store.runs(r)
        ids += [remap[np.asarray(bm.tokens[a:b])] for a, b in zip(offsets[first].tolist(), offsets[end].tolist())]
        lengths.append(np.diff(offsets)[r])
    new_ids, new_offsets = vocab.encode(t for a in additions for t in a.tokens)
    ids.append(new_ids)
    lengths.append(np.diff(new_offsets))
    flat = np.concatenate(ids).astype(np.int32, copy=False)
    offsets = np.concatenate([[0], np.cumsum(np.concatenate(lengths))]).astype(np.int64)
    return BM25.from_ids(flat, offsets, vocab)


def _parts(pieces: list[Piece], rows: list[np.ndarray], vectors: np.ndarray, langs: np.ndarray, kind: str) -> dict:
    """One FAISS index per language. The largest piece's index is carried when it is of ``kind``:
    copied (readers may still be searching it), the ids of rows not carried over marked -1 (skipped at
    search time), the other rows added; unless that leaves over ``ann.MAX_DELETED`` of it dead."""
    if kind in ann.REBUILT_ON_OPEN or not pieces:
        return build_parts(vectors, langs, kind)
    big = int(np.argmax([len(r) for r in rows]))
    source = pieces[big].segment
    if source.kind != kind:
        return build_parts(vectors, langs, kind)
    new_row = np.full(source.rows, -1, np.int64)
    new_row[rows[big]] = sum(len(r) for r in rows[:big]) + np.arange(len(rows[big]))
    parts = {}
    for lang, lrows in lang_rows(langs):
        if lang in source.parts:
            index, id_rows = source.parts[lang]
            carried = np.where(id_rows >= 0, new_row[np.maximum(id_rows, 0)], -1)
            others = np.setdiff1d(lrows, carried[carried >= 0])
            ids_to_rows = np.concatenate([carried, others])
            if np.count_nonzero(ids_to_rows < 0) <= ann.MAX_DELETED * len(ids_to_rows):
                index = ann.clone(index)
                ann.add(index, gather(vectors, others) if len(others) else vectors[:0])
                parts[lang] = (index, ids_to_rows)
                continue
        parts[lang] = (ann.build(kind, gather(vectors, lrows)), lrows)
    return parts
