"""What a commit or a merge keeps of the newest generation: removed documents and the other versions of a
staged file marked in their segments; a merged segment in place of those it folds, with the removals made
while it was written; nothing when another writer merged them first. Synthetic documents: no embedder."""

from dataclasses import replace

import pytest

from qa.index import changes
from tests.segments import document, grown_index, new_index


@pytest.fixture(autouse=True)
def no_merges(monkeypatch):
    monkeypatch.setenv("QA_MERGE", "off")  # the tests merge by hand


def _marked(entries) -> list[tuple[str, list[int]]]:
    return [(seg.name, sorted(gone)) for seg, gone in entries]


def test_a_commit_marks_removals_and_the_other_versions_of_a_staged_file(tmp_path):
    a, b = document(0, 3, seed=0), document(1, 2, seed=1)
    index = new_index(tmp_path / "i", a, b)
    old, [seg] = index.snapshot, index.snapshot.segments
    new_a = document(5, 2, seed=5)
    new_a = new_a._replace(document=replace(new_a.document, path=a.document.path))  # a's file, changed
    staged = index.stage([new_a])
    assert changes.committed(old, [staged], set()) == ([(seg, {0})], True)
    assert changes.committed(old, [], {"gone-already"}) == ([(seg, set())], False)
    assert changes.committed(old, [], {a.document.id, b.document.id}) == ([], True)  # the segment goes whole
    index.discard([staged])


def test_a_merge_takes_the_place_of_its_segments_with_the_removals_made_meanwhile(tmp_path):
    a, b, c = document(0, 3, seed=0), document(1, 2, seed=1), document(2, 2, seed=2)
    index = grown_index(tmp_path / "i", [a], [b], [c])
    base = index.snapshot
    first, second, third = base.segments
    assert changes.pieces(base, [first.name]) is None  # one segment, nothing removed: nothing to gain
    parts = changes.pieces(base, [first.name, second.name])
    place = changes.places(parts)
    assert place == {(first.name, 0): 0, (second.name, 0): 1}
    merged = object()  # stands for the segment written from ``parts``
    assert changes.merged(base, parts, place, merged) == [(merged, set()), (third, set())]
    index.apply([], {b.document.id})  # removed while the merge was written: its segment goes whole
    assert changes.merged(index.snapshot, parts, place, merged) == [(merged, {1}), (third, set())]
    assert index.merge_segments([first.name, third.name])  # another writer merged the first one elsewhere
    assert changes.merged(index.snapshot, parts, place, merged) is None
