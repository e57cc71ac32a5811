"""The index: chunks, their vectors, BM25 and FAISS, as immutable snapshots of one folder.

``Index.apply`` writes a new generation (see ``store``) holding the old chunks that survive plus
the new ones, then swaps the in-memory ``Snapshot`` in one assignment; a reader that took the
previous snapshot keeps a consistent view until it is done. Vectors are split into one FAISS
index per chunk language so that dense search can rank each language on its own scale.
Out of scope: embedding and chunking (``ingest`` does them) and ranking (``retrieve``).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from . import ann, store
from .chunk import ChunkSettings
from .lexical import BM25, Vocabulary
from .records import Chunk, Document

ROWS_FILE = "rows.npy"  # beside a saved FAISS index: each of its ids' row, -1 once removed


class Addition(NamedTuple):
    """A document ready to index: its chunks, a vector per chunk and per sentence, BM25 tokens."""

    document: Document
    file_hash: str
    chunks: list[Chunk]
    vectors: np.ndarray
    sentence_vectors: list[np.ndarray]
    tokens: list[list[str]]


@dataclass(frozen=True)
class Snapshot:
    """One generation, opened: everything a query needs, never modified after creation."""

    folder: Path
    manifest: dict[str, Any]
    chunks: store.ChunkStore
    vectors: np.ndarray
    sentence_vectors: np.ndarray
    sentence_offsets: np.ndarray
    langs: np.ndarray
    doc_rows: np.ndarray
    bm25: BM25
    parts: dict[str, tuple[ann.Index, np.ndarray]]

    @property
    def documents(self) -> list[dict[str, Any]]:
        return self.manifest["documents"]

    def sentences_of(self, row: int) -> np.ndarray:
        """Vectors of the sentences of chunk ``row``, in the order of ``Chunk.sentences``."""
        a, b = self.sentence_offsets[row], self.sentence_offsets[row + 1]
        return np.asarray(self.sentence_vectors[a:b], np.float32)

    def best_sentence(self, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Per row, the best cosine of one of its sentences with ``query`` (-2 for a chunk without
        sentences): one gather and one product for all rows."""
        rows = np.asarray(rows, np.int64)
        a, b = self.sentence_offsets[rows], self.sentence_offsets[rows + 1]
        lengths = b - a
        best = np.full(len(rows), -2.0)
        total = int(lengths.sum())
        if total == 0:
            return best
        ends = np.cumsum(lengths)
        picks = np.arange(total) + np.repeat(a - (ends - lengths), lengths)
        cos = np.asarray(self.sentence_vectors[picks], np.float32) @ np.asarray(query, np.float32)
        some = lengths > 0
        best[some] = np.maximum.reduceat(cos, (ends - lengths)[some])
        return best

    @cached_property
    def lang_codes(self) -> tuple[tuple[str, ...], np.ndarray]:
        """(the languages, each row's position in them): a cheap per-row language test at any size."""
        names = tuple(sorted(self.parts))  # every row is in its language's part
        codes = np.zeros(len(self.langs), np.int16)
        for i, name in enumerate(names):
            codes[self.live_rows(name)] = i
        return names, codes

    def live_rows(self, lang: str) -> np.ndarray:
        """The rows in ``lang``'s part, ascending (its index may also hold deleted ids, mapped to -1)."""
        key = f"live:{lang}"
        if key not in self.cache:
            rows = self.parts[lang][1]
            self.cache[key] = rows[rows >= 0]
        return self.cache[key]

    def search_params(self, lang: str) -> Any:
        """FAISS search parameters for ``lang``'s index that skip its removed rows (None: none removed)."""
        key = f"params:{lang}"
        if key not in self.cache:
            index, rows = self.parts[lang]
            self.cache[key] = ann.excluding(index, np.flatnonzero(rows < 0))
        return self.cache[key]

    @cached_property
    def cache(self) -> dict[str, Any]:
        """Values derived from this snapshot alone (e.g. retrieval's background samples)."""
        return {}

    def __len__(self) -> int:
        return len(self.chunks)


def _lang_rows(langs: np.ndarray):
    for lang in sorted(set(langs.tolist())):
        yield lang, np.flatnonzero(langs == lang)


def _gather(vectors: np.ndarray, rows: np.ndarray) -> np.ndarray:
    if len(rows) == len(vectors):  # one language: no fancy-index copy of a memory map
        return np.ascontiguousarray(vectors, dtype=np.float32)
    return np.ascontiguousarray(vectors[rows], dtype=np.float32)


def _build_parts(vectors: np.ndarray, langs: np.ndarray, kind: str) -> dict[str, tuple[ann.Index, np.ndarray]]:
    return {lang: (ann.build(kind, _gather(vectors, rows)), rows) for lang, rows in _lang_rows(langs)}


def _load_parts(gen: Path, vectors: np.ndarray, langs: np.ndarray, kind: str) -> dict:
    parts = {}
    for lang, rows in _lang_rows(langs):
        folder = gen / f"ann-{lang}"
        if kind in ann.REBUILT_ON_OPEN:
            parts[lang] = (ann.load(kind, folder, _gather(vectors, rows)), rows)
        else:  # a saved index maps its ids to rows itself (removed rows are -1); older ones in row order
            ids = folder / ROWS_FILE
            parts[lang] = (ann.load(kind, folder, None), np.load(ids) if ids.exists() else rows)
    return parts


def _open_snapshot(gen: Path, verify: bool, parts: dict | None = None) -> Snapshot:
    manifest = store.read_manifest(gen, verify=verify)
    vectors = np.load(gen / "vectors.npy", mmap_mode="r")
    langs = np.load(gen / "langs.npy")
    if parts is None:
        parts = _load_parts(gen, vectors, langs, manifest["ann"])
    sentence_vectors = np.load(gen / "sentence_vectors.npy", mmap_mode="r")
    for mapped in (vectors, sentence_vectors):
        store.random_access(mapped)
    return Snapshot(
        folder=gen, manifest=manifest, chunks=store.ChunkStore(gen), vectors=vectors,
        sentence_vectors=sentence_vectors,
        sentence_offsets=np.load(gen / "sentence_offsets.npy"), langs=langs,
        doc_rows=np.load(gen / "doc_rows.npy"), bm25=BM25.load(gen / "bm25"),
        parts=parts,
    )


class Index:
    """An index folder and its live snapshot; writers take ``lock`` (readers never wait)."""

    def __init__(self, folder: Path, snapshot: Snapshot):
        self.folder = folder
        self.snapshot = snapshot
        # Re-entrant: an ingest holds it from planning to ``apply`` so two writers cannot interleave.
        self.lock = threading.RLock()

    @classmethod
    def create(cls, folder: str | Path, embedder: str, dim: int, chunking: ChunkSettings,
               ann_kind: str = "auto") -> Index:
        folder = Path(folder)
        if store.live_generation(folder) is not None:
            raise ValueError(f"an index already exists at {folder}; open it, or choose another folder")
        ann.choose_kind(ann_kind, 0)
        manifest = {"embedder": embedder, "dim": dim, "chunking": chunking._asdict(),
                    "ann_request": ann_kind, "documents": []}
        return cls(folder, _write_generation(folder, manifest, None, np.zeros(0, np.int64), []))

    @classmethod
    def open(cls, folder: str | Path, embedder: str | None = None, verify: bool = True) -> Index:
        folder = Path(folder)
        gen = store.live_generation(folder)
        if gen is None:
            raise ValueError(f"no index at {folder}; build one with `qa ingest PATH --index {folder}`")
        snapshot = _open_snapshot(gen, verify)
        built_with = snapshot.manifest["embedder"]
        if embedder is not None and embedder != built_with:
            raise ValueError(
                f"the index at {folder} was built with embedder {built_with!r}, not {embedder!r}; "
                f"open it with --embedder {built_with}, or rebuild: `qa ingest PATH --index NEW_DIR "
                f"--embedder {embedder}`")
        return cls(folder, snapshot)

    @property
    def embedder(self) -> str:
        return self.snapshot.manifest["embedder"]

    @property
    def chunking(self) -> ChunkSettings:
        return ChunkSettings(**self.snapshot.manifest["chunking"])  # older manifests lack new fields

    def file_hashes(self) -> dict[str, str]:
        return {d["path"]: d["file_hash"] for d in self.snapshot.documents}

    def apply(self, additions: list[Addition], remove: set[str]) -> Snapshot:
        """Remove the documents with ids in ``remove``, add ``additions``, save, and go live."""
        with self.lock:
            old = self.snapshot
            drop = remove | {a.document.id for a in additions}
            kept = [i for i, d in enumerate(old.documents) if d["id"] not in drop]
            keep_rows = np.flatnonzero(np.isin(old.doc_rows, kept))
            documents = [old.documents[i] for i in kept] + [_doc_entry(a) for a in additions]
            snapshot = _write_generation(self.folder, {**old.manifest, "documents": documents},
                                         old, keep_rows, additions)
            self.snapshot = snapshot
            store.prune(self.folder, keep=snapshot.folder)
            return snapshot


def _doc_entry(a: Addition) -> dict[str, Any]:
    d = a.document
    return {"id": d.id, "title": d.title, "path": d.path, "lang": d.lang, "file_hash": a.file_hash,
            "chars": len(d.text), "chunks": len(a.chunks), "metadata": d.metadata,
            "added": datetime.now(UTC).isoformat(timespec="seconds")}


def _write_generation(folder: Path, manifest: dict, old: Snapshot | None, keep_rows: np.ndarray,
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
    parts = _carry_parts(old, keep_rows, vectors, langs, kind) if carry else _build_parts(vectors, langs, kind)
    for lang, (index, rows) in parts.items():
        (staging / f"ann-{lang}").mkdir()
        ann.save(index, kind, staging / f"ann-{lang}")
        if kind not in ann.REBUILT_ON_OPEN:
            np.save(staging / f"ann-{lang}" / ROWS_FILE, rows)
    manifest = {**manifest, "ann": kind, "chunks": n}
    gen = store.commit_generation(folder, staging, manifest)
    return _open_snapshot(gen, verify=False, parts=parts)


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
    for lang, rows in _lang_rows(langs):
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
        parts[lang] = (ann.build(kind, _gather(vectors, rows)), rows)
    return parts


def manifest_json(snapshot: Snapshot) -> str:
    return json.dumps({k: v for k, v in snapshot.manifest.items() if k != "checksums"},
                      ensure_ascii=False, indent=1)
