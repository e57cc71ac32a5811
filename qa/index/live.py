"""The index: an index folder and its live ``Snapshot``, swapped atomically on every change.

``Index.apply`` writes a new generation (``generation``) holding the old chunks that survive plus
the new ones, then swaps the in-memory snapshot in one assignment; a reader that took the previous
snapshot keeps a consistent view until it is done. Vectors are split into one FAISS index per chunk
language so that dense search can rank each language on its own scale.
Out of scope: embedding and chunking (``ingest`` does them) and ranking (``retrieve``).
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import numpy as np

from ..chunk import ChunkSettings
from . import ann, store
from .generation import Addition, doc_entry, write_generation
from .snapshot import Snapshot, open_snapshot


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
        return cls(folder, write_generation(folder, manifest, None, np.zeros(0, np.int64), []))

    @classmethod
    def open(cls, folder: str | Path, embedder: str | None = None, verify: bool = True) -> Index:
        folder = Path(folder)
        gen = store.live_generation(folder)
        if gen is None:
            raise ValueError(f"no index at {folder}; build one with `qa ingest PATH --index {folder}`")
        snapshot = open_snapshot(gen, verify)
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
        """Hash of each ingested file whose documents are all still indexed (none removed by hand)."""
        docs = self.snapshot.documents
        held = Counter(d["path"] for d in docs)
        return {d["path"]: d["file_hash"] for d in docs if held[d["path"]] >= d.get("file_records", 1)}

    def apply(self, additions: list[Addition], remove: set[str]) -> Snapshot:
        """Remove the documents with ids in ``remove``, add ``additions``, save, and go live."""
        with self.lock:
            old = self.snapshot
            drop = remove | {a.document.id for a in additions}
            kept = [i for i, d in enumerate(old.documents) if d["id"] not in drop]
            keep_rows = np.flatnonzero(np.isin(old.doc_rows, kept))
            documents = [old.documents[i] for i in kept] + [doc_entry(a) for a in additions]
            snapshot = write_generation(self.folder, {**old.manifest, "documents": documents},
                                         old, keep_rows, additions)
            self.snapshot = snapshot
            store.prune(self.folder, keep=snapshot.folder)
            return snapshot
