from dataclasses import replace

import numpy as np
import pytest

from qa import Assistant
from qa.index import Index
from tests.conftest import PARALLEL


@pytest.fixture()
def small(tmp_path):
    corpus = tmp_path / "docs"
    corpus.mkdir()
    for name in ("library", "bridge"):
        (corpus / f"{name}.txt").write_text((PARALLEL / "en" / f"{name}.txt").read_text())
    (corpus / "solar.txt").write_text((PARALLEL / "ar" / "solar.txt").read_text())
    return corpus, Assistant.build([corpus], tmp_path / "index")


def test_round_trip_save_open(small, tmp_path):
    _, a = small
    b = Assistant.open(tmp_path / "index")
    sa, sb = a.index.snapshot, b.index.snapshot
    assert len(sb) == len(sa) == 3 and sb.manifest["embedder"] == "e5-small"
    assert [sb.chunks[i] for i in range(len(sb))] == [sa.chunks[i] for i in range(len(sa))]
    assert np.array_equal(np.asarray(sa.vectors), np.asarray(sb.vectors))
    assert sb.languages == ("ar", "en")
    assert b.search("How long is the bridge?", k=1)[0].chunk.path.endswith("bridge.txt")


def test_manifest_records_what_the_issue_asks(small):
    _, a = small
    m = a.index.snapshot.manifest
    assert m["format"] == 2 and m["dim"] == 384 and m["chunking"] == {"max_tokens": 250, "overlap_tokens": 40,
                                                                "passage_vectors": "embedded", "splitter": 2}
    assert {d["lang"] for d in m["documents"]} == {"ar", "en"}
    assert all(len(d["file_hash"]) == 64 for d in m["documents"])
    assert [s["name"] for s in m["segments"]] == [seg.name for seg in a.index.snapshot.segments]
    assert all("vectors.npy" in seg.manifest["checksums"] for seg in a.index.snapshot.segments)


def test_reingest_adds_nothing(small):
    corpus, a = small
    gen = a.index.snapshot.folder.name
    report = a.add([corpus])
    assert report.added == [] and len(report.unchanged) == 3 and report.chunks == 0
    assert a.index.snapshot.folder.name == gen


def test_changed_file_replaces_its_chunks(small):
    corpus, a = small
    old_ids = {d["id"] for d in a.documents()}
    (corpus / "library.txt").write_text("The library moved.\nThe library moved to the harbour in 2024.")
    report = a.add([corpus])
    assert len(report.replaced) == 1 and report.chunks == 1
    docs = a.documents()
    assert len(docs) == 3 and len({d["id"] for d in docs} - old_ids) == 1
    hit = a.search("Where did the library move?", k=1)[0]
    assert "harbour" in hit.chunk.text
    assert not any("2019" in a.index.snapshot.chunks[i].text for i in range(len(a.index.snapshot)))


def test_remove_by_id_and_by_path(small):
    corpus, a = small
    doc = next(d for d in a.documents() if d["path"].endswith("bridge.txt"))
    assert [d["id"] for d in a.remove(doc["id"])] == [doc["id"]]
    a.remove(str(corpus / "solar.txt"))
    assert [d["path"].rsplit("/", 1)[1] for d in a.documents()] == ["library.txt"]
    assert len(a.index.snapshot) == 1
    with pytest.raises(ValueError, match="no document with id or path"):
        a.remove("nope")


def test_mismatched_embedder_is_refused_with_rebuild_hint(small, tmp_path):
    with pytest.raises(ValueError, match="built with embedder 'e5-small'.*rebuild"):
        Index.open(tmp_path / "index", embedder="minilm")


def test_missing_index_says_how_to_build(tmp_path):
    with pytest.raises(ValueError, match="qa ingest"):
        Assistant.open(tmp_path / "nothing")


def test_corrupted_file_is_detected_on_open(small, tmp_path):
    _, a = small
    vectors = a.index.snapshot.segments[0].folder / "vectors.npy"
    data = bytearray(vectors.read_bytes())
    data[-5] ^= 0xFF
    vectors.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="damaged.*ingest again"):
        Assistant.open(tmp_path / "index")


def test_interrupted_save_leaves_the_live_generation(small, tmp_path):
    corpus, a = small
    live = a.index.snapshot.folder
    staging = tmp_path / "index" / ".staging-gen-999999"
    staging.mkdir()
    (staging / "vectors.npy").write_bytes(b"half written")
    b = Assistant.open(tmp_path / "index")
    assert b.index.snapshot.folder == live and len(b.index.snapshot) == 3
    (corpus / "new.txt").write_text("A new English note about the harbour.")
    b.add([corpus])
    assert not staging.exists() and len(b.documents()) == 4


def test_bad_file_in_an_ingest_loses_nothing(small):
    corpus, a = small
    before = {d["id"] for d in a.documents()}
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    (corpus / "extra.md").write_text("# Extra\nThe harbour has a lighthouse built in 1890.")
    report = a.add([corpus])
    assert [s.path.rsplit("/", 1)[1] for s in report.skipped] == ["broken.pdf"]
    assert len(report.added) == 1 and before < {d["id"] for d in a.documents()}


def test_duplicate_content_under_another_path_is_skipped(small):
    corpus, a = small
    (corpus / "copy.txt").write_text((corpus / "bridge.txt").read_text())
    report = a.add([corpus])
    assert report.added == [] and "same content" in report.skipped[0].reason


def test_empty_index_and_empty_question_are_clear_errors(tmp_path):
    a = Assistant.create_or_open(tmp_path / "empty")
    with pytest.raises(ValueError, match="holds no documents"):
        a.ask("anything?")
    with pytest.raises(ValueError, match="question is empty"):
        a.search("   ")


# --- Many processes, one index (issue 9): the same guarantees between two Index objects of one folder,
# which share nothing in memory; tests/test_index_processes.py repeats the key ones with real processes.
# Background merges are off here: a merge's commit is a generation too, and these count generations.

@pytest.fixture()
def no_merges(monkeypatch):
    monkeypatch.setenv("QA_MERGE", "off")

def test_a_reader_sees_a_newer_generation_without_reopening(tmp_path, no_merges):
    from tests.segments import document, new_index

    writer = new_index(tmp_path / "i", document(0, 3, seed=0))
    reader = Index.open(tmp_path / "i")
    first = reader.snapshot
    assert reader.snapshot is first  # nothing changed: the same object, no reopen
    writer.apply([document(1, 2, seed=1)], set())
    assert len(reader.snapshot) == 5 and reader.snapshot is reader.snapshot
    assert reader.snapshot.folder == writer.snapshot.folder


def test_apply_goes_on_from_the_newest_generation_not_the_callers_snapshot(tmp_path, no_merges):
    from tests.segments import document, new_index

    a, b, c = document(0, 3, seed=0), document(1, 2, seed=1), document(2, 4, seed=2)
    one = new_index(tmp_path / "i", a, b)
    other = Index.open(tmp_path / "i")
    stale = other.snapshot  # what the other writer planned on
    one.apply([c], {a.document.id})
    assert {d["id"] for d in stale.documents} == {a.document.id, b.document.id}
    other.apply([], {b.document.id})  # must not bring a back nor drop c
    assert {d["id"] for d in other.snapshot.documents} == {c.document.id}
    assert {d["id"] for d in Index.open(tmp_path / "i").snapshot.documents} == {c.document.id}
    gen = other.snapshot.folder
    assert other.apply([], {"gone-already"}).folder == gen  # nothing left to remove: no new generation


def test_a_new_version_of_a_file_replaces_the_version_another_writer_added(tmp_path, no_merges):
    from tests.segments import document, new_index

    v1, v2 = document(0, 3, seed=0), document(9, 2, seed=9)
    v2 = v2._replace(document=replace(v2.document, path=v1.document.path), file_hash="h-v2")
    index = new_index(tmp_path / "i", v1)
    index.apply([v2], set())  # planned before v1 was there: it names nothing to remove
    assert [d["id"] for d in index.snapshot.documents] == [v2.document.id]


def test_a_dead_or_reused_pid_lease_pins_nothing(tmp_path):
    import json
    import os

    from qa.index import leases

    folder = tmp_path / "i"
    (folder / leases.LEASES).mkdir(parents=True)
    mine = leases.Lease(folder)
    mine.take("gen-000007")
    # A crashed reader (no such pid) and a pid that is alive but started at another time (reused).
    (folder / leases.LEASES / "999999999-x.json").write_text(json.dumps({"pid": 999999999, "start": "1",
                                                                         "generations": ["gen-000001"]}))
    (folder / leases.LEASES / f"{os.getppid()}-y.json").write_text(json.dumps({"pid": os.getppid(), "start": "0",
                                                                               "generations": ["gen-000002"]}))
    assert leases.pinned(folder) == {"gen-000007"}
    assert sorted(p.name for p in (folder / leases.LEASES).iterdir()) == [mine.path.name]
    mine.release("gen-000007")
    assert leases.pinned(folder) == set() and not mine.path.exists()
