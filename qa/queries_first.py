"""Questions before ingest: one process-wide gate (``PRIORITY``) between query embeddings and ingest batches.

The embedders run query embeddings inside ``PRIORITY.query()``; the ingest workers
(``qa.ingest.workers``) call ``PRIORITY.turn()`` before each small batch. Out of scope: priorities
across processes (each process has its own gate) and between two ingests.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator


class QueriesFirst:
    """Questions before ingest: a query embedding starts at once; an ingest batch waits its ``turn``
    while a query is in flight (at most ``max_pause`` seconds, so an ingest moves even under nonstop
    questions). Query embeddings run inside ``query``; ingest workers call ``turn`` before each small
    batch, so a question never waits for an ingest batch and shares the cores with at most the batches
    already running when it arrived.
    """

    def __init__(self, max_pause: float = 1.0):
        self.max_pause = max_pause
        self._cond = threading.Condition()
        self._active = 0
        self._last = float("-inf")

    @contextlib.contextmanager
    def query(self) -> Iterator[None]:
        with self._cond:
            self._active += 1
            self._last = time.monotonic()
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._last = time.monotonic()
                if not self._active:
                    self._cond.notify_all()

    def turn(self, quiet: float = 0.0, max_pause: float | None = None) -> bool:
        """Wait until no query is in flight and none ended in the last ``quiet`` seconds: True; or
        False after ``max_pause`` seconds (default: the gate's ``max_pause``)."""
        deadline = time.monotonic() + (self.max_pause if max_pause is None else max_pause)
        with self._cond:
            while (now := time.monotonic()) < deadline:
                calm = self._last + quiet - now
                if not self._active and calm <= 0:
                    return True
                self._cond.wait(deadline - now if self._active else min(calm, deadline - now))
            return False


PRIORITY = QueriesFirst()
