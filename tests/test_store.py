"""Streaming generations: what an add or a removal writes equals a fresh build of the same content;
BM25 built from token ids scores like bm25s; generations written before token ids were kept still
accept adds. Synthetic chunks and vectors: no embedder."""

import hashlib
import json
import mmap

import bm25s
import numpy as np

from qa.chunk import ChunkSettings
from qa.index import Addition, Index, store
from qa.lexical import BM25, tokenize
from qa.records import Chunk, Document, Span, content_id

DIM = 8
WORDS = ["bridge", "river", "library", "harbour", "solar", "panel", "hospital", "bed", "festival", "music", "forum",
         "security"]


def document(n: int, chunks: int, seed: int) -> Addition:
    rng = np.random.default_rng(seed)
    doc_id = content_id("doc", n)
    out, sentence_vectors = [], []
    for j in range(chunks):
        sentences = [" ".join(rng.choice(WORDS, 4)) + "." for _ in range(int(rng.integers(1, 4)))]
        text = " ".join(sentences)
        spans, at = [], 0
        for s in sentences:
            spans.append(Span(at, at + len(s)))
            at += len(s) + 1
        out.append(Chunk(id=content_id(doc_id, j), doc_id=doc_id, path=f"/d/{n}.txt", title=f"doc {n}",
                         lang="en" if j % 3 else "ar", text=text, start=0, end=len(text), sentences=tuple(spans)))
        sentence_vectors.append(rng.standard_normal((len(sentences), DIM)).astype(np.float32))
    vectors = rng.standard_normal((chunks, DIM)).astype(np.float32)
    return Addition(Document(doc_id, f"doc {n}", f"/d/{n}.txt", "en", ""), f"h{n}", out, vectors,
                    sentence_vectors, [tokenize(c.text) for c in out])


def new_index(path, *docs):
    index = Index.create(path, "test", DIM, ChunkSettings())
    index.apply(list(docs), set())
    return index


def assert_same_content(a, b):
    sa, sb = a.snapshot, b.snapshot
    assert len(sa) == len(sb)
    assert [sa.chunks.raw(i) for i in range(len(sa))] == [sb.chunks.raw(i) for i in range(len(sb))]
    assert np.array_equal(np.asarray(sa.vectors), np.asarray(sb.vectors))
    assert np.array_equal(sa.sentence_offsets, sb.sentence_offsets)
    assert np.array_equal(np.asarray(sa.sentence_vectors), np.asarray(sb.sentence_vectors))
    assert np.array_equal(sa.langs, sb.langs) and np.array_equal(sa.doc_rows, sb.doc_rows)
    for q in ("bridge river", "solar panel festival", "hospital"):
        assert np.allclose(sa.bm25.scores(tokenize(q)), sb.bm25.scores(tokenize(q)), atol=1e-6)


def test_runs_of_consecutive_rows():
    first, end = store.runs(np.array([0, 1, 2, 5, 7, 8]))
    assert first.tolist() == [0, 5, 7] and end.tolist() == [3, 6, 9]
    assert [len(x) for x in store.runs(np.array([], np.int64))] == [0, 0]


def test_removal_and_add_stream_the_same_content_as_a_fresh_build(tmp_path):
    a, b, c, d = (document(i, chunks, seed=i) for i, chunks in enumerate((5, 3, 7, 4)))
    grown = new_index(tmp_path / "grown", a, b, c)
    grown.apply([d], {b.document.id})
    assert_same_content(grown, new_index(tmp_path / "fresh", a, c, d))
    assert_same_content(Index.open(tmp_path / "grown"), new_index(tmp_path / "fresh2", a, c, d))


def test_append_only_keeps_token_ids_and_vocabulary_ids(tmp_path):
    a, b = document(0, 6, seed=0), document(1, 6, seed=1)
    index = new_index(tmp_path / "i", a)
    before = dict(index.snapshot.bm25.vocab.ids)
    index.apply([b], set())
    after = index.snapshot.bm25.vocab.ids
    assert all(after[t] == i for t, i in before.items())
    bm = index.snapshot.bm25
    assert len(bm.token_offsets) == 13 and int(bm.token_offsets[-1]) == sum(len(t) for t in a.tokens + b.tokens)


def test_bm25_scores_like_bm25s_and_reads_its_folders(tmp_path):
    rng = np.random.default_rng(3)
    corpus = [[str(w) for w in rng.choice(WORDS, int(rng.integers(1, 12)))] for _ in range(200)]
    ours = BM25.build(corpus)
    theirs = bm25s.BM25()
    theirs.index(corpus, show_progress=False)
    for q in (["bridge"], ["solar", "panel", "solar"], ["forum", "music", "unknown"]):
        assert np.allclose(ours.scores(q), theirs.get_scores([t for t in q if t in theirs.vocab_dict]), atol=1e-5)
    theirs.save(str(tmp_path / "b"), show_progress=False)
    (tmp_path / "b" / "size").write_text("200")
    loaded = BM25.load(tmp_path / "b")
    assert loaded.tokens is None and "" not in loaded.vocab.ids
    assert np.allclose(loaded.scores(["harbour", "bed"]), ours.scores(["harbour", "bed"]), atol=1e-5)


def test_a_generation_without_token_ids_still_accepts_adds(tmp_path):
    a, b = document(0, 5, seed=0), document(1, 4, seed=1)
    index = new_index(tmp_path / "old", a)
    gen = index.snapshot.folder
    # Rewrite it as the previous format did: tokens.txt, BM25 without token ids.
    (gen / "tokens.txt").write_text("\n".join(" ".join(t) for t in a.tokens), "utf-8")
    for name in ("tokens.npy", "token_offsets.npy"):
        (gen / "bm25" / name).unlink()
    manifest = json.loads((gen / store.MANIFEST).read_text())
    manifest["checksums"] = {p: store.sha256_file(gen / p) for p in
                             [*(k for k in manifest["checksums"] if (gen / k).exists()), "tokens.txt"]}
    data = json.dumps(manifest).encode()
    (gen / store.MANIFEST).write_bytes(data)
    (gen / store.MANIFEST_SHA256).write_text(hashlib.sha256(data).hexdigest())
    legacy = Index.open(tmp_path / "old")
    assert legacy.snapshot.bm25.tokens is None
    legacy.apply([b], set())
    assert_same_content(legacy, new_index(tmp_path / "fresh", a, b))


def test_opening_maps_the_big_files_instead_of_reading_them(tmp_path):
    index = Index.open(new_index(tmp_path / "i", document(0, 5, seed=0)).folder)
    snap = index.snapshot
    assert isinstance(snap.chunks._map, mmap.mmap)
    assert isinstance(snap.vectors, np.memmap) and isinstance(snap.sentence_vectors, np.memmap)
    assert isinstance(snap.bm25.tokens, np.memmap)
