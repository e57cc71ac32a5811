"""When and how segments are folded together: a tiered merge policy, run in the background.

Every add writes one small segment, so segments pile up; searching many of them costs a FAISS call
and a BM25 pass each. As in Lucene's TieredMergePolicy, segments are put in tiers by live size
(powers of ``TIER_FACTOR`` above ``FLOOR_ROWS``; anything smaller counts as the floor) and as soon as
one tier holds ``SEGMENTS_PER_TIER`` of them, those are merged into one segment of the next tier; a
segment with more than ``MAX_REMOVED`` of its rows removed is rewritten to drop them. Each chunk is
thus rewritten about once per tier, log(N) times in all, instead of on every save.

A merge writes its segment without holding the writer lock (questions and other writes go on) and
takes the lock only to commit, carrying over removals made meanwhile; if another writer merged the
same segments first, the result is dropped. ``Merger`` runs merges in one background thread per
``Index`` (set ``QA_MERGE=off`` to leave them to ``merge_all``); a process waits for its running
merge at exit, so a short ``qa ingest`` may finish the merge its add made due. A background merge
waits at most ``BACKGROUND_LOCK_WAIT`` seconds for the writer lock, then leaves the merge to a later
save: while another process writes, ``qa remove`` must not sit silent at exit for the lock's timeout.
Out of scope: a merge budget (bytes per second) and merging across index folders.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import threading
import weakref
from typing import TYPE_CHECKING

import numpy as np

from .lock import WriterBusy

if TYPE_CHECKING:
    from .live import Index
    from .snapshot import Snapshot

SEGMENTS_PER_TIER = 10
TIER_FACTOR = 10
FLOOR_ROWS = 1_000
MAX_REMOVED = 0.2
MAX_MERGED_ROWS = 5_000_000  # segments of this size are only rewritten to drop removed rows
BACKGROUND_LOCK_WAIT = 5.0
log = logging.getLogger("qa.index")


def tier(rows: int) -> int:
    return int(math.floor(math.log(max(rows, FLOOR_ROWS) / FLOOR_ROWS, TIER_FACTOR) + 1e-9))


def plan(snap: Snapshot) -> list[str]:
    """The names of the segments to merge next (empty: nothing is due)."""
    live = {seg.name: seg.rows - removed for seg, removed in zip(snap.segments, _removed_rows(snap))}
    for seg, removed in zip(snap.segments, _removed_rows(snap)):
        if seg.rows and removed > MAX_REMOVED * seg.rows:
            return [seg.name]
    tiers: dict[int, list[str]] = {}
    for seg in snap.segments:
        if live[seg.name] < MAX_MERGED_ROWS:
            tiers.setdefault(tier(live[seg.name]), []).append(seg.name)
    for level in sorted(tiers):
        if len(tiers[level]) >= SEGMENTS_PER_TIER:
            smallest = sorted(tiers[level], key=lambda name: live[name])[:SEGMENTS_PER_TIER]
            return [seg.name for seg in snap.segments if seg.name in smallest]  # keep their order
    return []


def _removed_rows(snap: Snapshot) -> list[int]:
    return [int(np.count_nonzero(np.isin(seg.doc_rows, gone))) if len(gone) else 0
            for seg, gone in zip(snap.segments, snap.deleted)]


def merge_all(index: Index, lock_wait: float | None = None) -> int:
    """Run every merge that is due, here and now; returns how many ran. With ``lock_wait``, a merge
    that does not get the writer lock within that many seconds is left for later, without an error
    (without it, the lock's own timeout applies and ``WriterBusy`` is raised)."""
    done = 0
    while names := plan(index.snapshot):
        try:
            if not index.merge_segments(names, timeout=lock_wait):
                break
        except WriterBusy:
            if lock_wait is None:
                raise
            log.debug("segment merge left for a later save: another writer holds the lock")
            break
        done += 1
    return done


class Merger:
    """Runs ``merge_all`` in a background thread whenever ``kick`` says something may be due."""

    def __init__(self, index: Index):
        self._index = weakref.ref(index)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        # Whether a thread will look at ``_again`` again: set and cleared under ``_lock``. Not
        # ``is_alive()``: a thread that has decided to stop is alive a moment longer, and a kick in
        # that moment would set a flag nobody reads (the merge it made due left to the next save).
        self._busy = False
        self._again = False

    def kick(self) -> None:
        if os.environ.get("QA_MERGE", "background") == "off":
            return
        with self._lock:
            if self._busy:
                self._again = True
                return
            index = self._index()
            if index is None or not plan(index.snapshot):
                return
            self._busy = True
            self._thread = threading.Thread(target=self._run, name="qa-merge", daemon=True)
            _RUNNING.add(self._thread)
            self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                index = self._index()
                if index is None:
                    break
                try:
                    merge_all(index, lock_wait=BACKGROUND_LOCK_WAIT)
                except Exception:  # a merge is an optimisation: the index stays as it was
                    log.exception("segment merge failed; the index is unchanged")
                    break
                del index
                with self._lock:
                    if not self._again:
                        self._busy = False
                        return
                    self._again = False
            with self._lock:
                self._busy = self._again = False
        finally:
            _RUNNING.discard(threading.current_thread())

    def wait(self) -> None:
        thread = self._thread
        if thread is not None:
            thread.join()


_RUNNING: set[threading.Thread] = set()


@atexit.register
def _finish_running_merges() -> None:
    running = [t for t in _RUNNING if t.is_alive()]
    if running:
        log.warning("finishing a segment merge before exiting (QA_MERGE=off leaves merges to later writers)")
    for thread in running:
        thread.join()
