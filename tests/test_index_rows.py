"""Where each segment's live rows stand among a snapshot's rows (qa/index/rows.py)."""

import numpy as np

from qa.index.rows import language_codes, row_layout
from tests.segments import document, grown_index


def test_a_segment_with_a_removed_document_maps_its_rows_both_ways_and_one_without_has_no_map(tmp_path):
    kept, gone, later = document(0, 4, seed=1), document(1, 3, seed=2), document(2, 5, seed=3)
    index = grown_index(tmp_path / "idx", [kept, gone], [later])
    index.apply([], {gone.document.id})
    snap = index.snapshot
    layout = row_layout(snap.segments, snap.deleted)
    assert [d["id"] for d in layout.documents] == [kept.document.id, later.document.id]
    first, second = snap.segments
    assert layout.live[1] is None and layout.row_of[1] is None
    assert layout.live[0].tolist() == [r for r in range(first.rows) if first.doc_rows[r] == 0]
    assert layout.row_of[0].tolist() == list(range(4)) + [-1] * 3  # the removed document's rows: -1
    assert [p.tolist() for p in layout.doc_rows] == [[0] * 4, [1] * 5]
    langs = np.concatenate(layout.langs)
    names, codes = language_codes(snap.segments, layout.live)
    assert names == tuple(sorted(set(langs.tolist()))) and [names[c] for c in codes] == langs.tolist()
