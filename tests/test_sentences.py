import json

import pytest

from qa.records import Span
from qa.sentences import SPLITTERS, clause_spans, sentence_spans, sentence_spans_v1
from tests.conftest import FIXTURES

TRICKY = json.loads((FIXTURES / "sentences" / "tricky.json").read_text("utf-8"))


def _texts(text, spans):
    return [text[s.start : s.end] for s in spans]


def _expected_spans(case):
    spans, pos = [], 0
    for s in case["sentences"]:
        i = case["text"].index(s, pos)
        spans.append(Span(i, i + len(s)))
        pos = i + len(s)
    return spans


@pytest.mark.parametrize("case", TRICKY, ids=[c["id"] for c in TRICKY])
def test_tricky_cases_split_as_a_reader_sees_them_with_exact_spans(case):
    assert sentence_spans(case["text"]) == _expected_spans(case)


def test_the_corpus_covers_both_languages_and_the_old_splitter_fails_much_of_it():
    assert {c["lang"] for c in TRICKY} == {"ar", "en"} and len(TRICKY) >= 40
    wrong = [c["id"] for c in TRICKY if sentence_spans_v1(c["text"]) != _expected_spans(c)]
    assert len(wrong) >= 20  # the corpus measures something: the original splitter gets these wrong


def test_titles_abbreviations_and_times_do_not_cut_a_sentence():
    # issue 9: "Dr. Smith met the U.S. delegation at 5 p.m." was cut into four
    text = "Dr. Smith met the U.S. delegation at 5 p.m."
    assert sentence_spans(text) == [Span(0, len(text))]


def test_a_pdf_line_break_inside_a_sentence_does_not_end_it():
    text = "The cooperative's chairwoman is\nAmina Benali. She was elected in 2019."
    assert _texts(text, sentence_spans(text))[0] == "The cooperative's chairwoman is\nAmina Benali."


def test_sentences_split_on_arabic_and_latin_marks_with_exact_spans():
    text = "  First one. Second one!\nهل هذا سؤال؟ نعم؛ هذا جواب.  "
    assert _texts(text, sentence_spans(text)) == ["First one.", "Second one!", "هل هذا سؤال؟", "نعم؛ هذا جواب."]


def test_decimal_points_and_closing_quotes_stay_in_the_sentence():
    text = 'The mirror is 2.4 m wide. He said "it works." Then left'
    assert _texts(text, sentence_spans(text)) == ["The mirror is 2.4 m wide.", 'He said "it works."', "Then left"]


def test_empty_and_blank_text_has_no_sentences_and_ranges_are_respected():
    assert sentence_spans("") == []
    assert sentence_spans(" \n\n ") == []
    text = "Skip this. Keep one. Keep two. Skip too."
    assert _texts(text, sentence_spans(text, 11, 30)) == ["Keep one.", "Keep two."]


def test_version_one_is_the_original_splitter():
    text = "Dr. Smith came\nhome. Done"
    assert _texts(text, sentence_spans_v1(text)) == ["Dr.", "Smith came", "home.", "Done"]
    assert [b.span for b in SPLITTERS[1](text)] == sentence_spans_v1(text)
    assert [b.span for b in SPLITTERS[2](text)] == sentence_spans(text)


def test_clause_spans_cut_at_arabic_comma_and_semicolon_and_keep_them():
    text = "أولا، ثانيا؛ ثالثا"
    pieces = clause_spans(text, Span(0, len(text)))
    assert _texts(text, pieces) == ["أولا،", "ثانيا؛", "ثالثا"]
