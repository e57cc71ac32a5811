"""An opened generation: its segments combined into one list of live chunks, immutable once created.

Rows are numbered over the live chunks of all segments in order (the rows of removed documents are
skipped, so ``range(len(snapshot))`` is every live chunk), and only mean something within one
snapshot. Per-row arrays (languages, documents) are built at open; vectors, sentence vectors and
chunks are read from each segment's memory maps through ``Stacked`` views. BM25 scores all segments
with the statistics of all live chunks (``lexical_combined.Combined``); dense search asks every segment's FAISS
index for the language and merges the lists (``dense``). Segments already open in the previous snapshot are
reused, so following a new generation costs what it added. Where each segment's live rows stand is
``rows``. Out of scope: writing (``generation``).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..lexical_combined import Combined
from ..records import Chunk
from . import ann, dense, store
from .rows import language_codes, row_layout
from .segment import SEGMENTS, Segment, open_segment
from .views import Stacked, StackedChunks, sentence_bounds, sentence_picks, top


def _vectors(seg: Segment) -> np.ndarray:
    return seg.vectors


def _sentence_vectors(seg: Segment) -> np.ndarray:
    return seg.sentence_vectors


class Snapshot:
    """One generation, opened: everything a query needs, never modified after creation."""

    def __init__(self, folder: Path, manifest: dict[str, Any], segments: list[Segment], deleted: list[list[int]]):
        self.folder, self.segments = folder, tuple(segments)
        self.deleted = tuple(np.asarray(sorted(d), np.int64) for d in deleted)
        rows = row_layout(self.segments, self.deleted)
        docs, self._live, self._row_of = rows.documents, rows.live, rows.row_of
        # Per segment, computed once: which rows are alive, and the key of its deletion set.
        self._alive = [None if row_of is None else row_of >= 0 for row_of in self._row_of]
        self._deleted_keys = [d.tobytes() for d in self.deleted]
        self._with_removals = [s for s, live in enumerate(self._live) if live is not None]
        counts = [seg.rows if live is None else len(live) for seg, live in zip(self.segments, self._live)]
        self.bases = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        totals = [int(seg.sentence_offsets[-1]) for seg in self.segments]
        self.sentence_bases = np.concatenate([[0], np.cumsum(totals)]).astype(np.int64)
        self.doc_rows = np.concatenate([np.zeros(0, np.int32), *rows.doc_rows])
        self.langs = np.concatenate([np.zeros(0, "<U8"), *rows.langs])
        self.bm25 = Combined([(seg.bm25, row_of) for seg, row_of in zip(self.segments, self._row_of)])
        biggest = max(self.segments, key=lambda s: s.rows, default=None)
        self.manifest = {**manifest, "documents": docs, "chunks": len(self.langs), "segments_open": len(segments),
                         "ann": biggest.kind if biggest is not None else ann.choose_kind(
                             manifest.get("ann_request", "auto"), 0)}
        self.cache: dict[str, Any] = {}  # values derived from this snapshot alone (e.g. retrieval's samples)

    @property
    def documents(self) -> list[dict[str, Any]]:
        return self.manifest["documents"]

    # Views made on each access (cheap) rather than kept: a view held by the snapshot would be a
    # reference cycle, and the snapshot's lease (see ``live``) must end as soon as it is dropped.
    @property
    def vectors(self) -> Stacked:
        return Stacked(self, _vectors)

    @property
    def sentence_vectors(self) -> Stacked:
        return Stacked(self, _sentence_vectors, sentences=True)

    @property
    def chunks(self) -> StackedChunks:
        return StackedChunks(self)

    @property
    def sentence_total(self) -> int:
        return int(self.sentence_bases[-1])

    def __len__(self) -> int:
        return int(self.bases[-1])

    def locate(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(segment of each row, its row in that segment)."""
        if len(self.segments) == 1:  # the common case: no search for segments
            where = np.zeros(len(rows), np.int64)
            local = np.array(rows, np.int64)
        else:
            where = np.searchsorted(self.bases, rows, side="right") - 1
            local = rows - self.bases[where]
        for s in self._with_removals:
            mask = where == s
            local[mask] = self._live[s][local[mask]]
        return where, local

    def locate_sentences(self, picks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        where = np.searchsorted(self.sentence_bases, picks, side="right") - 1
        return where, picks - self.sentence_bases[where]

    def sentence_bounds(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's sentences: (first, end) in the snapshot's sentence numbering."""
        return sentence_bounds(self, rows)

    def sentences_of(self, row: int) -> np.ndarray:
        """Vectors of the sentences of chunk ``row``, in the order of ``Chunk.sentences``."""
        a, b = self.sentence_bounds(np.asarray([row]))
        return np.asarray(self.sentence_vectors[np.arange(int(a[0]), int(b[0]))], np.float32)

    @property
    def dim(self) -> int:
        return int(self.manifest["dim"])

    def best_sentence(self, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Per row, the best cosine of one of its sentences with ``query`` (-2 for a chunk without
        sentences): one gather and one product for all rows."""
        picks, starts, some = sentence_picks(self, rows)
        best = np.full(len(some), -2.0)
        if len(picks):
            cos = np.asarray(self.sentence_vectors[picks], np.float32) @ np.asarray(query, np.float32)
            best[some] = np.maximum.reduceat(cos, starts)
        return best

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages of the live chunks, sorted."""
        return self.lang_codes[0]

    @cached_property
    def lang_codes(self) -> tuple[tuple[str, ...], np.ndarray]:
        """(the languages, each row's position in them): a cheap per-row language test at any size."""
        return language_codes(self.segments, self._live)

    def live_rows(self, lang: str) -> np.ndarray:
        """The rows in ``lang``, ascending."""
        key = f"live:{lang}"
        if key not in self.cache:
            names, codes = self.lang_codes
            self.cache[key] = np.flatnonzero(codes == names.index(lang)) if lang in names else np.zeros(0, np.int64)
        return self.cache[key]

    def rows_of_documents(self, doc_ids: tuple[str, ...]) -> np.ndarray:
        """The rows of the documents ``doc_ids``, ascending (computed once per filter)."""
        key = ("docs",) + tuple(doc_ids)
        if key not in self.cache:
            ids = set(doc_ids)
            wanted = [i for i, d in enumerate(self.documents) if d["id"] in ids]
            self.cache[key] = np.flatnonzero(np.isin(self.doc_rows, wanted))
        return self.cache[key]

    def dense_search(self, lang: str, query: np.ndarray, m: int,
                     doc_ids: tuple[str, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Rows in ``lang`` and their cosines, best first (``dense.search``)."""
        return dense.search(self, lang, query, m, doc_ids)

    def removals(self, s: int) -> tuple[np.ndarray | None, np.ndarray | None, bytes]:
        """Segment ``s``'s removals: (each of its rows' place among the snapshot's rows, -1 when
        removed; which of its rows are alive; a key naming its set of removed documents), the first
        two None when nothing of it is removed."""
        return self._row_of[s], self._alive[s], self._deleted_keys[s]

    def lexical_search(self, tokens: list[str], lang: str, m: int,
                       doc_ids: tuple[str, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``m`` best BM25 (rows, scores) in ``lang`` (only rows sharing a term with the query)."""
        scores = self.bm25.scores(tokens)
        rows = np.flatnonzero(scores > 0)
        names, codes = self.lang_codes
        if lang not in names:
            rows = rows[:0]
        elif len(names) > 1:  # a one-language corpus needs no per-row test
            rows = rows[codes[rows] == names.index(lang)]
        if doc_ids is not None:
            rows = rows[np.isin(rows, self.rows_of_documents(doc_ids))]
        return top(rows, scores[rows], m)

    def background_sample(self, lang: str, size: int) -> tuple[np.ndarray, ...]:
        """An evenly spaced sample of ``size`` rows of ``lang`` (deterministic, cheap at any size),
        gathered once per snapshot and language: (passage vectors, their sentences' vectors back to
        back, where each row with sentences starts, which rows have sentences)."""
        key = ("background", lang, size)
        if key not in self.cache:
            rows = self.live_rows(lang)
            sample = rows[np.linspace(0, len(rows) - 1, min(size, len(rows))).astype(int)] if len(rows) else rows
            picks, starts, some = sentence_picks(self, sample)
            self.cache[key] = (np.asarray(self.vectors[sample], np.float32),
                               np.asarray(self.sentence_vectors[picks], np.float32), starts, some)
        return self.cache[key]

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.vectors[np.asarray(rows, np.int64)], np.float32)

    def langs_of(self, rows: np.ndarray) -> np.ndarray:
        return self.langs[np.asarray(rows, np.int64)]

    def chunk(self, row: int) -> Chunk:
        return self.chunks[row]

    def all_chunks(self) -> Iterator[Chunk]:
        for row in range(len(self)):
            yield self.chunks[row]

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        """The chunks of one live document in document order (empty if it is not here)."""
        place = next((i for i, d in enumerate(self.documents) if d["id"] == doc_id), None)
        rows = np.flatnonzero(self.doc_rows == place) if place is not None else []
        return sorted((self.chunks[int(r)] for r in rows), key=lambda c: c.start)

    def chunks_by_language(self) -> dict[str, int]:
        names, codes = self.lang_codes
        return {name: int(n) for name, n in zip(names, np.bincount(codes, minlength=len(names)).tolist())}

    @property
    def generation(self) -> str:
        return self.folder.name

    def bytes_on_disk(self) -> int:
        own = sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file())
        return own + sum(seg.bytes_on_disk() for seg in self.segments)


def open_snapshot(gen: Path, verify: bool, reuse: dict[str, Segment] | None = None) -> Snapshot:
    """Open generation ``gen``; segments found in ``reuse`` (by name) are not opened again."""
    manifest = store.read_manifest(gen, verify=verify)
    segments = []
    for entry in manifest["segments"]:
        seg = (reuse or {}).get(entry["name"])
        segments.append(seg if seg is not None else open_segment(gen.parent / SEGMENTS / entry["name"], verify))
    return Snapshot(gen, manifest, segments, [entry["deleted"] for entry in manifest["segments"]])
