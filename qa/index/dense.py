"""Dense search over a snapshot's segments: every segment's FAISS index for the language, merged.

The small exact segments that adds leave until a merge folds them are searched together in one
matrix product. A segment whose index holds rows that are not live (documents removed since it was
written, rows a merge dropped) is searched for more hits instead of with an id selector, as long
as those are at most ``OVERFETCH_DEAD``: for ``k`` hits, ``k`` plus the dead rows hold the best
``k`` live ones of an exact index, and an approximate one searches ``max(efSearch, k)`` candidates
anyway, whereas a FAISS ``IDSelectorBatch`` tests every candidate it visits (measured: 1.27-1.36x
of one segment's search time at 100k-1M with a removal pending, docs/benchmarks.md). More dead rows
than that: the selector. Out of scope: BM25 (``lexical_combined.Combined``) and ranking (``qa.retrieve``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import ann
from .segment import Segment

if TYPE_CHECKING:
    from .snapshot import Snapshot

SMALL_EXACT_ROWS = 20_000  # exact segments up to this size are searched together, in numpy
OVERFETCH_DEAD = 256  # dead rows in a segment's index up to which it is over-fetched, not filtered


def search(snap: Snapshot, lang: str, query: np.ndarray, m: int,
           doc_ids: tuple[str, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows in ``lang`` and their cosines: the ``m`` best of every segment's FAISS index, removed
    rows skipped, merged (exact when every index is: the best ``m`` of each hold the best ``m`` of
    all); with a document filter, every allowed row, exactly (small sets, and HNSW misses under
    filters)."""
    if doc_ids is not None:
        live = snap.live_rows(lang)
        found = live[np.isin(live, snap.rows_of_documents(doc_ids))]
        return found, np.asarray(snap.vectors[found], np.float32) @ query
    rows, scores = [], []
    small_rows, small_vectors = small_exact(snap, lang)
    if len(small_rows):  # the small exact segments of recent adds, in one product
        cos = small_vectors @ np.asarray(query, np.float32)
        keep = np.argpartition(-cos, m)[:m] if len(cos) > m else np.arange(len(cos))
        rows.append(small_rows[keep])
        scores.append(cos[keep])
    for s, seg in enumerate(snap.segments):
        if lang in seg.parts and not is_small_exact(seg):
            found, found_scores = _segment(seg, snap.removals(s), lang, query, m)
            rows.append(snap.bases[s] + found)
            scores.append(found_scores)
    if len(rows) == 1:
        return rows[0], scores[0]
    rows_a = np.concatenate([np.zeros(0, np.int64), *rows])
    scores_a = np.concatenate([np.zeros(0, np.float32), *scores])
    order = np.lexsort((rows_a, -scores_a))[:m]
    return rows_a[order], scores_a[order]


def _segment(seg: Segment, removals: tuple, lang: str, query: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``m`` best live rows of one segment's index for ``lang`` (in the snapshot's numbering
    less the segment's base), and their cosines."""
    row_of, alive, key = removals
    index, id_rows = seg.parts[lang]
    dead = seg.dead_ids(lang, alive, key)
    if len(dead) <= OVERFETCH_DEAD:
        found_scores, ids = ann.search(index, query[None, :], m + len(dead))
    else:
        found_scores, ids = ann.search(index, query[None, :], m, seg.exclusion(lang, alive, key))
    keep = ids[0] >= 0
    local, found_scores = id_rows[ids[0][keep]], found_scores[0][keep]
    ok = local >= 0
    local, found_scores = local[ok], found_scores[ok]
    if row_of is not None:
        local = row_of[local]
        ok = local >= 0
        local, found_scores = local[ok], found_scores[ok]
    return local[:m], found_scores[:m]


def is_small_exact(seg: Segment) -> bool:
    return seg.kind == "flat" and seg.rows <= SMALL_EXACT_ROWS


def small_exact(snap: Snapshot, lang: str) -> tuple[np.ndarray, np.ndarray]:
    """(rows, vectors) in ``lang`` of every small exact segment, gathered once per snapshot: one
    matrix product instead of a FAISS call per segment (~0.1 ms each) for the segments that adds
    leave until a merge folds them."""
    key = ("small-exact", lang)
    if key not in snap.cache:
        rows = [snap.bases[s] + np.flatnonzero(snap.langs_of(np.arange(snap.bases[s], snap.bases[s + 1])) == lang)
                for s, seg in enumerate(snap.segments) if is_small_exact(seg)]
        found = np.concatenate([np.zeros(0, np.int64), *rows])
        snap.cache[key] = (found, np.asarray(snap.vectors[found], np.float32).reshape(len(found), snap.dim))
    return snap.cache[key]
