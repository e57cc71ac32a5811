import numpy as np

from qa import Assistant, ChunkSettings
from qa.embed import get_embedder
from qa.ingest import _sentence_texts, encode
from qa.load import load_file
from tests.conftest import PARALLEL, SEEDS


def test_each_sentence_is_embedded_once_even_when_chunks_overlap():
    [doc] = load_file(next(SEEDS.glob("*.txt")))
    additions = encode([(doc, "h")], get_embedder(), ChunkSettings(max_tokens=60, overlap_tokens=30))
    chunks = additions[0].chunks
    texts, picks = _sentence_texts(chunks)
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
    a.remove("n1")
    again = a.add([tmp_path / "notes.jsonl"])
    assert not again.unchanged and {d["id"] for d in a.documents()} == {"n1", "n2", "n3"}
