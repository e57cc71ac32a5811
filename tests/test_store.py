"""Segments (issue 11): an add writes one small segment and a removal only marks documents; the live
content of a many-segment index equals a one-segment build of the same documents, BM25 scores included
(global statistics); merges fold segments into one without changing that content, carry removals made
while they ran, and never hold up questions or other writes. Synthetic chunks and vectors: no embedder."""

import json
import mmap
import threading
import time

import bm25s
import numpy as np
import pytest

from qa.chunk import ChunkSettings
from qa.index import Addition, Index, StoreError, generation, live, merge, store
from qa.lexical import BM25, tokenize
from qa.records import Chunk, Document, Span, content_id
from qa.retrieve import SearchOptions, search

DIM = 8
WORDS = ["bridge", "river", "library", "harbour", "solar", "panel", "hospital", "bed", "festival", "music", "forum",
         "security"]


def document(n: int, chunks: int, seed: int, words: list[str] = WORDS) -> Addition:
    rng = np.random.default_rng(seed)
    doc_id = content_id("doc", n)
    out, sentence_vectors = [], []
    for j in range(chunks):
        sentences = [" ".join(rng.choice(words, int(rng.integers(2, 7)))) + "." for _ in range(int(rng.integers(1, 4)))]
        text = " ".join(sentences)
        spans, at = [], 0
        for s in sentences:
            spans.append(Span(at, at + len(s)))
            at += len(s) + 1
        out.append(Chunk(id=content_id(doc_id, j), doc_id=doc_id, path=f"/d/{n}.txt", title=f"doc {n}",
                         lang="en" if j % 3 else "ar", text=text, start=0, end=len(text), sentences=tuple(spans)))
        sentence_vectors.append(rng.standard_normal((len(sentences), DIM)).astype(np.float32))
    vectors = rng.standard_normal((chunks, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return Addition(Document(doc_id, f"doc {n}", f"/d/{n}.txt", "en", ""), f"h{n}", out, vectors,
                    sentence_vectors, [tokenize(c.text) for c in out])


def new_index(path, *docs):
    index = Index.create(path, "test", DIM, ChunkSettings())
    index.apply(list(docs), set())
    return index


def grown_index(path, *batches):
    """One apply per batch: a segment each."""
    index = Index.create(path, "test", DIM, ChunkSettings())
    for batch in batches:
        index.apply(list(batch), set())
    return index


QUERIES = ("bridge river", "solar panel festival", "hospital", "music music forum", "harbour")


def assert_same_content(a, b):
    sa, sb = a.snapshot, b.snapshot
    assert len(sa) == len(sb)
    assert [sa.chunks.raw(i) for i in range(len(sa))] == [sb.chunks.raw(i) for i in range(len(sb))]
    assert np.array_equal(np.asarray(sa.vectors), np.asarray(sb.vectors))
    assert all(np.array_equal(sa.sentences_of(i), sb.sentences_of(i)) for i in range(len(sa)))
    assert np.array_equal(sa.langs, sb.langs) and np.array_equal(sa.doc_rows, sb.doc_rows)
    assert [d["id"] for d in sa.documents] == [d["id"] for d in sb.documents]
    for q in QUERIES:
        assert np.allclose(sa.bm25.scores(tokenize(q)), sb.bm25.scores(tokenize(q)), rtol=1e-5, atol=1e-6)


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


def test_a_merge_gives_one_segment_with_the_same_content(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_MERGE", "off")
    docs = [document(i, 2 + i % 4, seed=i) for i in range(12)]
    index = grown_index(tmp_path / "i", *([doc] for doc in docs))
    index.apply([], {docs[3].document.id, docs[7].document.id})
    assert len(index.snapshot.segments) == 10  # the two removed documents' segments are gone whole
    assert merge.plan(index.snapshot) == [seg.name for seg in index.snapshot.segments]
    assert index.merge() == 1
    assert len(index.snapshot.segments) == 1 and not merge.plan(index.snapshot)
    live_docs = [doc for i, doc in enumerate(docs) if i not in (3, 7)]
    assert_same_content(index, new_index(tmp_path / "fresh", *live_docs))
    index.apply([docs[3]], set())  # and it takes adds like any index
    assert len(index.snapshot.segments) == 2
    on_disk = sorted(p.name for p in (tmp_path / "i" / "segments").iterdir())
    assert on_disk == sorted(s.name for s in index.snapshot.segments)


def test_tiers_merge_ten_alike_segments_and_rewrite_one_with_many_removals(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_MERGE", "off")
    assert [merge.tier(n) for n in (1, 999, 1000, 9999, 10_000, 100_000)] == [0, 0, 0, 0, 1, 2]
    index = grown_index(tmp_path / "i", *([document(i, 3, seed=i)] for i in range(9)))
    assert merge.plan(index.snapshot) == []
    index.apply([document(9, 3, seed=9)], set())
    assert len(merge.plan(index.snapshot)) == 10
    big = grown_index(tmp_path / "big", [document(i, 3, seed=i) for i in range(10)])
    big.apply([], {big.snapshot.documents[0]["id"]})
    assert merge.plan(big.snapshot) == []  # 3 of 30 rows removed
    big.apply([], {big.snapshot.documents[0]["id"], big.snapshot.documents[1]["id"]})
    assert merge.plan(big.snapshot) == [big.snapshot.segments[0].name]  # 9 of 30: rewritten alone


def test_a_merge_carries_removals_made_while_it_ran_and_blocks_neither_questions_nor_writes(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_MERGE", "off")
    docs = [document(i, 3, seed=i) for i in range(6)]
    index = grown_index(tmp_path / "i", *([doc] for doc in docs[:4]))
    other = Index.open(tmp_path / "i")  # another writer, as another process would be
    written, go_on = threading.Event(), threading.Event()
    real = live.write_segment

    def slow_merge_write(folder, pieces, additions, dim, ann_request):
        segment = real(folder, pieces, additions, dim, ann_request)
        if pieces:  # the merge's segment is written: hold it there while the others work
            written.set()
            assert go_on.wait(60)
        return segment

    monkeypatch.setattr(live, "write_segment", slow_merge_write)
    result = {}
    merging = threading.Thread(target=lambda: result.setdefault("ok", index.merge_segments(
        [seg.name for seg in index.snapshot.segments])))
    merging.start()
    assert written.wait(60)
    other.apply([docs[4]], {docs[1].document.id})  # a write goes through while the merge is under way
    snap = other.snapshot
    assert search(snap, np.ones(DIM, np.float32) / np.sqrt(DIM), tokenize("bridge"), "en", SearchOptions())
    go_on.set()
    merging.join(60)
    assert result["ok"]
    names = [d["id"] for d in index.snapshot.documents]
    assert names == [docs[i].document.id for i in (0, 2, 3, 4)]
    assert len(index.snapshot.segments) == 2  # the merged one, then the add made meanwhile
    assert_same_content(index, new_index(tmp_path / "fresh", docs[0], docs[2], docs[3], docs[4]))
    assert_same_content(Index.open(tmp_path / "i"), index)


def test_background_merges_follow_adds(tmp_path):
    index = grown_index(tmp_path / "i", *([document(i, 2, seed=i)] for i in range(10)))
    index._merger.wait()
    assert len(index.snapshot.segments) == 1 and len(index.snapshot) == 20


def test_bm25_scores_like_bm25s(tmp_path):
    rng = np.random.default_rng(3)
    corpus = [[str(w) for w in rng.choice(WORDS, int(rng.integers(1, 12)))] for _ in range(200)]
    ours = BM25.build(corpus)
    theirs = bm25s.BM25()
    theirs.index(corpus, show_progress=False)
    for q in (["bridge"], ["solar", "panel", "solar"], ["forum", "music", "unknown"]):
        assert np.allclose(ours.scores(q), theirs.get_scores([t for t in q if t in theirs.vocab_dict]), atol=1e-5)
    ours.save(tmp_path / "b")
    assert np.allclose(BM25.load(tmp_path / "b").scores(["harbour", "bed"]), ours.scores(["harbour", "bed"]))


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


def test_a_kick_while_the_merge_thread_is_finishing_is_not_lost(monkeypatch, tmp_path):
    """A save that makes a merge due while the merge thread has decided to stop (it is still alive)
    must still get its merge: it used to set a flag that no thread would read until the next save."""
    monkeypatch.setenv("QA_MERGE", "off")
    index = grown_index(tmp_path / "i", *([document(i, 2, seed=i)] for i in range(10)))
    monkeypatch.setenv("QA_MERGE", "background")
    merger, runs = merge.Merger(index), []
    monkeypatch.setattr(merge, "merge_all", lambda ix, **_: runs.append(ix) or 0)  # leaves the merge due

    class KickOnFirstExit(set):
        kicked = False

        def discard(self, thread):
            super().discard(thread)
            if not self.kicked:  # the thread has decided to stop and is still alive: a save kicks now
                self.kicked = True
                merger.kick()

    monkeypatch.setattr(merge, "_RUNNING", KickOnFirstExit())
    merger.kick()
    deadline = time.monotonic() + 10
    while len(runs) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(runs) == 2


def test_a_background_merge_leaves_its_work_for_later_when_another_writer_holds_the_lock(monkeypatch, tmp_path):
    """It waited silently for the lock's whole timeout (600 s), and a process waits for its merge at
    exit: a `qa remove` next to another process's long ingest hung for minutes after its work."""
    monkeypatch.setenv("QA_MERGE", "off")
    index = grown_index(tmp_path / "i", *([document(i, 2, seed=i)] for i in range(10)))
    assert merge.plan(index.snapshot)
    other = Index.open(tmp_path / "i")  # another writer, as another process would be
    result = {}
    with other.writer():
        merging = threading.Thread(target=lambda: result.setdefault("done", merge.merge_all(index, lock_wait=0.3)))
        merging.start()
        merging.join(20)
        assert not merging.is_alive() and result["done"] == 0
    assert len(index.snapshot.segments) == 10 and merge.plan(index.snapshot)  # unchanged, still due
    assert merge.merge_all(index) == 1  # and done once the lock is free
