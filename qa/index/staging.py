"""Additions written as segments while they arrive, made visible together by one commit.

A long ingest (the ray runner's shards) need not hold all its additions in memory: each batch is
written now as a segment that no reader sees (``stage``), and one ``commit`` at the end makes all of
them live in a single generation with the ingest's removals. Leaving the ``with`` block without a
commit (an error, a cancelled job) discards what was written; nothing of it was ever visible. Works
over any store with ``stage``, ``commit`` and ``discard`` (``Index``, ``MilvusIndex``).
Out of scope: committing part of a job (it is all or nothing).
"""

from __future__ import annotations

from typing import Any

from .generation import Addition


class Staging:
    """The staged segments of one job; ``written`` and ``chunks`` count what it wrote."""

    def __init__(self, index: Any):
        self._index = index
        self._staged: list[Any] = []
        self.written = 0
        self.chunks = 0

    def write(self, additions: list[Addition]) -> None:
        """Write ``additions`` as one staged segment (nothing for an empty list)."""
        if additions:
            self._staged.append(self._index.stage(additions))
            self.written += 1
            self.chunks += sum(len(a.chunks) for a in additions)

    def commit(self, remove: set[str], timeout: float | None = None) -> Any:
        """Make every staged segment live, with the removal of ``remove``, in one generation."""
        staged, self._staged = self._staged, []
        return self._index.commit(staged, remove, timeout)

    def discard(self) -> None:
        staged, self._staged = self._staged, []
        self._index.discard(staged)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()
