"""BM25 over the milvus store with the statistics of the reader's own generation, as the local store has.

Milvus's BM25 function keeps its statistics (rows, mean length, document frequencies) over every row
of the collection, and the milvus store keeps rows on purpose that a generation does not see: the
documents removed at a recent generation (kept for readers of the one before until the save after
next deletes them), rows a newer generation added, rows a killed writer left. While any are there,
Milvus scores the live rows with the wrong statistics: with documents a, b, c and b removed, a and c
scored 0.875 / 0.820 against 0.504 / 0.462 in a fresh store of a and c. Measured on milvus-lite
2.5.1: a row deleted for good leaves Milvus's statistics at once (so once the removal is purged the
scores agree again), and there is no compaction to ask for (its ``compact`` call is unimplemented).

So, only while the collection holds rows the generation does not see (one count per snapshot tells),
``LiveBM25`` ranks candidates fetched by Milvus's own BM25 search (``CANDIDATES`` times the hits
asked for, with their tokens) by the score of ``qa.lexical`` over the generation's live rows: their
number, their mean length (from the documents' token counts) and each query term's document
frequency (a count of the live rows holding it). Otherwise Milvus's scores are used as they are.
Out of scope: a term's document frequency from an index (``TEXT_MATCH``, which milvus-lite 2.5.1
refuses): it is counted with a ``LIKE`` scan of the live rows, once per term and snapshot; and the
exactness of the ranking when a query matches more rows than the candidates (the ones Milvus ranks
lowest by its drifted scores could rank higher with the right ones).
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from ..lexical import K1, B, Stats

if TYPE_CHECKING:
    from .milvus_snapshot import MilvusSnapshot

CANDIDATES = 10


def _holding(term: str) -> str:
    """A filter for rows whose space-joined ``tokens`` hold ``term``. Milvus's LIKE has no escape, so
    a ``_`` in the term (the one wildcard ``\\w+`` tokens can hold) matches any character: callers
    check those rows' tokens themselves."""
    t = json.dumps(term, ensure_ascii=False)[1:-1]
    return f'(tokens == "{t}" or tokens like "{t} %" or tokens like "% {t}" or tokens like "% {t} %")'


class LiveBM25:
    """The BM25 statistics of one generation of a milvus store, and candidates scored with them."""

    def __init__(self, snapshot: MilvusSnapshot):
        self._snap = snapshot
        self._df: dict[str, int] = {}

    @cached_property
    def needed(self) -> bool:
        """Whether the collection holds rows this generation does not see (so Milvus's statistics
        are not this generation's)."""
        return self._snap.count_all() != len(self._snap)

    @cached_property
    def avgdl(self) -> float:
        counts = [d.get("tokens") for d in self._snap.documents]
        if all(isinstance(n, int) for n in counts):
            total = sum(counts)
        else:  # documents stored before their token counts were: count them from the rows
            total = sum(len(r["tokens"].split()) for rows in self._snap.pages(["tokens"]) for r in rows)
        return total / len(self._snap) if len(self._snap) else 1.0

    def df(self, term: str) -> int:
        """Live rows holding ``term``."""
        if term not in self._df:
            if "_" in term:  # a LIKE wildcard: count only the rows that really hold it
                self._df[term] = sum(term in r["tokens"].split() for r in self._snap.rows_where(_holding(term)))
            else:
                self._df[term] = self._snap.count_where(_holding(term))
        return self._df[term]

    def scores(self, hits: list[dict[str, Any]], query_tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(rows, BM25 scores with this generation's statistics) of Milvus hits that carry ``tokens``."""
        stats = Stats(len(self._snap), self.avgdl, self.df)
        weights = {t: np.float32(stats.idf(t) * c) for t, c in Counter(query_tokens).items() if self.df(t)}
        rows = np.asarray([int(h["id"]) for h in hits], np.int64)
        scores = np.zeros(len(hits), np.float32)
        for i, hit in enumerate(hits):
            tokens = hit["entity"]["tokens"].split()
            norm = np.float32(K1 * ((1 - B) + B * np.float32(len(tokens)) / np.float32(self.avgdl)))
            tf = Counter(tokens)
            scores[i] = sum(np.float32(tf[t] / (tf[t] + norm)) * w for t, w in weights.items() if t in tf)
        return rows, scores
