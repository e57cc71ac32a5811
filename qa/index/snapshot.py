"""An opened generation: everything a query reads, immutable once created.

A ``Snapshot`` holds memory maps of one generation's files (chunk store, passage and sentence
vectors), its BM25 index and one FAISS index per chunk language (``parts``: language → index and
the corpus row of each of its ids, -1 once removed). Queries take one snapshot and read only it.
Out of scope: writing generations (``generation``) and choosing the live one (``index``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..lexical import BM25
from . import ann, store

ROWS_FILE = "rows.npy"  # beside a saved FAISS index: each of its ids' row, -1 once removed


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

    def sentence_picks(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sentence-vector indexes of ``rows``' sentences back to back, where each row with
        sentences starts in that list, which rows have sentences)."""
        rows = np.asarray(rows, np.int64)
        a, b = self.sentence_offsets[rows], self.sentence_offsets[rows + 1]
        lengths = b - a
        ends = np.cumsum(lengths)
        picks = np.arange(int(lengths.sum())) + np.repeat(a - (ends - lengths), lengths)
        some = lengths > 0
        return picks, (ends - lengths)[some], some

    def best_sentence(self, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Per row, the best cosine of one of its sentences with ``query`` (-2 for a chunk without
        sentences): one gather and one product for all rows."""
        picks, starts, some = self.sentence_picks(rows)
        best = np.full(len(some), -2.0)
        if len(picks):
            cos = np.asarray(self.sentence_vectors[picks], np.float32) @ np.asarray(query, np.float32)
            best[some] = np.maximum.reduceat(cos, starts)
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


def lang_rows(langs: np.ndarray):
    for lang in sorted(set(langs.tolist())):
        yield lang, np.flatnonzero(langs == lang)


def gather(vectors: np.ndarray, rows: np.ndarray) -> np.ndarray:
    if len(rows) == len(vectors):  # one language: no fancy-index copy of a memory map
        return np.ascontiguousarray(vectors, dtype=np.float32)
    return np.ascontiguousarray(vectors[rows], dtype=np.float32)


def build_parts(vectors: np.ndarray, langs: np.ndarray, kind: str) -> dict[str, tuple[ann.Index, np.ndarray]]:
    return {lang: (ann.build(kind, gather(vectors, rows)), rows) for lang, rows in lang_rows(langs)}


def load_parts(gen: Path, vectors: np.ndarray, langs: np.ndarray, kind: str) -> dict:
    parts = {}
    for lang, rows in lang_rows(langs):
        folder = gen / f"ann-{lang}"
        if kind in ann.REBUILT_ON_OPEN:
            parts[lang] = (ann.load(kind, folder, gather(vectors, rows)), rows)
        else:  # a saved index maps its ids to rows itself (removed rows are -1); older ones in row order
            ids = folder / ROWS_FILE
            parts[lang] = (ann.load(kind, folder, None), np.load(ids) if ids.exists() else rows)
    return parts


def open_snapshot(gen: Path, verify: bool, parts: dict | None = None) -> Snapshot:
    manifest = store.read_manifest(gen, verify=verify)
    vectors = np.load(gen / "vectors.npy", mmap_mode="r")
    langs = np.load(gen / "langs.npy")
    if parts is None:
        parts = load_parts(gen, vectors, langs, manifest["ann"])
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
