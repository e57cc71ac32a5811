"""The candidate sentences and their features (qa/answer/features.py)."""

import numpy as np

from qa.answer.features import FEATURES, QUESTION_FEATURES, pool, question_features, soft_match
from qa.records import Chunk, Hit
from qa.text import sentence_spans

TEXT = ("# The Harbour Bridge\n\nThe Harbour Bridge is 850 meters long. It opened in 2001 after four years. "
        "Too short.")


def _hit(rank: int = 1, lang: str = "en", doc: str = "d1") -> Hit:
    spans = tuple(sentence_spans(TEXT))
    chunk = Chunk(id=f"c{rank}", doc_id=doc, path="/x.md", title="The Harbour Bridge", lang=lang, text=TEXT,
                  start=0, end=len(TEXT), sentences=spans, headings=(0,))
    return Hit(rank=rank, score=1.0 / rank, chunk=chunk, dense=0.9, row=rank - 1)


def _cos(*values: float) -> np.ndarray:
    return np.array(values, np.float32)


def test_headings_fragments_and_repeats_are_not_candidates():
    a, b = _hit(1), _hit(2)  # two chunks sharing every sentence
    p = pool("How long is the bridge?", "How long is the bridge?", "en", [a, b],
             [_cos(0.99, 0.9, 0.8, 0.95), _cos(0.99, 0.9, 0.8, 0.95)])
    assert [c.text for c in p.candidates] == ["The Harbour Bridge is 850 meters long.",
                                             "It opened in 2001 after four years."]
    assert all(c.hit is a for c in p.candidates)
    assert p.matrix.shape == (2, len(FEATURES)) and np.isfinite(p.matrix).all()
    assert p.asked == "quantity"


def test_overlap_and_answer_type_tell_the_sentences_apart():
    p = pool("When did it open?", "When did it open?", "en", [_hit()], [_cos(0.5, 0.8, 0.8, 0.8)])
    row = {name: p.matrix[:, i] for i, name in enumerate(FEATURES)}
    assert list(row["type_match"]) == [0.0, 1.0]  # a date question: "2001" is in the second sentence only
    assert row["overlap"][1] > row["overlap"][0] and row["bm25"].max() == 1.0
    assert list(row["cross"]) == [0.0, 0.0]
    cross = pool("متى افتتح الجسر؟", "متى افتتح الجسر؟", "ar", [_hit()], [_cos(0.5, 0.8, 0.8, 0.8)])
    assert list(cross.matrix[:, FEATURES.index("cross")]) == [1.0, 1.0]


def test_a_shared_stem_prefix_counts_as_the_same_word():
    # Snowball: "مشارك" -> "مشار", "المشاركين" -> "مشارك"
    assert soft_match("مشارك", {"منتد", "مشار"}) and not soft_match("design", {"desk", "bridg"})
    assert soft_match("2001", {"2001"}) and not soft_match("2001", {"20011"})
    # Arabic roots of three letters: "اختتم" stems to "اخت", "اختتمت" to "اختتم"; "نظم" and its participle "منظم"
    assert soft_match("اخت", {"اختتم"}) and soft_match("نظم", {"منظم"}) and soft_match("منظم", {"نظم"})
    assert not soft_match("اخت", {"اختيارات"}) and not soft_match("bed", {"bedroom"})


def test_question_features_count_the_missing_words_within_one_language_only():
    question = "Which architect designed the bridge?"
    p = pool(question, question, "en", [_hit()], [_cos(0.5, 0.8, 0.7, 0.7)])
    logits = np.array([1.0, 0.0])
    row = dict(zip(QUESTION_FEATURES, question_features(p, logits, np.argsort(-logits))))
    assert row["miss_sentence"] > 0 and row["miss_passage"] > 0 and row["cross"] == 0.0  # "architect", "design"
    assert row["gap_logit"] == 1.0 and row["best_cos"] == np.float32(0.8)
    cross = pool("من صمم الجسر؟", "من صمم الجسر؟", "ar", [_hit()], [_cos(0.5, 0.8, 0.7, 0.7)])
    row = dict(zip(QUESTION_FEATURES, question_features(cross, logits, np.argsort(-logits))))
    assert row["miss_sentence"] == row["miss_passage"] == 0.0 and row["cross"] == 1.0


def test_an_empty_pool_has_the_weakest_row():
    p = pool("How long is the bridge?", "How long is the bridge?", "en", [], [])
    row = question_features(p, np.zeros(0), np.zeros(0, int))
    assert row.shape == (len(QUESTION_FEATURES),) and row[0] == -10.0


def test_the_pool_bm25_counts_a_related_stem_as_the_overlap_does():
    # issue 13: "من نظم المنتدى؟" - the organiser sentence says "المنظم" (stem "منظم"), never "نظم"
    text = "وشكل هذا المؤتمر المنظم من قبل المركز فضاء للنقاش. وعرف هذا اللقاء حضور أزيد من 150 مشاركا."
    chunk = Chunk(id="c", doc_id="d", path="/a.txt", title="t", lang="ar", text=text, start=0, end=len(text),
                  sentences=tuple(sentence_spans(text)))
    p = pool("من نظم المنتدى؟", "من نظم المنتدى؟", "ar", [Hit(rank=1, score=1.0, chunk=chunk, dense=0.9, row=0)],
             [_cos(0.8, 0.8)])
    row = {name: p.matrix[:, i] for i, name in enumerate(FEATURES)}
    assert row["overlap"][0] > 0 and row["bm25"][0] == 1.0 and row["bm25"][1] == 0.0
