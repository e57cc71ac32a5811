"""Several BM25 indexes scored as one list of chunks, with the statistics of all their live rows.

The segments of an index folder each hold a ``lexical.BM25`` of raw term counts; a question is scored
over all of them with one N, one average length and one document frequency per term, counted over
the rows that are still live, so that a chunk scores exactly as in one index built from the live
chunks alone (test it against a one-segment build). Out of scope: tokenising (``lexical.tokenize``)
and the storage of each index (``lexical.BM25``).
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict

import numpy as np

from .lexical import BM25, Stats


class Combined:
    """Several BM25 indexes scored as one list of chunks: (index, ``row_of``) pairs in list order,
    where ``row_of`` maps each row of that index to its place among the index's live rows (-1:
    deleted), or is None when all rows are live. N, the average length and the document frequencies
    are those of all live rows, so a chunk scores exactly as in one index built from them alone.

    Those statistics are only known once all segments are, so the per-term work an index used to do
    at build time (the saturated counts) is done at the first query with a term and kept, within
    ``CACHE_BYTES``, for the life of this object (one snapshot)."""

    CACHE_BYTES = 128 << 20
    FEW_DEAD = 4096  # removed rows of a part up to which its postings are renumbered past them (``_past``)

    def __init__(self, parts: list[tuple[BM25, np.ndarray | None]]):
        self.parts = parts
        self._live = [bm.size if row_of is None else int(np.count_nonzero(row_of >= 0)) for bm, row_of in parts]
        self.size = sum(self._live)
        length = sum(float(np.sum(bm.lengths, dtype=np.float64)) if row_of is None
                     else float(np.sum(bm.lengths[row_of >= 0], dtype=np.float64)) for bm, row_of in parts)
        self.avgdl = length / self.size if self.size else 1.0
        self._dead = [None if row_of is None else dead if len(dead := np.flatnonzero(row_of < 0)) <= self.FEW_DEAD
                      else None for _, row_of in parts]
        self._df: dict[str, int] = {}
        self._norms: dict[int, np.ndarray] = {}
        self._saturated: OrderedDict[tuple[int, str], tuple[np.ndarray, ...]] = OrderedDict()
        self._cached_bytes = 0
        self._lock = threading.Lock()

    def df(self, term: str) -> int:
        if term not in self._df:
            total = 0
            for bm, row_of in self.parts:
                rows, _ = bm.postings(term)
                total += len(rows) if row_of is None else int(np.count_nonzero(row_of[rows] >= 0))
            self._df[term] = total
        return self._df[term]

    def _saturation(self, i: int, term: str) -> tuple[np.ndarray, ...]:
        key = (i, term)
        with self._lock:
            hit = self._saturated.get(key)
            if hit is not None:
                self._saturated.move_to_end(key)
                return hit
        bm, row_of = self.parts[i]
        if i not in self._norms:
            self._norms[i] = bm.norm(self.avgdl)
        value = bm.saturation(term, self._norms[i], row_of, self._dead[i])
        with self._lock:
            self._saturated[key] = value
            self._cached_bytes += value[0].nbytes + value[1].nbytes
            while self._cached_bytes > self.CACHE_BYTES and len(self._saturated) > 1:
                _, old = self._saturated.popitem(last=False)
                self._cached_bytes -= old[0].nbytes + old[1].nbytes
        return value

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every live chunk, in list order, for the query."""
        out = np.zeros(self.size, np.float32)
        stats = Stats(self.size, self.avgdl, self.df)
        weights = {t: stats.idf(t) * c for t, c in Counter(query_tokens).items() if self.df(t)}
        start = 0
        for i, live in enumerate(self._live):
            for term, weight in weights.items() if live else ():
                rows, value = self._saturation(i, term)
                if len(rows):
                    np.add.at(out[start : start + live], rows, value * np.float32(weight))
            start += live
        return out
