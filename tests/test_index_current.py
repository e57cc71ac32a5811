"""Reading ``CURRENT``: a process follows another's saves from one stat, even two saves within one tick of
the file clock that leave the same stamp (inode reused, coarse times). Synthetic documents: no embedder."""

import time

import pytest

from qa.index import Index, current
from tests.segments import document, new_index


@pytest.fixture()
def no_merges(monkeypatch):
    monkeypatch.setenv("QA_MERGE", "off")  # a merge's commit is a generation too


def test_a_stamp_is_settled_once_older_than_a_tick_of_any_file_clock():
    now = time.time_ns()
    assert current.settled(None) and current.settled((1, now - 2 * current.RACY_NS, 0, 1))
    assert not current.settled((1, now, 0, 1))


def test_a_writer_goes_on_from_the_newest_generation_even_when_current_looks_unchanged(tmp_path, no_merges,
                                                                                      monkeypatch):
    # Two saves within one tick of the file clock, the second reusing the first's freed inode: CURRENT's
    # stat is the same, its name is not. An old stamp is "settled": only the writer lock reads the name.
    monkeypatch.setattr(current, "stamp", lambda folder: (7, 0, 0, 10))
    a, b, c = document(0, 3, seed=0), document(1, 2, seed=1), document(2, 4, seed=2)
    one = new_index(tmp_path / "i", a, b)
    other = Index.open(tmp_path / "i")
    one.apply([c], {a.document.id})
    other.apply([], {b.document.id})  # from the stale generation, this would bring a back and drop c
    assert {d["id"] for d in other.snapshot.documents} == {c.document.id}


def test_a_reader_sees_a_save_made_within_the_tick_of_the_one_it_saw(tmp_path, no_merges, monkeypatch):
    frozen = (7, time.time_ns(), 0, 10)
    monkeypatch.setattr(current, "stamp", lambda folder: frozen)
    monkeypatch.setattr(current, "RACY_NS", 3600 * 10**9)  # the stamp stays "racy" however slow this run is
    writer = new_index(tmp_path / "i", document(0, 3, seed=0))
    reader = Index.open(tmp_path / "i")
    writer.apply([document(1, 2, seed=1)], set())
    assert len(reader.snapshot) == 5 and reader.snapshot.folder == writer.snapshot.folder
