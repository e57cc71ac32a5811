"""Where each segment's live chunks stand among a snapshot's rows, worked out once at open.

A snapshot numbers the live chunks of all its segments in order, skipping the rows of removed
documents. A segment with removals gets a map each way: ``live`` (its n-th live row -> its row) and
``row_of`` (its row -> its place among its live rows, -1 when removed); a segment without any has
neither (None), so the common case costs nothing per row. Out of scope: the queries (``snapshot``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .segment import Segment


class RowLayout(NamedTuple):
    """Per segment (in order) unless said otherwise."""

    documents: list[dict[str, Any]]  # the live documents of all segments, in order
    doc_rows: list[np.ndarray]  # each live row's place in ``documents``
    langs: list[np.ndarray]  # each live row's language
    live: list[np.ndarray | None]
    row_of: list[np.ndarray | None]


def row_layout(segments: tuple[Segment, ...], deleted: tuple[np.ndarray, ...]) -> RowLayout:
    """The live rows of ``segments`` once the document numbers in ``deleted`` (one array a segment) are gone."""
    docs, doc_rows, langs, lives, row_ofs = [], [], [], [], []
    for seg, gone in zip(segments, deleted):
        alive_doc = np.ones(len(seg.documents), bool)
        alive_doc[gone] = False
        place = np.where(alive_doc, len(docs) + np.cumsum(alive_doc) - 1, -1).astype(np.int32)
        docs += [d for d, keep in zip(seg.documents, alive_doc.tolist()) if keep]
        if len(gone):
            live = np.flatnonzero(alive_doc[seg.doc_rows])
            row_of = np.full(seg.rows, -1, np.int64)
            row_of[live] = np.arange(len(live))
        else:
            live = row_of = None
        lives.append(live)
        row_ofs.append(row_of)
        doc_rows.append(place[seg.doc_rows if live is None else seg.doc_rows[live]])
        langs.append(seg.langs if live is None else seg.langs[live])
    return RowLayout(docs, doc_rows, langs, lives, row_ofs)


def language_codes(segments: tuple[Segment, ...], live: list[np.ndarray | None]) -> tuple[tuple[str, ...], np.ndarray]:
    """(the languages of the live rows, sorted; each live row's position in them), from each
    segment's own codes: a cheap per-row language test at any size."""
    names = sorted(set().union(*(seg.lang_codes[0] for seg in segments)))
    codes = []
    for seg, rows in zip(segments, live):
        local_names, local = seg.lang_codes
        table = np.asarray([names.index(n) for n in local_names], np.int16)
        codes.append(table[local if rows is None else local[rows]])
    codes_a = np.concatenate([np.zeros(0, np.int16), *codes])
    present = np.bincount(codes_a, minlength=len(names)) > 0
    if not present.all():  # a language whose every chunk was removed
        remap = (np.cumsum(present) - 1).astype(np.int16)
        names, codes_a = [n for n, p in zip(names, present.tolist()) if p], remap[codes_a]
    return tuple(names), codes_a
