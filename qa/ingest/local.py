"""The ``local`` runner: plan, chunk and embed in this process (per-core workers), then commit.

Nothing is locked while files are read and embedded: questions keep being answered from the live
snapshot, and another writer may change the index meanwhile (``commit`` applies against its newest
state). An exception from ``progress`` (a cancelled job) aborts before anything is applied.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from ..embed import Embedder
from ..index import Index
from ..load import DEFAULT_MAX_BYTES
from .encode import Progress, encode
from .plan import IngestReport, commit, plan


def ingest(index: Index, embedder: Embedder, paths: Iterable[str | Path], max_bytes: int = DEFAULT_MAX_BYTES,
           progress: Progress | None = None, workers: int | None = None) -> IngestReport:
    started = time.perf_counter()
    changes = plan(index, paths, max_bytes)
    additions = encode(changes.documents, embedder, index.chunking, progress, workers)
    commit(index, changes, additions)
    return changes.report(sum(len(a.chunks) for a in additions), started)


class LocalRunner:
    """Ingest in this process, ``workers`` embedding threads (default: one per core)."""

    def __init__(self, workers: int | None = None):
        self.workers = workers

    def ingest(self, index: Index, embedder: Embedder, paths: Iterable[str | Path],
               max_bytes: int = DEFAULT_MAX_BYTES, progress: Progress | None = None) -> IngestReport:
        return ingest(index, embedder, paths, max_bytes, progress, self.workers)
