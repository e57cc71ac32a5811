from qa.records import Span
from qa.text import (
    ascii_digits,
    clause_spans,
    detect_language,
    drop_diacritics,
    drop_tatweel,
    normalize,
    sentence_spans,
    unify_alef,
    unify_ta_marbuta,
    unify_ya,
)


def test_each_rule_does_one_thing():
    assert drop_diacritics("مُحَمَّدٌ") == "محمد"
    assert drop_tatweel("جميـــل") == "جميل"
    assert unify_alef("أحمد إلى آخر") == "احمد الى اخر"
    assert unify_ya("على") == "علي"
    assert unify_ta_marbuta("مدرسة") == "مدرسه"
    assert ascii_digits("١٢٣ ۴۵") == "123 45"


def test_normalize_composes_rules_for_both_scripts():
    assert normalize("Ｆｏｒｕｍ") == "forum"  # NFKC width + case folding
    assert normalize("المُنْتَدَى ١٥٠") == "المنتدي 150"
    assert normalize("ﻻ") == "لا"  # presentation form → base letters
    assert normalize("a\u200bb\u200fc") == "abc"  # zero-width and bidi marks


def test_normalize_is_idempotent_on_tricky_input():
    for text in ["İstanbul ß ﬁ", "إِلَى الْمَدْرَسَةِ", "ＡＢＣ١٢", "e\u0301"]:
        once = normalize(text)
        assert normalize(once) == once


def test_detect_language_by_script():
    assert detect_language("كم عدد المشاركين في المنتدى؟") == "ar"
    assert detect_language("How many participants attended?") == "en"
    assert detect_language("عقد منتدى مراكش للأمن Marrakech Security Forum في المدينة عام 2024") == "ar"
    assert detect_language("The Marrakech forum (منتدى مراكش) met in 2024 with many experts") == "en"
    assert detect_language("12345 !!") == "other"
    assert detect_language("这是中文") == "other"


def _texts(text, spans):
    return [text[s.start : s.end] for s in spans]


def test_sentences_split_on_arabic_and_latin_marks_with_exact_spans():
    text = "  First one. Second one!\nهل هذا سؤال؟ نعم؛ هذا جواب.  "
    spans = sentence_spans(text)
    assert _texts(text, spans) == ["First one.", "Second one!", "هل هذا سؤال؟", "نعم؛", "هذا جواب."]


def test_decimal_points_and_closing_quotes_stay_in_the_sentence():
    text = 'The mirror is 2.4 m wide. He said "it works." Then left'
    assert _texts(text, sentence_spans(text)) == ["The mirror is 2.4 m wide.", 'He said "it works."', "Then left"]


def test_arabic_quotes_after_full_stop_join_the_sentence():
    text = "قال “الحوار مهم”. وانتهى."
    assert _texts(text, sentence_spans(text)) == ["قال “الحوار مهم”.", "وانتهى."]


def test_empty_and_blank_text_has_no_sentences():
    assert sentence_spans("") == []
    assert sentence_spans(" \n\n ") == []


def test_clause_spans_cut_at_arabic_comma_and_keep_it():
    text = "أولا، ثانيا، ثالثا"
    pieces = clause_spans(text, Span(0, len(text)))
    assert _texts(text, pieces) == ["أولا،", "ثانيا،", "ثالثا"]
