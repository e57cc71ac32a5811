"""The ways bench/ingest_vectors.py gives a chunk its vector, over one embedding of every text of a run.

``Cached``: e5-small with each distinct text embedded once (passages through the per-core workers,
queries apart), so that every strategy indexes the same vectors; ``CachedAssistant``: an Assistant
that asks it. ``STRATEGIES``: name -> (Addition, token counter) -> the chunk vectors (embedded, the
plain or token-weighted mean of the sentences, or that mean only for chunks of at most N sentences).
Out of scope: the one-pass rows, which are ingest settings (``QA_ONE_PASS``), not derived vectors.
"""

from __future__ import annotations

import numpy as np

from qa import Assistant
from qa.embed import get_embedder
from qa.ingest.workers import embed_texts


class Cached:
    """e5-small with every text embedded once per run (passages and queries apart)."""

    def __init__(self):
        self.e5 = get_embedder()
        self.name, self.dim, self.max_tokens = self.e5.name, self.e5.dim, self.e5.max_tokens
        self.passages: dict[str, np.ndarray] = {}
        self.queries: dict[str, np.ndarray] = {}

    def _get(self, cache: dict, fn, texts) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            cache.update(zip(missing, fn(missing) if fn is self.e5.embed_queries else embed_texts(self.e5, missing)))
        return np.vstack([cache[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_passages(self, texts):
        return self._get(self.passages, self.e5.embed_passages, list(texts))

    def embed_queries(self, texts):
        return self._get(self.queries, self.e5.embed_queries, list(texts))

    def count_tokens(self, text):
        return self.e5.count_tokens(text)


class CachedAssistant(Assistant):
    cached: Cached

    @property
    def embedder(self):
        return self.cached


def weighted(addition, limit: int | None, counts) -> np.ndarray:
    rows = []
    for chunk, vector, sentences in zip(addition.chunks, addition.vectors, addition.sentence_vectors):
        if limit is not None and len(sentences) > limit:
            rows.append(vector)
            continue
        w = np.asarray([counts(chunk.sentence_text(s)) for s in chunk.sentences], np.float32)
        v = (w[:, None] * sentences).sum(axis=0)
        rows.append(v / np.linalg.norm(v))
    return np.vstack(rows)


def uniform(addition) -> np.ndarray:
    v = np.vstack([s.mean(axis=0) for s in addition.sentence_vectors])
    return v / np.linalg.norm(v, axis=1, keepdims=True)


STRATEGIES = {
    "embedded": lambda a, c: a.vectors,
    "from-sentences": lambda a, c: uniform(a),
    "from-sentences, token-weighted": lambda a, c: weighted(a, None, c),
    "derived up to 2 sentences": lambda a, c: weighted(a, 2, c),
    "derived up to 3 sentences": lambda a, c: weighted(a, 3, c),
}
