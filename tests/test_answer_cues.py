import pytest

from qa.answer.cues import matches, question_type, sentence_types


@pytest.mark.parametrize("question,kind", [
    ("How many participants attended the forum?", "count"), ("كم عدد المشاركين في المنتدى؟", "count"),
    ("When did the bridge open?", "date"), ("متى افتتح الجسر؟", "date"), ("في أي عام توفي سمير غانم؟", "date"),
    ("How long is the bridge?", "quantity"), ("كم يبلغ طول الجسر؟", "quantity"),
    ("Who organised the forum?", "person"), ("من نظم المنتدى؟", "person"), ("ما اسم زوجة الكاتب؟", "person"),
    ("Where did Alexander die?", "place"), ("أين توفي الإسكندر؟", "place"), ("ما عاصمة مصر؟", "place"),
    ("Which party did he found?", "organisation"), ("ما هو شعار المنتدى؟", "other"), ("Why is it wide?", "other"),
])
def test_question_types_in_both_languages(question, kind):
    assert question_type(question) == kind


def test_sentence_types_and_what_a_who_question_accepts():
    organiser = "وشكل هذا المؤتمر الدولي، المنظم من قبل المركز المغربي للدراسات الاستراتيجية، فضاء للنقاش."
    assert "organisation" in sentence_types(organiser)
    assert matches("person", sentence_types(organiser))  # "who organised" accepts an organisation
    assert sentence_types("It opened in 2001 and cost 3 million dollars.") >= {"date", "count", "quantity"}
    assert "count" in sentence_types("حضره أزيد من 150 مشارك")
    assert not matches("date", sentence_types("The bridge is long and wide."))
    assert not matches("other", sentence_types("It opened in 2001."))
