"""Views of a snapshot's segments as one list of rows: stacked arrays and chunks, each row's sentences,
and a top-m helper.

Out of scope: which rows are live (``snapshot`` maps them to segments).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..records import Chunk

if TYPE_CHECKING:
    from .segment import Segment
    from .snapshot import Snapshot


def top(rows: np.ndarray, scores: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``m`` best (rows, scores) by descending score, ties in ``rows`` order (as a stable sort
    of everything would give), partitioning first so a long list is not sorted whole."""
    if len(rows) > m:
        cut = np.partition(scores, len(scores) - m)[len(scores) - m]
        keep = np.flatnonzero(scores >= cut)
        rows, scores = rows[keep], scores[keep]
    order = np.argsort(-scores, kind="stable")[:m]
    return rows[order], scores[order]


def sentence_bounds(snap: Snapshot, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's sentences: (first, end) in the snapshot's sentence numbering."""
    where, local = snap.locate(np.asarray(rows, np.int64))
    if len(snap.segments) == 1:
        offsets = snap.segments[0].sentence_offsets
        return offsets[local], offsets[local + 1]
    starts, ends = np.zeros(len(local), np.int64), np.zeros(len(local), np.int64)
    for s in np.unique(where).tolist():
        mask, offsets = where == s, snap.segments[s].sentence_offsets
        starts[mask] = offsets[local[mask]] + snap.sentence_bases[s]
        ends[mask] = offsets[local[mask] + 1] + snap.sentence_bases[s]
    return starts, ends


def sentence_picks(snap: Snapshot, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sentence-vector indexes of ``rows``' sentences back to back, where each row with sentences
    starts in that list, which rows have sentences)."""
    a, b = sentence_bounds(snap, rows)
    lengths = b - a
    ends = np.cumsum(lengths)
    picks = np.arange(int(lengths.sum())) + np.repeat(a - (ends - lengths), lengths)
    some = lengths > 0
    return picks, (ends - lengths)[some], some


class Stacked:
    """The rows of one per-segment array (``pick(segment)``) for rows of the snapshot, as if one array."""

    def __init__(self, snap: Snapshot, pick: Callable[[Segment], np.ndarray], sentences: bool = False):
        self._snap, self._pick, self._sentences = snap, pick, sentences

    def __len__(self) -> int:
        return self._snap.sentence_total if self._sentences else len(self._snap)

    @property
    def shape(self) -> tuple[int, ...]:
        dim = int(self._snap.manifest["dim"])
        return (len(self), dim)

    def __getitem__(self, rows: Any) -> np.ndarray:
        rows = np.asarray(rows, np.int64)
        flat = rows.reshape(-1)
        arrays = [self._pick(seg) for seg in self._snap.segments]
        if len(arrays) == 1 and self._sentences:
            out = arrays[0][flat]
        elif len(arrays) == 1:
            out = arrays[0][self._snap.locate(flat)[1]]
        else:
            where, local = (self._snap.locate_sentences if self._sentences else self._snap.locate)(flat)
            out = np.empty((len(flat), self.shape[1]), arrays[0].dtype if arrays else np.float32)
            for s in np.unique(where).tolist():
                mask = where == s
                out[mask] = arrays[s][local[mask]]
        return out.reshape(*rows.shape, self.shape[1]) if rows.ndim else out.reshape(-1)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[np.arange(len(self))]
        return out.astype(dtype) if dtype is not None else out


class StackedChunks:
    """The chunks of the snapshot's rows."""

    def __init__(self, snap: Snapshot):
        self._snap = snap

    def __len__(self) -> int:
        return len(self._snap)

    def raw(self, i: int) -> bytes:
        if not 0 <= int(i) < len(self._snap):
            raise IndexError(i)
        where, local = self._snap.locate(np.asarray([i], np.int64))
        return self._snap.segments[int(where[0])].chunks.raw(int(local[0]))

    def __getitem__(self, i: int) -> Chunk:
        return Chunk.from_dict(json.loads(self.raw(i)))


