import bm25s
import numpy as np

from qa.lexical import BM25, tokenize
from tests.segments import WORDS


def test_tokenize_normalises_and_stems_each_script():
    assert tokenize("المُشارِكين في المنتدى") == tokenize("المشاركين في المنتدي")
    assert tokenize("How many of the Participants attended") == ["mani", "particip", "attend"]
    assert tokenize("كم عدد المشاركين في المنتدى؟") == tokenize("عدد المشاركين المنتدى")
    assert tokenize("١٥٠ مشارك") [0] == "150"
    assert tokenize("") == []


def test_bm25_ranks_and_round_trips(tmp_path):
    docs = ["مكتبة النور تضم عشرين ألف كتاب", "الجسر فوق النهر طويل", "The bridge is long"]
    index = BM25.build([tokenize(d) for d in docs])
    scores = index.scores(tokenize("كم كتابا في المكتبة؟"))
    assert int(np.argmax(scores)) == 0
    index.save(tmp_path / "bm25")
    again = BM25.load(tmp_path / "bm25")
    assert np.allclose(again.scores(tokenize("long bridge")), index.scores(tokenize("long bridge")))
    assert again.scores(["unknowntoken"]).sum() == 0


def test_empty_corpus(tmp_path):
    index = BM25.build([])
    assert index.scores(["x"]).shape == (0,)
    index.save(tmp_path / "b")
    assert BM25.load(tmp_path / "b").size == 0


def test_postings_renumbered_past_a_few_removed_rows_as_through_the_row_map():
    """``Combined``'s fast path for a segment with a few removed rows gives what its ``row_of`` map gives."""
    from qa.lexical import _past

    rng = np.random.default_rng(0)
    for _ in range(300):
        rows = np.sort(rng.choice(400, int(rng.integers(1, 200)), replace=False)).astype(np.int32)
        dead = np.sort(rng.choice(400, int(rng.integers(0, 12)), replace=False))
        value = rng.random(len(rows)).astype(np.float32)
        row_of = np.full(400, -1, np.int64)
        alive = np.setdiff1d(np.arange(400), dead)
        row_of[alive] = np.arange(len(alive))
        mapped = row_of[rows]
        got_rows, got_value = _past(rows, value, dead)
        assert np.array_equal(got_rows, mapped[mapped >= 0]) and np.array_equal(got_value, value[mapped >= 0])


def test_bm25_scores_like_bm25s(tmp_path):
    rng = np.random.default_rng(3)
    corpus = [[str(w) for w in rng.choice(WORDS, int(rng.integers(1, 12)))] for _ in range(200)]
    ours = BM25.build(corpus)
    theirs = bm25s.BM25()
    theirs.index(corpus, show_progress=False)
    for q in (["bridge"], ["solar", "panel", "solar"], ["forum", "music", "unknown"]):
        assert np.allclose(ours.scores(q), theirs.get_scores([t for t in q if t in theirs.vocab_dict]), atol=1e-5)
    ours.save(tmp_path / "b")
    assert np.allclose(BM25.load(tmp_path / "b").scores(["harbour", "bed"]), ours.scores(["harbour", "bed"]))
