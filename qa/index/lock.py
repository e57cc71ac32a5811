"""One writer at a time per index folder, across threads and processes.

The lock is an OS file lock (``flock`` through the ``filelock`` library) on ``DIR/writer.lock``, so
the kernel releases it when its holder dies, even by SIGKILL: a crashed writer never leaves the
folder locked. The holder writes who it is (pid, command, since when) to ``DIR/writer.json`` so a
second writer can say whom it waits for. A thread lock in front of the file lock makes it re-entrant
within one thread and keeps two threads of one process from holding it at once.
Out of scope: readers (they never lock; see ``leases``) and folders shared over NFS between hosts
(``flock`` on NFS depends on the server; one machine is what is tested).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import filelock

from .store import StoreError

LOCK_FILE = "writer.lock"
HOLDER_FILE = "writer.json"
# How long a writer waits for another before giving up; QA_WRITER_TIMEOUT (seconds) overrides it.
DEFAULT_TIMEOUT = 600.0
log = logging.getLogger("qa.index")


class WriterBusy(StoreError):
    """Another writer held the index folder for longer than this one was willing to wait."""


def default_timeout() -> float:
    value = os.environ.get("QA_WRITER_TIMEOUT")
    try:
        return float(value) if value else DEFAULT_TIMEOUT
    except ValueError as e:
        raise ValueError(f"QA_WRITER_TIMEOUT={value!r} is not a number of seconds") from e


def _holder(folder: Path) -> str:
    """Who holds the lock, as far as ``writer.json`` tells (it may lag a brand-new holder)."""
    try:
        info = json.loads((folder / HOLDER_FILE).read_text("utf-8"))
        since = time.strftime("%H:%M:%S", time.localtime(float(info["since"])))
        return f"pid {info['pid']} ({info['command']}, since {since})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


class WriterLock:
    """The writer lock of one index folder (one object per ``Index``)."""

    def __init__(self, folder: Path, thread_lock: threading.RLock | None = None):
        self.folder = folder
        self._thread_lock = thread_lock or threading.RLock()
        self._file_lock: filelock.BaseFileLock | None = None
        self._depth = 0
        self._owner: int | None = None

    @property
    def held(self) -> bool:
        """True in the thread that holds it."""
        return self._depth > 0 and self._owner == threading.get_ident()

    @contextmanager
    def hold(self, timeout: float | None = None,
             on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """Hold the lock for the block; waits up to ``timeout`` seconds (default: QA_WRITER_TIMEOUT or
        600), telling ``on_wait`` (default: a log warning) once if it has to wait, then raises
        ``WriterBusy``. Re-entrant in the holding thread."""
        timeout = default_timeout() if timeout is None else timeout
        started = time.monotonic()
        if not self._thread_lock.acquire(blocking=False):
            self._waiting(on_wait, "another writer of this process")
            if not self._thread_lock.acquire(timeout=max(timeout, 0.0)):
                raise self._busy(timeout, "another writer of this process")
        try:
            if self._depth == 0:
                self._acquire_file(timeout - (time.monotonic() - started), timeout, on_wait)
                self._owner = threading.get_ident()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._owner = None
                    self._release_file()
        finally:
            self._thread_lock.release()

    def _acquire_file(self, left: float, timeout: float, on_wait: Callable[[str], None] | None) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(str(self.folder / LOCK_FILE), thread_local=False)
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            holder = _holder(self.folder)
            self._waiting(on_wait, holder)
            try:
                lock.acquire(timeout=max(left, 0.0), poll_interval=0.05)
            except filelock.Timeout:
                raise self._busy(timeout, holder) from None
        self._file_lock = lock
        info = {"pid": os.getpid(), "command": " ".join(os.path.basename(a) for a in sys.argv[:3]) or "python",
                "since": time.time()}
        (self.folder / HOLDER_FILE).write_text(json.dumps(info), "utf-8")

    def _release_file(self) -> None:
        lock, self._file_lock = self._file_lock, None
        if lock is not None:
            lock.release()

    def _waiting(self, on_wait: Callable[[str], None] | None, holder: str) -> None:
        message = f"waiting for {holder} to finish writing the index at {self.folder}"
        (on_wait or log.warning)(message)

    def _busy(self, timeout: float, holder: str) -> WriterBusy:
        return WriterBusy(f"the index at {self.folder} is being written by {holder}; gave up after {timeout:g}s. "
                          "Try again when it is done, or wait longer with QA_WRITER_TIMEOUT=SECONDS")
