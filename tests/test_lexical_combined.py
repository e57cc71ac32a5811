"""Several BM25 indexes scored as one: with rows removed from some of them (through a ``row_of`` map, or
renumbered past a few removed rows), every live chunk scores as in one index built from the live chunks
alone, and a part's own statistics would not."""

import numpy as np

from qa.lexical import BM25
from qa.lexical_combined import Combined
from tests.segments import WORDS


def _corpus(rng, n: int, words: list[str]) -> list[list[str]]:
    return [[str(w) for w in rng.choice(words, int(rng.integers(1, 10)))] for _ in range(n)]


def test_parts_with_removed_rows_score_like_one_index_of_their_live_rows(monkeypatch):
    rng = np.random.default_rng(5)
    corpora = [_corpus(rng, 40, WORDS[:6]), _corpus(rng, 25, WORDS[4:]), _corpus(rng, 30, WORDS)]
    dead = [np.array([], np.int64), np.array([0, 7, 24]), np.arange(0, 30, 4)]
    row_maps = []
    for corpus, gone in zip(corpora, dead):
        row_of = np.full(len(corpus), -1, np.int64)
        alive = np.setdiff1d(np.arange(len(corpus)), gone)
        row_of[alive] = np.arange(len(alive))
        row_maps.append(None if not len(gone) else row_of)
    live = [doc for corpus, gone in zip(corpora, dead) for i, doc in enumerate(corpus) if i not in set(gone)]
    one = BM25.build(live)
    queries = (["bridge"], ["solar", "panel", "solar"], ["forum", "music", "unknown"], ["security", "river"])
    for few_dead in (Combined.FEW_DEAD, 0):  # renumbered past the removed rows, then through the map
        monkeypatch.setattr(Combined, "FEW_DEAD", few_dead)
        combined = Combined([(BM25.build(c), row_of) for c, row_of in zip(corpora, row_maps)])
        assert combined.size == len(live) and np.isclose(combined.avgdl, np.mean([len(d) for d in live]))
        for q in queries:
            assert np.allclose(combined.scores(q), one.scores(q), atol=1e-6)
            assert np.allclose(combined.scores(q), one.scores(q), atol=1e-6)  # again, from its cache
    own = BM25.build(corpora[0]).scores(["bridge", "music"])
    assert not np.allclose(own, one.scores(["bridge", "music"])[:40], atol=1e-3)
