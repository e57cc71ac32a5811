"""Reader leases: which generations live processes may still read, so that no writer prunes them.

Each open ``Index`` keeps one lease file, ``DIR/leases/PID-TOKEN.json``, listing the generations of
the snapshots it has handed out and still references (a snapshot releases its generation when it is
garbage-collected). A writer prunes only generations that are neither live nor in the lease of a
live process. A lease names its process by pid and start time (from ``/proc``), so the lease of a
crashed reader, or a pid reused by another program, pins nothing: it is deleted when seen.
A reader leases a generation *before* opening it and retries with the newer ``CURRENT`` if a prune
won that race. Out of scope: readers on other hosts (leases are checked against local pids).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections import Counter
from pathlib import Path

LEASES = "leases"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (None where /proc does not tell)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22 of stat; the name before ")" may hold spaces


def alive(pid: int, start: str | None) -> bool:
    """Whether ``pid`` is still the process that wrote a lease with start time ``start``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    now = _start_time(pid)
    return start is None or now is None or now == start


class Lease:
    """The lease of one open ``Index``: generation name → how many live snapshots use it."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._token = secrets.token_hex(4)
        self._held: Counter[str] = Counter()
        self._lock = threading.RLock()

    @property
    def path(self) -> Path:
        # The pid is read at each write: a forked child gets a lease of its own.
        return self.folder / LEASES / f"{os.getpid()}-{self._token}.json"

    def take(self, generation: str) -> None:
        with self._lock:
            self._held[generation] += 1
            self._write()

    def release(self, generation: str) -> None:
        with self._lock:
            self._held[generation] -= 1
            if self._held[generation] <= 0:
                del self._held[generation]
            self._write()

    def generations(self) -> set[str]:
        with self._lock:
            return set(self._held)

    def _write(self) -> None:
        path = self.path
        try:
            if not self._held:
                path.unlink(missing_ok=True)
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"pid": os.getpid(), "start": _start_time(os.getpid()),
                                       "generations": sorted(self._held)}), "utf-8")
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only or vanished folder: nothing to protect from a writer there


def pinned(folder: Path) -> set[str]:
    """Generations leased by live processes; the leases of dead ones are deleted on the way."""
    found: set[str] = set()
    for path in (folder / LEASES).glob("*.json"):
        try:
            lease = json.loads(path.read_text("utf-8"))
            pid, start, generations = int(lease["pid"]), lease.get("start"), lease["generations"]
        except FileNotFoundError:
            continue
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)  # a torn or foreign file: leases are replaced atomically
            continue
        if alive(pid, start):
            found.update(str(g) for g in generations)
        else:
            path.unlink(missing_ok=True)
    return found
