"""Synthetic documents for index tests: chunks in both languages with random vectors, sentence vectors and
tokens (no embedder), the indexes made of them (one segment, or one per batch), and the comparison of two
indexes' live content, BM25 scores included."""

import numpy as np

from qa.chunk import ChunkSettings
from qa.index import Addition, Index
from qa.lexical import tokenize
from qa.records import Chunk, Document, Span, content_id

DIM = 8
WORDS = ["bridge", "river", "library", "harbour", "solar", "panel", "hospital", "bed", "festival", "music", "forum",
         "security"]


def document(n: int, chunks: int, seed: int, words: list[str] = WORDS) -> Addition:
    rng = np.random.default_rng(seed)
    doc_id = content_id("doc", n)
    out, sentence_vectors = [], []
    for j in range(chunks):
        sentences = [" ".join(rng.choice(words, int(rng.integers(2, 7)))) + "." for _ in range(int(rng.integers(1, 4)))]
        text = " ".join(sentences)
        spans, at = [], 0
        for s in sentences:
            spans.append(Span(at, at + len(s)))
            at += len(s) + 1
        out.append(Chunk(id=content_id(doc_id, j), doc_id=doc_id, path=f"/d/{n}.txt", title=f"doc {n}",
                         lang="en" if j % 3 else "ar", text=text, start=0, end=len(text), sentences=tuple(spans)))
        sentence_vectors.append(rng.standard_normal((len(sentences), DIM)).astype(np.float32))
    vectors = rng.standard_normal((chunks, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return Addition(Document(doc_id, f"doc {n}", f"/d/{n}.txt", "en", ""), f"h{n}", out, vectors,
                    sentence_vectors, [tokenize(c.text) for c in out])


def new_index(path, *docs):
    index = Index.create(path, "test", DIM, ChunkSettings())
    index.apply(list(docs), set())
    return index


def grown_index(path, *batches):
    """One apply per batch: a segment each."""
    index = Index.create(path, "test", DIM, ChunkSettings())
    for batch in batches:
        index.apply(list(batch), set())
    return index


QUERIES = ("bridge river", "solar panel festival", "hospital", "music music forum", "harbour")


def assert_same_content(a, b):
    sa, sb = a.snapshot, b.snapshot
    assert len(sa) == len(sb)
    assert [sa.chunks.raw(i) for i in range(len(sa))] == [sb.chunks.raw(i) for i in range(len(sb))]
    assert np.array_equal(np.asarray(sa.vectors), np.asarray(sb.vectors))
    assert all(np.array_equal(sa.sentences_of(i), sb.sentences_of(i)) for i in range(len(sa)))
    assert np.array_equal(sa.langs, sb.langs) and np.array_equal(sa.doc_rows, sb.doc_rows)
    assert [d["id"] for d in sa.documents] == [d["id"] for d in sb.documents]
    for q in QUERIES:
        assert np.allclose(sa.bm25.scores(tokenize(q)), sb.bm25.scores(tokenize(q)), rtol=1e-5, atol=1e-6)
