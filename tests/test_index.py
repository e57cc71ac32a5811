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
    assert sorted(sb.parts) == ["ar", "en"]
    assert b.search("How long is the bridge?", k=1)[0].chunk.path.endswith("bridge.txt")


def test_manifest_records_what_the_issue_asks(small):
    _, a = small
    m = a.index.snapshot.manifest
    assert m["format"] == 1 and m["dim"] == 384 and m["chunking"] == {"max_tokens": 250, "overlap_tokens": 40,
                                                                "passage_vectors": "embedded"}
    assert {d["lang"] for d in m["documents"]} == {"ar", "en"}
    assert all(len(d["file_hash"]) == 64 for d in m["documents"])
    assert "vectors.npy" in m["checksums"]


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
    vectors = a.index.snapshot.folder / "vectors.npy"
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
