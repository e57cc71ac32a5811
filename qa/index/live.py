"""The index: an index folder and its live ``Snapshot``, kept current across processes.

``Index.apply`` takes the folder's writer lock (``lock``: one writer at a time, across processes),
re-reads the newest generation, writes a new one (``generation``) holding its chunks that survive
plus the additions, then swaps the in-memory snapshot in one assignment; a reader that took the
previous snapshot keeps a consistent view until it is done. ``Index.snapshot`` checks ``CURRENT``
with one ``stat`` per access and opens a newer generation (written by another process) once, so a
long-running server sees what ``qa ingest`` adds. Generations still leased by a live reader
(``leases``) are not pruned. Vectors are split into one FAISS index per chunk language so that dense
search can rank each language on its own scale.
Out of scope: embedding and chunking (``ingest`` does them) and ranking (``retrieve``).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..chunk import ChunkSettings
from . import ann, store
from .generation import Addition, doc_entry, write_generation
from .leases import Lease, pinned
from .lock import WriterLock
from .snapshot import Snapshot, open_snapshot

OPEN_RETRIES = 5  # a generation pruned between reading CURRENT and opening it: read CURRENT again


class IndexExists(ValueError):
    """``Index.create`` on a folder that already holds an index."""


def _stamp(folder: Path) -> tuple[int, int, int, int] | None:
    """What changes whenever ``CURRENT`` is replaced (a new file each time), from one stat."""
    try:
        st = os.stat(folder / store.CURRENT)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size


class Index:
    """An index folder and its live snapshot; writers take ``writer()`` (readers never wait)."""

    def __init__(self, folder: Path, snapshot: Snapshot, lease: Lease | None = None):
        self.folder = Path(folder)
        # The in-process half of the writer lock (re-entrant), kept public for callers that group
        # several steps; ``writer()`` adds the cross-process file lock.
        self.lock = threading.RLock()
        self._writer = WriterLock(self.folder, self.lock)
        self._lease = lease or Lease(self.folder)
        self._refreshing = threading.Lock()
        self._seen = _stamp(self.folder)
        self._snapshot = self._leased(snapshot)

    @classmethod
    def create(cls, folder: str | Path, embedder: str, dim: int, chunking: ChunkSettings,
               ann_kind: str = "auto") -> Index:
        folder = Path(folder)
        ann.choose_kind(ann_kind, 0)
        manifest = {"embedder": embedder, "dim": dim, "chunking": chunking._asdict(),
                    "ann_request": ann_kind, "documents": []}
        writer = WriterLock(folder, threading.RLock())
        with writer.hold():  # two processes creating the same folder: one creates, the other is told
            if store.live_generation(folder) is not None:
                raise IndexExists(f"an index already exists at {folder}; open it, or choose another folder")
            return cls(folder, write_generation(folder, manifest, None, np.zeros(0, np.int64), []))

    @classmethod
    def open(cls, folder: str | Path, embedder: str | None = None, verify: bool = True) -> Index:
        folder = Path(folder)
        if store.live_generation(folder) is None:
            raise ValueError(f"no index at {folder}; build one with `qa ingest PATH --index {folder}`")
        lease = Lease(folder)
        snapshot = _open_current(folder, lease, verify)
        built_with = snapshot.manifest["embedder"]
        if embedder is not None and embedder != built_with:
            raise ValueError(
                f"the index at {folder} was built with embedder {built_with!r}, not {embedder!r}; "
                f"open it with --embedder {built_with}, or rebuild: `qa ingest PATH --index NEW_DIR "
                f"--embedder {embedder}`")
        index = cls(folder, snapshot, lease)
        lease.release(snapshot.folder.name)  # the snapshot's own lease (``_leased``) holds it now
        return index

    @property
    def snapshot(self) -> Snapshot:
        """The newest generation: one ``stat`` of ``CURRENT`` per access, an open only when it moved."""
        if _stamp(self.folder) != self._seen:
            self.refresh()
        return self._snapshot

    def refresh(self) -> Snapshot:
        """Open the generation ``CURRENT`` names if it is not the one held (once, whoever asks)."""
        with self._refreshing:
            stamp = _stamp(self.folder)
            if stamp != self._seen:
                gen = store.live_generation(self.folder)
                if gen is not None and gen.name != self._snapshot.folder.name:
                    # The writer sealed it (checksums); a server need not hash it again.
                    self._snapshot = self._leased(_open_current(self.folder, self._lease, verify=False),
                                                  already_taken=True)
                self._seen = stamp
        return self._snapshot

    def _leased(self, snapshot: Snapshot, already_taken: bool = False) -> Snapshot:
        """Lease ``snapshot``'s generation for as long as the object lives."""
        if not already_taken:
            self._lease.take(snapshot.folder.name)
        weakref.finalize(snapshot, self._lease.release, snapshot.folder.name)
        return snapshot

    @contextmanager
    def writer(self, timeout: float | None = None, on_wait: Callable[[str], None] | None = None) -> Iterator[Snapshot]:
        """Hold the folder's writer lock (one writer across processes; waits up to ``timeout`` s,
        telling ``on_wait``, then raises ``lock.WriterBusy``); yields the newest snapshot."""
        with self._writer.hold(timeout, on_wait):
            yield self.refresh()

    @property
    def embedder(self) -> str:
        return self.snapshot.manifest["embedder"]

    @property
    def chunking(self) -> ChunkSettings:
        return ChunkSettings.from_manifest(self.snapshot.manifest["chunking"])  # older manifests lack new fields

    def file_hashes(self) -> dict[str, str]:
        """Hash of each ingested file whose documents are all still indexed (none removed by hand)."""
        docs = self.snapshot.documents
        held = Counter(d["path"] for d in docs)
        return {d["path"]: d["file_hash"] for d in docs if held[d["path"]] >= d.get("file_records", 1)}

    def apply(self, additions: list[Addition], remove: set[str], timeout: float | None = None) -> Snapshot:
        """Remove the documents with ids in ``remove``, add ``additions``, save, and go live.

        Applied to the newest generation under the writer lock, whatever snapshot the additions were
        planned on: ids absent by now are ignored, an addition replaces a document of the same id,
        and also the documents of its file's other versions (same path, another file hash), which a
        writer in another process may have added since."""
        with self.writer(timeout) as old:
            versions = {a.document.path: a.file_hash for a in additions}
            drop = set(remove) | {a.document.id for a in additions}
            kept = [i for i, d in enumerate(old.documents) if d["id"] not in drop
                    and versions.get(d["path"], d["file_hash"]) == d["file_hash"]]
            if not additions and len(kept) == len(old.documents):
                return old  # nothing to remove any more: no new generation
            keep_rows = np.flatnonzero(np.isin(old.doc_rows, kept))
            documents = [old.documents[i] for i in kept] + [doc_entry(a) for a in additions]
            snapshot = write_generation(self.folder, {**old.manifest, "documents": documents},
                                        old, keep_rows, additions)
            self._snapshot, self._seen = self._leased(snapshot), _stamp(self.folder)
            store.prune(self.folder, keep={snapshot.folder.name} | pinned(self.folder))
            return snapshot


def _open_current(folder: Path, lease: Lease, verify: bool) -> Snapshot:
    """Lease, then open, the generation ``CURRENT`` names; the caller owns one lease on the result."""
    for attempt in range(OPEN_RETRIES):
        gen = store.live_generation(folder)
        if gen is None:
            raise ValueError(f"no index at {folder}; build one with `qa ingest PATH --index {folder}`")
        lease.take(gen.name)
        try:
            return open_snapshot(gen, verify)
        except (OSError, store.StoreError):
            lease.release(gen.name)
            if attempt == OPEN_RETRIES - 1 or store.live_generation(folder) == gen:
                raise  # not a generation pruned under us: a real error
    raise AssertionError("unreachable")
