"""Segment merges (issue 11): a tiered policy; a merge folds segments into one without changing the live
content, carries removals made while it ran, never holds up questions or other writes, and runs in the
background after adds, leaving its work for later when another writer holds the lock."""

import threading
import time

import numpy as np

from qa.index import Index, live, merge
from qa.lexical import tokenize
from qa.retrieve import SearchOptions, search
from tests.segments import DIM, assert_same_content, document, grown_index, new_index


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
