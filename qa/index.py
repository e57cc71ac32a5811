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
from pathlib import Path
from typing import Any, NamedTuple

import faiss
import numpy as np

from . import ann, store
from .chunk import ChunkSettings
from .lexical import BM25
from .records import Chunk, Document


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
    parts: dict[str, tuple[faiss.Index, np.ndarray]]

    @property
    def documents(self) -> list[dict[str, Any]]:
        return self.manifest["documents"]

    def sentences_of(self, row: int) -> np.ndarray:
        """Vectors of the sentences of chunk ``row``, in the order of ``Chunk.sentences``."""
        a, b = self.sentence_offsets[row], self.sentence_offsets[row + 1]
        return np.asarray(self.sentence_vectors[a:b], np.float32)

    def __len__(self) -> int:
        return len(self.chunks)


def _split(vectors: np.ndarray, langs: np.ndarray):
    for lang in sorted(set(langs.tolist())):
        rows = np.flatnonzero(langs == lang)
        yield lang, rows, np.ascontiguousarray(vectors[rows], dtype=np.float32)


def _build_parts(vectors: np.ndarray, langs: np.ndarray, kind: str) -> dict[str, tuple[faiss.Index, np.ndarray]]:
    return {lang: (ann.build(kind, sub), rows) for lang, rows, sub in _split(vectors, langs)}


def _load_parts(gen: Path, vectors: np.ndarray, langs: np.ndarray, kind: str) -> dict:
    return {lang: (ann.load(kind, gen / f"ann-{lang}", sub), rows) for lang, rows, sub in _split(vectors, langs)}


def _open_snapshot(gen: Path, verify: bool, parts: dict | None = None) -> Snapshot:
    manifest = store.read_manifest(gen, verify=verify)
    vectors = np.load(gen / "vectors.npy", mmap_mode="r")
    langs = np.load(gen / "langs.npy")
    if parts is None:
        parts = _load_parts(gen, vectors, langs, manifest["ann"])
    return Snapshot(
        folder=gen, manifest=manifest, chunks=store.ChunkStore(gen), vectors=vectors,
        sentence_vectors=np.load(gen / "sentence_vectors.npy", mmap_mode="r"),
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
    staging = store.new_generation(folder)
    dim = int(manifest["dim"])
    doc_index = {d["id"]: i for i, d in enumerate(manifest["documents"])}
    lines, vecs, langs, doc_rows, tokens, svecs = [], [], [], [], [], []
    if old is not None and len(keep_rows):
        old_tokens = (old.folder / "tokens.txt").read_text("utf-8").split("\n")
        old_docs = [doc_index.get(d["id"], -1) for d in old.documents]
        lines.extend(old.chunks.raw(r) for r in keep_rows.tolist())
        langs.extend(old.langs[keep_rows].tolist())
        doc_rows.extend(old_docs[r] for r in old.doc_rows[keep_rows].tolist())
        tokens.extend(old_tokens[r] for r in keep_rows.tolist())
        vecs.append(np.asarray(old.vectors[keep_rows], dtype=np.float32))
        svecs.extend(old.sentences_of(r) for r in keep_rows.tolist())
    for a in additions:
        lines.extend(store.chunk_line(c) for c in a.chunks)
        langs.extend(c.lang for c in a.chunks)
        doc_rows.extend([doc_index[a.document.id]] * len(a.chunks))
        tokens.extend(" ".join(t) for t in a.tokens)
        vecs.append(np.asarray(a.vectors, dtype=np.float32).reshape(-1, dim))
        svecs.extend(a.sentence_vectors)
    n = store.write_chunks(staging, lines)
    _save_sentence_vectors(staging, svecs, dim)
    vectors = np.vstack(vecs) if vecs else np.zeros((0, dim), np.float32)
    np.save(staging / "vectors.npy", vectors)
    lang_arr = np.asarray(langs, dtype="<U8")
    np.save(staging / "langs.npy", lang_arr)
    np.save(staging / "doc_rows.npy", np.asarray(doc_rows, dtype=np.int32))
    (staging / "tokens.txt").write_text("\n".join(tokens), "utf-8")
    bm25 = BM25.build([t.split() for t in tokens])
    bm25.save(staging / "bm25")
    kind = ann.choose_kind(manifest.get("ann_request", "auto"), n)
    parts = _build_parts(vectors, lang_arr, kind)
    for lang, (index, _) in parts.items():
        (staging / f"ann-{lang}").mkdir()
        ann.save(index, kind, staging / f"ann-{lang}")
    manifest = {**manifest, "ann": kind, "chunks": n}
    gen = store.commit_generation(folder, staging, manifest)
    return _open_snapshot(gen, verify=False, parts=parts)


def _save_sentence_vectors(staging: Path, per_chunk: list[np.ndarray], dim: int) -> None:
    # fp16 halves the largest file; sentence scores only pick among a handful of candidates.
    counts = [len(v) for v in per_chunk]
    np.save(staging / "sentence_offsets.npy", np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
    flat = np.vstack(per_chunk) if per_chunk else np.zeros((0, dim))
    np.save(staging / "sentence_vectors.npy", flat.astype(np.float16))


def manifest_json(snapshot: Snapshot) -> str:
    return json.dumps({k: v for k, v in snapshot.manifest.items() if k != "checksums"},
                      ensure_ascii=False, indent=1)
