"""ARCD through the real pipeline (its vectors and texts, cached), and large synthetic corpora resampled
from them for the index benches: real geometry and real words, any size, no embedding cost.

Out of scope: the machine header, tables and timing (``common``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from common import CACHE, arcd, write_corpus


def real_vectors(arcd_path: Path, progress: bool = True) -> dict[str, np.ndarray | list]:
    """ARCD through the real pipeline, once (cached under ``CACHE``): chunk vectors, sentence vectors,
    chunk texts and sentence texts with their BM25 tokens, and the questions' vectors.
    These are what the synthetic large corpora are resampled from."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / "arcd-real.npz"
    if out.exists():
        d = np.load(out, allow_pickle=False)
        return {k: d[k] for k in d.files}
    import tempfile

    from qa import Assistant
    from qa.lexical import tokenize

    paragraphs, questions, _ = arcd(arcd_path)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = write_corpus(paragraphs, Path(tmp) / "corpus")
        cb = (lambda d, t: print(f"\r  embedding ARCD once for the cache: {d}/{t} chunks", end="", file=sys.stderr)) \
            if progress else None
        a = Assistant.build([corpus], Path(tmp) / "index", progress=cb)
        snap = a.index.snapshot
        chunks = [snap.chunks[i] for i in range(len(snap))]
        sentences = [c.sentence_text(s) for c in chunks for s in c.sentences]
        q = a.embedder.embed_queries(questions)
        d = {
            "chunk_vectors": np.asarray(snap.vectors, np.float32),
            "sentence_vectors": np.asarray(snap.sentence_vectors, np.float32),
            "sentence_offsets": np.concatenate([[0], np.cumsum(np.subtract(*snap.sentence_bounds(
                np.arange(len(snap)))[::-1]))]).astype(np.int64),
            "chunk_texts": np.asarray([c.text for c in chunks]),
            "sentence_texts": np.asarray(sentences),
            "sentence_tokens": np.asarray([" ".join(tokenize(s)) for s in sentences]),
            "question_vectors": np.asarray(q, np.float32),
            "questions": np.asarray(questions),
        }
    np.savez(out, **d)
    print(file=sys.stderr)
    return d


def perturbed(base: np.ndarray, n: int, rng: np.random.Generator, noise: float = 0.02) -> np.ndarray:
    """``n`` unit vectors, each a real vector plus a random share (0-50%) of another real vector plus
    Gaussian noise (``noise`` per dimension), renormalised: they keep the real vectors' geometry
    (anisotropy, topic clusters) without being copies."""
    a = base[rng.integers(0, len(base), n)]
    b = base[rng.integers(0, len(base), n)]
    v = a + rng.uniform(0, 0.5, (n, 1)).astype(np.float32) * b + rng.normal(0, noise, a.shape).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v.astype(np.float32)


def synthetic_additions(real: dict, n_chunks: int, seed: int, chunks_per_doc: int = 10,
                        batch: int = 50_000, dim: int = 384) -> Iterator[list]:
    """Batches of ``Addition``s for ``n_chunks`` synthetic chunks: texts of 3-6 resampled ARCD sentences
    (their BM25 tokens reused: a chunk's tokens are its sentences' tokens), passage vectors from
    ``perturbed`` real chunk and sentence vectors, sentence vectors from perturbed real sentence vectors."""
    from qa.index import Addition
    from qa.records import Document, content_id

    rng = np.random.default_rng(seed)
    texts, tokens = real["sentence_texts"], real["sentence_tokens"]
    base = np.vstack([real["chunk_vectors"], real["sentence_vectors"]])
    sbase = real["sentence_vectors"]
    made = 0
    doc_no = 0
    while made < n_chunks:
        size = min(batch, n_chunks - made)
        vectors = perturbed(base, size, rng)
        counts = rng.integers(3, 7, size)
        svectors = perturbed(sbase, int(counts.sum()), rng)
        picks = rng.integers(0, len(texts), int(counts.sum()))
        additions, at, sat = [], 0, 0
        while at < size:
            k = min(chunks_per_doc, size - at)
            doc_id = content_id("synthetic", seed, doc_no)
            path = f"/synthetic/{seed}/{doc_no}.txt"
            chunks, ctoks, svecs, pos = [], [], [], 0
            for j in range(k):
                c = int(counts[at + j])
                chunk = _chunk(doc_id, path, f"synthetic {doc_no}", [str(texts[p]) for p in picks[sat : sat + c]], pos)
                pos = chunk.end + 1  # the next chunk starts after a space, as the sentences within one do
                chunks.append(chunk)
                ctoks.append(" ".join(str(tokens[p]) for p in picks[sat : sat + c]).split())
                svecs.append(svectors[sat : sat + c])
                sat += c
            doc = Document(id=doc_id, title=f"synthetic {doc_no}", path=path, lang="ar", text="")
            additions.append(Addition(doc, doc_id, chunks, vectors[at : at + k], svecs, ctoks))
            at += k
            doc_no += 1
        made += size
        yield additions


def _chunk(doc_id: str, path: str, title: str, sentences: list[str], start: int):
    """One Arabic chunk of ``sentences`` joined by spaces, starting at ``start`` of its document."""
    from qa.records import Chunk, Span, content_id

    spans, pos = [], start
    for s in sentences:
        spans.append(Span(pos, pos + len(s)))
        pos += len(s) + 1
    body = " ".join(sentences)
    return Chunk(id=content_id(doc_id, start, start + len(body)), doc_id=doc_id, path=path, title=title, lang="ar",
                 text=body, start=start, end=start + len(body), sentences=tuple(spans))
