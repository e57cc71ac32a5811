"""A segment: an immutable slice of the corpus with its own chunk store, vectors, BM25 postings and
FAISS indexes, written once and never changed.

    DIR/segments/seg-HEX/   manifest.json + manifest.sha256 (rows, documents, index kind, checksums)
                            chunks.jsonl + offsets.npy, vectors.npy (fp32), sentence_vectors.npy (fp16)
                            + sentence_offsets.npy, langs.npy, doc_rows.npy (each row's place in the
                            manifest's documents), bm25/ (term counts, token ids), ann-LANG/ (FAISS)

A generation lists its segments and, per segment, the documents removed since it was written; their
rows stay in the segment, skipped by every search, until a merge (``merge``) drops them.
Out of scope: writing segments (``generation``) and combining them (``snapshot``).
"""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..lexical import BM25
from . import ann, store

SEGMENTS = "segments"
SEGMENT_FORMAT = 1
ROWS_FILE = "rows.npy"  # beside a saved FAISS index: each of its ids' row, -1 once dropped by a merge


def lang_rows(langs: np.ndarray):
    for lang in sorted(set(langs.tolist())):
        yield lang, np.flatnonzero(langs == lang)


def gather(vectors: np.ndarray, rows: np.ndarray) -> np.ndarray:
    if len(rows) == len(vectors):  # one language: no fancy-index copy of a memory map
        return np.ascontiguousarray(vectors, dtype=np.float32)
    return np.ascontiguousarray(vectors[rows], dtype=np.float32)


def build_parts(vectors: np.ndarray, langs: np.ndarray, kind: str) -> dict[str, tuple[ann.Index, np.ndarray]]:
    return {lang: (ann.build(kind, gather(vectors, rows)), rows) for lang, rows in lang_rows(langs)}


def _load_parts(folder: Path, vectors: np.ndarray, langs: np.ndarray, kind: str) -> dict:
    parts = {}
    for lang, rows in lang_rows(langs):
        part = folder / f"ann-{lang}"
        if kind in ann.REBUILT_ON_OPEN:
            parts[lang] = (ann.load(kind, part, gather(vectors, rows)), rows)
        else:
            parts[lang] = (_read_ann(kind, part), np.load(part / ROWS_FILE))
    return parts


def _read_ann(kind: str, part: Path) -> ann.Index:
    """A saved FAISS index; faiss reports a missing or unreadable file as a RuntimeError, which
    callers would not take for a store problem (a reader retries those: the generation it read may
    have been pruned under it)."""
    try:
        return ann.load(kind, part, None)
    except RuntimeError as e:
        root = part.parent.parent.parent
        raise store.StoreError(f"index file {part / ann.ANN_FILE} is damaged or missing ({e}); "
                               f"delete {root} and ingest again to rebuild it") from e


class Segment:
    """One opened segment; everything is read-only. ``cache`` holds values derived from it alone."""

    def __init__(self, folder: Path, manifest: dict[str, Any], parts: dict | None = None):
        self.folder, self.manifest = folder, manifest
        self.chunks = store.ChunkStore(folder)
        vectors = np.load(folder / "vectors.npy", mmap_mode="r")
        sentence_vectors = np.load(folder / "sentence_vectors.npy", mmap_mode="r")
        for mapped in (vectors, sentence_vectors):
            store.random_access(mapped)
        # Plain arrays over the maps: np.memmap's subclass costs a wrapper on every gather.
        self.vectors, self.sentence_vectors = np.asarray(vectors), np.asarray(sentence_vectors)
        self.sentence_offsets = np.load(folder / "sentence_offsets.npy")
        self.langs = np.load(folder / "langs.npy")
        self.doc_rows = np.load(folder / "doc_rows.npy")
        self.bm25 = BM25.load(folder / "bm25")
        self.parts = parts if parts is not None else _load_parts(folder, self.vectors, self.langs, manifest["ann"])
        self.cache: dict[Any, Any] = {}
        self._lock = threading.RLock()  # several questions may build the same cache entry at once

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def documents(self) -> list[dict[str, Any]]:
        return self.manifest["documents"]

    @property
    def rows(self) -> int:
        return len(self.langs)

    @property
    def kind(self) -> str:
        return self.manifest["ann"]

    @cached_property
    def lang_codes(self) -> tuple[tuple[str, ...], np.ndarray]:
        """(the segment's languages, each row's position in them)."""
        names, codes = np.unique(self.langs, return_inverse=True)
        return tuple(names.tolist()), codes.astype(np.int16)

    def dead_ids(self, lang: str, alive: np.ndarray | None, key: bytes) -> np.ndarray:
        """The ids in ``lang``'s FAISS index of rows a merge dropped or not ``alive`` (a mask over
        this segment's rows; ``key`` names it). Kept for the last few deletion sets: consecutive
        generations mostly share them."""
        return self._by_deletions("dead", lang, key, lambda: self._dead(lang, alive))

    def exclusion(self, lang: str, alive: np.ndarray | None, key: bytes) -> Any:
        """FAISS search parameters for ``lang``'s index that skip ``dead_ids``, or None when none."""
        return self._by_deletions("exclusion", lang, key,
                                  lambda: ann.excluding(self.parts[lang][0], self.dead_ids(lang, alive, key)))

    def _dead(self, lang: str, alive: np.ndarray | None) -> np.ndarray:
        id_rows = self.parts[lang][1]
        dead = id_rows < 0
        if alive is not None:
            dead |= ~alive[np.maximum(id_rows, 0)]
        return np.flatnonzero(dead)

    def _by_deletions(self, what: str, lang: str, key: bytes, make: Any) -> Any:
        with self._lock:
            cached = self.cache.setdefault((what, lang), {})
            if key not in cached:
                while len(cached) >= 4:
                    cached.pop(next(iter(cached)))
                cached[key] = make()
            return cached[key]

    def bytes_on_disk(self) -> int:
        return sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file())


def open_segment(folder: Path, verify: bool) -> Segment:
    manifest = store.read_sealed(folder, verify, "segment", SEGMENT_FORMAT)
    return Segment(folder, manifest)
