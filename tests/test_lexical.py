import numpy as np

from qa.lexical import BM25, tokenize


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
