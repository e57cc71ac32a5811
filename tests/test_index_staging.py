"""Staging (qa/index/staging.py): segments written one at a time, invisible until one commit makes them
all live in one generation; a job left without a commit leaves neither a visible change nor a file."""

import pytest

from qa.index import Index
from tests.segments import document, new_index


def _files(index):
    return sorted(p.name for p in (index.folder / "segments").iterdir())


def test_staged_segments_go_live_together_in_one_generation(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_MERGE", "off")
    a, b, c, d = (document(i, chunks, seed=i) for i, chunks in enumerate((4, 3, 5, 2)))
    index = new_index(tmp_path / "i", a, b)
    first = index.snapshot.generation
    with index.staging() as staging:
        staging.write([c])
        staging.write([])  # nothing to write: no segment
        staging.write([d])
        assert staging.written == 2 and staging.chunks == 7
        other = Index.open(tmp_path / "i")  # a reader in another process sees none of it yet
        assert other.snapshot.generation == first == index.snapshot.generation and len(other.snapshot) == 7
        snap = staging.commit({a.document.id})
    assert int(snap.generation.split("-")[1]) == int(first.split("-")[1]) + 1
    assert [doc["id"] for doc in snap.documents] == [b.document.id, c.document.id, d.document.id]
    assert len(snap.segments) == 3 and len(Index.open(tmp_path / "i").snapshot) == 10


def test_leaving_without_a_commit_discards_what_was_written(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_MERGE", "off")
    index = new_index(tmp_path / "i", document(0, 4, seed=0))
    before, files = index.snapshot.generation, _files(index)
    with pytest.raises(KeyboardInterrupt), index.staging() as staging:
        staging.write([document(1, 3, seed=1)])
        staging.write([document(2, 3, seed=2)])
        assert len(_files(index)) == len(files) + 2  # written, as staging folders
        raise KeyboardInterrupt  # a cancelled job
    assert index.snapshot.generation == before and _files(index) == files
    assert Index.open(tmp_path / "i").snapshot.generation == before


def test_a_refused_commit_discards_its_staged_segments(monkeypatch, tmp_path):
    """A commit that fails before it goes live (here: the disk fails writing the generation) leaves
    the live generation and no staged segment behind."""
    from qa.index import live

    monkeypatch.setenv("QA_MERGE", "off")
    index = new_index(tmp_path / "i", document(0, 4, seed=0))
    before, files = index.snapshot.generation, _files(index)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(live, "write_generation", full_disk)
    with pytest.raises(OSError), index.staging() as staging:
        staging.write([document(1, 3, seed=1)])
        staging.commit(set())
    monkeypatch.undo()
    index.apply([document(2, 2, seed=2)], set())  # the next save clears what the failed one published
    assert len(index.snapshot) == 6 and len(_files(index)) == len(files) + 1
    assert before != index.snapshot.generation
