"""The index: an index folder and its live ``Snapshot``, kept current across processes.

``Index.apply`` writes the additions as one new segment (before taking any lock), then takes the
folder's writer lock (``lock``: one writer at a time, across processes), re-reads the newest
generation, marks the removed documents in their segments and commits a new generation of the
segments that are left plus the new one: a save costs what it adds, not the size of the index. The
in-memory snapshot is swapped in one assignment; a reader that took the previous snapshot keeps a
consistent view until it is done. ``Index.snapshot`` checks ``CURRENT`` with one ``stat`` per access
and opens a newer generation (written by another process) once, re-using the segments it already has
open. Generations still leased by a live reader (``leases``) are not pruned, nor their segments.
Small segments are merged in the background (``merge``). What a commit or a merge keeps of the newest
generation is worked out in ``changes``; reading ``CURRENT`` in ``current``. Out of scope: embedding
and chunking (``ingest`` does them) and ranking (``retrieve``).
"""

from __future__ import annotations

import logging
import shutil
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..chunk import ChunkSettings
from . import ann, changes, current, store
from .generation import Addition, publish, write_generation, write_segment
from .leases import Lease, alive, pinned
from .lock import WriterLock
from .merge import Merger
from .segment import Segment
from .snapshot import Snapshot, open_snapshot
from .staging import Staging

log = logging.getLogger("qa.index")
SETTINGS = ("embedder", "dim", "chunking", "ann_request")  # what every generation of a folder repeats


class IndexExists(ValueError):
    """``Index.create`` on a folder that already holds an index."""


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
        self._seen = current.stamp(self.folder)
        self._trusted = current.settled(self._seen)
        self._snapshot = self._leased(snapshot)
        self._merger = Merger(self)

    @classmethod
    def create(cls, folder: str | Path, embedder: str, dim: int, chunking: ChunkSettings,
               ann_kind: str = "auto") -> Index:
        folder = Path(folder)
        ann.choose_kind(ann_kind, 0)
        settings = {"embedder": embedder, "dim": dim, "chunking": chunking._asdict(), "ann_request": ann_kind}
        writer = WriterLock(folder, threading.RLock())
        with writer.hold():  # two processes creating the same folder: one creates, the other is told
            if store.live_generation(folder) is not None:
                raise IndexExists(f"an index already exists at {folder}; open it, or choose another folder")
            return cls(folder, open_snapshot(write_generation(folder, settings, []), verify=False))

    @classmethod
    def open(cls, folder: str | Path, embedder: str | None = None, verify: bool = True) -> Index:
        folder = Path(folder)
        if store.live_generation(folder) is None:
            raise ValueError(f"no index at {folder}; build one with `qa ingest PATH --index {folder}`")
        lease = Lease(folder)
        snapshot = current.open_current(folder, lease, verify)
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
        """The newest generation: one ``stat`` of ``CURRENT`` per access (and, within a second of a
        save, a read of the name it holds), an open only when it moved."""
        if not self._trusted or current.stamp(self.folder) != self._seen:
            self.refresh(exact=not self._trusted)
        return self._snapshot

    def refresh(self, exact: bool = False) -> Snapshot:
        """Open the generation ``CURRENT`` names if it is not the one held (once, whoever asks).

        ``exact`` reads the name even when ``CURRENT``'s stat looks unchanged: a freed inode number is
        reused and file times are coarse (a kernel tick), so two quick saves by another process can
        leave the same stamp; a writer must never go on from a generation that is no longer live."""
        with self._refreshing:
            stamp = current.stamp(self.folder)
            if exact or stamp != self._seen:
                gen = store.live_generation(self.folder)
                if gen is not None and gen.name != self._snapshot.folder.name:
                    # The writer sealed it (checksums); a server need not hash it again.
                    opened = current.open_current(self.folder, self._lease, verify=False,
                                                  reuse=self._open_segments())
                    self._snapshot = self._leased(opened, already_taken=True)
                self._seen, self._trusted = stamp, current.settled(stamp)
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
            yield self.refresh(exact=True)

    store = "local"

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

    def _open_segments(self) -> dict[str, Segment]:
        return {seg.name: seg for seg in self._snapshot.segments}

    def stage(self, additions: list[Addition]) -> Segment:
        """Write ``additions`` as a new segment now, visible to no reader until ``commit`` lists it.
        No lock is taken: questions and other writers go on meanwhile. A staged segment that is
        neither committed nor ``discard``ed (its process died) is cleared by a later save."""
        manifest = self.snapshot.manifest
        return write_segment(self.folder, [], additions, int(manifest["dim"]), manifest.get("ann_request", "auto"))

    def staging(self) -> Staging:
        """Segments written one at a time, made live by one commit (``staging.Staging``)."""
        return Staging(self)

    def discard(self, staged: list[Segment]) -> None:
        """Delete staged segments that will not be committed."""
        for seg in staged:
            shutil.rmtree(seg.folder, ignore_errors=True)

    def apply(self, additions: list[Addition], remove: set[str], timeout: float | None = None) -> Snapshot:
        """Remove the documents with ids in ``remove``, add ``additions``, save, and go live: ``stage``
        then ``commit``, so another process's writes wait only for the commit."""
        return self.commit([self.stage(additions)] if additions else [], remove, timeout)

    def commit(self, staged: list[Segment], remove: set[str], timeout: float | None = None) -> Snapshot:
        """Make the ``staged`` segments live and the documents with ids in ``remove`` gone, all in one
        new generation (all or nothing; a refused or failed commit discards ``staged``).

        Applied to the newest generation under the writer lock, whatever snapshot the additions were
        planned on: ids absent by now are ignored, a staged document replaces a document of the same
        id, and also the documents of its file's other versions (same path, another file hash), which
        a writer in another process may have added since."""
        staged = list(staged)
        try:
            with self.writer(timeout) as old:
                entries, changed = changes.committed(old, staged, remove)
                if not changed:
                    return old  # nothing to remove any more: no new generation
                entries += [(publish(seg), set()) for seg in staged]
                staged = []  # published: a failed commit leaves them to the next save's prune
                snapshot = self._commit(old, entries)
        finally:
            self.discard(staged)  # refused or failed before its commit: it never went live
        self._merger.kick()
        return snapshot

    def merge_segments(self, names: list[str], timeout: float | None = None) -> bool:
        """Merge the named segments of the live snapshot into one (written without the lock, committed
        with it, carrying over documents removed meanwhile); False when another writer changed them first."""
        base = self.snapshot
        pieces = changes.pieces(base, names)
        if pieces is None:
            return False
        merged = write_segment(self.folder, pieces, [], int(base.manifest["dim"]),
                               base.manifest.get("ann_request", "auto"))
        place, published = changes.places(pieces), False
        try:
            with self.writer(timeout, on_wait=log.debug) as newest:  # a background merge waits quietly
                entries = changes.merged(newest, pieces, place, merged)
                if entries is None:
                    return False
                if any(seg is merged for seg, _ in entries):
                    publish(merged)
                    published = True
                self._commit(newest, [e for e in entries if len(e[1]) < len(e[0].documents)])
                return True
        finally:
            if not published:
                shutil.rmtree(merged.folder, ignore_errors=True)

    def merge(self) -> int:
        """Run the merges that are due now, in this thread (see ``merge``); returns how many ran."""
        from .merge import merge_all

        return merge_all(self)

    def _commit(self, old: Snapshot, entries: list[tuple[Segment, set[int]]]) -> Snapshot:
        """Write and go live with a generation of ``entries`` (segment, places of removed documents);
        call it holding the writer lock."""
        settings = {key: old.manifest[key] for key in SETTINGS if key in old.manifest}
        gen = write_generation(self.folder, settings, [(seg.name, sorted(gone)) for seg, gone in entries])
        snapshot = open_snapshot(gen, verify=False, reuse={seg.name: seg for seg, _ in entries})
        self._snapshot, self._seen = self._leased(snapshot), current.stamp(self.folder)
        self._trusted = current.settled(self._seen)
        store.prune(self.folder, keep={gen.name} | pinned(self.folder), alive=lambda pid: alive(pid, None))
        return snapshot

