"""Segments (issue 11): an add writes one small segment and a removal only marks documents; the live
content of a many-segment index equals a one-segment build of the same documents, BM25 scores included
(global statistics); the store's files are mapped, not read; a crashed save leaves nothing the next one
keeps; damage is a store error. Merges: tests/test_index_merge.py. Synthetic chunks and vectors: no embedder."""

import json
import mmap

import numpy as np
import pytest

from qa.chunk import ChunkSettings
from qa.index import Index, StoreError, generation, store
from qa.lexical import tokenize
from qa.retrieve import SearchOptions, search
from tests.segments import DIM, QUERIES, WORDS, assert_same_content, document, grown_index, new_index


def test_runs_of_consecutive_rows():
    first, end = store.runs(np.array([0, 1, 2, 5, 7, 8]))
    assert first.tolist() == [0, 5, 7] and end.tolist() == [3, 6, 9]
    assert [len(x) for x in store.runs(np.array([], np.int64))] == [0, 0]


def test_an_add_writes_one_small_segment_and_a_removal_only_marks(tmp_path):
    a, b, c, d = (document(i, chunks, seed=i) for i, chunks in enumerate((5, 3, 7, 4)))
    index = new_index(tmp_path / "i", a, b, c)
    [first] = index.snapshot.segments
    files = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in first.folder.rglob("*") if p.is_file()}
    index.apply([d], set())
    added = index.snapshot.segments[1]
    assert [s.rows for s in index.snapshot.segments] == [15, 4]
    index.apply([], {b.document.id})
    assert index.snapshot.segments[0] is first and len(index.snapshot) == 16
    manifest = index.snapshot.manifest
    assert [s["deleted"] for s in manifest["segments"]] == [[1], []]
    # Nothing of the first segment was rewritten; the add wrote only its own rows.
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in first.folder.rglob("*") if p.is_file()} == files
    assert added.bytes_on_disk() < first.bytes_on_disk()
    assert sorted(p.name for p in (tmp_path / "i" / "segments").iterdir()) == sorted([first.name, added.name])


def test_segments_score_and_read_like_a_one_segment_build_of_their_live_documents(tmp_path):
    # Different vocabularies per segment: per-segment statistics would give other IDFs and lengths.
    a = document(0, 6, seed=0, words=WORDS[:4])
    b, c = document(1, 5, seed=1, words=WORDS[3:9]), document(2, 8, seed=2)
    d, e = document(3, 4, seed=3, words=WORDS[8:] + ["bridge"]), document(4, 3, seed=4)
    index = grown_index(tmp_path / "grown", [a, b], [c], [d, e])
    index.apply([], {b.document.id, e.document.id})
    fresh = new_index(tmp_path / "fresh", a, c, d)
    assert len(index.snapshot.segments) == 3 and len(fresh.snapshot.segments) == 1
    assert_same_content(index, fresh)
    assert_same_content(Index.open(tmp_path / "grown"), fresh)
    # Each segment on its own statistics would not agree: the global statistics are what make it one index.
    seg = index.snapshot.segments[2]
    own = seg.bm25.scores(tokenize("bridge music"))[:4]
    assert not np.allclose(own, fresh.snapshot.bm25.scores(tokenize("bridge music"))[-4:], rtol=1e-3)
    # And so searches: every mode, with filters.
    for q in QUERIES:
        vector = np.resize(np.asarray([len(q), 1.0, -1.0, 0.5], np.float32), DIM)
        for options in (SearchOptions(k=5), SearchOptions(k=3, mode="bm25"), SearchOptions(k=4, mode="dense"),
                        SearchOptions(k=5, doc_ids=(c.document.id,))):
            got = [(h.chunk.id, round(h.score, 5)) for h in search(index.snapshot, vector, tokenize(q), "en", options)]
            want = [(h.chunk.id, round(h.score, 5)) for h in search(fresh.snapshot, vector, tokenize(q), "en", options)]
            assert got == want


def test_an_index_of_the_previous_format_is_refused_with_the_rebuild_command(tmp_path):
    index = new_index(tmp_path / "old", document(0, 3, seed=0))
    gen = index.snapshot.folder
    manifest = json.loads((gen / store.MANIFEST).read_text())
    manifest.update(format=1, documents=[{"id": "x", "path": "/data/reports/a.txt"}])
    store.seal(gen, {k: v for k, v in manifest.items() if k not in ("format", "checksums")}, 1)
    with pytest.raises(StoreError, match=r"format 1 .* rebuild the index: `qa ingest PATH --index NEW_FOLDER` "
                                         r"\(its documents came from /data/reports\)"):
        Index.open(tmp_path / "old")


def test_opening_maps_the_big_files_instead_of_reading_them(tmp_path):
    index = Index.open(new_index(tmp_path / "i", document(0, 5, seed=0)).folder)
    [seg] = index.snapshot.segments
    assert isinstance(seg.chunks._map, mmap.mmap)
    assert isinstance(seg.vectors.base, np.memmap) and isinstance(seg.sentence_vectors.base, np.memmap)
    assert isinstance(seg.bm25.tokens.base, np.memmap)  # a plain view of the map


def test_a_crashed_save_leaves_nothing_that_the_next_one_keeps(tmp_path):
    index = new_index(tmp_path / "i", document(0, 3, seed=0))
    orphan = generation.publish(generation.write_segment(tmp_path / "i", [], [document(1, 2, seed=1)], DIM, "auto"))
    dead_staging = tmp_path / "i" / "segments" / ".staging-999999999-seg-abc"
    dead_staging.mkdir()
    index.apply([document(2, 2, seed=2)], set())
    left = sorted(p.name for p in (tmp_path / "i" / "segments").iterdir())
    assert orphan.name not in left and dead_staging.name not in left and len(left) == 2


def test_a_missing_faiss_file_is_a_store_error_and_a_generation_pruned_while_opening_is_retried(monkeypatch,
                                                                                              tmp_path):
    from qa.index import ann

    monkeypatch.setenv("QA_MERGE", "off")
    index = Index.create(tmp_path / "i", "test", DIM, ChunkSettings(), "hnsw")  # a saved FAISS file per part
    index.apply([document(0, 6, seed=0)], set())
    index.apply([document(1, 4, seed=1)], set())
    held = index.snapshot  # a reader still on it: its generation and segments stay
    [added] = [s for s in held.segments if s.rows == 4]
    for part in added.folder.glob("ann-*"):
        (part / ann.ANN_FILE).unlink()
    # A damaged live generation: faiss says so with a RuntimeError; the user gets the store's message.
    with pytest.raises(StoreError, match=r"ann\.faiss is damaged or missing.*ingest again"):
        Index.open(tmp_path / "i", verify=False)
    index.apply([], {document(1, 4, seed=1).document.id})
    # A reader that read CURRENT just before that save, and opens while the writer prunes what it read:
    # the manifest is there, the segment's files are going. It must read CURRENT again, not fail.
    real, calls = store.live_generation, []

    def stale_twice(folder):
        calls.append(folder)
        return held.folder if len(calls) <= 2 else real(folder)

    monkeypatch.setattr(store, "live_generation", stale_twice)
    reader = Index.open(tmp_path / "i", verify=False)
    assert reader.snapshot.folder == index.snapshot.folder and len(reader.snapshot) == 6 and len(calls) > 2
