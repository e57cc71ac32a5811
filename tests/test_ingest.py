import threading
from pathlib import Path

import numpy as np

from qa import Assistant, ChunkSettings
from qa.embed import get_embedder
from qa.ingest import encode, sentence_texts
from qa.load import load_file
from tests.conftest import PARALLEL, SEEDS


def test_each_sentence_is_embedded_once_even_when_chunks_overlap():
    [doc] = load_file(next(SEEDS.glob("*.txt")))
    additions = encode([(doc, "h")], get_embedder(), ChunkSettings(max_tokens=60, overlap_tokens=30))
    chunks = additions[0].chunks
    texts, picks = sentence_texts(chunks)
    assert len(texts) == len({s for c in chunks for s in c.sentences}) < sum(len(c.sentences) for c in chunks)
    assert [len(p) for p in picks] == [len(c.sentences) for c in chunks]
    for c, vecs in zip(chunks, additions[0].sentence_vectors):
        assert vecs.shape == (len(c.sentences), 384)


def test_passage_vectors_from_sentences_are_unit_means(tmp_path):
    settings = ChunkSettings(passage_vectors="from-sentences")
    a = Assistant.build([PARALLEL / "en"], tmp_path / "index", chunking=settings)
    snap = a.index.snapshot
    assert snap.manifest["chunking"]["passage_vectors"] == "from-sentences"
    for row in range(len(snap)):
        mean = snap.sentences_of(row).mean(axis=0)
        assert np.allclose(snap.vectors[row], mean / np.linalg.norm(mean), atol=2e-3)
    assert a.search("How long is the bridge?", k=1)[0].chunk.path.endswith("bridge.txt")


def test_progress_reports_chunks_done_out_of_total(tmp_path):
    seen = []
    Assistant.build([PARALLEL / "ar"], tmp_path / "index", progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1] == 6
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_a_jsonl_file_counts_once_and_comes_back_after_one_record_is_removed(tmp_path):
    (tmp_path / "notes.jsonl").write_text('{"id": "n1", "text": "The harbour has a lighthouse built in 1890."}\n'
                                          '{"id": "n2", "text": "The market opens every Friday morning."}\n'
                                          '{"id": "n3", "text": "The museum holds old fishing boats."}\n')
    a = Assistant.build([], tmp_path / "index")
    report = a.add([tmp_path / "notes.jsonl"])
    assert report.added == [str((tmp_path / "notes.jsonl").resolve())] and len(a.documents()) == 3
    assert a.add([tmp_path / "notes.jsonl"]).unchanged  # nothing changed: not even parsed
    ids = {d["metadata"]["record_id"]: d["id"] for d in a.documents()}
    a.remove(ids["n1"])
    again = a.add([tmp_path / "notes.jsonl"])
    assert not again.unchanged and {d["id"] for d in a.documents()} == set(ids.values())


def test_two_files_with_the_same_record_ids_are_both_indexed(tmp_path):
    for name, topic in (("a.jsonl", "harbour"), ("b.jsonl", "market")):
        (tmp_path / name).write_text("".join(f'{{"id": {i}, "text": "The {topic} note number {i} is here."}}\n'
                                             for i in range(3)))
    a = Assistant.build([tmp_path / "a.jsonl", tmp_path / "b.jsonl"], tmp_path / "index")
    assert len(a.documents()) == 6
    assert sorted(d["metadata"]["record_id"] for d in a.documents()) == ["0", "0", "1", "1", "2", "2"]


class Cancelled(Exception):
    pass


def test_an_exception_from_progress_cancels_the_ingest_before_anything_is_applied(tmp_path, monkeypatch):
    monkeypatch.setattr("qa.ingest.workers.MAX_BATCH_CHARS", 300)  # several batches (one pass: 6 short chunks)
    a = Assistant.build([PARALLEL / "en" / "bridge.txt"], tmp_path / "index")
    generation, documents = a.index.snapshot.folder, a.documents()
    calls = []

    def cancel(done, total):  # what a cancelled server job does: raise from its progress callback
        calls.append(done)
        if len(calls) == 2:
            raise Cancelled()

    try:
        a.add([PARALLEL / "ar"], progress=cancel)
    except Cancelled:
        pass
    else:
        raise AssertionError("the ingest was not cancelled")
    assert len(calls) == 2 and calls[-1] < 6  # cancelled after the first batch, before the last
    assert a.index.snapshot.folder == generation and a.documents() == documents
    reopened = Assistant.open(tmp_path / "index")
    assert reopened.index.snapshot.folder.name == generation.name and reopened.documents() == documents
    assert a.add([PARALLEL / "ar"]).added  # and the same files go in afterwards


def test_no_index_lock_is_held_while_embedding_and_a_removal_meanwhile_stays(tmp_path):
    a = Assistant.build([PARALLEL / "en" / "bridge.txt", PARALLEL / "en" / "library.txt"], tmp_path / "index")
    bridge = next(d["id"] for d in a.documents() if d["path"].endswith("bridge.txt"))
    removed = []

    def remove_under_the_writer_lock():
        with a.index.writer(timeout=20):  # raises WriterBusy if the ingest held it while embedding
            removed.append(a.remove(bridge))

    def meanwhile(done, total):  # runs between embedding batches, in the ingesting thread
        if done and not removed:
            t = threading.Thread(target=remove_under_the_writer_lock)
            t.start()
            t.join()

    report = a.add([PARALLEL / "ar" / "solar.txt", PARALLEL / "ar" / "hospital.txt"], progress=meanwhile)
    assert removed and removed[0][0]["id"] == bridge  # another thread took the writer lock and removed
    paths = sorted(Path(d["path"]).name for d in a.documents())
    assert paths == ["hospital.txt", "library.txt", "solar.txt"] and len(report.added) == 2


def test_a_file_replaced_by_another_writer_during_the_ingest_is_held_once(tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("The old harbour has a lighthouse built in 1890. Its lamp is lit every night.", "utf-8")
    a = Assistant.build([], tmp_path / "index")
    done = []

    def meanwhile(d, total):  # another upload of an edited version lands while this one embeds
        if d and not done:
            note.write_text("The old harbour has a lighthouse built in 1895. Its lamp is lit at dusk.", "utf-8")
            t = threading.Thread(target=lambda: done.append(a.add([note])))
            t.start()
            t.join()

    a.add([note], progress=meanwhile)
    held = [d for d in Assistant.open(tmp_path / "index").documents() if d["path"] == str(note.resolve())]
    assert done and len(held) == 1


def test_per_core_workers_build_the_index_one_engine_builds(tmp_path):
    from qa.ingest import LocalRunner

    files = [PARALLEL / "en" / "bridge.txt", PARALLEL / "ar" / "solar.txt", PARALLEL / "ar" / "hospital.txt"]
    built = {}
    for workers in (1, 2):
        a = Assistant.build([], tmp_path / f"index-{workers}")
        a.add(files, runner=LocalRunner(workers=workers))
        snap = a.index.snapshot
        built[workers] = {snap.chunks[i].id: (np.asarray(snap.vectors[i]), np.asarray(snap.sentences_of(i)))
                          for i in range(len(snap))}
    assert built[1].keys() == built[2].keys() and len(built[1]) >= 3
    for cid, (vector, sentences) in built[1].items():
        assert np.array_equal(vector, built[2][cid][0]) and np.array_equal(sentences, built[2][cid][1])


def test_an_index_built_in_one_pass_has_the_chunks_and_passages_of_separate_embedding(tmp_path, monkeypatch,
                                                                                       one_pass_e5):
    """One pass (sentence vectors pooled from the chunk's forward pass) against every sentence embedded
    on its own (QA_ONE_PASS=off): the same chunks and passage vectors, the same best passage for a
    question; sentence vectors of the same shape and meaning (dense search also scores a chunk by its
    best sentence, so lower ranks may differ)."""
    files = [PARALLEL / "en", PARALLEL / "ar"]
    settings = ChunkSettings(max_tokens=40, overlap_tokens=10)  # several sentences a chunk, overlapping
    built = {}
    for way in ("on", "off"):
        monkeypatch.setenv("QA_ONE_PASS", way)
        built[way] = Assistant.build(files, tmp_path / way, chunking=settings)
    one, separate = built["on"].index.snapshot, built["off"].index.snapshot
    assert [c.id for c in one.all_chunks()] == [c.id for c in separate.all_chunks()]
    assert any(len(c.sentences) > 1 for c in one.all_chunks())
    rows = np.arange(len(one))
    assert np.allclose(one.vectors_of(rows), separate.vectors_of(rows), atol=1e-6)
    for row in rows:
        mine, theirs = one.sentences_of(row), separate.sentences_of(row)
        assert mine.shape == theirs.shape and np.all(np.sum(mine * theirs, axis=1) > 0.7)
    assert not all(np.allclose(one.sentences_of(r), separate.sentences_of(r), atol=1e-3) for r in rows)
    for question in ("How long is the bridge?", "كم يبلغ طول الجسر؟", "When does the festival start?"):
        assert built["on"].search(question, k=1)[0].chunk.id == built["off"].search(question, k=1)[0].chunk.id
