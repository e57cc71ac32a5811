"""Which generation ``CURRENT`` names, and whether a process's view of it can still be trusted.

A reader checks ``CURRENT`` with one ``stat`` per access (``stamp``): a save replaces the file, so its
inode, times or size change. Within one tick of the file clock they may not (``settled``), and a
generation may be pruned between reading its name and opening it (``open_current`` reads the name
again). Out of scope: holding the snapshot and its leases (``live``) and writing generations
(``generation``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from . import store
from .leases import Lease
from .segment import Segment
from .snapshot import Snapshot, open_snapshot

RACY_NS = 1_000_000_000  # far above any file-time granularity (a kernel tick is 1-10 ms)
OPEN_RETRIES = 5  # a generation pruned between reading CURRENT and opening it: read CURRENT again
Stamp = tuple[int, int, int, int]


def stamp(folder: Path) -> Stamp | None:
    """What changes whenever ``CURRENT`` is replaced (a new file each time), from one stat; except
    within one tick of the file clock (see ``settled``)."""
    try:
        st = os.stat(folder / store.CURRENT)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size


def settled(seen: Stamp | None) -> bool:
    """Whether no later save can give ``CURRENT`` this same stamp. A freed inode number is reused at
    once and file times are coarse (a kernel tick), so a save within the tick of the one seen can
    look unchanged; as git does for its "racily clean" files, a stamp younger than ``RACY_NS`` is
    trusted only after reading the generation name again."""
    return seen is None or time.time_ns() - seen[1] > RACY_NS


def open_current(folder: Path, lease: Lease, verify: bool, reuse: dict[str, Segment] | None = None) -> Snapshot:
    """Lease, then open, the generation ``CURRENT`` names; the caller owns one lease on the result."""
    for attempt in range(OPEN_RETRIES):
        gen = store.live_generation(folder)
        if gen is None:
            raise ValueError(f"no index at {folder}; build one with `qa ingest PATH --index {folder}`")
        lease.take(gen.name)
        try:
            return open_snapshot(gen, verify, reuse)
        except (OSError, store.StoreError):
            lease.release(gen.name)
            if attempt == OPEN_RETRIES - 1 or store.live_generation(folder) == gen:
                raise  # not a generation pruned under us: a real error
    raise AssertionError("unreachable")
