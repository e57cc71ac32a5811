"""What a new generation keeps of the newest one: its segments and the places of their removed documents.

A commit (``committed``) marks removed documents and the other versions of the staged files in the
segments they are in; a merge (``merged``) puts its one segment in place of those it folded, carrying
over removals made while it was written. Both are applied to the newest generation under the writer
lock, whatever snapshot the work started from. Out of scope: writing the generation (``live``) and
when to merge (``merge``).
"""

from __future__ import annotations

import numpy as np

from .generation import Piece
from .segment import Segment
from .snapshot import Snapshot

Entries = list[tuple[Segment, set[int]]]  # (segment, places of its removed documents)


def committed(old: Snapshot, staged: list[Segment], remove: set[str]) -> tuple[Entries, bool]:
    """The segments of ``old`` left after removing the documents with ids in ``remove``, those the
    ``staged`` documents replace (same id), and the other versions of their files (same path, another
    file hash); and whether anything changed (staged segments count as a change; they are not listed)."""
    added = [d for seg in staged for d in seg.documents]
    versions = {d["path"]: d["file_hash"] for d in added}
    drop = set(remove) | {d["id"] for d in added}
    entries, changed = [], bool(staged)
    for seg, gone in zip(old.segments, old.deleted):
        removed = set(gone.tolist()) | {
            i for i, d in enumerate(seg.documents)
            if d["id"] in drop or versions.get(d["path"], d["file_hash"]) != d["file_hash"]}
        changed |= len(removed) > len(gone)
        if len(removed) < len(seg.documents):
            entries.append((seg, removed))
    return entries, changed


def pieces(base: Snapshot, names: list[str]) -> list[Piece] | None:
    """The live documents of the named segments of ``base``, to write as one segment (None: there is
    nothing to gain, one segment and nothing removed from it)."""
    chosen = [(seg, gone) for seg, gone in zip(base.segments, base.deleted) if seg.name in names]
    if len(chosen) < 2 and not any(len(gone) for _, gone in chosen):
        return None
    return [Piece(seg, np.setdiff1d(np.arange(len(seg.documents)), gone)) for seg, gone in chosen]


def places(parts: list[Piece]) -> dict[tuple[str, int], int]:
    """(segment name, place of a document in it) → its place in the merged segment."""
    place: dict[tuple[str, int], int] = {}
    for piece in parts:
        for pos in piece.docs.tolist():
            place[(piece.segment.name, pos)] = len(place)
    return place


def merged(newest: Snapshot, parts: list[Piece], place: dict[tuple[str, int], int],
           segment: Segment) -> Entries | None:
    """The entries of ``newest`` with ``segment`` (the merge of ``parts``) in place of the first segment
    it replaces, the others it replaces left out, and the documents removed from them since marked in
    it; None when another writer merged them first. Entries may hold a segment with everything removed."""
    chosen = {piece.segment.name: piece.segment for piece in parts}
    current = {seg.name: gone.tolist() for seg, gone in zip(newest.segments, newest.deleted)}
    held = {d["id"] for d in newest.documents}
    for name, seg in chosen.items():
        if name not in current:  # dropped whole: all of it removed, or merged by another writer
            if any(d["id"] in held for d in seg.documents):
                return None
            current[name] = list(range(len(seg.documents)))
    removed = {place[(name, pos)] for name in chosen for pos in current[name] if (name, pos) in place}
    entries, placed = [], False
    for seg, gone in zip(newest.segments, newest.deleted):
        if seg.name not in chosen:
            entries.append((seg, set(gone.tolist())))
        elif not placed:
            entries.append((segment, removed))
            placed = True
    return entries
