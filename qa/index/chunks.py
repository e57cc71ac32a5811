"""The chunk store of a segment: one JSON line per chunk, byte offsets, read through a memory map;
and the byte-range copies that let a merge copy old rows without parsing them.

Out of scope: the other files of a segment (``generation`` writes them, ``segment`` reads them).
"""

from __future__ import annotations

import json
import mmap
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..records import Chunk


def write_chunks(staging: Path, lines: Iterable[bytes],
                 olds: Iterable[tuple[ChunkStore, np.ndarray]] = ()) -> int:
    """Write chunk records (one JSON per line) and their byte offsets; returns the count.

    The rows (ascending) of each of ``olds`` come first, copied as byte ranges straight from its
    memory map (one write per run of consecutive rows), so no old line is held in RAM.
    """
    parts = [np.zeros(1, np.int64)]
    with open(staging / "chunks.jsonl", "wb") as f:
        for old, rows in olds:
            if not len(rows):
                continue
            starts, ends = old.byte_ranges(rows)
            f.flush()
            for a, b in zip(starts.tolist(), ends.tolist()):
                copy_range(old._file.fileno(), f.fileno(), a, b)
            parts.append(int(parts[-1][-1]) + np.cumsum(np.diff(old._offsets)[rows], dtype=np.int64))
        base = int(parts[-1][-1])
        new = [0]
        for line in lines:
            f.write(line)
            new.append(new[-1] + len(line))
        parts.append(base + np.asarray(new[1:], np.int64))
    offsets = np.concatenate(parts)
    np.save(staging / "offsets.npy", offsets)
    return len(offsets) - 1


def copy_range(src: int, dst: int, start: int, end: int) -> None:
    """Append bytes [start, end) of file ``src`` to file ``dst`` (in the kernel where it can)."""
    while start < end:
        try:
            n = os.copy_file_range(src, dst, end - start, start)
        except OSError:
            n = os.write(dst, os.pread(src, min(end - start, 1 << 24), start))
        if n <= 0:
            raise OSError(f"could not copy bytes {start}-{end} of the chunk store")
        start += n


def random_access(mapping: mmap.mmap | np.ndarray) -> None:
    """Tell the kernel a map is read at random (a query touches a few rows): no read-ahead, so a
    question does not page in megabytes around each row it reads."""
    mapping = getattr(mapping, "_mmap", mapping)
    if isinstance(mapping, mmap.mmap) and hasattr(mmap, "MADV_RANDOM"):
        mapping.madvise(mmap.MADV_RANDOM)


def runs(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ascending ``rows`` as half-open runs of consecutive rows: (first rows, ends)."""
    rows = np.asarray(rows, np.int64)
    if not len(rows):
        return rows, rows
    cut = np.flatnonzero(np.diff(rows) != 1) + 1
    return rows[np.concatenate([[0], cut])], rows[np.concatenate([cut - 1, [len(rows) - 1]])] + 1


def chunk_line(chunk: Chunk) -> bytes:
    return (json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n").encode("utf-8")


class ChunkStore:
    """Random access to the chunks of one generation through a memory map."""

    def __init__(self, gen: Path):
        self._offsets = np.load(gen / "offsets.npy", mmap_mode="r")
        path = gen / "chunks.jsonl"
        self._file = open(path, "rb")  # noqa: SIM115 - lives as long as the snapshot
        size = os.path.getsize(path)
        self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ) if size else None
        if self._map is not None:
            random_access(self._map)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def raw(self, i: int) -> bytes:
        if self._map is None or not 0 <= i < len(self):
            raise IndexError(i)
        return self._map[int(self._offsets[i]) : int(self._offsets[i + 1])]

    def byte_ranges(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Byte (starts, ends) in ``chunks.jsonl`` of the runs of consecutive ``rows`` (ascending)."""
        first, end = runs(rows)
        return self._offsets[first], self._offsets[end]

    def __getitem__(self, i: int) -> Chunk:
        return Chunk.from_dict(json.loads(self.raw(i)))
