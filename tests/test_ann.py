"""FAISS index kinds: the automatic choice, overrides, recall against exact search, save/open round trips,
and the index kind carried through ``Index`` generations (appends extend, removals rebuild).

Vectors are synthetic but shaped like embeddings (low intrinsic dimension), small and seeded: no
embedder, no timing."""

import numpy as np
import pytest

from qa.chunk import ChunkSettings
from qa.index import Addition, Index, ann
from qa.records import Chunk, Document, Span, content_id

DIM = 32


def embeddings(n: int, seed: int = 0, latent: int = 12) -> np.ndarray:
    """Unit vectors like sentence embeddings: a low intrinsic dimension (``latent`` factors mapped into
    ``DIM``), a direction they all share (cosines mostly positive) and a little noise."""
    projection = np.random.default_rng(0).standard_normal((latent, DIM)).astype(np.float32)
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n, latent)).astype(np.float32) @ projection + 2.0
    v += 0.05 * rng.standard_normal((n, DIM)).astype(np.float32)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def recall_at_10(index, data: np.ndarray, queries: np.ndarray) -> float:
    exact = np.argsort(-(queries @ data.T), axis=1)[:, :10]
    _, found = ann.search(index, queries, 10)
    return float(np.mean([len(set(e) & set(f)) / 10 for e, f in zip(exact, found)]))


@pytest.fixture(scope="module")
def data():
    return embeddings(3000, seed=1), embeddings(60, seed=2)


def test_auto_is_exact_below_the_limit_and_hnsw_from_it():
    assert ann.choose_kind("auto", 0) == "flat"
    assert ann.choose_kind("auto", ann.EXACT_LIMIT - 1) == "flat"
    assert ann.choose_kind("auto", ann.EXACT_LIMIT) == "hnsw"
    assert ann.choose_kind("auto", 1_000_000) == "hnsw"


def test_a_named_kind_overrides_the_size_and_an_unknown_one_is_refused():
    for kind in ann.ANN_KINDS:
        assert ann.choose_kind(kind, 10) == kind
        assert ann.choose_kind(kind, 10_000_000) == kind
    with pytest.raises(ValueError, match="unknown index kind 'lsh'.*hnsw"):
        ann.choose_kind("lsh", 10)


@pytest.mark.parametrize("kind", sorted(ann.ANN_KINDS))
def test_each_kind_agrees_with_exact_search_and_round_trips(kind, data, tmp_path):
    vectors, queries = data
    index = ann.build(kind, vectors)
    assert index.ntotal == len(vectors)
    assert recall_at_10(index, vectors, queries) >= 0.99
    ann.save(index, kind, tmp_path)
    again = ann.load(kind, tmp_path, vectors)
    assert (tmp_path / ann.ANN_FILE).exists() == (kind not in ann.REBUILT_ON_OPEN)
    s1, i1 = ann.search(index, queries, 10)
    s2, i2 = ann.search(again, queries, 10)
    assert np.array_equal(i1, i2) and np.allclose(s1, s2)


def test_search_parameters_are_applied_on_load(data, tmp_path):
    vectors, _ = data
    index = ann.build("hnsw", vectors)
    index.hnsw.efSearch = 1
    ann.save(index, "hnsw", tmp_path)
    assert ann.load("hnsw", tmp_path, None).hnsw.efSearch == ann.EF_SEARCH  # small index
    with pytest.MonkeyPatch.context() as mp:  # a large index searches wider
        mp.setattr(ann, "EF_LARGE_FROM", 1000)
        assert ann.load("hnsw", tmp_path, None).hnsw.efSearch == ann.EF_SEARCH_LARGE
    ivf = ann.build("ivf", vectors)
    assert ivf.nlist == ann.ivf_lists(len(vectors)) and ivf.nprobe == min(ann.NPROBE, ivf.nlist)


def test_search_never_asks_for_more_than_the_index_holds(data):
    vectors, queries = data
    scores, ids = ann.search(ann.build("flat", vectors[:3]), queries[:1], 10)
    assert ids.shape == (1, 3) and sorted(ids[0].tolist()) == [0, 1, 2]


# ---------------------------------------------------------------- through Index generations


def additions(vectors: np.ndarray, first_doc: int, per_doc: int = 50) -> list[Addition]:
    out = []
    for d in range(0, len(vectors), per_doc):
        doc_id = content_id("doc", first_doc + d)
        chunks, sents = [], []
        for j, v in enumerate(vectors[d : d + per_doc]):
            text = f"chunk {first_doc + d + j} about topic {j % 7}"
            chunks.append(Chunk(id=content_id(doc_id, j), doc_id=doc_id, path=f"/d/{doc_id}", title=doc_id,
                                lang="en", text=text, start=0, end=len(text), sentences=(Span(0, len(text)),)))
            sents.append(v[None, :])
        doc = Document(id=doc_id, title=doc_id, path=f"/d/{doc_id}", lang="en", text="")
        out.append(Addition(doc, doc_id, chunks, vectors[d : d + per_doc], sents,
                            [c.text.split() for c in chunks]))
    return out


def dense_rows(index: Index, queries: np.ndarray, k: int = 10) -> np.ndarray:
    snap = index.snapshot
    return np.asarray([snap.dense_search("en", q, k)[0] for q in queries])


def agrees_with_exact(index: Index, queries: np.ndarray, vectors: np.ndarray) -> float:
    """Recall@10 of the index's dense rows against brute force over ``vectors`` (the live rows)."""
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    found = dense_rows(index, queries)
    return float(np.mean([len(set(e) & set(f)) / 10 for e, f in zip(exact, found)]))


@pytest.mark.parametrize("request_kind, n, expected", [
    ("auto", 300, "flat"), ("auto", 600, "hnsw"), ("ivf", 300, "ivf"), ("flat-fp16", 600, "flat-fp16"),
])
def test_index_chooses_by_size_or_request_and_reopens(monkeypatch, tmp_path, data, request_kind, n, expected):
    monkeypatch.setattr(ann, "EXACT_LIMIT", 500)
    vectors, queries = data
    index = Index.create(tmp_path / "i", "test", DIM, ChunkSettings(), ann_kind=request_kind)
    index.apply(additions(vectors[:n], 0), set())
    assert index.snapshot.manifest["ann"] == expected
    assert index.snapshot.manifest["ann_request"] == request_kind
    again = Index.open(tmp_path / "i")
    assert again.snapshot.manifest["ann"] == expected
    assert np.array_equal(dense_rows(index, queries), dense_rows(again, queries))
    assert agrees_with_exact(again, queries, vectors[:n]) >= 0.99


def test_small_adds_get_exact_segments_beside_a_large_approximate_one(monkeypatch, tmp_path, data):
    monkeypatch.setattr(ann, "EXACT_LIMIT", 500)
    vectors, queries = data
    index = Index.create(tmp_path / "i", "test", DIM, ChunkSettings())
    index.apply(additions(vectors[:1000], 0), set())
    index.apply(additions(vectors[1000:1100], 1000), set())
    assert [seg.kind for seg in index.snapshot.segments] == ["hnsw", "flat"]
    assert agrees_with_exact(index, queries, vectors[:1100]) >= 0.99  # the lists of both merged


@pytest.mark.parametrize("kind", ["hnsw", "ivf", "hnsw-fp16"])
def test_removals_are_skipped_a_merge_carries_the_index_and_many_removals_rebuild(monkeypatch, tmp_path, data,
                                                                                   kind):
    monkeypatch.setenv("QA_MERGE", "off")  # the merges below are run by hand
    vectors, queries = data
    index = Index.create(tmp_path / "i", "test", DIM, ChunkSettings(), ann_kind=kind)
    index.apply(additions(vectors[:1000], 0), set())
    second = index.apply(additions(vectors[1000:2000], 1000), set())
    first_part = second.segments[0].parts["en"][0]
    assert [seg.rows for seg in second.segments] == [1000, 1000] and len(second) == 2000
    assert agrees_with_exact(index, queries, vectors[:2000]) >= 0.99

    # One document of 50 removed from each segment: only marked in the generation; searches skip them.
    third = index.apply([], {second.documents[0]["id"], second.documents[-1]["id"]})
    assert third.segments[0] is second.segments[0] and len(third) == 1900
    assert np.array_equal(third.live_rows("en"), np.arange(1900))
    found = dense_rows(index, queries, k=50)
    assert (found >= 0).all() and (found < 1900).all()
    assert agrees_with_exact(index, queries, vectors[50:1950]) >= 0.99
    reopened = Index.open(tmp_path / "i")
    assert np.array_equal(dense_rows(reopened, queries), dense_rows(index, queries))
    assert np.allclose(np.asarray(reopened.snapshot.vectors), vectors[50:1950])

    # A merge copies the larger segment's index (its removed ids marked -1) and adds the other's rows.
    assert index.merge_segments([seg.name for seg in third.segments])
    merged = index.snapshot
    part, id_rows = merged.segments[0].parts["en"]
    assert len(merged.segments) == 1 and part.ntotal == 1950 and np.count_nonzero(id_rows < 0) == 50
    assert first_part.ntotal == 1000  # the old segment's index was copied, not extended in place
    assert agrees_with_exact(index, queries, vectors[50:1950]) >= 0.99

    # Past MAX_DELETED dead ids, the next merge builds a fresh index instead.
    gone = {d["id"] for d in merged.documents[:10]}  # 500 more rows: 550 of 1950 dead > 20%
    index.apply([], gone)
    assert index.merge_segments([index.snapshot.segments[0].name])
    part, id_rows = index.snapshot.segments[0].parts["en"]
    assert part.ntotal == len(index.snapshot) == 1400 and (id_rows >= 0).all()
    assert agrees_with_exact(index, queries, vectors[550:1950]) >= 0.99
