"""Ranking chunks for a question: dense per language, BM25 in the question's language, RRF, MMR.

Dense scores are not comparable across languages: e5 gives a same-language passage a higher
cosine than an equally relevant passage in the other language. So each language is searched on
its own and its scores are standardised against a background sample of that language before the
lists merge. BM25 only ranks chunks in the question's language (it cannot match across scripts).
Everything here is a pure function of a snapshot (of any store: ``SnapshotView`` is what it reads)
and the question's vector and tokens: the stores search, this module ranks, so the local store and
Milvus rank alike. Out of scope: embedding the question (``assistant``) and answer extraction.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import numpy as np

from .index.views import top
from .records import Chunk, Hit

__all__ = ["MODES", "Ranked", "Sample", "SearchOptions", "SnapshotView", "rrf", "search", "top"]

MODES = ("hybrid", "dense", "bm25")
RRF_K = 60
BACKGROUND = 256
DUPLICATE = 0.985
SENTENCE_WEIGHT = 0.5
LANGS = ("ar", "en", "other")


class Ranked(NamedTuple):
    rows: np.ndarray
    scores: np.ndarray


class Sample(NamedTuple):
    """A fixed background sample of one language: what its dense scores are standardised against."""

    passages: np.ndarray  # (s, dim) float32
    sentences: np.ndarray  # (t, dim) float32, the sample's sentences back to back
    starts: np.ndarray  # first sentence of each sample row that has sentences
    some: np.ndarray  # which sample rows have sentences


class SnapshotView(Protocol):
    """What retrieval reads from a snapshot (``qa.index.Snapshot``, ``qa.index.milvus``'s)."""

    documents: list[dict[str, Any]]
    languages: tuple[str, ...]

    def dense_search(self, lang: str, query: np.ndarray, m: int,
                     doc_ids: tuple[str, ...] | None) -> tuple[np.ndarray, np.ndarray]: ...
    def lexical_search(self, tokens: list[str], lang: str, m: int,
                       doc_ids: tuple[str, ...] | None) -> tuple[np.ndarray, np.ndarray]: ...
    def best_sentence(self, rows: np.ndarray, query: np.ndarray) -> np.ndarray: ...
    def background_sample(self, lang: str, size: int) -> tuple[np.ndarray, ...]: ...
    def vectors_of(self, rows: np.ndarray) -> np.ndarray: ...
    def langs_of(self, rows: np.ndarray) -> np.ndarray: ...
    def chunk(self, row: int) -> Chunk: ...


class SearchOptions(NamedTuple):
    k: int = 5
    mode: str = "hybrid"
    langs: tuple[str, ...] | None = None
    doc_ids: tuple[str, ...] | None = None
    mmr: float | None = None
    candidates: int = 50

    def check(self) -> SearchOptions:
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; choose one of: {', '.join(MODES)}")
        if self.k < 1:
            raise ValueError(f"k={self.k} must be at least 1")
        if self.mmr is not None and not 0.0 <= self.mmr <= 1.0:
            raise ValueError(f"mmr={self.mmr} must be between 0 and 1 (1 = relevance only)")
        return self


def allowed_docs(snap: SnapshotView, options: SearchOptions) -> tuple[str, ...] | None:
    """The document filter (None: none); a filter naming a language or document the tool cannot
    know is an error, not an empty result."""
    bad_langs = sorted(set(options.langs or ()) - set(LANGS))
    if bad_langs:
        raise ValueError(f"unknown language filter {', '.join(bad_langs)}; use one of: {', '.join(LANGS)}")
    if not options.doc_ids:
        return None
    ids = set(options.doc_ids)
    missing = ids - {d["id"] for d in snap.documents}
    if missing:
        raise ValueError(f"no document with id {', '.join(sorted(missing))}; `qa docs` lists them")
    return tuple(sorted(ids))


def chunk_scores(snap: SnapshotView, rows: np.ndarray, passage: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Passage cosine averaged with the chunk's best sentence cosine (ARCD R@1 0.610 → 0.642)."""
    best = snap.best_sentence(rows, query)
    best = np.where(best < -1.0, passage, best)  # a chunk without sentences keeps its passage score
    return (1 - SENTENCE_WEIGHT) * passage + SENTENCE_WEIGHT * best


def _background(snap: SnapshotView, lang: str, query: np.ndarray) -> tuple[float, float]:
    s = Sample(*snap.background_sample(lang, BACKGROUND))
    passage = s.passages @ query
    best = passage.astype(np.float64)
    if len(s.sentences):
        best[s.some] = np.maximum.reduceat(s.sentences @ query, s.starts)
    combined = (1 - SENTENCE_WEIGHT) * passage + SENTENCE_WEIGHT * best
    return float(combined.mean()), max(float(combined.std()), 0.02)


def _dense_one(snap: SnapshotView, lang: str, query: np.ndarray, m: int, doc_ids: tuple[str, ...] | None) -> Ranked:
    found, passage = snap.dense_search(lang, query, m, doc_ids)
    combined = chunk_scores(snap, found, passage, query)
    order = np.argsort(-combined, kind="stable")[:m]
    return Ranked(found[order], combined[order])


def dense(snap: SnapshotView, query: np.ndarray, options: SearchOptions, m: int,
          doc_ids: tuple[str, ...] | None = None) -> tuple[Ranked, Ranked]:
    """(ranking by per-language standardised score, the raw cosines of the same rows); one
    language needs no standardising."""
    langs = [lang for lang in snap.languages if options.langs is None or lang in options.langs]
    rows, z, raw = [], [], []
    for lang in langs:
        found = _dense_one(snap, lang, query, m, doc_ids)
        rows.append(found.rows)
        raw.append(found.scores)
        if len(langs) > 1:
            mean, std = _background(snap, lang, query)
            z.append((found.scores - mean) / std)
        else:
            z.append(found.scores)
    if not rows:
        empty = Ranked(np.zeros(0, np.int64), np.zeros(0, np.float32))
        return empty, empty
    rows_a, z_a, raw_a = np.concatenate(rows), np.concatenate(z), np.concatenate(raw)
    order = np.argsort(-z_a, kind="stable")[:m]
    return Ranked(rows_a[order], z_a[order]), Ranked(rows_a[order], raw_a[order])


def lexical(snap: SnapshotView, tokens: list[str], lang: str, options: SearchOptions, m: int,
            doc_ids: tuple[str, ...] | None = None) -> Ranked:
    """BM25 ranking restricted to chunks in the question's language (and the filters)."""
    if lang not in snap.languages or (options.langs is not None and lang not in options.langs):
        return Ranked(np.zeros(0, np.int64), np.zeros(0, np.float32))
    return Ranked(*snap.lexical_search(tokens, lang, m, doc_ids))


def rrf(rankings: list[dict[int, int]], k: int = RRF_K) -> Ranked:
    """Reciprocal rank fusion: sum of 1 / (k + rank) over the rankings (row → rank) a row is in."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for row, rank in ranking.items():
            fused[row] = fused.get(row, 0.0) + 1.0 / (k + rank)
    items = sorted(fused.items(), key=lambda x: (-x[1], x[0]))
    return Ranked(np.array([r for r, _ in items], np.int64), np.array([s for _, s in items]))


def mmr(snap: SnapshotView, ranked: Ranked, k: int, lam: float | None) -> Ranked:
    """Maximal marginal relevance; with ``lam`` None only near-identical chunks are dropped."""
    if not len(ranked.rows):
        return ranked
    vecs = np.asarray(snap.vectors_of(ranked.rows), np.float32)
    rel = ranked.scores - ranked.scores.min()
    rel = rel / rel.max() if rel.max() > 0 else np.ones_like(rel)
    chosen: list[int] = []
    left = list(range(len(ranked.rows)))
    while left and len(chosen) < k:
        sim = (vecs[left] @ vecs[chosen].T).max(axis=1) if chosen else np.zeros(len(left))
        if lam is None:
            pick = next((i for i, s in zip(left, sim) if s < DUPLICATE), None)
            if pick is None:
                break
        else:
            pick = left[int(np.argmax(lam * rel[left] - (1 - lam) * sim))]
        chosen.append(pick)
        left.remove(pick)
    return Ranked(ranked.rows[chosen], ranked.scores[chosen])


def ranks(ranked: Ranked) -> dict[int, int]:
    return {row: i for i, row in enumerate(ranked.rows.tolist(), 1)}


def hybrid(snap: SnapshotView, by_lang: Ranked, lex: Ranked, lang: str) -> Ranked:
    """RRF of dense and BM25. BM25 cannot see chunks in another language than the question, so
    those count their dense rank twice instead of being outvoted by weak same-language matches."""
    dense_ranks = ranks(by_lang)
    langs = snap.langs_of(by_lang.rows)
    stand_in = {r: rank for (r, rank), row_lang in zip(dense_ranks.items(), langs.tolist()) if row_lang != lang}
    return rrf([dense_ranks, ranks(lex), stand_in])


def search(snap: SnapshotView, query: np.ndarray | None, tokens: list[str], lang: str,
           options: SearchOptions) -> list[Hit]:
    """The top ``options.k`` hits; ``query`` may be None only in ``bm25`` mode."""
    options = options.check()
    doc_ids = allowed_docs(snap, options)
    m = max(options.candidates, 4 * options.k)
    cosine: dict[int, float] = {}
    if options.mode != "bm25" and query is not None:
        by_lang, raw = dense(snap, query, options, m, doc_ids)
        cosine = dict(zip(raw.rows.tolist(), raw.scores.tolist()))
    if options.mode == "dense":
        fused = by_lang
    elif options.mode == "bm25":
        fused = lexical(snap, tokens, lang, options, m, doc_ids)
    else:
        fused = hybrid(snap, by_lang, lexical(snap, tokens, lang, options, m, doc_ids), lang)
    final = mmr(snap, fused, options.k, options.mmr)
    return [Hit(rank=i + 1, score=float(s), chunk=snap.chunk(r), dense=cosine.get(r), row=r)
            for i, (r, s) in enumerate(zip(final.rows.tolist(), final.scores.tolist()))]
