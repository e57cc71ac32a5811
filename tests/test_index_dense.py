"""Dense search over segments (qa/index/dense.py) while removals are pending: a segment with a few dead
rows is over-fetched and filtered, one with many is searched with a FAISS id selector; both give the
exact live ranking (flat) and the recall of exact search (HNSW). Synthetic vectors, no embedder."""

import numpy as np
import pytest

from qa.chunk import ChunkSettings
from qa.index import Index, dense
from qa.index.segment import Segment
from tests.test_ann import DIM, additions, embeddings


@pytest.fixture(scope="module")
def data():
    return embeddings(1200, seed=3), embeddings(40, seed=4)


def _removed(tmp_path, vectors, kind: str, docs: int) -> tuple[Index, np.ndarray]:
    """An index of ``vectors`` (documents of 4 chunks) with ``docs`` documents removed, and the live rows' vectors."""
    index = Index.create(tmp_path / kind, "test", DIM, ChunkSettings(), ann_kind=kind)
    batch = additions(vectors, 0, per_doc=4)
    index.apply(batch, set())
    gone = {a.document.id for a in batch[: 2 * docs : 2]}
    index.apply([], gone)
    live = np.vstack([a.vectors for a in batch if a.document.id not in gone])
    return index, live


def _exclusions(monkeypatch) -> list[str]:
    built, exclusion = [], Segment.exclusion

    def spy(seg, lang, alive, key):
        built.append(lang)
        return exclusion(seg, lang, alive, key)

    monkeypatch.setattr(Segment, "exclusion", spy)
    return built


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_a_few_removed_rows_are_over_fetched_and_filtered_out(monkeypatch, tmp_path, data, kind):
    monkeypatch.setenv("QA_MERGE", "off")
    monkeypatch.setattr(dense, "SMALL_EXACT_ROWS", 0)  # this one small segment goes through FAISS
    vectors, queries = data
    index, live = _removed(tmp_path, vectors, kind, docs=5)
    snap = index.snapshot
    assert len(snap) == len(live) == 1180 and snap.segments[0].kind == kind
    built = _exclusions(monkeypatch)
    found = [snap.dense_search("en", q, 10) for q in queries]
    assert built == []  # 20 dead rows: no id selector
    exact = np.argsort(-(queries @ live.T), axis=1)[:, :10]
    rows = np.asarray([r for r, _ in found])
    if kind == "flat":
        assert np.array_equal(rows, exact)
        assert all(np.allclose(s, np.sort(queries[i] @ live.T)[::-1][:10], atol=1e-5) for i, (_, s) in enumerate(found))
    else:
        assert np.mean([len(set(e) & set(f)) / 10 for e, f in zip(exact, rows)]) >= 0.99
    # The same hits as through the id selector.
    monkeypatch.setattr(dense, "OVERFETCH_DEAD", 0)
    assert np.array_equal(np.asarray([snap.dense_search("en", q, 10)[0] for q in queries]), rows) and built


def test_many_removed_rows_are_skipped_by_an_id_selector(monkeypatch, tmp_path, data):
    monkeypatch.setenv("QA_MERGE", "off")
    monkeypatch.setattr(dense, "SMALL_EXACT_ROWS", 0)
    monkeypatch.setattr(dense, "OVERFETCH_DEAD", 8)
    vectors, queries = data
    index, live = _removed(tmp_path, vectors, "flat", docs=5)
    built = _exclusions(monkeypatch)
    rows = np.asarray([index.snapshot.dense_search("en", q, 10)[0] for q in queries])
    assert built and np.array_equal(rows, np.argsort(-(queries @ live.T), axis=1)[:, :10])
