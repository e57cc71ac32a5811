"""Writing one generation: the kept rows of the previous one plus the additions, then sealing it.

Old rows are copied file to file by the kernel in runs of consecutive rows (chunk lines, vectors,
sentence vectors); BM25 is rebuilt from stored token ids; an approximate FAISS index is copied and
extended rather than rebuilt. The staging folder only goes live through ``store.commit_generation``.
Out of scope: embedding (``ingest``) and which generation is live (``index``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..lexical import BM25, Vocabulary
from ..records import Chunk, Document
from . import ann, store
from .snapshot import ROWS_FILE, Snapshot, build_parts, gather, lang_rows, open_snapshot


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


def doc_entry(a: Addition) -> dict[str, Any]:
    d = a.document
    return {"id": d.id, "title": d.title, "path": d.path, "lang": d.lang, "file_hash": a.file_hash,
            "file_records": a.file_records, "chars": len(d.text), "chunks": len(a.chunks), "metadata": d.metadata,
            "added": datetime.now(UTC).isoformat(timespec="seconds")}


def write_generation(folder: Path, manifest: dict, old: Snapshot | None, keep_rows: np.ndarray,
                      additions: list[Addition]) -> Snapshot:
    """Stream the kept rows of ``old`` and the ``additions`` into a new generation.

    Old data is copied file to file by the kernel, one byte range per run of consecutive kept rows
    (chunk lines, vectors, sentence vectors), and BM25 is rebuilt from the kept rows' stored token
    ids; nothing old is parsed or gathered into Python lists, so an add to a 1M-chunk index needs
    memory for the additions, the BM25 matrix and a copy of the approximate index, not the corpus.
    While the index kind does not change, the approximate indexes of ``old`` are copied and extended
    (appended rows) with removed rows marked deleted, instead of rebuilt (see ``_carry_parts``).
    """
    staging = store.new_generation(folder)
    dim = int(manifest["dim"])
    doc_index = {d["id"]: i for i, d in enumerate(manifest["documents"])}
    keep_rows = np.asarray(keep_rows if old is not None else [], np.int64)
    new_chunks = [c for a in additions for c in a.chunks]
    n = store.write_chunks(staging, (store.chunk_line(c) for c in new_chunks),
                           old.chunks if old is not None else None, keep_rows)
    langs = np.asarray([*(old.langs[keep_rows].tolist() if old is not None else []),
                        *(c.lang for c in new_chunks)], dtype="<U8")
    np.save(staging / "langs.npy", langs)
    old_docs = np.asarray([doc_index.get(d["id"], -1) for d in old.documents] if old is not None else [], np.int32)
    doc_rows = np.concatenate([old_docs[old.doc_rows[keep_rows]] if len(keep_rows) else np.zeros(0, np.int32),
                               np.asarray([doc_index[a.document.id] for a in additions for _ in a.chunks], np.int32)])
    np.save(staging / "doc_rows.npy", doc_rows.astype(np.int32))
    vectors = _write_vectors(staging, old, keep_rows, additions, dim)
    _write_sentence_vectors(staging, old, keep_rows, additions, dim)
    _build_bm25(old, keep_rows, additions).save(staging / "bm25")
    kind = ann.choose_kind(manifest.get("ann_request", "auto"), n)
    carry = old is not None and old.manifest.get("ann") == kind and kind not in ann.REBUILT_ON_OPEN
    parts = _carry_parts(old, keep_rows, vectors, langs, kind) if carry else build_parts(vectors, langs, kind)
    for lang, (index, rows) in parts.items():
        (staging / f"ann-{lang}").mkdir()
        ann.save(index, kind, staging / f"ann-{lang}")
        if kind not in ann.REBUILT_ON_OPEN:
            np.save(staging / f"ann-{lang}" / ROWS_FILE, rows)
    manifest = {**manifest, "ann": kind, "chunks": n}
    gen = store.commit_generation(folder, staging, manifest)
    return open_snapshot(gen, verify=False, parts=parts)


def _write_rows(path: Path, dtype: type, dim: int, n: int, old_path: Path | None, old_runs: list[tuple[int, int]],
                new: list[np.ndarray]) -> None:
    """An .npy of ``n`` rows: the row ranges ``old_runs`` of ``old_path`` copied by the kernel (no map, no
    Python copy of old rows), then ``new``. Returns nothing; open the result with ``np.load``."""
    row = np.dtype(dtype).itemsize * dim
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                                                 "fortran_order": False, "shape": (n, dim)})
        f.flush()
        if old_runs:
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


def _write_vectors(staging: Path, old: Snapshot | None, keep_rows: np.ndarray, additions: list[Addition],
                   dim: int) -> np.ndarray:
    new = [np.asarray(a.vectors, dtype=np.float32).reshape(-1, dim) for a in additions]
    first, end = store.runs(keep_rows)
    _write_rows(staging / "vectors.npy", np.float32, dim, len(keep_rows) + sum(len(v) for v in new),
                old.folder / "vectors.npy" if old is not None else None, list(zip(first.tolist(), end.tolist())), new)
    return np.load(staging / "vectors.npy", mmap_mode="r")


def _write_sentence_vectors(staging: Path, old: Snapshot | None, keep_rows: np.ndarray,
                            additions: list[Addition], dim: int) -> None:
    # fp16 halves the largest file; sentence scores only pick among a handful of candidates.
    counts = [np.diff(old.sentence_offsets)[keep_rows] if len(keep_rows) else np.zeros(0, np.int64)]
    counts += [np.asarray([len(v) for v in a.sentence_vectors], np.int64) for a in additions]
    offsets = np.concatenate([[0], np.cumsum(np.concatenate(counts))]).astype(np.int64)
    np.save(staging / "sentence_offsets.npy", offsets)
    first, end = store.runs(keep_rows)
    old_runs = list(zip(old.sentence_offsets[first].tolist(), old.sentence_offsets[end].tolist())) if len(first) else []
    _write_rows(staging / "sentence_vectors.npy", np.float16, dim, int(offsets[-1]),
                old.folder / "sentence_vectors.npy" if old is not None else None, old_runs,
                [v for a in additions for v in a.sentence_vectors])


def _build_bm25(old: Snapshot | None, keep_rows: np.ndarray, additions: list[Addition]) -> BM25:
    """BM25 over the kept rows (their stored token ids, never re-tokenised) and the additions."""
    vocab = Vocabulary(old.bm25.vocab.ids if old is not None else None)
    ids, lengths = [], []
    if len(keep_rows):
        tokens, offsets = old.bm25.tokens, old.bm25.token_offsets
        if tokens is None:  # a generation written before token ids were kept
            lines = (old.folder / "tokens.txt").read_text("utf-8").split("\n")
            tokens, offsets = vocab.encode(lines[r].split() for r in keep_rows.tolist())
            keep_rows = np.arange(len(keep_rows))
        offsets = np.asarray(offsets)
        first, end = store.runs(keep_rows)
        ids += [tokens[a:b] for a, b in zip(offsets[first].tolist(), offsets[end].tolist())]
        lengths.append(np.diff(offsets)[keep_rows])
    new_ids, new_offsets = vocab.encode(t for a in additions for t in a.tokens)
    ids.append(new_ids)
    lengths.append(np.diff(new_offsets))
    flat = np.concatenate(ids).astype(np.int32, copy=False)
    offsets = np.concatenate([[0], np.cumsum(np.concatenate(lengths))]).astype(np.int64)
    return BM25.from_ids(flat, offsets, vocab)


def _carry_parts(old: Snapshot, keep_rows: np.ndarray, vectors: np.ndarray, langs: np.ndarray, kind: str) -> dict:
    """The old generation's per-language indexes carried over: copied (readers of ``old`` may still
    be searching them), their removed rows marked -1 (excluded at search time), the appended rows
    added. A language new to the corpus, or one whose index would be over ``ann.MAX_DELETED``
    deleted, gets a fresh index."""
    new_row = np.full(len(old), -1, np.int64)
    new_row[keep_rows] = np.arange(len(keep_rows))
    parts = {}
    for lang, rows in lang_rows(langs):
        appended = rows[np.searchsorted(rows, len(keep_rows)):]
        if lang in old.parts:
            index, old_rows = old.parts[lang]
            carried = np.where(old_rows >= 0, new_row[np.maximum(old_rows, 0)], -1)
            ids_to_rows = np.concatenate([carried, appended])
            if np.count_nonzero(ids_to_rows < 0) <= ann.MAX_DELETED * len(ids_to_rows):
                index = ann.clone(index)
                ann.add(index, vectors[appended])
                parts[lang] = (index, ids_to_rows)
                continue
        parts[lang] = (ann.build(kind, gather(vectors, rows)), rows)
    return parts
